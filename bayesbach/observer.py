"""The ideal Bayesian observer (``bayes``): a hidden-Markov forward filter over chords.

Hidden state: the chord (see :mod:`bayesbach.markov` for the state space: every
pitch-class set for ``pc12``, the training chords plus an ``other`` state for
``pitch``). Transitions: the smoothed first-order model, applied as sparse
counts plus a rank-one term. Emission: x_t ~ N(c, sigma^2 I) with the true
sigma; the ``other`` state emits through independent units with frequencies m,
p(x | other) = prod_k [(1 - m_k) N(x_k; 0, sigma^2) + m_k N(x_k; 1, sigma^2)].
The filter starts from q (the smoothed chord frequency) at each piece.

For every step t it gives the posterior over the current chord given x_1..t
(decoding: per-unit probabilities = posterior-weighted chord vectors) and the
one-step predictive distribution of the next chord (prediction of y_{t+1}).
Beliefs are renormalised each step and likelihoods are shifted by their
maximum before ``exp`` (scaled forward algorithm), in float64; the filter is
vectorised over chords and batched over pieces (pieces sorted by length, the
active ones a prefix of the batch).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from .markov import ChordModel


class Observer:
    """Forward filter with explicit chord states (K, U), an optional ``other`` state, and transitions."""

    def __init__(self, chords: np.ndarray, transitions, initial: np.ndarray, sigma: float,
                 other_marginal: np.ndarray | None = None):
        if not sigma >= 0:
            raise ValueError(f"the observer needs a noise level sigma >= 0, got {sigma}")
        self.chords = np.asarray(chords, dtype=np.float64)
        self.transitions = transitions
        self.initial = np.asarray(initial, dtype=np.float64)
        self.sigma = float(sigma)
        self.m = None if other_marginal is None else np.clip(np.asarray(other_marginal, np.float64), 1e-12, 1 - 1e-12)
        self._half_size = self.chords.sum(1) / 2
        self._chords_t = np.ascontiguousarray(self.chords.T)

    @classmethod
    def from_model(cls, model: ChordModel, sigma: float) -> Observer:
        return cls(model.chords, model.transition(), model.q(), sigma, model.marginal if model.other else None)

    def _log_likelihood(self, x: np.ndarray) -> np.ndarray:
        """log p(x | state) up to a constant per row, (B, S)."""
        if self.sigma == 0:
            return self._exact_log_likelihood(x)
        inv = 1.0 / self.sigma**2
        ll = (x @ self._chords_t - self._half_size) * inv  # -(|x - c|^2 - |x|^2) / (2 sigma^2)
        if self.m is not None:
            other = np.logaddexp(np.log1p(-self.m), np.log(self.m) + (x - 0.5) * inv).sum(1)
            ll = np.concatenate([ll, other[:, None]], axis=1)
        return ll

    def _exact_log_likelihood(self, x: np.ndarray) -> np.ndarray:
        """sigma = 0, the limit of the Gaussian case: x is the chord; "other" weighs it by u(x)."""
        distance = (x * x).sum(1, keepdims=True) - 2 * x @ self._chords_t + 2 * self._half_size
        ll = np.where(distance < 0.25, 0.0, -np.inf)
        if self.m is not None:
            ll = np.concatenate([ll, (x @ np.log(self.m) + (1 - x) @ np.log1p(-self.m))[:, None]], axis=1)
        return ll

    def _decode_units(self, belief: np.ndarray, x: np.ndarray) -> np.ndarray:
        k = len(self.chords)
        out = belief[:, :k] @ self.chords
        if self.m is not None and self.sigma == 0:
            out += belief[:, k:] * x
        elif self.m is not None:  # inside "other", each unit's posterior given its own x
            logit = np.log(self.m) - np.log1p(-self.m) + (x - 0.5) / self.sigma**2
            out += belief[:, k:] / (1 + np.exp(-logit))
        return out

    def _predict_units(self, dist: np.ndarray) -> np.ndarray:
        k = len(self.chords)
        out = dist[:, :k] @ self.chords
        if self.m is not None:
            out += dist[:, k:] * self.m
        return out

    def filter(self, xs: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each noisy piece (T x U): (decode (T x U), predict ((T-1) x U)) per-unit probabilities."""
        if not xs:
            return []
        lengths = np.array([len(x) for x in xs])
        order = np.argsort(-lengths, kind="stable")
        starts = np.concatenate([[0], np.cumsum(lengths[order])[:-1]])
        flat = np.concatenate([xs[i] for i in order]).astype(np.float64)
        decode, predict = np.empty_like(flat), np.empty_like(flat)
        active_after = np.searchsorted(-lengths[order], -np.arange(lengths.max()), side="left")
        prior = None
        for t in range(lengths.max()):
            active = active_after[t]  # pieces longer than t: a prefix of the sorted batch
            rows = starts[:active] + t
            x = flat[rows]
            ll = self._log_likelihood(x)
            ll -= ll.max(1, keepdims=True)
            before = np.broadcast_to(self.initial, ll.shape) if prior is None else prior[:active]
            weight = before * np.exp(ll)
            total = weight.sum(1, keepdims=True)
            lost = ~(total[:, 0] > 0)
            if lost.any():  # every likely chord had prior 0: redo those rows in log space
                with np.errstate(divide="ignore"):
                    lw = np.log(before[lost]) + ll[lost]
                weight[lost] = np.exp(lw - lw.max(1, keepdims=True))
                total[lost] = weight[lost].sum(1, keepdims=True)
            belief = weight / total
            decode[rows] = self._decode_units(belief, x)
            prior = self.transitions.apply(belief)
            predict[rows] = self._predict_units(prior)
        out = [None] * len(xs)
        for j, i in enumerate(order):
            s, n = starts[j], lengths[i]
            out[i] = (decode[s:s + n], predict[s:s + n - 1])
        return out

    def run(self, inputs: dict[str, np.ndarray], max_elements: int = 2**24) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """:meth:`filter` over many pieces in batches of at most ``max_elements`` input numbers (longest first).

        Yields (piece, decode, predict) in the order of ``inputs``' longest-first batches.
        """
        names = sorted(inputs, key=lambda p: -len(inputs[p]))
        batch, size = [], 0
        for name in names + [None]:
            n = 0 if name is None else inputs[name].size
            if batch and (name is None or size + n > max_elements):
                for piece, (dec, pred) in zip(batch, self.filter([inputs[p] for p in batch])):
                    yield piece, dec, pred
                batch, size = [], 0
            if name is not None:
                batch.append(name)
                size += n
