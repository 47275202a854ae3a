"""Choosing the smoothing strengths of the counted models on the validation split, where they matter.

A model of order K has the strengths ``beta`` (the unigram towards the base
measure), ``a_class`` (pitch-class sets; ``pitch`` only) and ``a1`` ... ``aK``
(:mod:`bayesbach.references.contexts`). They are searched on a log10 scale over
``LOG10_RANGE``; the search says what it tried, where it landed, which strengths
sit at an edge of the range and which do not change the objective at all
(``flat``: kept where they started). An edge is either a *limit* or a warning.
Near a = 0 a node's weight on its parent is a / (N + a), near a = infinity its own
counts weigh N / (N + a): the objective settles towards both ends, and when the
last decade before the edge gained less than ``LIMIT`` the model prefers that
limit (no smoothing of that level, or none of its own counts) and a wider range
would gain about a tenth of that at most; otherwise the range is too narrow
(a warning).

- ``markov_countsK`` (:func:`select_clean`): the clean validation prediction BCE,
  which costs nothing to evaluate (the closed form of
  :meth:`ContextModel.predict_units` per distinct state), on a grid of step
  ``GRID_STEP`` decades, strength by strength: the order-1 strengths on the
  order-1 model, then ``a2`` on the order-2 model, ..., then one more round of
  every strength on the order-K model.
- ``bayesK`` and ``bayes_memoryless`` (:func:`select_observer`): per noise level, the noisy validation
  decoding plus prediction BCE of the observer itself, one filter pass per
  point: a line search per strength (bracket by steps of ``STEP`` decades from
  the start, then golden-section to ``TOL`` decades), lowest level first,
  starting from the clean choice. The clean choice alone is not enough: how much
  an observer should trust rare transitions and unseen chords depends on how
  much the noise leaves it to infer (and ``beta`` does not change the clean
  per-unit prediction at all).

  Each point costs a filter pass over the validation split (some 40 points per job;
  what a pass costs at the paper's scale: docs/performance.md, "Ideal observers"), so the search keeps
  its evaluations in a file (:class:`SearchProgress`) as it goes: a job killed by a
  time limit resumes where it stopped, and a rerun replays the evaluations it has,
  so the choice and the trace are those of an uninterrupted search.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np

from bayesbach.references.alphabet import EPS, pooled_bce
from bayesbach.references.contexts import ContextModel
from bayesbach.references.observer import observer_of

log = logging.getLogger(__name__)

LOG10_RANGE = (-3.0, 7.0)  # strengths from 0.001 to 10^7 pseudo-counts (beta weighs against all N training steps)
GRID_STEP = 0.25  # decades between the clean search's grid points
STEP, TOL = 1.0, 0.2  # the observer's line search: bracketing step and final width, in decades
FLAT = 1e-7  # an objective that moves less than this over the whole range does not depend on the strength
LIMIT = 1e-5  # BCE gained over the last decade before an edge, below which the edge is the limit the model prefers


class CleanObjective:
    """Clean validation prediction BCE of the order-k sub-models of a context model, by sufficient statistics.

    The prediction of a step depends only on its state, so each distinct state's
    prediction is folded once and scored against the summed targets of its visits.
    """

    def __init__(self, model: ContextModel, files: list[np.ndarray]):
        files = [y for y in files if len(y) > 1]
        self.model = model
        self.steps = sum(len(y) - 1 for y in files) * model.alphabet.units
        states = np.concatenate([model.states(y)[:-1] for y in files]) if files else np.zeros(0, np.int64)
        self.targets = np.concatenate([y[1:] for y in files]).astype(np.float64) if files else np.zeros((0, 1))
        self.chains = model.chain(states)

        self._stats: dict = {}

    def __call__(self, smoothing: dict, order: int | None = None) -> float:
        """BCE of the model truncated to ``order`` (default: all of it) with these strengths."""
        uniq, visits, on = self._per_state(order or self.model.order)
        p = np.clip(self.model.predict_units(uniq, smoothing), EPS, 1 - EPS)
        return float(-(on * np.log(p) + (visits[:, None] - on) * np.log1p(-p)).sum() / self.steps)

    def _per_state(self, order: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The distinct states of the order-``order`` model, their visits and summed targets."""
        if order not in self._stats:
            # a step's state in the truncated model: its first ancestor of at most that order
            levels = np.where(self.chains >= 0, self.model.level[np.maximum(self.chains, 0)], -1)
            first = np.argmax((levels <= order) & (self.chains >= 0), axis=1)
            uniq, inverse = np.unique(self.chains[np.arange(len(self.chains)), first], return_inverse=True)
            on = np.zeros((len(uniq), self.targets.shape[1]))
            np.add.at(on, inverse, self.targets)
            self._stats[order] = uniq, np.bincount(inverse, minlength=len(uniq)).astype(np.float64), on
        return self._stats[order]


def _edge(f: Callable[[float], float], x: float) -> str | None:
    """None inside the range; "limit" or "edge" at an edge (module text)."""
    lo, hi = LOG10_RANGE
    if x not in (lo, hi):
        return None
    inward = x + 1.0 if x == lo else x - 1.0
    return "limit" if f(inward) - f(x) < LIMIT else "edge"


def _grid_search(objective: Callable[[dict], float], smoothing: dict, name: str, trace: list) -> dict:
    """Set ``smoothing[name]`` to its grid point of lowest objective; returns what the search found."""
    grid = np.arange(LOG10_RANGE[0], LOG10_RANGE[1] + GRID_STEP / 2, GRID_STEP)
    values = dict(zip(grid, (objective({**smoothing, name: 10.0**g}) for g in grid)))
    trace += [{"smoothing": {**smoothing, name: 10.0**g}, "bce": v} for g, v in values.items()]
    if max(values.values()) - min(values.values()) < FLAT:
        return {"flat": True, "edge": None}
    best = min(values, key=values.get)
    smoothing[name] = float(10.0**best)
    return {"flat": False, "edge": _edge(lambda g: values[min(values, key=lambda v: abs(v - g))], best)}


def select_clean(model: ContextModel, validation: list[np.ndarray]) -> tuple[dict, dict]:
    """``markov_countsK``'s strengths on clean validation prediction (see the module text): (smoothing, record)."""
    smoothing = {name: 1.0 for name in model.parameters}
    objective = CleanObjective(model, validation)
    record = {"objective": "clean validation prediction BCE", "method": "grid per strength, order by order",
              "range_log10": list(LOG10_RANGE), "grid_step_log10": GRID_STEP}
    if objective.steps == 0:
        log.warning("no validation transitions: keeping every smoothing strength at 1")
        return smoothing, {**record, "method": "none (no validation transitions)", "chosen": smoothing, "bce": None}
    trace: list = []
    lower = [n for n in model.parameters if n in ("beta", "a_class", "a1")]
    rounds = [(1, lower)] + [(k, [f"a{k}"]) for k in range(2, model.order + 1)] + [(model.order, list(model.parameters))]
    found: dict = {}
    for order, names in rounds:
        for name in names:
            found[name] = _grid_search(lambda s: objective(s, order), smoothing, name, trace)
    _report(record, found, smoothing, objective(smoothing), f"markov_counts{model.order}")
    record["trace"] = trace
    return smoothing, record


def _line_search(f: Callable[[float], float], x0: float) -> float:
    """Minimise f over LOG10_RANGE from x0: step out by STEP while it falls, then golden-section to TOL."""
    f = lru_cache(maxsize=None)(f)  # the walk and the section ask again for points they have
    lo, hi = LOG10_RANGE
    clip = lambda x: min(max(x, lo), hi)  # noqa: E731
    x0 = clip(x0)
    a, b = clip(x0 - STEP), clip(x0 + STEP)  # the bracket when neither neighbour is lower
    for direction in (1, -1):
        prev, cur = x0, clip(x0 + direction * STEP)
        if cur == prev or f(cur) >= f(prev):
            continue
        nxt = clip(cur + direction * STEP)
        while nxt != cur and f(nxt) < f(cur):  # still falling: go on
            prev, cur, nxt = cur, nxt, clip(nxt + direction * STEP)
        a, b = sorted((prev, nxt))
        break
    ratio = (math.sqrt(5) - 1) / 2
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    while b - a > TOL:
        if f(c) < f(d):
            b, d = d, c
            c = b - ratio * (b - a)
        else:
            a, c = c, d
            d = a + ratio * (b - a)
    return min((a, c, d, b, x0), key=f)


def observer_objective(model: ContextModel, clean: list[np.ndarray], noisy: list[np.ndarray], sigma: float,
                       prune: float = 0.0, memoryless: bool = False, kernel: str | None = None) -> Callable[[dict], float]:
    """The validation decoding plus prediction BCE of the order-K observer (or the memoryless one) with given
    strengths (its dense and pruned steps by ``kernel``: :func:`~bayesbach.references.observer.observer_of`)."""
    targets = [y[1:] for y in clean]

    def objective(smoothing: dict) -> float:
        out = observer_of(model, smoothing, sigma, prune, memoryless, kernel).filter(noisy)
        return pooled_bce([d for d, _ in out], clean) + pooled_bce([p for _, p in out], targets)

    return objective


class SearchProgress:
    """The observer search's evaluations so far, in a JSON-lines file: a first line with the fingerprint of
    everything a point's value depends on (the data, the model's counts, sigma, the pruning, the starting
    strengths, the code), then one line per evaluated point. A file of another fingerprint is started afresh; a
    last line cut short by a kill is ignored. ``path`` None keeps nothing."""

    def __init__(self, path: Path | None, fingerprint: str):
        self.path, self.values = (Path(path) if path is not None else None), {}
        if self.path is None:
            return
        header = {"fingerprint": fingerprint}
        lines = self.path.read_text().splitlines() if self.path.exists() else []
        if lines and _record(lines[0]) == header:  # the same search, interrupted: resume it
            for line in lines[1:]:
                if (point := _record(line)) is not None:
                    self.values[tuple(map(tuple, point["key"]))] = point["bce"]
            if self.values:
                log.info("resuming the smoothing search from %d evaluations in %s", len(self.values), self.path)
        # written back whole (afresh for another search): a last line cut short by a kill goes, so that the next
        # evaluation starts a line of its own
        self.path.parent.mkdir(parents=True, exist_ok=True)
        records = [header, *({"key": key, "bce": bce} for key, bce in self.values.items())]
        self.path.write_text("".join(json.dumps(r) + "\n" for r in records))

    def add(self, key: tuple, bce: float) -> None:
        self.values[key] = bce
        if self.path is not None:
            with self.path.open("a") as f:
                f.write(json.dumps({"key": key, "bce": bce}) + "\n")
                f.flush()
                os.fsync(f.fileno())  # on disk before the next pass: a kill loses at most the pass under way


def _record(line: str) -> dict | None:
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        return None


def search_fingerprint(model: ContextModel, clean: list[np.ndarray], noisy: list[np.ndarray], sigma: float,
                       start: dict, prune: float, memoryless: bool = False) -> str:
    """SHA-256 of what the observer search's objective depends on, the code that computes it included."""
    from bayesbach.core.provenance import source_digest

    h = hashlib.sha256(repr((model.order, float(sigma), float(prune), sorted(start.items()), memoryless,
                             source_digest("references.counted"))).encode())
    for a in (model.counts.data, model.counts.indices, model.counts.indptr, model.alphabet.chords, *clean, *noisy):
        a = np.ascontiguousarray(a)
        h.update(repr((a.dtype.str, a.shape)).encode() + a.tobytes())
    return h.hexdigest()


def select_observer(model: ContextModel, clean: list[np.ndarray], noisy: list[np.ndarray], sigma: float,
                    start: dict, prune: float = 0.0, progress: Path | None = None,
                    memoryless: bool = False, kernel: str | None = None) -> tuple[dict, dict]:
    """``bayesK``'s strengths (with ``memoryless``: ``bayes_memoryless``'s) at noise ``sigma`` on its own noisy
    validation BCE (module text): (smoothing, record). ``progress``: the file that keeps the evaluations
    (:class:`SearchProgress`)."""
    smoothing = dict(start)
    who = "bayes_memoryless" if memoryless else f"bayes{model.order}"
    record = {"objective": "noisy validation decoding + prediction BCE of the observer",
              "method": f"line search per strength (steps of {STEP} decade, golden section to {TOL}), from the clean choice",
              "range_log10": list(LOG10_RANGE), "start": dict(start)}
    if not any(len(y) for y in clean):
        log.warning("no validation steps: the observer keeps the clean choice of smoothing")
        return smoothing, {**record, "method": "none (no validation steps)", "chosen": smoothing, "bce": None}
    objective = observer_objective(model, clean, noisy, sigma, prune, memoryless, kernel)
    kept = SearchProgress(progress, search_fingerprint(model, clean, noisy, sigma, start, prune, memoryless)
                          if progress else "")
    trace: list = []
    cache: dict = {}

    def evaluate(point: dict) -> float:
        key = tuple(sorted((k, round(math.log10(v), 6)) for k, v in point.items()))
        if key not in cache:
            if key not in kept.values:
                kept.add(key, objective(point))
            cache[key] = kept.values[key]
            trace.append({"smoothing": dict(point), "bce": cache[key]})
        return cache[key]

    found = {}
    for name in model.parameters:
        seen = len(trace)
        f = lambda v: evaluate({**smoothing, name: 10.0**v})  # noqa: E731
        x = _line_search(f, math.log10(smoothing[name]))
        values = [t["bce"] for t in trace[seen:]]
        flat = bool(values) and max(values) - min(values) < FLAT
        if not flat:
            smoothing[name] = float(10.0**x)
        found[name] = {"flat": flat, "edge": None if flat else _edge(f, x)}
    _report(record, found, smoothing, min(t["bce"] for t in trace), f"{who} sigma={sigma!r}")
    record["evaluations"] = len(trace)
    record["trace"] = trace
    return smoothing, record


def _report(record: dict, found: dict, smoothing: dict, best: float, who: str) -> None:
    """Fill the record's result; a warning for every strength at an edge that is not a limit."""
    record["chosen"] = dict(smoothing)
    record["bce"] = best
    record["flat"] = [n for n, r in found.items() if r["flat"]]
    record["at_limit"] = [n for n, r in found.items() if r["edge"] == "limit"]
    record["at_edge"] = [n for n, r in found.items() if r["edge"] == "edge"]
    for name in record["at_edge"]:
        log.warning("%s: smoothing %s = %g is at an edge of the searched range 1e%g .. 1e%g, and the objective still "
                    "falls towards it", who, name, smoothing[name], *LOG10_RANGE)
    log.info("%s: smoothing %s (validation BCE %.5f%s)", who, ", ".join(f"{k}={v:.3g}" for k, v in smoothing.items()),
             best, "".join(f"; {n} at the limit of no smoothing" if smoothing[n] < 1 else f"; {n} at the limit of no own counts"
                           for n in record["at_limit"]))
