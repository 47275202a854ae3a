"""The counted references of the ladder: ``global``, ``markov_counts`` and the ideal observer ``bayes``.

Each is fitted on the clean training split (the smoothing of the chord model is
chosen on the validation split, :mod:`bayesbach.references.chord_counts`) and scored on every
test piece, whole, in the long format of ``errors.parquet``. Noisy inputs are
the study's common random numbers (:mod:`bayesbach.dataset.noise`): the same noise
realisation per piece as the networks see. Their names and tasks are in
:data:`bayesbach.core.registry.REFERENCES`; ``PROBABILITIES`` maps each to its model here.

- ``global``: the training marginal, a constant (decode and predict).
- ``markov_counts``: per-unit P(y_{t+1} | clean y_t) from the counted model (predict).
- ``bayes``: the forward filter with the same model and the true sigma (decode and predict).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Iterator

import numpy as np

from bayesbach.dataset.loader import load_splits
from bayesbach.networks.scoring import errors_table
from bayesbach.core.registry import REFERENCES, SPLITS
from bayesbach.references.chord_counts import ChordModel, bce, count_chords, global_marginal, select_smoothing
from bayesbach.dataset.noise import crn_inputs
from bayesbach.references.observer import Observer
from bayesbach.core.atomic import write_json, write_parquet

log = logging.getLogger(__name__)

def mean_bce(p: np.ndarray | None, y: np.ndarray) -> float:
    """Mean BCE over a piece's scored steps and units; NaN when it has none (as for the networks)."""
    return bce(p, y) if p is not None and y.size else float("nan")


# Each yields (piece, per-unit decode probabilities or None, predict probabilities) for every test piece
# and records what it fitted in ``meta``.
Probabilities = Iterator[tuple[str, np.ndarray | None, np.ndarray]]


def _global(train: dict, validation: dict, test: dict, sigma: float, seed: int, meta: dict) -> Probabilities:
    m = global_marginal(train)
    meta["marginal"] = m.tolist()
    for piece, y in test.items():
        yield piece, np.broadcast_to(m, y.shape), np.broadcast_to(m, (max(len(y) - 1, 0), len(m)))


def _chord_model(train: dict, validation: dict, meta: dict) -> ChordModel:
    model = count_chords(train)
    meta["smoothing_grid"] = select_smoothing(model, validation)
    meta.update(alpha=model.alpha, beta=model.beta, seen_chords=len(model.chords), rest_state=bool(model.rest),
                distinct_transitions=int(model.counts.nnz), training_transitions=int(model.counts.sum()))
    return model


def _markov_counts(train: dict, validation: dict, test: dict, sigma: float, seed: int, meta: dict) -> Probabilities:
    model = _chord_model(train, validation, meta)
    for piece, y in test.items():
        yield piece, None, model.predict(y)


def _bayes(train: dict, validation: dict, test: dict, sigma: float, seed: int, meta: dict) -> Probabilities:
    model = _chord_model(train, validation, meta)
    t0 = time.perf_counter()
    yield from Observer.from_model(model, sigma).run(crn_inputs(test, sigma, seed))
    meta["filter_seconds"] = round(time.perf_counter() - t0, 3)


PROBABILITIES = {"global": _global, "markov_counts": _markov_counts, "bayes": _bayes}


def score_counted(name: str, train: dict, validation: dict, test: dict, sigma: float, seed: int) -> tuple[dict, dict]:
    """``({task: {piece: bce}}, meta)`` of one counted reference at noise level ``sigma``."""
    if name not in PROBABILITIES:
        raise ValueError(f"unknown counted reference {name!r}; expected one of {sorted(PROBABILITIES)}")
    meta: dict = {}
    out: dict[str, dict[str, float]] = {task: {} for task in REFERENCES[name].tasks}
    for piece, decode, predict in PROBABILITIES[name](train, validation, test, sigma, seed, meta):
        y = test[piece]
        if "decode" in out:
            out["decode"][piece] = mean_bce(decode, y)
        if "predict" in out:
            out["predict"][piece] = mean_bce(predict, y[1:])
    return {task: dict(sorted(v.items())) for task, v in out.items()}, meta


def counted_reference(dataset: Path, out: Path, *, name: str, noise: float, seed: int, gap: int = 20,
                    encoding: str = "pc12") -> dict:
    """One job: fit and score ``name`` at ``noise``; writes ``errors.parquet`` and ``meta.json`` to ``out``."""
    t0 = time.perf_counter()
    data = load_splits(dataset, SPLITS, encoding, gap)
    bce_by_task, meta = score_counted(name, data["train"], data["validation"], data["test"], float(noise), seed)
    seconds = time.perf_counter() - t0
    meta = {"model": name, "noise": float(noise), "seed": seed, "encoding": encoding, "gap": gap,
            "pieces": {split: len(d) for split, d in data.items()},
            "test_steps": int(sum(len(y) for y in data["test"].values())),
            "seconds": round(seconds, 3), **meta}
    for task, values in bce_by_task.items():
        log.info("%s sigma=%r %s: mean test BCE %.5f over %d pieces", name, float(noise), task,
                 np.nanmean(list(values.values())) if values else float("nan"), len(values))
    out = Path(out)
    write_parquet(out / "errors.parquet", errors_table(bce_by_task, name, None, None, noise, None))
    write_json(out / "meta.json", meta)
    return meta
