"""The counted references of the ladder: ``global``, ``markov_counts``/``2``/``3``, the ideal observers
``bayes_memoryless`` and ``bayes``/``2``/``3``, and IDyOM's PPM models ``ppm_ltm``, ``ppm_stm``, ``ppm_both``,
``ppm_both_plus`` (:mod:`bayesbach.references.ppm_reference`).

Each is fitted on the clean training split and scored on every test piece, each
file of a piece on its own (docs/science.md, "Evaluation"), in the long format of
``errors.parquet``: a piece's error is the mean over all scored steps and units
of its files, its ``bits`` the mean over the scored steps of the information
content of the actual chord under the model's categorical distribution over
chords (``global``, independent units: units x BCE / ln 2). Noisy inputs are the study's common random numbers
(:mod:`bayesbach.dataset.noise`): the same noise realisation per file as the
networks see. Their names and tasks are in :data:`bayesbach.core.registry.REFERENCES`;
``MODELS`` maps each to its fit here: each follows the references' protocol (:mod:`bayesbach.references`).

- ``global``: the training marginal, a constant (decode and predict).
- ``markov_countsK``: per-unit P(y_{t+1} | the clean y_t, ..., y_{t-K+1}) from the
  counted chord model of order K (:mod:`bayesbach.references.contexts`), its
  smoothing chosen on clean validation prediction (predict).
- ``bayesK``: the forward filter of the same model of order K with the true sigma
  (:mod:`bayesbach.references.observer`), its smoothing chosen at that sigma on
  the noisy validation split (:mod:`bayesbach.references.smoothing`) (decode and predict).
- ``bayes_memoryless``: order 0 of the observers, the posterior of the current chord
  given x_t alone (prior: the unigram of the order-1 model, over the same alphabet and
  rest groups) pushed through that model's first-order transitions for prediction
  (:class:`~bayesbach.references.observer.MemorylessObserver`), its smoothing chosen like
  ``bayes``'s on its own noisy validation BCE: the exact bound of ``decoder_ff`` and
  ``markov_high`` (decode and predict).

- ``ppm_*``: variable-order PPM models of the chord sequence on the clean previous chords of the file (a long-term
  model of the training split, a short-term model of the file so far, their entropy-weighted combination), with
  IDyOM's defaults or the ``references:`` keys of their registry entry (``Fitting.settings``) (predict).

``global``, ``markov_countsK`` and ``ppm_*`` never see the noise (``registry.SIGMA_FREE``): one job
fits and scores each once and writes its result for every noise level
(:func:`counted_reference`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Iterator

import numpy as np

from bayesbach.core.atomic import write_json, write_parquet
from bayesbach.core.errors_table import errors_table, factorised_bits
from bayesbach.core.registry import ENCODINGS, REFERENCES, SPLITS
from bayesbach.dataset.loader import files_of, load_splits, n_steps
from bayesbach.dataset.noise import crn_inputs
from bayesbach.references import check_noise_levels
from bayesbach.references.alphabet import (count_alphabet, global_marginal, information_content, mean_information,
                                            pooled_bce)
from bayesbach.references.contexts import ContextModel, count_contexts
from bayesbach.references.observer import DEFAULT_KERNEL, observer_of
from bayesbach.references.ppm_reference import PPMReference
from bayesbach.references.smoothing import select_clean, select_observer

log = logging.getLogger(__name__)

# The pitch-class sets an unseen chord of each encoding backs off to (alphabet.Alphabet.classes).
CLASSES = {"pc12": None, "pitch": 12}
# Above this many states the observer keeps sparse beliefs and drops at most PRUNE of the posterior per step.
EXACT_STATES = 200_000
PRUNE = 1e-7
SEARCH_PROGRESS = "search.jsonl"  # in the job's folder while an observer chooses its smoothing


def prune_of(model: ContextModel, memoryless: bool = False) -> float:
    """The posterior mass an observer of ``model`` may drop per step: 0 (exact) for the memoryless one and up to
    EXACT_STATES states, else PRUNE."""
    return 0.0 if memoryless or model.n_states <= EXACT_STATES else PRUNE


def mean_bce(ps: list[np.ndarray] | None, ys: list[np.ndarray]) -> float:
    """Mean BCE over every scored step and unit of a piece's files (pooled); NaN when it has none (as for the networks)."""
    return pooled_bce(ps, ys) if ps is not None else float("nan")


@dataclass(frozen=True)
class Fitting:
    """How a counted reference is fitted besides its data: the same for every one, each reads what it needs."""

    sigma: float  # the noise level: an observer chooses its smoothing at it (a sigma-free reference ignores it)
    seed: int  # the study's seed: the common random numbers of the noisy validation split
    classes: int | None = None  # the pitch-class sets an unseen chord backs off to (CLASSES of the encoding)
    # A fitted reference's strengths (its meta.json): taken instead of chosen on the validation split, so the same
    # model is scored on other pieces (bayesbach.evaluation.generalisation) at the cost of counting alone.
    smoothing: dict | None = None
    progress: Path | None = None  # where a smoothing search keeps its evaluations: a killed job resumes it
    # Its references: config keys (its registry entry's ``config``, e.g. the PPM options); None: their defaults.
    settings: dict | None = None
    kernel: str | None = None  # an observer's dense step: "numba" or "numpy" (None: observer.DEFAULT_KERNEL)


# What ``probabilities`` yields for each test piece: (piece, per-file decode probabilities or None, per-file predict
# probabilities, per-file decode bits, per-file predict bits); every counted reference is scored on predict. The bits
# are the information content of each actual chord under the model's categorical distribution over chords; None
# where the model has none (``global``: independent units, the product of its marginals, ``factorised_bits``).
Probabilities = Iterator[tuple[str, list[np.ndarray] | None, list[np.ndarray], list[np.ndarray] | None,
                               list[np.ndarray] | None]]


class Global:
    """``global``: the training marginal, a constant: independent units, so its joint over chords is the product of
    its marginals (no categorical of its own; bits = units x BCE / ln 2)."""

    def __init__(self, train: dict, validation: dict, how: Fitting):
        self.marginal = global_marginal(train)
        self.meta = {"marginal": self.marginal.tolist()}

    def probabilities(self, test: dict, sigma: float, seed: int) -> Probabilities:
        m = self.marginal
        for piece, ys in test.items():
            yield (piece, [np.broadcast_to(m, y.shape) for y in ys],
                   [np.broadcast_to(m, (max(len(y) - 1, 0), len(m))) for y in ys], None, None)


def _given(smoothing: dict) -> tuple[dict, dict]:
    """A fitted reference's strengths, taken as they are, and the record of their choice for meta.json."""
    return smoothing, {"method": "given (a fitted reference's)", "chosen": smoothing}


def _context_model(train: dict, validation: dict, order: int, how: Fitting, meta: dict) -> tuple[ContextModel, dict]:
    """The counted model of ``order`` and its strengths: the given ones, else chosen on clean validation prediction."""
    model = count_contexts(train, count_alphabet(train, how.classes), order)
    if how.smoothing is None:
        smoothing, record = select_clean(model, files_of(validation))
    else:
        smoothing, record = _given(how.smoothing)
    a = model.alphabet
    meta.update(order=order, smoothing=smoothing, clean_smoothing=record, seen_chords=a.n_seen,
                rest_groups=int((a.group_mass > 0).sum()), rest_state=bool((a.group_mass > 0).any()),
                states=int(model.n_states), contexts_per_order=np.bincount(model.level)[1:].tolist(),
                training_steps=int(model.unigram.sum()))
    return model, smoothing


class MarkovCounts:
    """``markov_countsK``: the counted chord model of order K on the clean previous chords; its bits are the
    information content of the next chord under P(c | state), over all chords."""

    def __init__(self, train: dict, validation: dict, how: Fitting, order: int = 1):
        self.meta: dict = {}
        self.model, self.smoothing = _context_model(train, validation, order, how, self.meta)

    def probabilities(self, test: dict, sigma: float, seed: int) -> Probabilities:
        for piece, ys in test.items():
            states = [self.model.states(y)[:-1] for y in ys]
            yield (piece, None, [self.model.predict_units(s, self.smoothing) for s in states], None,
                   [information_content(self.model.log_probability(s, y[1:], self.smoothing))
                    for s, y in zip(states, ys)])


class Bayes:
    """``bayesK``: the ideal observer of the same model at the true sigma, its smoothing chosen at that sigma;
    with ``memoryless``, ``bayes_memoryless``: the order-1 model's observer of each step's input alone."""

    def __init__(self, train: dict, validation: dict, how: Fitting, order: int = 1, memoryless: bool = False):
        self.meta: dict = {}
        self.memoryless, self.kernel = memoryless, how.kernel
        self.model, start = _context_model(train, validation, order, how, self.meta)
        self.prune = prune_of(self.model, memoryless)
        t0 = time.perf_counter()
        if how.smoothing is None:
            noisy = files_of(crn_inputs(validation, how.sigma, how.seed))
            self.smoothing, record = select_observer(self.model, files_of(validation), noisy, how.sigma, start,
                                                     self.prune, how.progress, memoryless, how.kernel)
        else:
            self.smoothing, record = _given(how.smoothing)
        self.meta.update(smoothing=self.smoothing, observer_smoothing=record, exact=self.prune == 0,
                         kernel=None if memoryless else how.kernel or DEFAULT_KERNEL,
                         memoryless=memoryless, select_seconds=round(time.perf_counter() - t0, 3))

    def probabilities(self, test: dict, sigma: float, seed: int) -> Probabilities:
        t0 = time.perf_counter()
        observer = observer_of(self.model, self.smoothing, sigma, self.prune, self.memoryless, self.kernel)
        yield from observer.run(crn_inputs(test, sigma, seed), targets=test)
        self.meta["filter_seconds"] = round(time.perf_counter() - t0, 3)
        if self.prune:
            self.meta["pruning"] = {"budget_per_step": self.prune, **observer.discarded.as_meta()}


# Each counted reference's fit: (train, validation, how) -> a model with ``meta`` (what it fitted, for meta.json)
# and ``probabilities(test, sigma, seed)`` (bayesbach.references, "The protocol").
MODELS = {
    "global": Global,
    "markov_counts": partial(MarkovCounts, order=1),
    "markov_counts2": partial(MarkovCounts, order=2),
    "markov_counts3": partial(MarkovCounts, order=3),
    "bayes_memoryless": partial(Bayes, order=1, memoryless=True),
    "bayes": partial(Bayes, order=1),
    "bayes2": partial(Bayes, order=2),
    "bayes3": partial(Bayes, order=3),
    "ppm_ltm": partial(PPMReference, kind="ltm"),
    "ppm_stm": partial(PPMReference, kind="stm"),
    "ppm_both": partial(PPMReference, kind="both"),
    "ppm_both_plus": partial(PPMReference, kind="both_plus"),
}


@dataclass
class Counted:
    """A counted reference fitted (:class:`bayesbach.references.Fitted`): its model's probabilities scored by the
    pooled BCE on the tasks of its registry entry, and by the mean information content of the actual chords."""

    name: str
    model: object  # what its MODELS entry returned
    cell = (None, None)  # counted references have no arch and no hidden in errors.parquet

    @property
    def meta(self) -> dict:
        return self.model.meta

    def evaluate(self, test: dict, sigma: float, seed: int) -> tuple[dict, dict]:
        """``({task: {piece: mean BCE}}, {task: {piece: mean bits per chord}})`` on ``test`` (:meth:`scores`); a
        model without a categorical distribution gets the factorised bits of its BCE."""
        tasks = REFERENCES[self.name].tasks
        bce: dict[str, dict[str, float]] = {task: {} for task in tasks}
        bits: dict[str, dict[str, float]] = {task: {} for task in tasks}
        for piece, decode, predict, decode_bits, predict_bits in self.model.probabilities(test, sigma, seed):
            ys = test[piece]
            units = ys[0].shape[1] if ys else 0
            for task, ps, ics, targets in (("decode", decode, decode_bits, ys),
                                           ("predict", predict, predict_bits, [y[1:] for y in ys])):
                if task in bce:
                    bce[task][piece] = mean_bce(ps, targets)
                    bits[task][piece] = (mean_information(ics) if ics is not None
                                         else factorised_bits(bce[task][piece], units))
        order = lambda d: {task: dict(sorted(v.items())) for task, v in d.items()}  # noqa: E731
        return order(bce), order(bits)

    def scores(self, test: dict, sigma: float, seed: int) -> dict[str, dict[str, float]]:
        return self.evaluate(test, sigma, seed)[0]


def fit(name: str, train: dict, validation: dict, how: Fitting) -> Counted:
    """Counted reference ``name`` fitted on ``train`` (the loader's ``{piece: [file arrays]}``), its smoothing chosen
    on ``validation`` unless ``how`` gives it."""
    if name not in MODELS:
        raise ValueError(f"unknown counted reference {name!r}; expected one of {sorted(MODELS)}")
    return Counted(name, MODELS[name](train, validation, how))


def refit(meta: dict, train: dict, sigma: float | None = None, seed: int | None = None) -> Counted:
    """The counted reference of a job's ``meta.json`` counted again on ``train``, with the strengths and options that
    job chose (nothing searched again), at ``sigma`` and ``seed`` (default: the job's)."""
    how = Fitting(float(meta["noise"]) if sigma is None else sigma, int(meta["seed"]) if seed is None else seed,
                  CLASSES[meta["encoding"]], smoothing=meta.get("smoothing"), settings=meta.get("settings"))
    return fit(meta["model"], train, {}, how)


def evaluate_counted(name: str, train: dict, validation: dict, test: dict, sigma: float, seed: int,
                     encoding: str = "pc12", smoothing: dict | None = None,
                     progress: Path | None = None, settings: dict | None = None) -> tuple[dict, dict, dict]:
    """``({task: {piece: bce}}, {task: {piece: bits}}, meta)`` of counted reference ``name`` fitted and scored at
    noise level ``sigma`` (``encoding``, ``smoothing``, ``progress`` and ``settings`` as :class:`Fitting` takes
    them)."""
    fitted = fit(name, train, validation, Fitting(sigma, seed, CLASSES[encoding], smoothing, progress, settings))
    bce, bits = fitted.evaluate(test, sigma, seed)
    return bce, bits, fitted.meta


def score_counted(name: str, train: dict, validation: dict, test: dict, sigma: float, seed: int,
                  encoding: str = "pc12", smoothing: dict | None = None,
                  progress: Path | None = None) -> tuple[dict, dict]:
    """``({task: {piece: bce}}, meta)``: :func:`evaluate_counted` without the bits."""
    bce, _, meta = evaluate_counted(name, train, validation, test, sigma, seed, encoding, smoothing, progress)
    return bce, meta


def counted_reference(dataset: Path, outs: list[Path], *, name: str, noises: list[float], seed: int,
                      encoding: str = "pc12", settings: dict | None = None) -> list[dict]:
    """One job: fit and score ``name`` at each noise level of ``noises``; writes ``errors.parquet`` and
    ``meta.json`` of level k (its ``noise``) to ``outs[k]`` and returns their meta.json. Several levels only
    for a sigma-free reference (:func:`bayesbach.references.check_noise_levels`), fitted and scored once.
    ``settings``: the references: config keys its registry entry names (``Reference.config``)."""
    noises = [float(s) for s in noises]
    check_noise_levels(name, outs, noises)
    t0 = time.perf_counter()
    data = load_splits(dataset, SPLITS, encoding)
    progress = Path(outs[0]) / SEARCH_PROGRESS  # a killed job's smoothing search resumes from it
    bce_by_task, bits, fitted = evaluate_counted(name, data["train"], data["validation"], data["test"], noises[0],
                                                 seed, encoding, progress=progress, settings=settings)
    seconds = time.perf_counter() - t0
    for task, values in bce_by_task.items():
        log.info("%s sigma=%s %s: mean test BCE %.5f over %d pieces", name, ", ".join(map(repr, noises)), task,
                 np.nanmean(list(values.values())) if values else float("nan"), len(values))
    metas = []
    for out, noise in zip(map(Path, outs), noises):
        meta = {"model": name, "noise": noise, "seed": seed, "encoding": encoding,
                "pieces": {split: len(d) for split, d in data.items()}, "test_steps": n_steps(data["test"]),
                "seconds": round(seconds, 3), **({"settings": settings} if settings else {}), **fitted}
        table = errors_table(bce_by_task, name, None, None, noise, None, ENCODINGS[encoding], bits)
        write_parquet(out / "errors.parquet", table)
        write_json(out / "meta.json", meta)
        metas.append(meta)
    progress.unlink(missing_ok=True)  # the search is in meta.json now
    return metas
