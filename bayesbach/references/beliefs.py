"""How an :class:`~bayesbach.references.observer.Observer` holds its beliefs over the automaton's states and advances
them one step (the prior of the next step from this one's prior and scaled likelihoods), and their level-1 marginal:

- :class:`Dense`, an array (states x files), stepped with NumPy and SciPy: the exact filter's reference path
  (``kernel="numpy"``);
- :class:`Compiled`, the same array stepped by the compiled kernel (:mod:`bayesbach.references.kernel`,
  ``kernel="numba"``, the default), equal to :class:`Dense` to rounding;
- :class:`Sparse`, the nonzero entries, pruned after every step (``prune`` > 0), stepped with NumPy (the reference
  path), and :class:`CompiledSparse`, the same stepped by the compiled kernel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from bayesbach.references import kernel as compiled

if TYPE_CHECKING:
    from bayesbach.references.observer import Observer


class Dense:
    """Beliefs as an array (states x files): the exact filter; its cost is the state count every step."""

    def __init__(self, observer: Observer):
        self.auto, self.emits = observer.automaton, observer._emits
        width = observer.alphabet.size + 1
        # Column by column (CSC), summing by emitted chord reads the beliefs in their order, where by rows each
        # chord's states lie all over the array; the same sums in the same order, several times faster at the
        # paper's scale (docs/performance.md, "Ideal observers").
        self.sum_level1 = sp.csc_matrix((np.ones(len(self.emits)), (self.emits, np.arange(len(self.emits)))),
                                        shape=(width, len(self.emits)))
        self._post = np.empty((0, 0))  # the posterior's array, kept from step to step (0.4 GB at the paper's scale)

    def start(self, n: int) -> np.ndarray:
        return np.repeat(self.auto.initial[:, None], n, axis=1)

    def per_level1(self, prior: np.ndarray, n: int) -> np.ndarray:
        return (self.sum_level1 @ prior).T

    def load(self, prior: np.ndarray) -> np.ndarray:
        """Beliefs given as an array (states x files), in this class's form."""
        return prior

    def advance(self, prior: np.ndarray, lik1: np.ndarray, n: int) -> np.ndarray:
        """The next step's prior of the first ``n`` files, from their prior and scaled likelihoods."""
        if self._post.shape != (len(self.emits), n):
            self._post = np.empty((len(self.emits), n))
        post = np.take(np.ascontiguousarray(lik1[:n].T), self.emits, axis=0, out=self._post, mode="clip")  # in range
        post *= prior[:, :n]
        return self.auto.apply(post)


class Compiled:
    """:class:`Dense`'s beliefs (states x files) and step, compiled (:mod:`bayesbach.references.kernel`): one
    kernel call per step, which also sums the next prior's level-1 marginal; the files split across threads."""

    def __init__(self, observer: Observer):
        auto = observer.automaton
        self.auto, self.emits = auto, np.ascontiguousarray(observer._emits, np.int64)
        self.width = observer.alphabet.size + 1
        n = auto.n_states
        # a chain given in full (P = A): every state a child of the root, of weight 0
        parent = np.full(n, -1, np.int64) if auto.parent is None else np.asarray(auto.parent, np.int64)
        beta = np.zeros(n) if auto.parent is None else np.asarray(auto.beta, np.float64)
        self.pairs = compiled.backoff_pairs(parent, beta)
        self.slot, self.n_parents = compiled.slots(parent)
        self.root = np.flatnonzero(parent < 0).astype(np.int64)
        self.root_weight = np.ascontiguousarray(beta[self.root])
        self.q = np.zeros(n) if auto.parent is None else np.ascontiguousarray(auto.q, np.float64)
        a_t = auto._a_t  # A^T as CSR: each target's predecessors, summed in SciPy's order
        self.csr = (a_t.indptr.astype(np.int64), a_t.indices.astype(np.int32), np.ascontiguousarray(a_t.data))
        self._marginal_of: np.ndarray | None = None  # the beliefs whose marginal ``_marginal`` holds

    def start(self, n: int) -> np.ndarray:
        return self.load(np.repeat(self.auto.initial[:, None], n, axis=1))

    def load(self, prior: np.ndarray) -> np.ndarray:
        """Beliefs given as an array (states x files); room for as many files as it has, in whole cache lines."""
        room = -(-prior.shape[1] // compiled.LINE) * compiled.LINE
        self._prior = np.zeros((prior.shape[0], room))
        self._prior[:, :prior.shape[1]] = prior
        self._out = np.empty_like(self._prior)
        self._marginal = np.zeros((self.width, room))
        self._lent = np.zeros((self.n_parents, room))
        self._back = np.zeros(room)
        self._partial = np.zeros((compiled.BLOCKS, self.width, room))
        self._marginal_of = None
        return self._prior

    def per_level1(self, prior: np.ndarray, n: int) -> np.ndarray:
        if self._marginal_of is not prior:
            compiled.kernels(prior.shape[0] * n)[2](prior, n, compiled.chunks(n), self.emits, self._marginal)
            self._marginal_of = prior
        return np.ascontiguousarray(self._marginal[:, :n].T)

    def advance(self, prior: np.ndarray, lik1: np.ndarray, n: int) -> np.ndarray:
        """The next step's prior of the first ``n`` files (and its level-1 marginal), from their prior and scaled
        likelihoods; overwrites ``prior``."""
        lik = np.ascontiguousarray(lik1[:n].T)
        posterior, transition, _ = compiled.kernels(prior.shape[0] * n)
        posterior(prior, lik, n, compiled.chunks(n), self.emits, *self.pairs, self.slot, self.root, self.root_weight,
                  self._lent, self._back)
        transition(prior, self._back, n, *self.csr, self.q, self.emits, self._out, self._partial, self._marginal)
        self._prior, self._out = self._out, prior
        self._marginal_of = self._prior
        return self._prior


class Sparse:
    """Beliefs as their nonzero entries (state, file, value), pruned after every step: each file drops at most
    ``prune`` of its posterior mass per step (the states below prune / (states it has), so the bound holds by
    construction). Every step costs the entries, never the number of states."""

    def __init__(self, observer: Observer):
        self.auto, self.emits, self.prune = observer.automaton, observer._emits, observer.prune
        self.width, self.discarded = observer.alphabet.size + 1, observer.discarded

    def start(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        init = np.flatnonzero(self.auto.initial)
        return np.tile(init, n), np.repeat(np.arange(n), len(init)), np.tile(self.auto.initial[init], n)

    def per_level1(self, prior, n: int) -> np.ndarray:
        state, file, value = prior
        value = np.maximum(value, 0.0)  # the back-off corrections may leave -1e-17
        return np.bincount(file * self.width + self.emits[state], value, minlength=n * self.width).reshape(n, self.width)

    def advance(self, prior, lik1: np.ndarray, n: int):
        state, file, value = prior
        on = file < n  # the files that go on
        state, file = state[on], file[on]
        value = np.maximum(value[on], 0.0) * lik1[file, self.emits[state]]
        held = np.bincount(file, minlength=n)
        drop = value < (self.prune / np.maximum(held, 1))[file]  # at most ``held`` entries of each file go
        lost = np.bincount(file[drop], value[drop], minlength=n)
        keep = ~drop
        state, file, value = state[keep], file[keep], value[keep] / (1.0 - lost)[file[keep]]
        self._keep(lost, len(value), n)
        return self.auto.apply_entries(state, file, value, n)

    def _keep(self, lost: np.ndarray, kept: int, n: int) -> None:
        """Account a step's pruning: each file's dropped mass, the entries kept."""
        d = self.discarded
        d.max_step, d.total, d.steps = max(d.max_step, float(lost.max())), d.total + float(lost.sum()), d.steps + n
        d.support.append(kept / n)

    @staticmethod
    def to_dense(prior, n_states: int, n: int) -> np.ndarray:
        state, file, value = prior
        out = np.zeros((n_states, n))
        out[state, file] = value
        return out


class CompiledSparse(Sparse):
    """:class:`Sparse`'s entries, stepped by the compiled kernel (:func:`bayesbach.references.kernel.sparse_step`):
    one pass per file over its entries with the states' scratch sums, where the NumPy path sorts every entry a
    step makes, twice, and the next level-1 marginal in the same pass. The same entries, summed in the same order
    (equal to :class:`Sparse` to rounding)."""

    def __init__(self, observer: Observer):
        super().__init__(observer)
        auto, n = self.auto, self.auto.n_states
        self._emits = np.ascontiguousarray(self.emits, np.int64)
        a = auto.A
        self._csr = (a.indptr.astype(np.int64), a.indices.astype(np.int64), np.ascontiguousarray(a.data, np.float64))
        if auto.parent is None:  # a chain given in full: P = A, no back-off, no root
            self._tree = (np.full(n, -1, np.int64), np.zeros(n), 0, np.zeros(n), np.zeros(0, np.int64), np.zeros(0))
        else:
            cols = np.asarray(auto._q_cols, np.int64)
            self._tree = (np.asarray(auto.parent, np.int64), np.asarray(auto.beta, np.float64), int(auto.depth),
                          np.asarray(auto.root, np.float64), cols, np.asarray(auto.q, np.float64)[cols])
        self._scratch = (np.zeros(n), np.zeros(n), np.zeros(n, np.bool_), np.zeros(n, np.bool_), np.empty(n, np.int64),
                         np.empty(n, np.int64), np.zeros(compiled.sort_room(n), np.int64), np.empty(n, np.int64))
        self._marginal: tuple | None = None  # (the entries the kernel made, their level-1 marginal)

    def per_level1(self, prior, n: int) -> np.ndarray:
        if self._marginal is not None and self._marginal[0] is prior:
            return self._marginal[1]
        return super().per_level1(prior, n)

    def advance(self, prior, lik1: np.ndarray, n: int):
        state, file, value = prior
        marginal = np.zeros((n, self.width))
        *entries, lost, kept = compiled.sparse_step(np.asarray(state, np.int64), np.asarray(file, np.int64),
                                                    np.asarray(value, np.float64), n, np.ascontiguousarray(lik1),
                                                    self._emits, self.prune, *self._tree, *self._csr, *self._scratch,
                                                    marginal)
        self._keep(lost, kept, n)
        entries = tuple(entries)
        self._marginal = (entries, marginal)
        return entries
