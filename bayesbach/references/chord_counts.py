"""Exact first-order chord statistics: the ``global`` marginal and the counted ``markov_counts`` model.

A chord is the set of active units of one step (pitch classes for ``pc12``).
Transitions current -> next chord are counted on the clean training pieces and
smoothed hierarchically, so that no chord and no transition has probability 0:

    P(j | i) = (C_ij + alpha q_j) / (N_i + alpha)        N_i = sum_j C_ij
    q_j      = (n_j + beta u_j) / (N + beta)             n_j = sum_i C_ij,  N = sum_j n_j

``u`` is the base measure of chords never seen: independent units with the
(add-one-half smoothed) training frequency ``m`` of each unit, u_j =
prod_k m_k^c_jk (1 - m_k)^(1 - c_jk). Every chord is a state: the chords seen
in training explicitly, all the others (4,096 - seen for ``pc12``, 2^128 - seen
for ``pitch``) lumped into one ``rest`` state. Lumping is exact, not an
approximation: unseen chords have no counts, so their prior is proportional to
u and they all move on by q; the observer and the counted model behave as if
every chord were enumerated. An unseen current chord falls back to ``q``.

The matrix is sparse counts plus a rank-one term (``transition``); it is never
made dense. ``alpha`` and ``beta`` are chosen on the validation split by the
per-unit prediction BCE (``select_smoothing``); ``alpha = beta = 0`` gives the
empirical conditional frequencies.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from bayesbach.core.exceptions import StudyError

log = logging.getLogger(__name__)

# Validation grid of the smoothing strengths (pseudo-counts); all > 0, so nothing is impossible.
ALPHAS = tuple(np.logspace(-3, 4, 15).tolist())
BETAS = tuple(np.logspace(-3, 4, 8).tolist())
EPS = 1e-12  # probabilities are clipped to [EPS, 1 - EPS] before the log (float64 resolves 1 - EPS)


class TooFewSteps(StudyError):
    """The training split has no transition to count."""


def bce(p: np.ndarray, y: np.ndarray) -> float:
    """Mean binary cross-entropy (over steps and units) of probabilities ``p`` for targets ``y``."""
    p = np.clip(p, EPS, 1 - EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def global_marginal(pieces: dict[str, np.ndarray]) -> np.ndarray:
    """Per-unit frequency over every step of the training pieces: the optimal constant BCE predictor."""
    total = sum(y.sum(0, dtype=np.float64) for y in pieces.values())
    steps = sum(len(y) for y in pieces.values())
    if steps == 0:
        raise TooFewSteps("the training split has no steps to count a marginal frequency on")
    return total / steps


def all_chords(units: int) -> np.ndarray:
    """Every subset of ``units`` units as a multi-hot matrix (2^units x units); row i has bits of i."""
    return ((np.arange(2**units)[:, None] >> np.arange(units)) & 1).astype(np.float64)


def _keys(y: np.ndarray) -> np.ndarray:
    """One sortable key per chord: its packed bits as a fixed-size byte string (NumPy void)."""
    packed = np.ascontiguousarray(np.packbits(np.asarray(y) > 0.5, axis=1))
    return packed.view(np.dtype((np.void, packed.shape[1]))).ravel()


def rest_terms(chords: np.ndarray, marginal: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Base measure of the seen chords (log u_j), the rest's mass 1 - sum u_j and its per-unit means."""
    m = np.clip(marginal, 1e-12, 1 - 1e-12)
    log_u = chords @ np.log(m) + (1 - chords) @ np.log1p(-m)
    u = np.exp(log_u)
    mass = max(1.0 - u.sum(), 0.0)
    units = np.clip((m - u @ chords) / mass, 0, 1) if mass > 0 else m
    return log_u, mass, units


@dataclass
class ChordModel:
    """Counted first-order chord transitions with hierarchical smoothing (see the module text)."""

    chords: np.ndarray  # (K, U) float64 multi-hot: the chords seen in training
    counts: sp.csr_matrix  # (S, S) current -> next counts, S = K + rest
    marginal: np.ndarray  # (U,) smoothed unit frequency m, the base measure's parameter
    rest: bool  # True: state K stands for every chord not seen (False only when all were seen)
    alpha: float = 1.0
    beta: float = 1.0
    sorted_keys: np.ndarray = field(default=None, repr=False)  # the keys of ``chords``, which are in key order

    @property
    def n_states(self) -> int:
        return len(self.chords) + int(self.rest)

    @property
    def units(self) -> int:
        return self.chords.shape[1]

    def index(self, y: np.ndarray) -> np.ndarray:
        """State index of each row of ``y`` (unseen chords: the ``rest`` state)."""
        keys = _keys(y)
        idx = np.minimum(np.searchsorted(self.sorted_keys, keys), len(self.sorted_keys) - 1)
        return np.where(self.sorted_keys[idx] == keys, idx, len(self.chords))

    def base(self) -> np.ndarray:
        """Base measure u over the states (sums to 1)."""
        log_u, mass, _ = rest_terms(self.chords, self.marginal)
        return np.concatenate([np.exp(log_u), [mass] if self.rest else []])

    def next_counts(self) -> np.ndarray:
        """n_j: how often each state was the next chord."""
        return np.asarray(self.counts.sum(0)).ravel()

    def q(self, beta: float | None = None) -> np.ndarray:
        """Smoothed unigram q over next chords."""
        beta = self.beta if beta is None else beta
        n = self.next_counts()
        return (n + beta * self.base()) / (n.sum() + beta)

    def unit_means(self, dist: np.ndarray) -> np.ndarray:
        """Per-unit probabilities of chord distributions ``dist`` (B, S), dense or sparse."""
        k = len(self.chords)
        out = np.asarray(dist[:, :k] @ self.chords)
        if self.rest:
            last = dist[:, k:]
            out = out + (last.toarray() if sp.issparse(last) else last) * rest_terms(self.chords, self.marginal)[2]
        return out

    def _unit_q(self, beta: float) -> np.ndarray:
        """Per-unit probabilities of q (u has unit means m)."""
        n = self.next_counts()
        return (self.unit_means(n[None])[0] + beta * self.marginal) / (n.sum() + beta)

    def predict_units(self, current: np.ndarray, alpha: float | None = None, beta: float | None = None) -> np.ndarray:
        """Per-unit probabilities of the next chord given each row of ``current`` (clean chords)."""
        alpha = self.alpha if alpha is None else alpha
        beta = self.beta if beta is None else beta
        idx = self.index(current)
        rows = self.counts[idx]
        n_row = np.asarray(rows.sum(1)).ravel()
        return _smoothed(self.unit_means(rows), n_row, alpha, self._unit_q(beta))

    def predict(self, y: np.ndarray) -> np.ndarray:
        """``markov_counts``: per-unit probabilities of y[1:] from the clean y[:-1]."""
        return self.predict_units(y[:-1])

    def transition(self):
        """The smoothed transition matrix as sparse-plus-rank-one (see :class:`LowRankTransitions`)."""
        return LowRankTransitions(self.counts, self.alpha, self.q())


def _smoothed(unit_rows: np.ndarray, n_row: np.ndarray, alpha: float, unit_q: np.ndarray) -> np.ndarray:
    """(U_i + alpha mu) / (N_i + alpha); rows without counts or pseudo-counts fall back to mu."""
    denom = n_row + alpha
    safe = np.where(denom > 0, denom, 1.0)[:, None]
    return np.where(denom[:, None] > 0, (unit_rows + alpha * unit_q) / safe, unit_q)


class LowRankTransitions:
    """P = diag(1 / (N + alpha)) C + r q^T, applied to beliefs without forming P.

    r_i = alpha / (N_i + alpha) (1 where a row has neither counts nor pseudo-counts).
    """

    def __init__(self, counts: sp.csr_matrix, alpha: float, q: np.ndarray):
        n_row = np.asarray(counts.sum(1)).ravel()
        denom = n_row + alpha
        scale = np.where(denom > 0, 1.0 / np.where(denom > 0, denom, 1.0), 0.0)
        self.scaled_t = sp.csr_matrix((sp.diags(scale) @ counts).T)  # C^T / (N + alpha), for P^T b
        self.r = np.where(denom > 0, alpha * scale, 1.0)
        self.q = q

    def apply(self, belief: np.ndarray) -> np.ndarray:
        """Next-state distributions of beliefs (B, S): belief @ P."""
        return np.asarray(self.scaled_t @ belief.T).T + np.outer(belief @ self.r, self.q)


class DenseTransitions:
    """A transition matrix given in full (for small chains, e.g. a known generating chain)."""

    def __init__(self, matrix: np.ndarray):
        self.matrix = np.asarray(matrix, dtype=np.float64)

    def apply(self, belief: np.ndarray) -> np.ndarray:
        return belief @ self.matrix


def count_chords(pieces: dict[str, np.ndarray], alpha: float = 1.0, beta: float = 1.0) -> ChordModel:
    """Count transitions within each clean training piece (steps x units)."""
    if not pieces:
        raise TooFewSteps("no training pieces to count chord transitions on")
    units = next(iter(pieces.values())).shape[1]
    ys = [y for y in pieces.values() if len(y)]
    if not ys:
        raise TooFewSteps("the training pieces have no steps to count chord transitions on")
    seen, inverse = np.unique(_keys(np.concatenate(ys)), return_inverse=True)
    chords = np.unpackbits(seen.view(np.uint8).reshape(len(seen), -1), axis=1)[:, :units].astype(np.float64)
    # transitions inside pieces: every step but each piece's last
    inside = np.ones(len(inverse), bool)
    inside[np.cumsum([len(y) for y in ys]) - 1] = False
    src, dst = inverse[:-1][inside[:-1]], inverse[1:][inside[:-1]]
    if len(src) == 0:
        raise TooFewSteps("the training pieces have no chord transition (every piece has one step)")
    marginal = (chords[dst].sum(0) + 0.5) / (len(dst) + 1.0)  # add-one-half: no unit is impossible
    rest = rest_terms(chords, marginal)[1] > 1e-12
    n_states = len(chords) + int(rest)
    counts = sp.csr_matrix((np.ones(len(src)), (src, dst)), shape=(n_states, n_states))
    counts.sum_duplicates()
    model = ChordModel(chords, counts, marginal, rest, alpha, beta, seen)
    log.info("counted %d transitions between %d distinct chords (+ %s)",
             len(src), len(chords), "one state for the unseen ones" if rest else "no unseen chord")
    return model


def select_smoothing(model: ChordModel, validation: dict[str, np.ndarray],
                     alphas=ALPHAS, betas=BETAS) -> list[dict]:
    """Set ``model.alpha``/``beta`` to the grid point with the lowest validation prediction BCE.

    Returns the grid as rows ``{alpha, beta, bce}``. Without validation steps the
    model keeps its strengths.
    """
    pairs = [y for y in validation.values() if len(y) > 1]
    if not pairs:
        log.warning("no validation transitions: keeping smoothing alpha=%g beta=%g", model.alpha, model.beta)
        return []
    current = np.concatenate([y[:-1] for y in pairs])
    target = np.concatenate([y[1:] for y in pairs]).astype(np.float64)
    # BCE depends on the current chord's state only: sum the targets per state once
    states, inverse = np.unique(model.index(current), return_inverse=True)
    visits = np.bincount(inverse).astype(np.float64)
    on = np.zeros((len(states), target.shape[1]))
    np.add.at(on, inverse, target)
    rows = model.counts[states]
    n_row = np.asarray(rows.sum(1)).ravel()
    unit_rows = model.unit_means(rows)
    grid = []
    for beta in betas:
        unit_q = model._unit_q(beta)
        for alpha in alphas:
            p = np.clip(_smoothed(unit_rows, n_row, alpha, unit_q), EPS, 1 - EPS)
            loss = -(on * np.log(p) + (visits[:, None] - on) * np.log1p(-p)).sum() / target.size
            grid.append({"alpha": alpha, "beta": beta, "bce": float(loss)})
    best = min(grid, key=lambda g: g["bce"])
    model.alpha, model.beta = best["alpha"], best["beta"]
    log.info("smoothing chosen on %d validation transitions: alpha=%g beta=%g (BCE %.5f)",
             len(target), model.alpha, model.beta, best["bce"])
    return grid
