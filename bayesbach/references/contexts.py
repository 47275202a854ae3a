"""The counted chord model of order K (``markov_counts``, ``markov_counts2``, ...) and its back-off automaton.

Counting. Every training file is one sequence, begun by a begin-of-file mark
``BOS``: the history of step t is (BOS, y_0, ..., y_{t-1}). The order-k context
of step t is the last k elements of that history, or the whole history when it
is shorter (a context never reaches across files, and the only context of the
first chord is (BOS)). Counts C(s, c): how often context s was followed by chord c.

Smoothing: interpolation down a tree of contexts, each node's distribution
shrunk towards its parent's by a pseudo-count (the node's order's *strength*):

    P(c | s) = (C(s, c) + a_s P(c | parent(s))) / (N(s) + a_s)        N(s) = sum_c C(s, c)
    q(c)     = (n_c + beta u(c)) / (N + beta)                          the root (n_c: occurrences of c)

parent(c_1 ... c_k) = c_2 ... c_k (drop the oldest chord, strength a_k); the
parent of a single chord (c) (strength a_1) is the root, or with pitch-class
groups (:class:`~bayesbach.references.alphabet.Alphabet`) the *class node*
of its pitch-class set, whose counts are those of all chords with that set
(strength ``a_class``), whose parent is the root. The first chord's distribution
is P(c | BOS): the first chords of the training files, shrunk towards q. A context
without counts equals its parent exactly, so an unseen context needs no entry.

States. The hidden state after step t is the longest suffix of the history that
was seen as a context in training (order <= K), or the single chord, or the rest
group of an unseen chord: the states are the seen contexts of orders K, K-1, ...,
2, the seen chords, the rest groups (which are the class nodes: an unseen chord
predicts with its pitch-class set's counts) and BOS. The next chord's
distribution depends on the history only through that state, and the next state
is a function of the state and the next chord (``step``): an n-gram back-off
automaton, exact, with as many states as distinct seen contexts.

Transitions. With Row(s) the next-state distribution of state s, the recursion
of P gives Row(s) = A_s + beta_s Row(parent(s)) (beta_s = a_s / (N(s) + a_s)),
where A_s holds s's own counts, C(s, c) / (N(s) + a_s) at the state that s
followed by c leads to, and a correction where that state differs from the one
the parent leads to (only where s followed by c is itself a seen context). So
P = (I - B)^{-1} (A + r q^T), with B the sparse parent matrix (beta_s, nilpotent:
(I - B)^{-1} = I + B + ... + B^depth) and r the beta of the children of the root:
applying P costs a few sparse products, never a dense matrix (:class:`Automaton`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from bayesbach.dataset.loader import files_of
from bayesbach.references.alphabet import Alphabet, TooFewSteps


@dataclass
class Automaton:
    """A hidden-Markov chain over states, each emitting a level-1 state of an alphabet.

    ``last[s]``: the level-1 index (chord or rest group) state s emits; -1 for none (BOS).
    Transitions: Row(s) = A_s + beta_s Row(parent(s)), the root's row being q; that is
    P = (I + B + ... + B^depth)(A + r q^T) with B the parent matrix and r the betas of the
    root's children. Without ``parent``, P = A. ``initial``: the first step's state distribution.
    Beliefs are columns (states x files), dense (:meth:`apply`) or as entries (:meth:`apply_entries`).
    """

    last: np.ndarray  # (S,) int
    A: sp.csr_matrix  # (S, S)
    initial: np.ndarray  # (S,)
    parent: np.ndarray | None = None  # (S,) int, -1: the root
    beta: np.ndarray | None = None  # (S,) the weight of each state's row on its parent's
    q: np.ndarray | None = None  # (S,) the root's next-state distribution

    def __post_init__(self):
        self.A = sp.csr_matrix(self.A)
        self._a_t = sp.csr_matrix(self.A.T)  # P^T b costs one sparse product per term
        if self.parent is None:
            self.depth = 0
            return
        # dense beliefs: the back-off reaches only the states that are parents, the root only its children
        child = np.flatnonzero(self.parent >= 0)
        self._parents = np.unique(self.parent[child])
        at = np.searchsorted(self._parents, self.parent[child])
        lend = sp.csr_matrix((self.beta[child], (at, child)), shape=(len(self._parents), self.n_states))
        self._lend, self._lend_on = lend, sp.csr_matrix(lend[:, self._parents])  # from any state; from parents
        self._root = np.flatnonzero(self.parent < 0)
        self.root = np.where(self.parent < 0, self.beta, 0.0)
        self._q_cols = np.flatnonzero(self.q)
        self.depth = tree_depth(self.parent)

    @classmethod
    def dense(cls, matrix: np.ndarray, initial: np.ndarray, last: np.ndarray | None = None) -> Automaton:
        """A chain given in full (e.g. a known generating chain); state s emits ``last[s]`` (default: s)."""
        matrix = np.asarray(matrix, np.float64)
        last = np.arange(len(matrix)) if last is None else np.asarray(last)
        return cls(last, sp.csr_matrix(matrix), np.asarray(initial, np.float64))

    @classmethod
    def independent(cls, q: np.ndarray) -> Automaton:
        """States drawn afresh from ``q`` every step, whatever came before (every row is q; state s emits level-1
        state s): the chain of an observer without memory, ``bayes_memoryless``."""
        n = len(q)
        return cls(np.arange(n), sp.csr_matrix((n, n)), np.asarray(q, np.float64), np.full(n, -1), np.ones(n),
                   np.asarray(q, np.float64))

    @property
    def n_states(self) -> int:
        return len(self.last)

    def apply(self, belief: np.ndarray) -> np.ndarray:
        """Next-state distributions P^T b of beliefs b (states x files); may overwrite ``belief``."""
        if self.parent is None:
            return self._a_t @ belief
        acc = belief
        g = self._lend @ belief  # (I + B + ... + B^depth)^T b, on the parents only
        for d in range(self.depth):
            acc[self._parents] += g
            if d + 1 < self.depth:
                g = self._lend_on @ g
        out = self._a_t @ acc
        out[self._q_cols] += np.outer(self.q[self._q_cols], self.root[self._root] @ acc[self._root])
        return out

    def apply_entries(self, state: np.ndarray, file: np.ndarray, value: np.ndarray, n_files: int
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`apply` for beliefs given by their nonzero entries (state, file, value): the cost follows the
        entries, never the number of states. Returns the next-state entries, one per (state, file)."""
        parts = [(state, file, value)]
        for _ in range(self.depth):  # back off: each entry also lends beta of itself to its parent
            s, f, v = parts[-1]
            up = self.parent[s] >= 0
            parts.append((self.parent[s[up]], f[up], v[up] * self.beta[s[up]]))
        s, f, v = _merge(*map(np.concatenate, zip(*parts)), self.n_states)
        start, length = self.A.indptr[s], np.diff(self.A.indptr)[s]
        at = np.repeat(start - np.cumsum(length) + length, length) + np.arange(length.sum())  # A's rows, gathered
        out = [(self.A.indices[at], np.repeat(f, length), np.repeat(v, length) * self.A.data[at])]
        if self.parent is not None:  # the root's share, over its support (the level-1 states) for every file
            back = np.bincount(f, v * self.root[s], minlength=n_files)
            cols = self._q_cols
            out.append((np.tile(cols, n_files), np.repeat(np.arange(n_files), len(cols)),
                        np.outer(back, self.q[cols]).ravel()))
        return _merge(*map(np.concatenate, zip(*out)), self.n_states)


def tree_depth(parent: np.ndarray) -> int:
    """How many parent steps lead from the deepest node to a child of the root (parent -1)."""
    depth, cur = 0, parent
    while (cur >= 0).any():
        cur = np.where(cur >= 0, parent[np.maximum(cur, 0)], -1)
        depth += 1
    return depth


def _merge(state: np.ndarray, file: np.ndarray, value: np.ndarray, n_states: int):
    """Sum the entries of equal (state, file); sorted by file, then state."""
    key = file.astype(np.int64) * n_states + state
    order = np.argsort(key, kind="stable")  # the keys come in sorted runs (files, rows of A): cheap to merge
    key = key[order]
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    key = key[first]
    return key % n_states, key // n_states, np.add.reduceat(value[order], first) if len(first) else value[:0]


class ContextModel:
    """Counts of every context of order 1..K in the training files, and the tree and states they make.

    State layout: the seen chords (0 .. V-1), the rest groups (V .. V+G-1: the level-1
    states, indexed as :meth:`Alphabet.index`), BOS, then the seen contexts of order
    2, 3, ..., K. Smoothing strengths are a dict: ``beta``, ``a_class`` (with class
    groups), ``a1`` ... ``aK``.
    """

    def __init__(self, alphabet: Alphabet, files: list[np.ndarray], order: int):
        if order < 1:
            raise ValueError(f"the order of a context model is at least 1, got {order}")
        self.alphabet, self.order = alphabet, order
        v, n1 = alphabet.n_seen, alphabet.size
        self.base = v + 2  # context codes: chords 0 .. V-1, BOS = V, an unseen chord = V + 1
        self.bos = n1
        tokens = [alphabet.index(y) for y in files if len(y)]
        if not tokens:
            raise TooFewSteps("the training pieces have no steps to count chord contexts on")
        if any((t >= v).any() for t in tokens):
            raise ValueError("every training chord must be in the alphabet")
        lengths = np.array([len(t) for t in tokens])
        padded = np.concatenate([np.r_[v, t] for t in tokens])  # BOS before each file
        local = np.concatenate([np.arange(n + 1) for n in lengths])  # position within the padded file
        self.unigram = np.bincount(padded[local > 0], minlength=v).astype(np.float64)
        # order 1: chords keep their level-1 index, BOS its own state; higher orders get new states
        codes, states, rows, cols = [], [], [], []
        n_states = n1 + 1
        for k in range(1, order + 1):
            at = np.flatnonzero(local >= k)  # events with a full order-k context
            code = self._codes(padded, at, k)
            if k == 1:
                uniq = np.unique(code)
                ids = np.where(uniq == v, self.bos, uniq)
                inverse = np.searchsorted(uniq, code)
            else:
                uniq, inverse = np.unique(code, return_inverse=True)
                ids = n_states + np.arange(len(uniq))
                n_states += len(uniq)
            codes.append(uniq)
            states.append(ids)
            rows.append(ids[inverse])
            cols.append(padded[at])
        self._ctx_codes, self._ctx_states = codes, states
        self.n_states = n_states
        s_rows, s_cols = np.concatenate(rows), np.concatenate(cols)
        if alphabet.classes is not None:  # a class node counts what every chord of its class set was followed by
            of_chord = (s_rows < v)
            s_rows = np.concatenate([s_rows, v + alphabet.chord_group[s_rows[of_chord]]])
            s_cols = np.concatenate([s_cols, s_cols[of_chord]])
        self.counts = sp.csr_matrix((np.ones(len(s_rows)), (s_rows, s_cols)), shape=(n_states, v))
        self.counts.sum_duplicates()
        self.totals = np.asarray(self.counts.sum(1)).ravel()
        if self.counts[:v].nnz == 0:
            raise TooFewSteps("the training pieces have no chord transition (every file has one step)")
        # per state: its context order (0: a rest group / class node), code, emitted chord, history suffix, parent
        self.level = np.zeros(n_states, np.int64)
        self.code = np.full(n_states, -1, np.int64)
        self.last = np.full(n_states, -1, np.int64)
        self.suffix = np.full(n_states, -1, np.int64)  # the state of the history without its oldest chord
        self.level[:v], self.code[:v], self.last[:n1] = 1, np.arange(v), np.arange(n1)
        self.level[self.bos], self.code[self.bos] = 1, v
        for k in range(2, order + 1):
            ids, uniq = states[k - 1], codes[k - 1]
            self.level[ids], self.code[ids] = k, uniq
            self.last[ids] = uniq % self.base
            self.suffix[ids] = self._find(uniq % self.base ** (k - 1), k - 1)
        self.parent = self.suffix.copy()
        if alphabet.classes is not None:
            self.parent[:v] = v + alphabet.chord_group
        self.depth = tree_depth(self.parent)
        self.units = self.counts @ alphabet.chords  # (S, U) summed next chords per state

    # ---- contexts and states --------------------------------------------------------------------

    def _codes(self, padded: np.ndarray, at: np.ndarray, k: int) -> np.ndarray:
        """Codes of the k tokens before each position ``at`` of ``padded``."""
        code = np.zeros(len(at), np.int64)
        for i in range(k, 0, -1):
            code = code * self.base + padded[at - i]
        return code

    def _find(self, code: np.ndarray, k: int) -> np.ndarray:
        """State of each order-k context code; -1 where it was never seen."""
        uniq, ids = self._ctx_codes[k - 1], self._ctx_states[k - 1]
        pos = np.minimum(np.searchsorted(uniq, code), len(uniq) - 1)
        return np.where(uniq[pos] == code, ids[pos], -1)

    @property
    def parameters(self) -> tuple[str, ...]:
        """The smoothing strengths this model has, lowest level first."""
        cls = ("a_class",) if self.alphabet.classes is not None else ()
        return ("beta", *cls, *(f"a{k}" for k in range(1, self.order + 1)))

    def step(self, state: np.ndarray, nxt: np.ndarray) -> np.ndarray:
        """The state after ``state`` is followed by level-1 state ``nxt`` (elementwise): the automaton's edge."""
        state, nxt = np.broadcast_arrays(np.asarray(state), np.asarray(nxt))
        out = np.array(nxt, np.int64)  # an unseen chord, or a chord with no longer context: its level-1 state
        cur = np.where(nxt < self.alphabet.n_seen, state, -1)
        while (cur >= 0).any():
            live = np.flatnonzero(cur >= 0)
            s = cur[live]
            child = np.full(len(s), -1)
            for k in range(1, self.order):  # an order-k state may grow into an order-(k+1) context
                grow = self.level[s] == k
                child[grow] = self._find(self.code[s[grow]] * self.base + nxt[live[grow]], k + 1)
            found = child >= 0
            out[live[found]] = child[found]
            cur[live] = np.where(found, -1, self.suffix[s])
        return out

    def states(self, y: np.ndarray) -> np.ndarray:
        """The state after each step of one clean file (steps x units): the longest seen context ending there."""
        tok = self.alphabet.index(y)
        v = self.alphabet.n_seen
        padded = np.r_[v, np.where(tok < v, tok, v + 1)]
        out = tok.copy()  # order 1 (or the rest group of an unseen chord)
        for k in range(2, self.order + 1):
            at = np.arange(k, len(padded) + 1)  # positions after the step, whose last k tokens are the context
            if not len(at):
                break
            found = self._find(self._codes(padded, at, k), k)
            out[at - 2] = np.where(found >= 0, found, out[at - 2])
        return out

    # ---- the smoothed distributions -------------------------------------------------------------

    def strengths(self, smoothing: dict) -> np.ndarray:
        """Each state's pseudo-count a_s from the strengths of its level."""
        by_level = np.array([smoothing.get("a_class", 1.0)] + [smoothing[f"a{k}"] for k in range(1, self.order + 1)])
        return by_level[self.level]

    def _shrink(self, smoothing: dict) -> tuple[np.ndarray, np.ndarray]:
        """Per state: 1 / (N + a) for its own counts (0 without counts) and beta_s = a / (N + a) (1 without)."""
        a = self.strengths(smoothing)
        has = self.totals > 0
        inv = np.where(has, 1.0 / np.where(has, self.totals + a, 1.0), 0.0)
        return inv, np.where(has, a * inv, 1.0)

    def q(self, smoothing: dict) -> np.ndarray:
        """The root's distribution over the level-1 states (seen chords, then rest groups)."""
        beta, n = smoothing["beta"], self.unigram
        return np.concatenate([n + beta * np.exp(self.alphabet.log_u), beta * self.alphabet.group_mass]) / (n.sum() + beta)

    def chain(self, states: np.ndarray) -> np.ndarray:
        """(len, depth + 1) the states and their ancestors, child first, -1 past the root."""
        out = np.full((len(states), self.depth + 1), -1, np.int64)
        out[:, 0] = states
        for d in range(1, self.depth + 1):
            prev = out[:, d - 1]
            out[:, d] = np.where(prev >= 0, self.parent[np.maximum(prev, 0)], -1)
        return out

    def _fold(self, chain: np.ndarray, own: np.ndarray, root: np.ndarray, smoothing: dict) -> np.ndarray:
        """P(c | s) or its unit means, from the root up: (own_s + a_s P(parent)) / (N_s + a_s) along ``chain``."""
        inv, beta = self._shrink(smoothing)
        out = np.broadcast_to(root, own.shape[1:]).copy()
        for d in range(chain.shape[1] - 1, -1, -1):
            s = chain[:, d]
            live = s >= 0
            out[live] = own[d][live] * inv[s[live], None] + beta[s[live], None] * out[live]
        return out

    def predict_units(self, states: np.ndarray, smoothing: dict) -> np.ndarray:
        """Per-unit probabilities of the next chord from each state (``markov_counts`` on clean input)."""
        states = np.asarray(states)
        uniq, inverse = np.unique(states, return_inverse=True)  # states repeat: fold each once
        chain = self.chain(uniq)
        own = np.stack([self.units[np.maximum(chain[:, d], 0)] for d in range(chain.shape[1])])
        beta, n = smoothing["beta"], self.unigram
        root = (n @ self.alphabet.chords + beta * self.alphabet.marginal) / (n.sum() + beta)
        return self._fold(chain, own, root[None], smoothing)[inverse]

    def probability(self, states: np.ndarray, nxt: np.ndarray, smoothing: dict) -> np.ndarray:
        """P(level-1 state ``nxt`` | ``states``) (elementwise)."""
        chain = self.chain(np.asarray(states))
        cols = np.minimum(nxt, self.alphabet.n_seen - 1)
        seen = nxt < self.alphabet.n_seen
        own = np.stack([np.where(seen & (chain[:, d] >= 0),
                                 np.asarray(self.counts[np.maximum(chain[:, d], 0), cols]).ravel(), 0.0)[:, None]
                        for d in range(chain.shape[1])])
        return self._fold(chain, own, self.q(smoothing)[nxt][:, None], smoothing)[:, 0]

    def log_probability(self, states: np.ndarray, y: np.ndarray, smoothing: dict) -> np.ndarray:
        """log P(chord y_i | states_i) over all chords (rows of ``y``, elementwise): its level-1 state's probability
        and, for an unseen chord, its share of its rest group (:meth:`Alphabet.member_log_share`); the
        information content of ``markov_countsK``."""
        nxt, share = self.alphabet.member_log_share(y)
        with np.errstate(divide="ignore"):
            return np.log(self.probability(states, nxt, smoothing)) + share

    def level1_rows(self, smoothing: dict) -> tuple[sp.csr_matrix, np.ndarray]:
        """The first-order transitions from every level-1 state s (seen chords, then rest groups) as
        P(c | s) = M[s, c] + root[s] q(c): M (level-1 states x seen chords) the counts along s's chain of
        parents, each shrunk by the betas below it, and root[s] the product of the chain's betas (the
        weight of the root's q). ``bayes_memoryless``'s categorical prediction."""
        inv, beta = self._shrink(smoothing)
        chain = self.chain(np.arange(self.alphabet.size))
        weight = np.ones(len(chain))
        m = sp.csr_matrix((len(chain), self.alphabet.n_seen))
        for d in range(chain.shape[1]):
            s = chain[:, d]
            live = s >= 0
            w = np.where(live, weight * inv[np.maximum(s, 0)], 0.0)
            m = m + sp.diags(w) @ self.counts[np.maximum(s, 0)]
            weight = np.where(live, weight * beta[np.maximum(s, 0)], weight)
        return sp.csr_matrix(m), weight

    def automaton(self, smoothing: dict) -> Automaton:
        """The observer's chain over the states with these strengths (see the module text)."""
        inv, beta = self._shrink(smoothing)
        coo = self.counts.tocoo()
        s, c, n = coo.row, coo.col, coo.data
        here = self.step(s, c)  # where s followed by c leads
        par = self.parent[s]
        there = np.where(par >= 0, self.step(np.maximum(par, 0), c), c)  # where the parent followed by c leads
        fix = np.flatnonzero(here != there)
        back = beta[s[fix]] * np.where(par[fix] >= 0, self.probability(np.maximum(par[fix], 0), c[fix], smoothing),
                                       self.q(smoothing)[c[fix]])
        A = sp.csr_matrix((np.concatenate([n * inv[s], back, -back]),
                           (np.concatenate([s, s[fix], s[fix]]), np.concatenate([here, here[fix], there[fix]]))),
                          shape=(self.n_states, self.n_states))
        A.sum_duplicates()
        q = np.zeros(self.n_states)
        q[: self.alphabet.size] = self.q(smoothing)
        auto = Automaton(self.last, A, np.zeros(self.n_states), self.parent, beta, q)
        start = np.zeros((self.n_states, 1))
        start[self.bos] = 1.0
        auto.initial = np.maximum(auto.apply(start)[:, 0], 0.0)  # Row(BOS); >= 0 despite the corrections' rounding
        return auto


def count_contexts(pieces: dict[str, list[np.ndarray]], alphabet: Alphabet, order: int) -> ContextModel:
    """:class:`ContextModel` of the training pieces (``{piece: [file arrays]}``)."""
    return ContextModel(alphabet, files_of(pieces), order)
