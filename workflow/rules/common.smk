# Configuration, validated (and completed with defaults) before any job is planned, and the helpers
# the rules plan with. Every path and file list comes from bayesbach.core.layout (the CLI uses the same),
# every other shared name (architectures, references) from bayesbach.core.registry.
import re

from snakemake.exceptions import WorkflowError

from bayesbach.core.config import ConfigError, check_config
from bayesbach.core.layout import (
    ANNOTATION_DIR,
    COMPOSER_DATASET_DIR,
    CONVERGENCE,
    COMPOSER_SOURCE_DIR,
    DATASET_DIR,
    EVALUATION_DIR,
    FIGURES,
    FIGURES_DIR,
    GENERALISATION_DIR,
    LOGS_DIR,
    MODEL_FILES,
    NETWORK_EVALUATION_FILES,
    NOISE_PATTERN,
    REFERENCE_DIR,
    SUMMARY,
    SUMMARY_TEXT,
    TRAINED_FILES,
    WEB_REPORT,
    annotate_inputs,
    annotation_models,
    collect_evaluation_inputs,
    collect_generalisation_inputs,
    composer_folders,
    convergence_inputs,
    example_model_dirs,
    figure_inputs,
    files_in,
    generalise_inputs,
    listen_inputs,
    listen_outputs,
    network_evaluation_dir,
    pack_dirs,
    reference_dir,
    reference_files,
    source_dir,
    source_files,
    source_manifests,
    study_figures,
    study_targets,
    summary_inputs,
)
from bayesbach.core.provenance import source_digest
from bayesbach.core.registry import ARCHS, ENCODINGS, REFERENCES, reference_names
from bayesbach.core.packing import EVALUATION_PACK, packs
from bayesbach.core.resources import counted_minutes, train_job
from bayesbach.corpus.folder import FolderError, check_folder_config, folder_digest

try:
    check_config(config, workflow.source_path("../schemas/config.schema.yaml"))
    check_folder_config(config)  # a missing or empty folder stops the study here, before any job
except (ConfigError, FolderError) as e:
    raise WorkflowError(str(e)) from None


wildcard_constraints:
    arch="|".join(ARCHS),
    hidden=r"\d+",
    noise=NOISE_PATTERN,
    run=r"\d+",


def code(*modules):
    """Parameter that changes when the library code a rule runs changes (bayesbach.core.provenance;
    modules are dotted names below bayesbach, e.g. "dataset.midi")."""
    return source_digest(*modules)


def planned_device():
    """The device the cost model and train.pack plan for: a GPU unless the config says cpu."""
    return "cpu" if config["device"] == "cpu" else "cuda"


def network_packs():
    """The training jobs: packs of cells of one architecture and size (bayesbach.core.packing)."""
    return packs(config["sweep"], config["train"]["pack"], planned_device())


def evaluation_packs():
    """The evaluation jobs: the training packs where train.pack fixes them, else EVALUATION_PACK networks each,
    whatever their size (bayesbach.core.packing)."""
    pack = config["train"]["pack"]
    return packs(config["sweep"], EVALUATION_PACK if pack == "auto" else pack, "cpu")


def observer_dirs(pack):
    """The bayes reference of each network of an evaluation pack (its noise level), for the key decoding's observer
    control (bayesbach.evaluation.key_decoding); None for each where the study runs no bayes (references.models)."""
    on = "bayes" in config["references"]["models"]
    return [reference_dir("bayes", noise) if on else None for noise, _ in pack.cells]


def train_params():
    """The config values a training job's results depend on (a changed budget reruns training, not the
    dataset; checkpoint and log cadence change no result, so the script reads them from the config)."""
    keys = (
        "lr",
        "schedule",
        "final_lr_fraction",
        "average",
        "batch_size",
        "chunk_length",
        "decode_batches",
        "probe_batches",
        "val_every",
        "encoding",
        "layers",
    )
    return {k: config["train"][k] for k in keys}


def reference_pattern(kind, sigma_free):
    """A wildcard pattern of the references of one kind whose results do (sigma_free=False) or do not
    (sigma_free=True) depend on the noise level (bayesbach.core.registry.REFERENCES)."""
    return "|".join(reference_names(kind, sigma_free=sigma_free)) or "(?!)"  # none: a pattern that matches nothing


def sigma_free_reference_files(file):
    """``file`` of the sigma-free reference {name} at every noise level of the sweep: one job writes them all."""
    return reference_files(["{name}"], config["sweep"]["noise"], [file])


def reference_params(wildcards):
    """The references: keys one trained reference's results depend on (its registry entry's config)."""
    return REFERENCES[wildcards.name].params(config["references"])


def reference_train_params():
    """The train: keys the trained references share with the networks (not the networks' budgets;
    checkpoint and log cadence change no result, so the script reads them from the config)."""
    keys = ("lr", "schedule", "final_lr_fraction", "average", "batch_size", "chunk_length", "val_every", "encoding")
    return {k: config["train"][k] for k in keys}


def _job_size(arch, hidden, batches, attempt, pack=1):
    train = config["train"]
    return train_job(
        arch,
        int(hidden),
        units=ENCODINGS[train["encoding"]],
        batch_size=train["batch_size"],
        chunk_length=train["chunk_length"],
        batches=batches,
        device=planned_device(),
        layers=train["layers"],
        threads=train["threads"],
        attempt=attempt,
        pack=pack,
    )


def pack_resource(pack, key):
    """runtime (minutes) or mem_mb of a pack's training job, from the cost model; doubled on each retry."""
    train = config["train"]
    batches = train["decode_batches"] + train["probe_batches"]
    return lambda wildcards, attempt: _job_size(pack.arch, pack.hidden, batches, attempt, len(pack.cells))[key]


def reference_job(wildcards, attempt):
    """The same for a trained reference, sized as its registry entry says (bayesbach.core.registry.JobSize)."""
    return _job_size(*REFERENCES[wildcards.name].job.of(config["references"]), attempt)


def composer_names(music21):
    """A wildcard pattern of the composers of music21's corpus (music21=True) or of those given as folders."""
    names = [n for n, paths in composer_folders(config).items() if (paths is None) == music21]
    return "|".join(map(re.escape, names)) or "(?!)"  # no composer of that kind: a pattern that matches nothing
