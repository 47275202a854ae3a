# Configuration, validated (and completed with defaults) before any job is planned, and the helpers
# the rules plan with. Every shared name (architectures, references, paths, figures) comes from
# bayesbach.core.registry.
import re

from snakemake.exceptions import WorkflowError

from bayesbach.core.config import ConfigError, check_config
from bayesbach.core.provenance import source_digest
from bayesbach.core.registry import (ARCHS, COMPOSER_DATASET_DIR, COMPOSER_SOURCE_DIR, DATASET_DIR, ENCODINGS,
                                     EVALUATION_DIR, FIGURE_INPUTS, FIGURES, FIGURES_DIR, GENERALISATION_DIR,
                                     LISTEN_DIR, LISTEN_KINDS, MODEL_DIR, MODEL_FILES, NETWORK_EVALUATION_DIR,
                                     NOISE_PATTERN, REFERENCE_DIR, SUMMARY, SUMMARY_TEXT, example_model_dirs,
                                     figure_names, model_dir, network_evaluation_dir, noise_label,
                                     reference_names)
from bayesbach.core.registry import REFERENCES
from bayesbach.core.packing import packs
from bayesbach.core.resources import counted_minutes, train_job
from bayesbach.corpus.folder import FolderError, check_folder_config, composer_folders, folder_digest

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


def source_manifests():
    return expand("data/raw/{source}/manifest.parquet", source=config["corpus"]["sources"])


def all_targets():
    return [
        f"{DATASET_DIR}/events.parquet",
        f"{DATASET_DIR}/rejects.parquet",
        f"{DATASET_DIR}/pieces.parquet",
        f"{DATASET_DIR}/file_keys.parquet",
    ] + network_targets() + reference_targets() + evaluation_targets() + generalisation_targets() + report_targets()


def noise_labels():
    """The {noise} wildcard of every noise level of the sweep."""
    return [noise_label(s) for s in config["sweep"]["noise"]]


def network_cells(pattern):
    """``pattern`` formatted for every network of the sweep (arch, hidden, noise, run)."""
    sweep = config["sweep"]
    return expand(pattern, arch=sweep["arch"], hidden=sweep["hidden"], noise=noise_labels(), run=range(sweep["runs"]))


def network_targets():
    """Every file of every trained network of the sweep."""
    return [f"{d}/{f}" for d in network_cells(MODEL_DIR) for f in MODEL_FILES]


def planned_device():
    """The device the cost model and train.pack plan for: a GPU unless the config says cpu."""
    return "cpu" if config["device"] == "cpu" else "cuda"


def network_packs():
    """The training jobs: packs of cells of one architecture and size (bayesbach.core.packing)."""
    return packs(config["sweep"], config["train"]["pack"], planned_device())


def pack_dirs(pack, folder=model_dir):
    """The folder of each network of a pack, in the pack's order: its model folder, or with
    folder=network_evaluation_dir its evaluation folder."""
    return [folder(pack.arch, pack.hidden, noise, run) for noise, run in pack.cells]


def evaluation_packs():
    """The evaluation jobs: the packs a CPU training job would hold (evaluation runs on the CPU)."""
    return packs(config["sweep"], config["train"]["pack"], "cpu")


def pack_files(pack):
    return [f"{d}/{f}" for d in pack_dirs(pack) for f in MODEL_FILES]


def train_params():
    """The config values a training job's results depend on (a changed budget reruns training, not the
    dataset; checkpoint and log cadence change no result, so the script reads them from the config)."""
    keys = ("lr", "batch_size", "chunk_length", "decode_batches", "probe_batches", "val_every", "encoding", "layers")
    return {k: config["train"][k] for k in keys}


def reference_targets():
    """errors.parquet and meta.json of every reference at every noise level of the sweep."""
    return expand(f"{REFERENCE_DIR}/{{file}}", noise=noise_labels(), name=config["references"]["models"],
                  file=["errors.parquet", "meta.json"])


def reference_pattern(kind, sigma_free):
    """A wildcard pattern of the references of one kind whose results do (sigma_free=False) or do not
    (sigma_free=True) depend on the noise level (bayesbach.core.registry.REFERENCES)."""
    return "|".join(reference_names(kind, sigma_free=sigma_free)) or "(?!)"  # none: a pattern that matches nothing


def sigma_free_reference_files(file):
    """``file`` of the sigma-free reference {name} at every noise level of the sweep: one job writes them all."""
    return expand(f"{REFERENCE_DIR}/{file}", noise=noise_labels(), name="{name}")


def reference_params(wildcards):
    """The references: keys one trained reference's results depend on (its registry entry's config)."""
    return REFERENCES[wildcards.name].params(config["references"])


def reference_train_params():
    """The train: keys the trained references share with the networks (not the networks' budgets;
    checkpoint and log cadence change no result, so the script reads them from the config)."""
    keys = ("lr", "batch_size", "chunk_length", "val_every", "encoding")
    return {k: config["train"][k] for k in keys}


def _job_size(arch, hidden, batches, attempt, pack=1):
    train = config["train"]
    return train_job(
        arch, int(hidden), units=ENCODINGS[train["encoding"]], batch_size=train["batch_size"],
        chunk_length=train["chunk_length"], batches=batches, device=planned_device(),
        layers=train["layers"], threads=train["threads"], attempt=attempt, pack=pack,
    )


def pack_resource(pack, key):
    """runtime (minutes) or mem_mb of a pack's training job, from the cost model; doubled on each retry."""
    train = config["train"]
    batches = train["decode_batches"] + train["probe_batches"]
    return lambda wildcards, attempt: _job_size(pack.arch, pack.hidden, batches, attempt, len(pack.cells))[key]


def reference_job(wildcards, attempt):
    """The same for a trained reference, sized as its registry entry says (bayesbach.core.registry.JobSize)."""
    return _job_size(*REFERENCES[wildcards.name].job.of(config["references"]), attempt)


def evaluation_targets():
    """The evaluation stage's tables (workflow/rules/evaluation.smk)."""
    return [f"{EVALUATION_DIR}/errors.parquet", f"{EVALUATION_DIR}/encoding.parquet", f"{EVALUATION_DIR}/stats.csv",
            f"{EVALUATION_DIR}/orders.csv", f"{EVALUATION_DIR}/keys.parquet"]


def generalisation_targets():
    """The other composers' tables (workflow/rules/generalisation.smk); none when the study names no composer."""
    if not config["generalisation"]["composers"]:
        return []
    return [f"{EVALUATION_DIR}/generalisation.parquet", f"{EVALUATION_DIR}/generalisation.csv"]


def composer_names(music21):
    """A wildcard pattern of the composers of music21's corpus (music21=True) or of those given as folders."""
    names = [n for n, paths in composer_folders(config).items() if (paths is None) == music21]
    return "|".join(map(re.escape, names)) or "(?!)"  # no composer of that kind: a pattern that matches nothing


def generalise_inputs(wildcards):
    """Every network of the sweep and every reference of the study at a generalise job's noise level."""
    sweep, names = config["sweep"], config["references"]["models"]
    networks = expand(MODEL_DIR, arch=sweep["arch"], hidden=sweep["hidden"], noise=wildcards.noise,
                      run=range(sweep["runs"]))
    return {
        "networks": [f"{d}/{f}" for d in networks for f in ("decoder.pt", "probe.pt", "meta.json")],
        "references": expand(f"{REFERENCE_DIR}/meta.json", name=names, noise=wildcards.noise),
        "reference_models": expand(f"{REFERENCE_DIR}/model.pt", name=[n for n in names if n in reference_names("trained")],
                                   noise=wildcards.noise),
    }


def study_figures():
    """The figures this study draws (bayesbach.core.registry.figure_names)."""
    return figure_names(config["sweep"], config["generalisation"]["composers"])


def listen_targets():
    return expand(f"{LISTEN_DIR}/s{{noise}}/{{kind}}.mid", noise=noise_labels(), kind=LISTEN_KINDS)


def figure_inputs(name):
    """The files figure ``name`` is drawn from (bayesbach.core.registry.FIGURE_INPUTS)."""
    return {key: [f"{d}/{f}" for d in network_cells(path) for f in ("history.parquet", "meta.json")]
            if path == MODEL_DIR else path for key, path in FIGURE_INPUTS[name].items()}


def report_targets():
    return ([f"{LISTEN_DIR}/example.parquet", SUMMARY] + listen_targets()
            + expand(f"{FIGURES_DIR}/{{name}}.{{ext}}", name=study_figures(), ext=["png", "pdf"]))
