"""The counted references of the ladder: ``global``, ``markov_counts``/``2``/``3`` and the ideal observers
``bayes``/``2``/``3``.

Each is fitted on the clean training split and scored on every test piece, each
file of a piece on its own (docs/science.md, "Evaluation"), in the long format of
``errors.parquet``: a piece's error is the mean over all scored steps and units
of its files. Noisy inputs are the study's common random numbers
(:mod:`bayesbach.dataset.noise`): the same noise realisation per file as the
networks see. Their names and tasks are in :data:`bayesbach.core.registry.REFERENCES`;
``PROBABILITIES`` maps each to its model here.

- ``global``: the training marginal, a constant (decode and predict).
- ``markov_countsK``: per-unit P(y_{t+1} | the clean y_t, ..., y_{t-K+1}) from the
  counted chord model of order K (:mod:`bayesbach.references.contexts`), its
  smoothing chosen on clean validation prediction (predict).
- ``bayesK``: the forward filter of the same model of order K with the true sigma
  (:mod:`bayesbach.references.observer`), its smoothing chosen at that sigma on
  the noisy validation split (:mod:`bayesbach.references.smoothing`) (decode and predict).

``global`` and ``markov_countsK`` never see the noise (``registry.SIGMA_FREE``): one job
fits and scores each once and writes its result for every noise level
(:func:`counted_reference`).
"""

from __future__ import annotations

import logging
import time
from functools import partial
from pathlib import Path
from typing import Iterator

import numpy as np

from bayesbach.core.atomic import write_json, write_parquet
from bayesbach.core.errors_table import errors_table
from bayesbach.core.registry import REFERENCES, SPLITS
from bayesbach.dataset.loader import files_of, load_splits, n_steps
from bayesbach.dataset.noise import crn_inputs
from bayesbach.references import check_noise_levels
from bayesbach.references.alphabet import count_alphabet, global_marginal, pooled_bce
from bayesbach.references.contexts import ContextModel, count_contexts
from bayesbach.references.observer import Observer
from bayesbach.references.smoothing import select_clean, select_observer

log = logging.getLogger(__name__)

# The pitch-class sets an unseen chord of each encoding backs off to (alphabet.Alphabet.classes).
CLASSES = {"pc12": None, "pitch": 12}
# Above this many states the observer keeps sparse beliefs and drops at most PRUNE of the posterior per step.
EXACT_STATES = 200_000
PRUNE = 1e-7
SEARCH_PROGRESS = "search.jsonl"  # in the job's folder while an observer chooses its smoothing


def mean_bce(ps: list[np.ndarray] | None, ys: list[np.ndarray]) -> float:
    """Mean BCE over every scored step and unit of a piece's files (pooled); NaN when it has none (as for the networks)."""
    return pooled_bce(ps, ys) if ps is not None else float("nan")


# Each yields (piece, per-file decode probabilities or None, per-file predict probabilities) for every test
# piece and records what it fitted in ``meta``. With ``smoothing`` (a fitted reference's, from its meta.json) the
# model takes those strengths instead of choosing them on the validation split: the same model, scored on other
# pieces (bayesbach.evaluation.generalisation), at the cost of counting alone. ``progress``: the file where a
# smoothing search keeps its evaluations, so that a killed job resumes it (bayes only; smoothing.SearchProgress).
Probabilities = Iterator[tuple[str, list[np.ndarray] | None, list[np.ndarray]]]


def _global(train: dict, validation: dict, test: dict, sigma: float, seed: int, meta: dict,
            classes: int | None = None, smoothing: dict | None = None, progress: Path | None = None) -> Probabilities:
    m = global_marginal(train)
    meta["marginal"] = m.tolist()
    for piece, ys in test.items():
        yield piece, [np.broadcast_to(m, y.shape) for y in ys], [np.broadcast_to(m, (max(len(y) - 1, 0), len(m))) for y in ys]


def _context_model(train: dict, validation: dict, order: int, classes: int | None, meta: dict,
                   smoothing: dict | None = None) -> tuple[ContextModel, dict]:
    """The counted model of ``order`` and its strengths: ``smoothing`` if given, else chosen on clean validation
    prediction."""
    model = count_contexts(train, count_alphabet(train, classes), order)
    if smoothing is None:
        smoothing, record = select_clean(model, files_of(validation))
    else:
        record = {"method": "given (a fitted reference's)", "chosen": smoothing}
    a = model.alphabet
    meta.update(order=order, smoothing=smoothing, clean_smoothing=record, seen_chords=a.n_seen,
                rest_groups=int((a.group_mass > 0).sum()), rest_state=bool((a.group_mass > 0).any()),
                states=int(model.n_states), contexts_per_order=np.bincount(model.level)[1:].tolist(),
                training_steps=int(model.unigram.sum()))
    return model, smoothing


def _markov_counts(train: dict, validation: dict, test: dict, sigma: float, seed: int, meta: dict,
                   classes: int | None = None, order: int = 1, smoothing: dict | None = None,
                   progress: Path | None = None) -> Probabilities:
    model, smoothing = _context_model(train, validation, order, classes, meta, smoothing)
    for piece, ys in test.items():
        yield piece, None, [model.predict_units(model.states(y)[:-1], smoothing) for y in ys]


def _bayes(train: dict, validation: dict, test: dict, sigma: float, seed: int, meta: dict,
           classes: int | None = None, order: int = 1, smoothing: dict | None = None,
           progress: Path | None = None) -> Probabilities:
    model, start = _context_model(train, validation, order, classes, meta, smoothing)
    prune = 0.0 if model.n_states <= EXACT_STATES else PRUNE
    t0 = time.perf_counter()
    if smoothing is None:
        smoothing, record = select_observer(model, files_of(validation), files_of(crn_inputs(validation, sigma, seed)),
                                            sigma, start, prune, progress)
    else:
        record = {"method": "given (a fitted reference's)", "chosen": smoothing}
    t1 = time.perf_counter()
    observer = Observer(model.alphabet, model.automaton(smoothing), sigma, prune)
    yield from observer.run(crn_inputs(test, sigma, seed))
    meta.update(smoothing=smoothing, observer_smoothing=record, exact=prune == 0,
                select_seconds=round(t1 - t0, 3), filter_seconds=round(time.perf_counter() - t1, 3))
    if prune:
        meta["pruning"] = {"budget_per_step": prune, **observer.discarded.as_meta()}


PROBABILITIES = {
    "global": _global,
    "markov_counts": partial(_markov_counts, order=1),
    "markov_counts2": partial(_markov_counts, order=2),
    "markov_counts3": partial(_markov_counts, order=3),
    "bayes": partial(_bayes, order=1),
    "bayes2": partial(_bayes, order=2),
    "bayes3": partial(_bayes, order=3),
}


def score_counted(name: str, train: dict, validation: dict, test: dict, sigma: float, seed: int,
                  encoding: str = "pc12", smoothing: dict | None = None,
                  progress: Path | None = None) -> tuple[dict, dict]:
    """``({task: {piece: bce}}, meta)`` of one counted reference at noise level ``sigma``.

    The splits are the loader's ``{piece: [file arrays]}``; ``encoding`` says which rest groups
    an unseen chord falls in (``CLASSES``); ``smoothing``, a fitted reference's strengths (its
    meta.json), skips their choice on ``validation``; ``progress``, where the choice keeps its evaluations
    (the observers; a rerun resumes from them).
    """
    if name not in PROBABILITIES:
        raise ValueError(f"unknown counted reference {name!r}; expected one of {sorted(PROBABILITIES)}")
    meta: dict = {}
    out: dict[str, dict[str, float]] = {task: {} for task in REFERENCES[name].tasks}
    for piece, decode, predict in PROBABILITIES[name](train, validation, test, sigma, seed, meta, CLASSES[encoding],
                                                      smoothing=smoothing, progress=progress):
        ys = test[piece]
        if "decode" in out:
            out["decode"][piece] = mean_bce(decode, ys)
        if "predict" in out:
            out["predict"][piece] = mean_bce(predict, [y[1:] for y in ys])
    return {task: dict(sorted(v.items())) for task, v in out.items()}, meta


def counted_reference(dataset: Path, outs: list[Path], *, name: str, noises: list[float], seed: int,
                      encoding: str = "pc12") -> list[dict]:
    """One job: fit and score ``name`` at each noise level of ``noises``; writes ``errors.parquet`` and
    ``meta.json`` of level k (its ``noise``) to ``outs[k]`` and returns their meta.json. Several levels only
    for a sigma-free reference (:func:`bayesbach.references.check_noise_levels`), fitted and scored once."""
    noises = [float(s) for s in noises]
    check_noise_levels(name, outs, noises)
    t0 = time.perf_counter()
    data = load_splits(dataset, SPLITS, encoding)
    progress = Path(outs[0]) / SEARCH_PROGRESS  # a killed job's smoothing search resumes from it
    bce_by_task, fitted = score_counted(name, data["train"], data["validation"], data["test"], noises[0], seed,
                                        encoding, progress=progress)
    seconds = time.perf_counter() - t0
    for task, values in bce_by_task.items():
        log.info("%s sigma=%s %s: mean test BCE %.5f over %d pieces", name, ", ".join(map(repr, noises)), task,
                 np.nanmean(list(values.values())) if values else float("nan"), len(values))
    metas = []
    for out, noise in zip(map(Path, outs), noises):
        meta = {"model": name, "noise": noise, "seed": seed, "encoding": encoding,
                "pieces": {split: len(d) for split, d in data.items()}, "test_steps": n_steps(data["test"]),
                "seconds": round(seconds, 3), **fitted}
        write_parquet(out / "errors.parquet", errors_table(bce_by_task, name, None, None, noise, None))
        write_json(out / "meta.json", meta)
        metas.append(meta)
    progress.unlink(missing_ok=True)  # the search is in meta.json now
    return metas
