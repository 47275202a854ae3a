"""The ideal Bayesian observer (``bayes``): a hidden-Markov forward filter over chords.

Hidden state: the chord. With a counted model (:mod:`bayesbach.references.chord_counts`) the
states are the chords seen in training plus one ``rest`` state lumping every
other chord, which is exactly the filter over all chords (4,096 for ``pc12``)
at the cost of the seen ones. Transitions: the smoothed first-order model,
applied as sparse counts plus a rank-one term. Emission: x_t ~ N(c, sigma^2 I)
with the true sigma; the rest state emits the u-weighted mixture of its chords,

    p(x | rest) = [prod_k ((1 - m_k) N(x_k; 0, s^2) + m_k N(x_k; 1, s^2)) - sum_seen u_j N(x; c_j, s^2 I)] / (1 - sum_seen u_j)

(the product is the mixture over all chords; the seen ones are taken out).
The filter starts from q (the smoothed chord frequency) at each piece.

For every step t it gives the posterior over the current chord given x_1..t
(decoding: per-unit probabilities = posterior-weighted chord vectors) and the
one-step predictive distribution of the next chord (prediction of y_{t+1}).
Likelihoods are shifted by their row maximum before ``exp`` and beliefs are
renormalised every step (scaled forward algorithm), in float64; the filter is
vectorised over chords and batched over pieces (pieces sorted by length, the
active ones a prefix of the batch).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
from scipy.special import expit

from bayesbach.references.chord_counts import ChordModel, rest_terms


class Observer:
    """Forward filter over explicit chord states (K, U), optionally a lumped ``rest`` state, and transitions.

    ``rest_marginal``: the unit frequencies m of the base measure u; None = no rest state.
    """

    def __init__(self, chords: np.ndarray, transitions, initial: np.ndarray, sigma: float,
                 rest_marginal: np.ndarray | None = None):
        if not sigma >= 0:
            raise ValueError(f"the observer needs a noise level sigma >= 0, got {sigma}")
        self.chords = np.asarray(chords, dtype=np.float64)
        self.transitions = transitions
        self.initial = np.asarray(initial, dtype=np.float64)
        self.sigma = float(sigma)
        self.rest = rest_marginal is not None
        self._half_size = self.chords.sum(1) / 2
        self._chords_t = np.ascontiguousarray(self.chords.T)
        if self.rest:
            m = np.clip(np.asarray(rest_marginal, np.float64), 1e-12, 1 - 1e-12)
            log_u, self._rest_mass, self._rest_units = rest_terms(self.chords, m)
            self._u = np.exp(log_u)
            self._log1m, self._logit_m = np.log1p(-m), np.log(m) - np.log1p(-m)

    @classmethod
    def from_model(cls, model: ChordModel, sigma: float) -> Observer:
        return cls(model.chords, model.transition(), model.q(), sigma, model.marginal if model.rest else None)

    def _emission(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Likelihoods of each state scaled by a per-row factor (B, S), their logs, and the rest's decode (B, U)."""
        if self.sigma == 0:  # x is the chord: it is a seen one, or one of the rest
            match = ((x * x).sum(1, keepdims=True) - 2 * x @ self._chords_t + 2 * self._half_size) < 0.25
            lik = match.astype(np.float64)
            if self.rest:
                lik = np.concatenate([lik, ~match.any(1, keepdims=True)], axis=1)
            with np.errstate(divide="ignore"):
                return lik, np.log(lik), x if self.rest else None
        inv = 1.0 / self.sigma**2
        ll = (x @ self._chords_t - self._half_size) * inv  # -(|x - c|^2 - |x|^2) / (2 sigma^2)
        shift = ll.max(1) if ll.shape[1] else np.full(len(x), -np.inf)
        if self.rest:
            z = self._logit_m + (x - 0.5) * inv  # per-unit log-odds of "on" under u given x_k
            log_mix = (self._log1m + np.logaddexp(0, z)).sum(1)  # log of the mixture over all chords
            shift = np.maximum(shift, log_mix)
        ll -= shift[:, None]
        lik = np.exp(ll)
        if not self.rest:
            return lik, ll, None
        weighted = lik * self._u
        mix = np.exp(log_mix - shift)
        rest = np.maximum(mix - weighted.sum(1), 0.0)  # the unseen chords' share (>= 0 despite rounding)
        p = expit(z)
        with np.errstate(divide="ignore", invalid="ignore"):
            decode = np.where(rest[:, None] > 0, np.clip((mix[:, None] * p - weighted @ self.chords) / rest[:, None], 0, 1), p)
            rest_lik = rest / self._rest_mass
            return (np.concatenate([lik, rest_lik[:, None]], axis=1),
                    np.concatenate([ll, np.log(rest_lik)[:, None]], axis=1), decode)

    def _unit_means(self, dist: np.ndarray, rest_units: np.ndarray | None) -> np.ndarray:
        k = len(self.chords)
        out = dist[:, :k] @ self.chords
        if self.rest:
            out += dist[:, k:] * rest_units
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
            lik, log_lik, rest_decode = self._emission(x)
            before = np.broadcast_to(self.initial, lik.shape) if prior is None else prior[:active]
            weight = before * lik
            total = weight.sum(1, keepdims=True)
            lost = ~(total[:, 0] > 0)
            if lost.any():  # every likely chord had prior 0: redo those rows in log space
                with np.errstate(divide="ignore"):
                    lw = np.log(before[lost]) + log_lik[lost]
                weight[lost] = np.exp(lw - lw.max(1, keepdims=True))
                total[lost] = weight[lost].sum(1, keepdims=True)
            belief = weight / total
            decode[rows] = self._unit_means(belief, rest_decode)
            prior = self.transitions.apply(belief)
            predict[rows] = self._unit_means(prior, self._rest_units if self.rest else None)
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
