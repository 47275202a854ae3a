"""The counted chord model of order K written out by hand over every chord (dictionaries of counts and the
smoothing recursion of bayesbach.references.contexts), and filtering by enumerating every hidden chord path:
what the vectorised, lumped code must equal on a tiny alphabet."""

from __future__ import annotations

import itertools
from collections import Counter
from functools import lru_cache

import numpy as np

from bayesbach.references.alphabet import all_chords


class ByHand:
    """P_K(c | history) for every chord c of ``units`` units; ``smoothing`` as the ContextModel's dict."""

    def __init__(self, train: dict, order: int, smoothing: dict, marginal: np.ndarray, classes: int | None = None):
        self.order, self.smoothing, self.classes = order, smoothing, classes
        self.chords = all_chords(len(marginal))
        self.u = np.prod(np.where(self.chords > 0, marginal, 1 - marginal), axis=1)
        self.counts, self.class_counts, self.occurrences = Counter(), Counter(), Counter()
        for files in train.values():
            for y in files:
                h = ("BOS",) + tuple(self.id(row) for row in y)
                for i in range(1, len(h)):
                    self.occurrences[h[i]] += 1
                    for k in range(1, min(order, i) + 1):
                        self.counts[h[i - k:i], h[i]] += 1
                    if classes and h[i - 1] != "BOS":
                        self.class_counts[self.class_set(h[i - 1]), h[i]] += 1
        self.total = sum(self.occurrences.values())
        self.dist = lru_cache(maxsize=None)(self._dist)

    def id(self, row) -> int:
        return int(np.round(row) @ (1 << np.arange(len(row))))

    def class_set(self, c: int) -> frozenset:
        return frozenset(k % self.classes for k in range(self.chords.shape[1]) if c >> k & 1)

    def _n(self, ctx) -> int:
        return sum(v for (s, _), v in self.counts.items() if s == ctx)

    def _q(self) -> np.ndarray:
        beta = self.smoothing["beta"]
        n = np.array([self.occurrences[c] for c in range(len(self.chords))], float)
        return (n + beta * self.u) / (self.total + beta)

    def _class(self, c0: int) -> np.ndarray:
        pc = self.class_set(c0)
        row = np.array([self.class_counts[pc, c] for c in range(len(self.chords))], float)
        a = self.smoothing["a_class"]
        return (row + a * self._q()) / (row.sum() + a) if row.sum() else self._q()

    def _dist(self, ctx: tuple) -> np.ndarray:
        """P(. | ctx) over all chords, ctx the last (at most K) elements of the history (BOS first if any)."""
        if not ctx:
            return self._q()
        if len(ctx) == 1 and ctx[0] != "BOS" and self.classes:
            lower = self._class(ctx[0])
        else:
            lower = self._dist(ctx[1:])
        row = np.array([self.counts[ctx, c] for c in range(len(self.chords))], float)
        a = self.smoothing[f"a{len(ctx)}"]
        return (row + a * lower) / (row.sum() + a) if row.sum() else lower

    def next_dist(self, path: tuple) -> np.ndarray:
        """P(next chord | the chords of ``path``, the file's start before them)."""
        h = ("BOS",) + tuple(path)
        return self.dist(h[max(0, len(h) - self.order):])

    def predict_units(self, y: np.ndarray) -> np.ndarray:
        """Per-unit probabilities of y[1:] given the clean y[:t+1], one row per step but the last."""
        ids = tuple(self.id(r) for r in y)
        return np.array([self.next_dist(ids[:t + 1]) @ self.chords for t in range(len(y) - 1)]).reshape(-1, y.shape[1])


def brute_force_chords(model, x: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Filtering one file by enumerating every hidden chord path: the posterior over ``model.chords`` of the
    current chord (T x chords) and the predictive distribution of the next ((T - 1) x chords).

    ``model.next_dist(path)`` is P(next chord | path) over ``model.chords``.
    """
    chords = model.chords
    decode, predict = [], []
    for t in range(1, len(x) + 1):
        post, pred = np.zeros(len(chords)), np.zeros(len(chords))
        for path in itertools.product(range(len(chords)), repeat=t):
            p = 1.0
            for i, c in enumerate(path):
                p *= model.next_dist(path[:i])[c] * np.exp(-np.sum((x[i] - chords[c]) ** 2) / (2 * sigma**2))
            post[path[-1]] += p
            pred += p * model.next_dist(path)
        decode.append(post / post.sum())
        predict.append(pred / post.sum())
    return np.array(decode), np.array(predict[:-1]).reshape(len(x) - 1, len(chords))


def brute_force(model, x: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Filtering one file by enumerating every hidden chord path: per-unit decode and predict probabilities
    (:func:`brute_force_chords` summed over the chords)."""
    post, pred = brute_force_chords(model, x, sigma)
    return post @ model.chords, pred @ model.chords
