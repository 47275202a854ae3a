"""The ideal Bayesian observers: ``bayes``, ``bayes2``, ``bayes3``, a forward filter over an automaton's states,
and ``bayes_memoryless`` (:class:`MemorylessObserver`), the same posterior from each step's input alone.

Hidden state: a state of an :class:`~bayesbach.references.contexts.Automaton`
(for the counted model of order K, the longest seen context of the last K
chords; see :mod:`bayesbach.references.contexts`). Each state emits one
level-1 state of the :class:`~bayesbach.references.alphabet.Alphabet`, a seen
chord or a rest group. Emission: x_t ~ N(c, sigma^2 I) with the true sigma; a rest
group emits the u-weighted mixture of its unseen members,

    p(x | group) = sum over its members c of u(c) N(x; c, sigma^2 I) / sum over them of u(c),

summed in closed form (:meth:`Alphabet.mixtures`). Every file is its own sequence:
the filter starts from the automaton's initial distribution at each file's first
step and scores nothing past its last.

For every step t it gives the posterior over the current chord given x_1..t
(decoding: per-unit probabilities = the posterior-weighted chord vectors, the
posterior mean of the unseen members for a rest group) and the one-step
predictive distribution of the next chord (prediction of y_{t+1}). Given the clean chords, also the
information content of the actual chord under both, as distributions over every chord: a seen chord's
level-1 state, an unseen one its rest group's mass times its share u(c) / u(group) (and, in the
posterior, its own likelihood, not the group's mean one); docs/science.md, "Evaluation".

Beliefs are columns, one per file (states x files; all files of a batch advance
together, the longest first, so the active ones are a prefix); likelihoods are
scaled by their largest value among the states with prior mass before ``exp``
and beliefs are renormalised every step (scaled forward algorithm), in float64.
Two ways to hold them: ``prune = 0``, a dense array, the exact filter, whose
every step costs the number of states (fast up to some 10^5 states); ``prune`` >
0, the nonzero entries (state, file, value), where after every step each file
drops the states below ``prune`` / (its number of states), so at most ``prune``
of its posterior mass (measured: ``discarded``), and renormalises: the cost
follows the posterior's support, which is small when the noise is low. Where the
entries of a step cost lastingly more than a dense step would (``DENSE_SHARE``,
averaged over some 20 steps), the batch goes on dense and exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import scipy.sparse as sp

from bayesbach.references import kernel as compiled
from bayesbach.references.beliefs import Compiled, CompiledSparse, Dense, Sparse
from bayesbach.references.alphabet import Alphabet, Mixtures, information_content
from bayesbach.references.contexts import Automaton

# Sparse beliefs go on as a dense array, exactly, when a step produces more entries per file than this share
# of what a dense step touches per file (states + transition entries): a sparse entry (gathering, sorting)
# costs far more than a dense element (docs/performance.md, "Ideal observers"), and a posterior that spread
# prunes little.
DENSE_SHARE = 0.005
# How a step is computed: "numba", the compiled kernels (bayesbach.references.kernel: a dense step in one call, files
# in parallel; a pruned one in one pass per file), or "numpy", the NumPy/SciPy reference path they are tested against.
# The same results to rounding.
KERNELS = ("numba", "numpy")
DEFAULT_KERNEL = "numba" if compiled.AVAILABLE else "numpy"


@dataclass
class Discarded:
    """Posterior mass dropped by pruning: the largest in one step of one file, the total, the steps seen."""

    max_step: float = 0.0
    total: float = 0.0
    steps: int = 0
    support: list = field(default_factory=list)  # states kept per file, once per step (mean over files)
    dense_from_step: int | None = None  # the first step a batch went on dense (exact), its posterior too spread

    def as_meta(self) -> dict:
        return {"max_per_step": self.max_step, "mean_per_step": self.total / max(self.steps, 1),
                "mean_states_kept": float(np.mean(self.support)) if self.support else 0.0,
                "dense_from_step": self.dense_from_step}


class Observer:
    """Forward filter of ``automaton`` under Gaussian noise ``sigma`` over the level-1 states of ``alphabet``."""

    def __init__(self, alphabet: Alphabet, automaton: Automaton, sigma: float, prune: float = 0.0,
                 kernel: str | None = None):
        if not sigma >= 0:
            raise ValueError(f"the observer needs a noise level sigma >= 0, got {sigma}")
        kernel = DEFAULT_KERNEL if kernel is None else kernel
        if kernel not in KERNELS:
            raise ValueError(f"unknown observer kernel {kernel!r}; expected one of {KERNELS}")
        if kernel == "numba" and not compiled.AVAILABLE:
            raise ValueError("the numba kernel needs numba installed (pyproject.toml); kernel='numpy' runs without")
        self.alphabet, self.automaton, self.sigma, self.prune = alphabet, automaton, float(sigma), float(prune)
        self.kernel = kernel
        self._dense = Compiled if kernel == "numba" else Dense
        self._sparse = CompiledSparse if kernel == "numba" else Sparse
        n1 = alphabet.size
        # a state that emits nothing (BOS) emits the extra column n1, of likelihood 0
        self._emits = np.where(automaton.last >= 0, automaton.last, n1)
        # (level-1 states x units) transposed once: ``(m.T @ b.T).T`` is what SciPy computes for ``b @ m`` with a
        # sparse m, less the transposed copy it would make every step
        self._units_t = sp.csr_matrix(np.concatenate([alphabet.unit_vectors(), np.zeros((1, alphabet.units))])).T
        self._chords_t = alphabet.sparse.T
        self._half_size = alphabet.chords.sum(1) / 2
        self._logit_m = np.log(alphabet.marginal) - np.log1p(-alphabet.marginal)
        with np.errstate(divide="ignore"):
            self._log_mass = np.log(alphabet.group_mass)
        self.discarded = Discarded()
        self._dense_cost = automaton.n_states + automaton.A.nnz  # what a dense step touches per file

    # ---- emission -------------------------------------------------------------------------------

    def _emission(self, x: np.ndarray) -> tuple[np.ndarray, Mixtures | None]:
        """Log-likelihood of each level-1 state (B, n1 + 1), up to a per-row constant (log_mix: the seen chords'
        columns are :meth:`_chord_log_lik`), and the group sums."""
        a = self.alphabet
        if self.sigma == 0:  # x is the chord: one level-1 state emits it
            out = np.full((len(x), a.size + 1), -np.inf)
            out[np.arange(len(x)), a.index(x)] = 0.0
            return out, None
        inv = 1.0 / self.sigma**2
        ll = ((a.sparse @ x.T).T - self._half_size) * inv  # log N(x; c) - log N(x; 0): relative to silence
        z = self._logit_m + (x - 0.5) * inv
        log_mix = (np.log1p(-a.marginal) + np.logaddexp(0, z)).sum(1)  # the sum over all chords bounds every term
        terms = a.mixtures(z, ll, log_mix)
        with np.errstate(divide="ignore", invalid="ignore"):
            rest = np.where(self.alphabet.group_mass > 0, np.log(terms.rest) - self._log_mass, -np.inf)
        return np.concatenate([ll - log_mix[:, None], rest, np.full((len(x), 1), -np.inf)], 1), terms

    def _chord_log_lik(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """log N(x; y) - log N(x; 0) - log_mix per row, for any chords ``y``: a seen chord's column of
        :meth:`_emission`, and for an unseen chord its own likelihood in the same units."""
        inv = 1.0 / self.sigma**2
        z = self._logit_m + (x - 0.5) * inv
        log_mix = (np.log1p(-self.alphabet.marginal) + np.logaddexp(0, z)).sum(1)
        return ((y * x).sum(1) - y.sum(1) / 2) * inv - log_mix

    def _posterior_log_p(self, x: np.ndarray, y: np.ndarray, target: tuple[np.ndarray, np.ndarray],
                         prior1: np.ndarray, shift: np.ndarray, norm: np.ndarray) -> np.ndarray:
        """log P(y_t = the actual chord | x_1..t) per row: its level-1 state's prior, its share of a rest group,
        its own likelihood, over the normaliser ``norm`` = sum of prior1 * exp(log-likelihood - ``shift``). Not
        through the group's posterior: an unseen chord keeps its own likelihood, not its group's mean one."""
        idx, share = target
        with np.errstate(divide="ignore"):
            log_prior = np.log(prior1[np.arange(len(idx)), idx])
        if self.sigma == 0:  # x is the chord: the posterior is on it
            return np.where((y == x).all(1), 0.0, -np.inf)
        return log_prior + share + self._chord_log_lik(x, y) - shift - np.log(norm)

    def _decode(self, x: np.ndarray, post1: np.ndarray, terms: Mixtures | None) -> np.ndarray:
        """Per-unit posterior means: the seen chords' vectors and each rest group's posterior member mean."""
        if terms is None:
            return x
        v = self.alphabet.n_seen
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = np.where(terms.rest > 0, post1[:, v:-1] / terms.rest, 0.0)
        return np.clip((self._chords_t @ post1[:, :v].T).T + self.alphabet.group_numerators(rho, terms), 0, 1)

    def _surprise(self, x: np.ndarray, decoded: np.ndarray, target: tuple[np.ndarray, np.ndarray],
                  prior1: np.ndarray, shift: np.ndarray, norm: np.ndarray) -> np.ndarray:
        """Bayesian surprise in bits per row: KL(posterior over all chords given x || the prior ``prior1`` the
        update started from). With ll(c) = log N(x; c) - log N(x; 0) = (c.x - |c| / 2) / sigma^2, KL = E_post[ll]
        - log Z, and E_post[ll] is linear in c: (m.x - sum(m) / 2) / sigma^2 with m the posterior mean chord
        (``decoded``, :meth:`_decode`, the rest groups' members included); log Z = log_mix + ``shift`` + log
        ``norm`` (:meth:`_emission`'s scaling). At sigma = 0 the posterior is the chord itself: KL = -log2 of
        its prior probability (``target``: its level-1 state and share)."""
        if self.sigma == 0:
            idx, share = target
            with np.errstate(divide="ignore"):
                return information_content(np.log(prior1[np.arange(len(idx)), idx]) + share)
        inv = 1.0 / self.sigma**2
        z = self._logit_m + (x - 0.5) * inv
        log_mix = (np.log1p(-self.alphabet.marginal) + np.logaddexp(0, z)).sum(1)
        kl = ((decoded * x).sum(1) - decoded.sum(1) / 2) * inv - log_mix - shift - np.log(norm)
        return np.maximum(kl, 0.0) / np.log(2)  # >= 0 but for rounding

    # ---- the filter -----------------------------------------------------------------------------

    def filter(self, xs: list[np.ndarray], ys: list[np.ndarray] | None = None, measures: bool = False) -> list[tuple]:
        """For each noisy file (T x U): (decode (T x U), predict ((T-1) x U)) per-unit probabilities; given the
        clean files ``ys``, also the information content in bits of each actual chord under the categorical
        posterior (decode, T) and predictive distribution (predict, T - 1) over all chords; with ``measures``
        also the entropy in bits of each predictive distribution over all chords (T - 1, aligned with predict)
        and the Bayesian surprise of each step (T, :meth:`_surprise`)."""
        if not xs:
            return []
        if measures and ys is None:
            raise ValueError("the observer's measures need the clean chords")
        lengths = np.array([len(x) for x in xs])
        order = np.argsort(-lengths, kind="stable")
        starts = np.concatenate([[0], np.cumsum(lengths[order])[:-1]])
        flat = np.concatenate([xs[i] for i in order]).astype(np.float64)
        decode, predict = np.empty_like(flat), np.empty_like(flat)
        if ys is not None:
            clean = np.concatenate([np.asarray(ys[i], np.float64) for i in order])
            target = self.alphabet.member_log_share(clean)  # (level-1 index, log share) of each actual chord
            log_dec, log_pred = np.empty(len(flat)), np.empty(len(flat))
            entropy, surprise = np.empty(len(flat)), np.empty(len(flat))
        active_at = np.searchsorted(-lengths[order], -np.arange(lengths.max() + 1), side="left")  # files longer than t
        beliefs = (self._dense if self.prune == 0 else self._sparse)(self)
        prior = beliefs.start(active_at[0])
        spread = 0.0  # entries per file of the sparse beliefs, averaged over the last 20 steps or so
        for t in range(lengths.max()):
            rows = starts[:active_at[t]] + t
            prior1 = beliefs.per_level1(prior, active_at[t])  # (files, n1 + 1)
            if t > 0:
                predict[rows - 1] = (self._units_t @ prior1.T).T
                if ys is not None:  # the next chord's level-1 state, its share of a rest group
                    with np.errstate(divide="ignore"):
                        log_pred[rows - 1] = np.log(prior1[np.arange(len(rows)), target[0][rows]]) + target[1][rows]
                if measures:
                    entropy[rows - 1] = self.alphabet.entropy_bits(prior1[:, :-1])
            log_lik, terms = self._emission(flat[rows])
            shift = np.where(prior1 > 0, log_lik, -np.inf).max(1)  # the best likelihood among states with prior mass
            lik1 = np.exp(log_lik - shift[:, None])
            norm = (prior1 * lik1).sum(1)
            lik1 /= norm[:, None]  # now prior * lik is the posterior
            decode[rows] = self._decode(flat[rows], prior1 * lik1, terms)
            if ys is not None:
                log_dec[rows] = self._posterior_log_p(flat[rows], clean[rows], (target[0][rows], target[1][rows]),
                                                      prior1, shift, norm)
            if measures:
                surprise[rows] = self._surprise(flat[rows], decode[rows], (target[0][rows], target[1][rows]), prior1,
                                                shift, norm)
            if active_at[t + 1]:
                prior = beliefs.advance(prior, lik1, active_at[t + 1])
                if isinstance(beliefs, Sparse):
                    spread = 0.95 * spread + 0.05 * len(prior[0]) / active_at[t + 1] if t else len(prior[0]) / active_at[1]
                    if spread > DENSE_SHARE * self._dense_cost:  # lastingly, not in one uncertain step
                        beliefs = self._dense(self)
                        prior = beliefs.load(Sparse.to_dense(prior, self.automaton.n_states, active_at[t + 1]))
                        self.discarded.dense_from_step = min(self.discarded.dense_from_step or t + 1, t + 1)
        out = [None] * len(xs)
        for j, i in enumerate(order):
            s, k = starts[j], lengths[i]
            out[i] = (decode[s:s + k], predict[s:s + k - 1])
            if ys is not None:
                out[i] += (information_content(log_dec[s:s + k]), information_content(log_pred[s:s + k - 1]))
            if measures:
                out[i] += (entropy[s:s + k - 1], surprise[s:s + k])
        return out

    def run(self, inputs: dict[str, list[np.ndarray]], max_elements: int = 2**24,
            targets: dict[str, list[np.ndarray]] | None = None, measures: bool = False) -> Iterator[tuple]:
        """:meth:`filter` over every file of many pieces (``{piece: [files]}``), in batches of at most
        ``max_elements`` input numbers and beliefs (longest files first); yields (piece, [decode per file],
        [predict per file]) in the order of ``inputs``, and with the clean ``targets`` (the same pieces and files)
        also [decode bits per file], [predict bits per file], with ``measures`` also [predictive entropy per file],
        [surprise per file] (:meth:`filter`)."""
        files = sorted(((p, k) for p, xs in inputs.items() for k in range(len(xs))), key=lambda f: -len(inputs[f[0]][f[1]]))
        # dense beliefs: a column of states per file. Sparse ones are batched by their inputs, as their every step
        # has a fixed cost; one that goes dense holds states x files (360k x 140 doubles: 0.4 GB per array).
        per_file = self.automaton.n_states if self.prune == 0 else 0
        results: dict[tuple[str, int], tuple] = {}
        batch, size = [], 0
        for f in files + [None]:
            n = 0 if f is None else inputs[f[0]][f[1]].size + per_file
            if batch and (f is None or size + n > max_elements):
                ys = None if targets is None else [targets[p][k] for p, k in batch]
                results.update(zip(batch, self.filter([inputs[p][k] for p, k in batch], ys, measures)))
                batch, size = [], 0
            if f is not None:
                batch.append(f)
                size += n
        for piece, xs in inputs.items():
            per_file = [results[piece, k] for k in range(len(xs))]
            yield (piece, *([r[j] for r in per_file] for j in range(2 if targets is None else 6 if measures else 4)))


class MemorylessObserver(Observer):
    """``bayes_memoryless``: each step on its own. Decoding: the posterior of the current level-1 state given x_t
    alone, the prior ``q`` (the unigram over the level-1 states) times the emission likelihood; that is the filter
    of :meth:`Automaton.independent` (``q`` every step). Prediction: that posterior pushed through ``then``, the
    per-unit next-chord probabilities from each level-1 state (the first-order counted transitions), so it knows
    the transitions but not the past inputs; its categorical prediction pushes it through ``transitions``, the
    same transitions over chords (:meth:`~bayesbach.references.contexts.ContextModel.level1_rows`: M and root,
    P(c | s) = M[s, c] + root[s] q(c)), where bits are asked for."""

    ROWS = 2**22  # steps x level-1 states scored at once: bounds the memory at any alphabet size

    def __init__(self, alphabet: Alphabet, q: np.ndarray, then: np.ndarray, sigma: float,
                 transitions: tuple[sp.csr_matrix, np.ndarray] | None = None):
        super().__init__(alphabet, Automaton.independent(q), sigma)
        self._q = np.asarray(q, np.float64)
        self._prior = np.r_[q, 0.0]  # the extra column of _emission emits nothing
        self._then = np.asarray(then, np.float64)  # (level-1 states, units)
        self._transitions = None if transitions is None else (sp.csc_matrix(transitions[0]), transitions[1])

    def filter(self, xs: list[np.ndarray], ys: list[np.ndarray] | None = None, measures: bool = False) -> list[tuple]:
        """:meth:`Observer.filter`; its surprise is the update's from ``q``, the prior of every step."""
        if not xs:
            return []
        if measures and ys is None:
            raise ValueError("the observer's measures need the clean chords")
        if ys is not None and self._transitions is None:
            raise ValueError("the memoryless observer scores chords only with its transitions over chords")
        flat = np.concatenate(xs).astype(np.float64)
        decode, predict = np.empty_like(flat), np.empty_like(flat)
        ends = np.cumsum([len(x) for x in xs])
        if ys is not None:
            clean = np.concatenate([np.asarray(y, np.float64) for y in ys])
            idx, share = self.alphabet.member_log_share(clean)
            log_dec, log_pred = np.empty(len(flat)), np.empty(len(flat))
            entropy, surprise = np.empty(len(flat)), np.empty(len(flat))
            nxt = np.minimum(np.arange(len(flat)) + 1, len(flat) - 1)  # the next row (the last of a file: unused)
        block = max(1, self.ROWS // len(self._prior))
        for lo in range(0, len(flat), block):
            x = flat[lo:lo + block]
            log_lik, terms = self._emission(x)
            shift = np.where(self._prior > 0, log_lik, -np.inf).max(1)
            post = self._prior * np.exp(log_lik - shift[:, None])
            norm = post.sum(1)
            post /= norm[:, None]
            decode[lo:lo + block] = self._decode(x, post, terms)
            predict[lo:lo + block] = post[:, :-1] @ self._then
            if ys is not None:
                at = slice(lo, lo + len(x))
                prior1 = np.broadcast_to(self._prior, post.shape)
                log_dec[at] = self._posterior_log_p(x, clean[at], (idx[at], share[at]), prior1, shift, norm)
                log_pred[at] = self._predict_log_p(post[:, :-1], idx[nxt[at]], share[nxt[at]])
                if measures:
                    entropy[at] = self.alphabet.entropy_bits(self._predict_level1(post[:, :-1]))
                    surprise[at] = self._surprise(x, decode[at], (idx[at], share[at]), prior1, shift, norm)
        out = [(decode[e - len(x):e], predict[e - len(x):e - 1]) for x, e in zip(xs, ends)]
        if ys is not None:
            out = [o + (information_content(log_dec[e - len(x):e]), information_content(log_pred[e - len(x):e - 1]))
                   for o, x, e in zip(out, xs, ends)]
        if measures:
            out = [o + (entropy[e - len(x):e - 1], surprise[e - len(x):e]) for o, x, e in zip(out, xs, ends)]
        return out

    def _predict_level1(self, post: np.ndarray) -> np.ndarray:
        """The categorical prediction over the level-1 states from the posteriors ``post`` (rows x level-1 states):
        sum_s post[s] (M[s, .] + root[s] q)."""
        m, root = self._transitions
        seen = (m.T @ post.T).T  # (rows, seen chords)
        out = (post @ root)[:, None] * self._q[None, :]
        out[:, :seen.shape[1]] += seen
        return out

    def _predict_log_p(self, post: np.ndarray, idx: np.ndarray, share: np.ndarray) -> np.ndarray:
        """log P(next chord | x_t) of the actual next chords (level-1 ``idx``, ``share``) from the posteriors ``post``
        (rows x level-1 states): sum_s post[s] (M[s, c] + root[s] q(c)), M's column gathered for a seen chord."""
        m, root = self._transitions
        seen = idx < self.alphabet.n_seen
        cols = m[:, np.where(seen, idx, 0)]  # (level-1 states x rows), sparse
        own = np.where(seen, np.asarray(cols.multiply(post.T).sum(0)).ravel(), 0.0)
        with np.errstate(divide="ignore"):
            return np.log(own + (post @ root) * self._q[idx]) + share


def observer_of(model, smoothing: dict, sigma: float, prune: float = 0.0, memoryless: bool = False,
                kernel: str | None = None) -> Observer:
    """The observer of a counted :class:`~bayesbach.references.contexts.ContextModel` with these strengths: its
    filter (``bayesK``; its dense and pruned steps by ``kernel``, default :data:`DEFAULT_KERNEL`), or with
    ``memoryless`` the :class:`MemorylessObserver` of its unigram and first-order transitions (``bayes_memoryless``;
    exact, ``prune`` and ``kernel`` unused: it has no step to advance)."""
    if memoryless:
        level1 = np.arange(model.alphabet.size)  # the seen chords, then the rest groups: order-1 states
        return MemorylessObserver(model.alphabet, model.q(smoothing), model.predict_units(level1, smoothing), sigma,
                                  model.level1_rows(smoothing))
    return Observer(model.alphabet, model.automaton(smoothing), sigma, prune, kernel)
