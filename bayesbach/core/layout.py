"""Where every file of a study lives, written once: each stage's path templates and the file lists of its rules.

The workflow (``workflow/rules/*.smk``) and the command line (:mod:`bayesbach.cli`) both take their paths
from here, so a command run by hand reads and writes exactly the files of its rule. Paths are relative
to the study's folder: the corpus below ``data/raw/`` (expensive to rebuild, never moved), everything
derived below ``results/``. Every function that lists results files takes ``results``, the folder that
stands for ``results/`` (the CLI's ``--results DIR``; :func:`under`). Like the registry, this module
imports nothing heavy: Snakemake reads it when it plans a study.

A library module that imports a name from here depends on that name's value, not on the whole file
(:mod:`bayesbach.core.provenance`), so moving a path reruns only the rules whose files move.
"""

from __future__ import annotations

import itertools
from pathlib import PurePath

from bayesbach.core.registry import LISTEN_KINDS, REFERENCES, example_network, reference_names

# ---- the templates ------------------------------------------------------------------------------

RESULTS = "results"  # everything derived (delete it and rerun to reproduce)
SOURCE_DIR = "data/raw/{source}"  # a corpus source: its MIDI files, manifest.parquet, rejects.parquet
COMPOSER_SOURCE_DIR = "data/raw/composers/{composer}"  # another composer's MIDI files, manifest, rejects
DATASET_DIR = f"{RESULTS}/dataset"  # events.parquet, rejects.parquet, pieces.parquet, file_keys.parquet
COMPOSER_DATASET_DIR = f"{DATASET_DIR}/composers/{{composer}}"  # its events.parquet, rejects.parquet, pieces.parquet
MODEL_DIR = f"{RESULTS}/models/{{arch}}/h{{hidden}}/s{{noise}}/r{{run}}"  # one trained network
REFERENCE_DIR = f"{RESULTS}/references/s{{noise}}/{{name}}"  # one reference at one noise level
EVALUATION_DIR = f"{RESULTS}/evaluation"  # the long tables and their statistics
NETWORK_EVALUATION_DIR = f"{EVALUATION_DIR}/networks/{{arch}}/h{{hidden}}/s{{noise}}/r{{run}}"  # one network's tables
GENERALISATION_DIR = f"{RESULTS}/generalisation/{{composer}}/s{{noise}}"  # every model on its test pieces
LISTEN_DIR = f"{RESULTS}/listen"  # example.parquet, s{noise}/{kind}.mid
FIGURES_DIR = f"{RESULTS}/figures"  # {name}.png and {name}.pdf
SUMMARY = f"{RESULTS}/summary.html"  # the results page
SUMMARY_TEXT = f"{RESULTS}/summary.txt"  # its headline table, printed when a run ends
LOGS_DIR = f"{RESULTS}/logs"  # one log per job, a folder per stage
CONVERGENCE = f"{EVALUATION_DIR}/convergence.csv"  # did each trained stage converge (evaluation.convergence)
ANNOTATION_DIR = f"{RESULTS}/annotations"  # the test split annotated: <stem>_events.tsv and .json per file, and
ANNOTATION_FILES = ("annotations.parquet", "rejects.parquet")  # these (bayesbach.evaluation.annotate)

MODEL_FILES = ("decoder.pt", "probe.pt", "history.parquet", "meta.json")  # what a training job writes per network
TRAINED_FILES = ("decoder.pt", "probe.pt", "meta.json")  # what a trained network is loaded from
HISTORY_FILES = ("history.parquet", "meta.json")  # its training curve and its cell (the training figure)
NETWORK_EVALUATION_FILES = ("errors.parquet", "encoding.parquet", "keys.parquet")  # one network's evaluation
REFERENCE_FILES = ("errors.parquet", "meta.json")  # every reference's (a trained one also model.pt, history.parquet)

# The {noise} wildcard: repr(float(sigma)), e.g. 0.5, 1.0, 0.001, 1e-05.
NOISE_PATTERN = r"\d+\.\d+(e-\d+)?|\d+(\.\d+)?e[-+]\d+"

# Each figure (FIGURES_DIR/{name}.png) and the files it is drawn from: a keyword of
# bayesbach.report.figures.make -> a path; MODEL_DIR stands for every network of the sweep (their
# HISTORY_FILES). The order is the page's order.
FIGURE_INPUTS = {
    "ladder": {"errors": f"{EVALUATION_DIR}/errors.parquet", "stats": f"{EVALUATION_DIR}/stats.csv"},
    "orders": {"orders_path": f"{EVALUATION_DIR}/orders.csv"},
    "decoding": {"errors": f"{EVALUATION_DIR}/errors.parquet"},
    "sweep": {"stats": f"{EVALUATION_DIR}/stats.csv"},
    "training": {"model_dirs": MODEL_DIR},
    "example": {"example_path": f"{LISTEN_DIR}/example.parquet"},
    "surprisal": {"annotations_path": f"{ANNOTATION_DIR}/annotations.parquet", "events": f"{DATASET_DIR}/events.parquet"},
    "encoding": {"coding_path": f"{EVALUATION_DIR}/encoding.parquet"},
    "keys": {"keys_path": f"{EVALUATION_DIR}/keys.parquet"},
    "generalisation": {"generalisation_path": f"{EVALUATION_DIR}/generalisation.parquet",
                       "errors": f"{EVALUATION_DIR}/errors.parquet"},
    "architectures": {"errors": f"{EVALUATION_DIR}/errors.parquet"},
}
FIGURES = tuple(FIGURE_INPUTS)


# ---- one folder ---------------------------------------------------------------------------------


def noise_label(sigma: float) -> str:
    """The {noise} wildcard of a noise level: Python's repr of the float (0.5, 1.0, 0.001)."""
    return repr(float(sigma))


def model_dir(arch: str, hidden: int, noise: float, run: int) -> str:
    return MODEL_DIR.format(arch=arch, hidden=int(hidden), noise=noise_label(noise), run=int(run))


def reference_dir(name: str, noise: float) -> str:
    return REFERENCE_DIR.format(name=name, noise=noise_label(noise))


def network_evaluation_dir(arch: str, hidden: int, noise: float, run: int) -> str:
    return NETWORK_EVALUATION_DIR.format(arch=arch, hidden=int(hidden), noise=noise_label(noise), run=int(run))


def generalisation_dir(composer: str, noise: float) -> str:
    return GENERALISATION_DIR.format(composer=composer, noise=noise_label(noise))


def source_dir(source: str) -> str:
    return SOURCE_DIR.format(source=source)


def source_files(folder: str) -> dict[str, str]:
    """The files every corpus source ends with (bayesbach.corpus.manifest), in ``folder``."""
    return {"manifest": f"{folder}/manifest.parquet", "rejects": f"{folder}/rejects.parquet"}


WEB_REPORT = f"{source_dir('web')}/report.parquet"  # what each start URL of a crawl gave


def files_in(folders, names) -> list[str]:
    """Each of ``names`` in each of ``folders``, folder by folder."""
    return [f"{folder}/{name}" for folder in folders for name in names]


def under(paths, results=RESULTS):
    """``paths`` (a path, or a list or dict of them, nested) with ``results/`` replaced by ``results``; paths
    elsewhere (the corpus, data/raw/) as they are."""
    if isinstance(paths, dict):
        return {key: under(value, results) for key, value in paths.items()}
    if isinstance(paths, (list, tuple)):
        return [under(p, results) for p in paths]
    parts = PurePath(paths).parts
    return str(PurePath(results, *parts[1:])) if parts[:1] == (RESULTS,) else paths


# ---- the sweep ----------------------------------------------------------------------------------


def sweep_cells(sweep: dict):
    """(arch, hidden, noise, run) of every network of the sweep (``sweep:``), in the workflow's order."""
    return itertools.product(sweep["arch"], sweep["hidden"], sweep["noise"], range(sweep["runs"]))


def network_dirs(sweep: dict, folder=model_dir) -> list[str]:
    """The model folder of every network of the sweep, or with ``folder=network_evaluation_dir`` its
    evaluation folder."""
    return [folder(*cell) for cell in sweep_cells(sweep)]


def pack_dirs(pack, folder=model_dir) -> list[str]:
    """The folder of each network of a training or evaluation job (a bayesbach.core.packing.Pack), in the
    pack's order."""
    return [folder(pack.arch, pack.hidden, noise, run) for noise, run in pack.cells]


def noise_labels(config: dict) -> list[str]:
    """The {noise} wildcard of every noise level of the sweep."""
    return [noise_label(s) for s in config["sweep"]["noise"]]


def reference_files(names, noises, files=REFERENCE_FILES) -> list[str]:
    """``files`` of the references ``names`` at the noise levels ``noises``, noise by noise."""
    return files_in([reference_dir(name, s) for s in noises for name in names], files)


def composer_folders(config: dict) -> dict[str, list[str] | None]:
    """The other composers of a validated config (generalisation.composers), in its order: name -> the folders
    that stand for the composer, or None for a composer of music21's bundled corpus."""
    out: dict[str, list[str] | None] = {}
    for c in config["generalisation"]["composers"]:
        if isinstance(c, str):
            out[c] = None
        else:
            out[c["name"]] = list(c["paths"])
    return out


# ---- each rule's files, from a validated config ---------------------------------------------------


def source_manifests(config: dict) -> list[str]:
    """The manifest of every corpus source of the study (corpus.sources): what convert and file_keys read."""
    return [source_files(source_dir(s))["manifest"] for s in config["corpus"]["sources"]]


def dataset_targets(results=RESULTS) -> list[str]:
    """The dataset stage's tables (convert, split, file_keys)."""
    return under([f"{DATASET_DIR}/{t}.parquet" for t in ("events", "rejects", "pieces", "file_keys")], results)


def network_targets(config: dict, results=RESULTS) -> list[str]:
    """Every file of every trained network of the sweep."""
    return under(files_in(network_dirs(config["sweep"]), MODEL_FILES), results)


def reference_targets(config: dict, results=RESULTS) -> list[str]:
    """errors.parquet and meta.json of every reference of the study at every noise level of the sweep."""
    return under(reference_files(config["references"]["models"], config["sweep"]["noise"]), results)


def collect_evaluation_inputs(config: dict, results=RESULTS) -> dict[str, list[str]]:
    """collect_evaluation's inputs: the errors of every network and reference, and the networks' encoding
    and key-decoding tables."""
    networks = network_dirs(config["sweep"], network_evaluation_dir)
    return under({
        "errors": files_in(networks, ["errors.parquet"]) + reference_files(
            config["references"]["models"], config["sweep"]["noise"], ["errors.parquet"]),
        "encoding": files_in(networks, ["encoding.parquet"]),
        "key_decoding": files_in(networks, ["keys.parquet"]),
    }, results)


def evaluation_targets(results=RESULTS) -> list[str]:
    """The evaluation stage's tables (collect_evaluation, stats, orders, convergence)."""
    names = ("errors.parquet", "encoding.parquet", "stats.csv", "orders.csv", "keys.parquet")
    return under([*files_in([EVALUATION_DIR], names), CONVERGENCE], results)


def convergence_dirs(config: dict) -> dict[str, list[str]]:
    """The folders convergence.csv judges: every network of the sweep and every trained reference of the study at
    every noise level, a sigma-free one once (the same history is in the folder of every level: the first's)."""
    noises = config["sweep"]["noise"]
    free = set(reference_names("trained", sigma_free=True))
    names = [n for n in config["references"]["models"] if n in reference_names("trained")]
    return {"networks": network_dirs(config["sweep"]),
            "references": [reference_dir(n, s) for s in noises for n in names if n not in free or s == noises[0]]}


def convergence_inputs(config: dict, results=RESULTS) -> dict[str, list[str]]:
    """convergence's inputs: HISTORY_FILES of every folder of :func:`convergence_dirs`."""
    return under({kind: files_in(dirs, HISTORY_FILES) for kind, dirs in convergence_dirs(config).items()}, results)


def annotation_models(config: dict) -> dict[str, list[str]]:
    """What the annotate rule annotates with: every reference of the study that predicts, in the registry's order,
    and every network cell of the sweep (``<arch>_h<hidden>_s<noise>``, as bayesbach annotate names them)."""
    names = config["references"]["models"]
    cells = dict.fromkeys(f"{a}_h{h}_s{noise_label(s)}" for a, h, s, _ in sweep_cells(config["sweep"]))
    return {"models": [n for n in REFERENCES if n in names and "predict" in REFERENCES[n].tasks],
            "networks": list(cells)}


def annotate_inputs(config: dict, results=RESULTS) -> dict[str, list[str]]:
    """The annotate rule's inputs: the test split's files (the dataset's tables and the corpus's manifests: its MIDI
    files lie beside them), every network of the sweep and every reference of the study at every noise level."""
    names = config["references"]["models"]
    return under({
        "dataset": [f"{DATASET_DIR}/events.parquet", f"{DATASET_DIR}/pieces.parquet"],
        "manifests": source_manifests(config),
        "networks": files_in(network_dirs(config["sweep"]), TRAINED_FILES),
        "references": reference_files(names, config["sweep"]["noise"], ["meta.json"]),
        "reference_models": reference_files([n for n in names if n in reference_names("trained")],
                                            config["sweep"]["noise"], ["model.pt"]),
    }, results)


def annotation_targets(results=RESULTS) -> list[str]:
    """The annotate rule's tables (its per-file TSVs and sidecars lie beside them)."""
    return under(files_in([ANNOTATION_DIR], ANNOTATION_FILES), results)


def generalise_inputs(config: dict, composer: str, noise: float, results=RESULTS) -> dict[str, list[str] | str]:
    """A generalise job's inputs: every network of the sweep and every reference of the study at that noise
    level, Bach's dataset (the counted references are counted again) and the composer's."""
    names = config["references"]["models"]
    own = COMPOSER_DATASET_DIR.format(composer=composer)
    return under({
        "networks": files_in(network_dirs({**config["sweep"], "noise": [float(noise)]}), TRAINED_FILES),
        "references": reference_files(names, [noise], ["meta.json"]),
        "reference_models": reference_files([n for n in names if n in reference_names("trained")], [noise],
                                            ["model.pt"]),
        "events": f"{DATASET_DIR}/events.parquet",
        "pieces": f"{DATASET_DIR}/pieces.parquet",
        "composer_events": f"{own}/events.parquet",
        "composer_pieces": f"{own}/pieces.parquet",
    }, results)


def collect_generalisation_inputs(config: dict, results=RESULTS) -> list[str]:
    """Every generalise job's table: each composer at each noise level of the sweep."""
    return under([f"{generalisation_dir(c, s)}/errors.parquet" for c in composer_folders(config)
                  for s in config["sweep"]["noise"]], results)


def generalisation_targets(config: dict, results=RESULTS) -> list[str]:
    """The other composers' tables; none when the study names no composer."""
    if not config["generalisation"]["composers"]:
        return []
    return under(files_in([EVALUATION_DIR], ["generalisation.parquet", "generalisation.csv"]), results)


def example_model_dirs(sweep: dict) -> dict[float, str]:
    """{noise: model folder} of the example network (registry.example_network) at each noise level."""
    arch, hidden, run = example_network(sweep)
    return {float(s): model_dir(arch, hidden, s, run) for s in sweep["noise"]}


def listen_inputs(config: dict, results=RESULTS) -> dict[str, str | list[str]]:
    """listen's inputs: the dataset and the example network of each noise level."""
    return under({"events": f"{DATASET_DIR}/events.parquet", "pieces": f"{DATASET_DIR}/pieces.parquet",
                  "models": files_in(example_model_dirs(config["sweep"]).values(), TRAINED_FILES)}, results)


def listen_outputs(config: dict, results=RESULTS) -> dict[str, str | list[str]]:
    """What listen writes: example.parquet and each noise level's MIDI files."""
    midi = [f"{LISTEN_DIR}/s{s}/{kind}.mid" for s in noise_labels(config) for kind in LISTEN_KINDS]
    return under({"example": f"{LISTEN_DIR}/example.parquet", "midi": midi}, results)


def figure_names(sweep: dict, composers: list | tuple = ()) -> list[str]:
    """The figures a study draws: the architecture comparison only when it sweeps several, the other composers
    only when it names some (generalisation.composers)."""
    return [n for n in FIGURES if (n != "architectures" or len(sweep["arch"]) > 1)
            and (n != "generalisation" or len(composers) > 0)]


def study_figures(config: dict) -> list[str]:
    """The figures this study draws."""
    return figure_names(config["sweep"], config["generalisation"]["composers"])


def figure_inputs(name: str, config: dict, results=RESULTS) -> dict[str, str | list[str]]:
    """The files figure ``name`` is drawn from (FIGURE_INPUTS): a path per keyword of make(), every
    network's HISTORY_FILES for MODEL_DIR."""
    return under({key: files_in(network_dirs(config["sweep"]), HISTORY_FILES) if path == MODEL_DIR else path
                  for key, path in FIGURE_INPUTS[name].items()}, results)


def figure_files(config: dict, extensions=("png", "pdf"), results=RESULTS) -> list[str]:
    """The files of every figure of the study, figure by figure."""
    return under([f"{FIGURES_DIR}/{n}.{e}" for n in study_figures(config) for e in extensions], results)


def summary_inputs(config: dict, results=RESULTS) -> dict[str, str | list[str]]:
    """What the page is made from (but its captions: the workflow's, not the study's)."""
    listen = listen_outputs(config)
    return under({
        "pieces": f"{DATASET_DIR}/pieces.parquet",
        "errors": f"{EVALUATION_DIR}/errors.parquet",
        "stats": f"{EVALUATION_DIR}/stats.csv",
        "orders": f"{EVALUATION_DIR}/orders.csv",
        "convergence": CONVERGENCE,
        "key_decoding": f"{EVALUATION_DIR}/keys.parquet",
        "file_keys": f"{DATASET_DIR}/file_keys.parquet",
        "crawl": [WEB_REPORT] if "web" in config["corpus"]["sources"] else [],  # the per-site table, when it crawls
        "generalisation": generalisation_targets(config),  # [parquet, csv] when the study names other composers
        "composer_pieces": [f"{COMPOSER_DATASET_DIR.format(composer=c)}/pieces.parquet" for c in composer_folders(config)],
        "figures": figure_files(config, ["png"]),
        "listen": [listen["example"], *listen["midi"]],
    }, results)


def report_targets(config: dict, results=RESULTS) -> list[str]:
    """The report stage's files: the listening files, the page and the figures."""
    listen = listen_outputs(config)
    return under([listen["example"], SUMMARY, *listen["midi"], *figure_files(config)], results)


def study_targets(config: dict) -> list[str]:
    """Every file a whole study makes (rule all)."""
    return (dataset_targets() + network_targets(config) + reference_targets(config) + evaluation_targets()
            + annotation_targets() + generalisation_targets(config) + report_targets(config))
