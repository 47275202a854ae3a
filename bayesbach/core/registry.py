"""Every name that more than one place needs, written once.

The workflow (``workflow/rules/*.smk``), the command line, the statistics and the
report read these; nobody types the lists again. This module imports nothing
heavy (no torch, no matplotlib): Snakemake reads it when it plans a study.

Adding an architecture: one entry in ``ARCHITECTURES``. Adding a reference model: one entry in
``REFERENCES`` (and, when the networks are compared with it, in ``COMPARED``), plus its definition
in the module of its kind (``counted``: :mod:`bayesbach.references.counted`; ``trained``:
:mod:`bayesbach.references.trained`). Nothing else changes (docs/architecture.md, "How to add").
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
# the state, the same read-out of a running average (with the network's effective memory) of the noisy input, of
# the network's own decoded chords and of the first-order ideal observer's posterior means (the denoised input),
# of the noisy input over the whole file so far, and the two read-outs that ignore the input.
KEY_DECODERS = {
    "network": "Network state h_t",
    "input_memory": "Noisy input average, network's memory (control)",
    "control_decoded": "Decoded-chord average, network's memory (control)",
    "control_observer": "Observer posterior-mean average, network's memory (control)",
    "input_all": "Input average, whole file so far",
    "majority": "Majority key of training",
    "chance": "Chance (1/24)",
}
# The memory-matched controls of the key decoding: "state minus control" takes the strongest of them in each
# network cell (bayesbach.evaluation.key_summary).
KEY_CONTROLS = ("input_memory", "control_decoded", "control_observer")

# ---- the networks of the sweep ------------------------------------------------------------------


@dataclass(frozen=True)
class Architecture:
    label: str  # spelled out on the page and in the figures
    core: str  # its torch.nn recurrent class (bayesbach.networks.models builds it; the registry imports no torch)
    gates: int  # matrix products of the input and of the state per step: the cost model's (bayesbach.core.resources)
    dash: str  # its line where a figure draws several architectures (matplotlib's "-", "--", ":", "-.")
    marker: str  # its marker there (matplotlib's "o", "s", "^", ...)
    # Its rank as the architecture that one-network figures and the example network show (0 first); None: shown
    # only when no ranked one is swept (primary_arch).
    primary: int | None = None
    options: tuple[tuple[str, object], ...] = ()  # keyword arguments of the core, e.g. (("nonlinearity", "relu"),)


ARCHITECTURES = {  # the recurrent cores of the sweep, in this order everywhere
    "elman": Architecture("Elman RNN", "RNN", gates=1, dash=":", marker="^", primary=2),
    "lstm": Architecture("LSTM", "LSTM", gates=4, dash="--", marker="s", primary=1),
    "gru": Architecture("GRU", "GRU", gates=3, dash="-", marker="o", primary=0),  # the study's core
}
ARCHS = tuple(ARCHITECTURES)
# What building a network reads (bayesbach.networks.models): the trained networks' code fingerprint covers these,
# not the labels and styles, so restyling a figure retrains nothing (core.provenance reads registry values).
CORES = {name: (a.core, a.options) for name, a in ARCHITECTURES.items()}
TASKS = ("decode", "predict")  # decode: report y_t; predict: report y_{t+1}


def primary_arch(archs) -> str | None:
    """Which of ``archs`` (architecture names, e.g. a sweep's) one-network figures and the example network show:
    the best ranked (``Architecture.primary``), else the first; None when there is none."""
    archs = [a for a in archs if a in ARCHITECTURES]
    ranked = [a for a in archs if ARCHITECTURES[a].primary is not None]
    if ranked:
        return min(ranked, key=lambda a: ARCHITECTURES[a].primary)
    return archs[0] if archs else None


# ---- the reference ladder -----------------------------------------------------------------------


@dataclass(frozen=True)
class JobSize:
    """What the cluster cost model (bayesbach.core.resources) sizes a trained reference's job as: the training of a
    recurrent network, each field the ``references:`` config key that holds its architecture, units and batches."""

    arch: str = "rnn_arch"
    hidden: str = "rnn_hidden"
    batches: str = "batches"
    # False: the reference costs a fraction of that network (a feed-forward net: no step-by-step latency), which
    # only bounds its job's limits; the study's device-hours (bayesbach estimate) leave it out.
    estimated: bool = True

    def of(self, refs: dict) -> tuple[str, int, int]:
        """(arch, hidden, batches) of the network, from the ``references:`` config."""
        return refs[self.arch], int(refs[self.hidden]), int(refs[self.batches])


@dataclass(frozen=True)
class Reference:
    kind: str  # "counted" (bayesbach.references.counted) or "trained" (bayesbach.references.trained)
    tasks: tuple[str, ...]  # the tasks it is scored on
    label: str  # spelled out on the page and in the figures
    colour: str  # in the figures (Okabe-Ito; the networks are blue)
    # Its model and scores do not depend on the noise level (it never sees the noisy input): one job fits and scores
    # it once and writes the folder of every noise level of the sweep (references.smk).
    sigma_free: bool = False
    # The references: config keys its results depend on (its rule's params, so a changed rnn_hidden reruns the
    # recurrent ones alone, a changed ppm_stm_escape the PPM models with an STM), and a trained one's job size (a
    # counted job's: core.resources.counted_minutes).
    config: tuple[str, ...] = ()
    job: JobSize | None = None
    # Its label where errors.parquet gives its architecture and size: "{arch}" (that architecture's label) and
    # "{hidden}" (its units) filled in (bayesbach.report.labels); None: the label alone.
    sized_label: str | None = None

    def params(self, refs: dict) -> dict:
        """Its values of the ``references:`` config (``config``): what its job's results depend on."""
        return {key: refs[key] for key in self.config}


# The two shapes of trained reference (bayesbach.references.trained.spec): their config keys and job sizes. A
# feed-forward one's job is sized as the recurrent net of the config, an upper bound.
FEED_FORWARD = {"config": ("batches", "ff_hidden", "lr"), "job": JobSize(estimated=False)}
RECURRENT = {"config": ("batches", "lr", "rnn_arch", "rnn_hidden"), "job": JobSize()}

# The references: keys of the PPM models (bayesbach.references.ppm_reference.DEFAULTS): each memory's order bound, escape
# method and update exclusion, the bias of their combination, the alphabet.
PPM_LTM = ("ppm_ltm_order_bound", "ppm_ltm_escape", "ppm_ltm_update_exclusion", "ppm_alphabet")
PPM_STM = ("ppm_stm_order_bound", "ppm_stm_escape", "ppm_stm_update_exclusion", "ppm_alphabet")
PPM_BOTH = PPM_LTM[:-1] + PPM_STM[:-1] + ("ppm_bias", "ppm_alphabet")

REFERENCES = {  # in the order a study lists them by default (references.models)
    "global": Reference("counted", ("decode", "predict"), "Global pitch-class frequencies", "#999999", sigma_free=True),
    "markov_counts": Reference("counted", ("predict",), "1st-order Markov, counted (clean input)", "#CC79A7",
                               sigma_free=True),
    "markov_low": Reference("trained", ("predict",), "1st-order Markov net, clean input", "#E69F00", sigma_free=True,
                            **FEED_FORWARD),
    "markov_high": Reference("trained", ("predict",), "1st-order Markov net, noisy input", "#D55E00", **FEED_FORWARD),
    "decoder_ff": Reference("trained", ("decode",), "Memoryless decoder (3-layer net, noisy input)", "#009E73",
                            **FEED_FORWARD),
    "rnn_pred": Reference("trained", ("predict",), "Recurrent net trained to predict", "#009E73",  # never beside decoder_ff
                          sized_label="{arch} trained to predict ({hidden} units)", **RECURRENT),
    # its colour: the palette's yellow, darkened to show on white
    "bayes_memoryless": Reference("counted", ("decode", "predict"), "Ideal memoryless observer", "#B8A200"),
    "bayes": Reference("counted", ("decode", "predict"), "Ideal Bayesian observer, 1st order", "#000000"),
    "markov_counts2": Reference("counted", ("predict",), "2nd-order Markov, counted (clean input)", "#A1427F",
                                sigma_free=True),
    "markov_counts3": Reference("counted", ("predict",), "3rd-order Markov, counted (clean input)", "#6E1F57",
                                sigma_free=True),
    "bayes2": Reference("counted", ("decode", "predict"), "Ideal Bayesian observer, 2nd order", "#4D4D4D"),
    "bayes3": Reference("counted", ("decode", "predict"), "Ideal Bayesian observer, 3rd order", "#808080"),
    # IDyOM's PPM models of the chords (bayesbach.references.ppm), on the clean previous chords of the file, each
    # with the references: keys of its memories (their defaults: IDyOM's).
    "ppm_ltm": Reference("counted", ("predict",), "PPM long-term model (IDyOM LTM)", "#A6761D", sigma_free=True,
                         config=PPM_LTM),
    "ppm_stm": Reference("counted", ("predict",), "PPM short-term model (IDyOM STM)", "#E6AB02", sigma_free=True,
                         config=PPM_STM),
    "ppm_both": Reference("counted", ("predict",), "PPM long- and short-term (IDyOM both)", "#8C510A",
                          sigma_free=True, config=PPM_BOTH),
    "ppm_both_plus": Reference("counted", ("predict",), "PPM LTM+ and STM (IDyOM both+)", "#543005",
                               sigma_free=True, config=PPM_BOTH),
}
# The references each network is compared with in stats.csv, per task, in the order of its rows.
COMPARED = {
    "predict": ("markov_high", "bayes_memoryless", "global", "markov_low", "markov_counts", "bayes", "bayes2", "bayes3",
                "rnn_pred", "ppm_both"),
    "decode": ("decoder_ff", "bayes_memoryless", "bayes", "bayes2", "bayes3"),
}
# The comparisons the results page shows as its key tables, one per task (task, reference).
# (Four per task fit the page's width; the whole ladder is in the orders table.)
HEADLINE_COMPARISONS = (("predict", "markov_high"), ("predict", "bayes_memoryless"), ("predict", "bayes"),
                        ("predict", "rnn_pred"), ("decode", "decoder_ff"), ("decode", "bayes_memoryless"),
                        ("decode", "bayes"), ("decode", "bayes3"))
# The ladder of ideal observers: position k is the model of order k (bayesbach.evaluation.effective_order).
OBSERVER_ORDERS = ("bayes_memoryless", "bayes", "bayes2", "bayes3")
# The prediction ladder of the figures, roughly worst to best.
LADDER_FIGURE_MODELS = ("global", "markov_high", "bayes_memoryless", "markov_low", "markov_counts", "bayes",
                        "markov_counts2", "bayes2", "markov_counts3", "bayes3", "ppm_stm", "ppm_ltm", "ppm_both",
                        "rnn_pred")


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


# ---- the report ---------------------------------------------------------------------------------

# The figures and every path: bayesbach.core.layout.
LISTEN_KINDS = ("clean", "noisy", "decoded", "predicted")  # the example's sequences (bayesbach.report.listening)


def example_network(sweep: dict) -> tuple[str, int, int]:
    """(arch, hidden, run) of the example network: the primary architecture of the sweep, the largest size, run 0."""
    return primary_arch(sweep["arch"]), max(sweep["hidden"]), 0
