"""Every name that more than one place needs, written once.

The workflow (``workflow/rules/*.smk``), the command line, the statistics and the
report read these; nobody types the lists again. This module imports nothing
heavy (no torch, no matplotlib): Snakemake reads it when it plans a study.

Adding a reference model: one entry in ``REFERENCES`` (and, when the networks are
compared with it, in ``COMPARED``), plus its definition in the module of its kind
(``counted``: :mod:`bayesbach.references.counted`; ``trained``:
:mod:`bayesbach.references.trained`). Nothing else changes.
"""

from __future__ import annotations

from dataclasses import dataclass

# ---- the data -----------------------------------------------------------------------------------

SOURCES = ("bundled", "web", "folder")  # corpus sources: data/raw/<source>/ (bayesbach.corpus), each with its rule in corpus.smk
SPLITS = ("train", "validation", "test")
ENCODINGS = {"pc12": 12, "pitch": 128}  # encoding -> units per step (bayesbach.dataset.loader)
# The 24 keys, index 12 * minor + tonic pitch class (C = 0): the label of a file (bayesbach.dataset.keys), the
# classes of the key decoder (bayesbach.evaluation.key_decoding). One spelling per pitch class, as pitch classes have.
TONICS = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
KEY_NAMES = tuple(f"{t} major" for t in TONICS) + tuple(f"{t} minor" for t in TONICS)
# Where a file's key label comes from, in order of preference, and its label: music21's analysis of the score (the
# bundled corpora), the MIDI file's first key-signature event, a Krumhansl-Schmuckler estimate from its pitch classes.
KEY_SOURCES = {
    "score": "The score's key analysis (music21)",
    "key_signature": "The MIDI file's key signature",
    "estimate": "Krumhansl-Schmuckler estimate",
}
# The key decoders of every network (bayesbach.evaluation.key_decoding) and their labels: a linear read-out of
# the state, the same read-out of a running average of the noisy input (with the network's effective memory, and
# over the whole file so far), and the two read-outs that ignore the input.
KEY_DECODERS = {
    "network": "Network state h_t",
    "input_memory": "Input average, network's memory (control)",
    "input_all": "Input average, whole file so far",
    "majority": "Majority key of training",
    "chance": "Chance (1/24)",
}

# ---- the networks of the sweep ------------------------------------------------------------------

ARCHS = ("elman", "lstm", "gru")  # the recurrent cores (bayesbach.networks.models), in this order everywhere
ARCH_LABELS = {"elman": "Elman RNN", "lstm": "LSTM", "gru": "GRU"}
PRIMARY_ARCHS = ("gru", "lstm", "elman")  # the study's core first: which architecture a one-network figure shows
TASKS = ("decode", "predict")  # decode: report y_t; predict: report y_{t+1}

# ---- the reference ladder -----------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    kind: str  # "counted" (bayesbach.references.counted) or "trained" (bayesbach.references.trained)
    tasks: tuple[str, ...]  # the tasks it is scored on
    label: str  # spelled out on the page and in the figures
    colour: str  # in the figures (Okabe-Ito; the networks are blue)
    # Its model and scores do not depend on the noise level (it never sees the noisy input): one job fits and scores
    # it once and writes the folder of every noise level of the sweep (references.smk).
    sigma_free: bool = False


REFERENCES = {  # in the order a study lists them by default (references.models)
    "global": Reference("counted", ("decode", "predict"), "Global pitch-class frequencies", "#999999", sigma_free=True),
    "markov_counts": Reference("counted", ("predict",), "1st-order Markov, counted (clean input)", "#CC79A7",
                               sigma_free=True),
    "markov_low": Reference("trained", ("predict",), "1st-order Markov net, clean input", "#E69F00", sigma_free=True),
    "markov_high": Reference("trained", ("predict",), "1st-order Markov net, noisy input", "#D55E00"),
    "decoder_ff": Reference("trained", ("decode",), "Memoryless decoder (3-layer net, noisy input)", "#009E73"),
    "rnn_pred": Reference("trained", ("predict",), "Recurrent net trained to predict", "#009E73"),  # never beside decoder_ff
    "bayes": Reference("counted", ("decode", "predict"), "Ideal Bayesian observer, 1st order", "#000000"),
    "markov_counts2": Reference("counted", ("predict",), "2nd-order Markov, counted (clean input)", "#A1427F",
                                sigma_free=True),
    "markov_counts3": Reference("counted", ("predict",), "3rd-order Markov, counted (clean input)", "#6E1F57",
                                sigma_free=True),
    "bayes2": Reference("counted", ("decode", "predict"), "Ideal Bayesian observer, 2nd order", "#4D4D4D"),
    "bayes3": Reference("counted", ("decode", "predict"), "Ideal Bayesian observer, 3rd order", "#808080"),
}
# The references each network is compared with in stats.csv, per task, in the order of its rows.
COMPARED = {
    "predict": ("markov_high", "global", "markov_low", "markov_counts", "bayes", "bayes2", "bayes3", "rnn_pred"),
    "decode": ("decoder_ff", "bayes", "bayes2", "bayes3"),
}
# The comparisons the results page shows as its key tables, one per task (task, reference).
HEADLINE_COMPARISONS = (("predict", "markov_high"), ("predict", "bayes"), ("predict", "bayes3"), ("predict", "rnn_pred"),
                   ("decode", "decoder_ff"), ("decode", "bayes"), ("decode", "bayes3"))
# The ladder of ideal observers: position k is the model of order k (bayesbach.evaluation.effective_order).
OBSERVER_ORDERS = ("bayes_memoryless", "bayes", "bayes2", "bayes3")
# The prediction ladder of the figures, roughly worst to best.
LADDER_FIGURE_MODELS = ("global", "markov_high", "markov_low", "markov_counts", "bayes", "markov_counts2", "bayes2", "markov_counts3",
          "bayes3", "rnn_pred")


def reference_names(kind: str, sigma_free: bool | None = None) -> tuple[str, ...]:
    """The reference names of one kind (``counted`` or ``trained``), in registry order; with ``sigma_free=True``
    only those whose results do not depend on the noise level, with ``False`` only those whose results do."""
    return tuple(name for name, ref in REFERENCES.items()
                 if ref.kind == kind and sigma_free in (None, ref.sigma_free))


# The references whose results do not depend on sigma (Reference.sigma_free), in registry order.
SIGMA_FREE = tuple(name for name, ref in REFERENCES.items() if ref.sigma_free)


# The other composers (generalisation.composers, bayesbach.evaluation.generalisation): each composer's own
# predictability comes from counted references fitted on a split of its own works (generalisation.own_models, of
# OWN_MODELS), named OWN_PREFIX + the reference in generalisation.parquet ("own_global").
OWN_PREFIX = "own_"
OWN_MODELS = reference_names("counted")


# ---- paths and wildcards ------------------------------------------------------------------------

# The {noise} wildcard: repr(float(sigma)), e.g. 0.5, 1.0, 0.001, 1e-05.
NOISE_PATTERN = r"\d+\.\d+(e-\d+)?|\d+(\.\d+)?e[-+]\d+"

SOURCE_DIR = "data/raw/{source}"  # a corpus source: its MIDI files, manifest.parquet, rejects.parquet
DATASET_DIR = "results/dataset"  # events.parquet, rejects.parquet, pieces.parquet
MODEL_DIR = "results/models/{arch}/h{hidden}/s{noise}/r{run}"  # one trained network
MODEL_FILES = ("decoder.pt", "probe.pt", "history.parquet", "meta.json")
REFERENCE_DIR = "results/references/s{noise}/{name}"  # one reference at one noise level
NETWORK_EVALUATION_DIR = "results/evaluation/networks/{arch}/h{hidden}/s{noise}/r{run}"  # one network's test errors
EVALUATION_DIR = "results/evaluation"  # errors.parquet, encoding.parquet, stats.csv, orders.csv
COMPOSER_SOURCE_DIR = "data/raw/composers/{composer}"  # another composer's MIDI files, manifest.parquet, rejects.parquet
COMPOSER_DATASET_DIR = "results/dataset/composers/{composer}"  # its events.parquet, rejects.parquet, pieces.parquet
GENERALISATION_DIR = "results/generalisation/{composer}/s{noise}"  # every model on its test pieces: errors.parquet
LISTEN_DIR = "results/listen"  # example.parquet, s{noise}/{kind}.mid
FIGURES_DIR = "results/figures"  # {name}.png and {name}.pdf
SUMMARY = "results/summary.html"  # the results page
SUMMARY_TEXT = "results/summary.txt"  # its headline table, printed when a run ends


def noise_label(sigma: float) -> str:
    """The {noise} wildcard of a noise level: Python's repr of the float (0.5, 1.0, 0.001)."""
    return repr(float(sigma))


def model_dir(arch: str, hidden: int, noise: float, run: int) -> str:
    return MODEL_DIR.format(arch=arch, hidden=int(hidden), noise=noise_label(noise), run=int(run))


def reference_dir(name: str, noise: float) -> str:
    return REFERENCE_DIR.format(name=name, noise=noise_label(noise))


def network_evaluation_dir(arch: str, hidden: int, noise: float, run: int) -> str:
    return NETWORK_EVALUATION_DIR.format(arch=arch, hidden=int(hidden), noise=noise_label(noise), run=int(run))


# ---- the report ---------------------------------------------------------------------------------

# Each figure (results/figures/{name}.png) and the files it is drawn from: a keyword of
# bayesbach.report.figures.make -> a path; MODEL_DIR stands for every network of the sweep (their
# history.parquet and meta.json). The order is the page's order.
FIGURE_INPUTS = {
    "ladder": {"errors": f"{EVALUATION_DIR}/errors.parquet", "stats": f"{EVALUATION_DIR}/stats.csv"},
    "orders": {"orders_path": f"{EVALUATION_DIR}/orders.csv"},
    "decoding": {"errors": f"{EVALUATION_DIR}/errors.parquet"},
    "sweep": {"stats": f"{EVALUATION_DIR}/stats.csv"},
    "training": {"model_dirs": MODEL_DIR},
    "example": {"example_path": f"{LISTEN_DIR}/example.parquet"},
    "encoding": {"coding_path": f"{EVALUATION_DIR}/encoding.parquet"},
    "keys": {"keys_path": f"{EVALUATION_DIR}/keys.parquet"},
    "generalisation": {"generalisation_path": f"{EVALUATION_DIR}/generalisation.parquet",
                       "errors": f"{EVALUATION_DIR}/errors.parquet"},
    "architectures": {"errors": f"{EVALUATION_DIR}/errors.parquet"},
}
FIGURES = tuple(FIGURE_INPUTS)
LISTEN_KINDS = ("clean", "noisy", "decoded", "predicted")  # results/listen/s{noise}/{kind}.mid


def example_network(sweep: dict) -> tuple[str, int, int]:
    """(arch, hidden, run) of the example network: GRU when swept (the study's core), the largest size, run 0."""
    arch = "gru" if "gru" in sweep["arch"] else sweep["arch"][0]
    return arch, max(sweep["hidden"]), 0


def example_model_dirs(sweep: dict) -> dict[float, str]:
    """{noise: model folder} of the example network at each noise level of the sweep."""
    arch, hidden, run = example_network(sweep)
    return {float(s): model_dir(arch, hidden, s, run) for s in sweep["noise"]}


def figure_names(sweep: dict, composers: list | tuple = ()) -> list[str]:
    """The figures a study draws: the architecture comparison only when it sweeps several, the other composers
    only when it names some (generalisation.composers)."""
    return [n for n in FIGURES if (n != "architectures" or len(sweep["arch"]) > 1)
            and (n != "generalisation" or len(composers) > 0)]
