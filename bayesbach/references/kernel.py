"""The compiled steps of the observers (numba). The dense step: one call per step does what
:class:`~bayesbach.references.beliefs.Dense` does with NumPy and SciPy in several sweeps.

For each file, given its prior over the states and the scaled likelihood of each level-1 state: the
posterior (prior times the likelihood of the level-1 state each state emits), the back-off
(I + B + ... + B^depth)^T b of :meth:`~bayesbach.references.contexts.Automaton.apply` as one pass over
the child-parent pairs, children before their parents, the root's share, the transition product A^T (by
rows of A^T: each target gathers its predecessors, in the order SciPy sums them) and, in the same pass,
the next prior's level-1 marginal.

Layout: as the reference's, states x files, so that every gathered state serves all files at once
(a row of a state's files is contiguous). The files are split into one contiguous range per thread
(``numba.prange``); each file's arithmetic is sequential and the same whatever range it falls in (no
sum runs across files), so the results are bitwise the same on any number of threads
(tests/references/test_kernel.py). The reference path is the NumPy/SciPy one
(``Observer(kernel="numpy")``); the two agree to rounding (1e-12 in the tests).

The pruned step (:func:`sparse_step`, for :class:`~bayesbach.references.beliefs.CompiledSparse`) takes the beliefs'
entries and makes the same entries as :meth:`~bayesbach.references.contexts.Automaton.apply_entries`, one file
after another (the same on any number of threads), summing into an array of the states where the NumPy path sorts
every entry of a step, twice.

Compiled once per machine (``cache=True``: numba keeps the machine code beside this file, in
``__pycache__``); the first call of a fresh install compiles for some seconds.
"""

from __future__ import annotations

import types

import numpy as np

try:  # numba is a dependency (pyproject.toml); without it the observers take the NumPy path
    import numba
    from numba import njit, prange
except ImportError:  # pragma: no cover - the reference path alone
    numba = None

AVAILABLE = numba is not None
LINE = 8  # doubles per cache line: threads split the files at whole lines (no line written by two threads)
PARALLEL_WORK = 2_000_000  # states x files of a step from which the threads share it (kernels)
BLOCKS = 16  # blocks of target states of the transition product, the same on any number of threads
SORT_SHIFT = 8  # the pruned step sorts a file's states in buckets of 256 states


def sort_room(n_states: int) -> int:
    """The length of the pruned step's bucket counts for ``n_states`` states."""
    return (n_states >> SORT_SHIFT) + 2


def threads() -> int:
    """The threads the kernel runs on (numba's, ``NUMBA_NUM_THREADS`` or set_num_threads); 1 without numba."""
    return numba.get_num_threads() if AVAILABLE else 1


if AVAILABLE:

    def _posterior(prior, lik, n, chunks, emits, child, parent, weight, slot, root, root_weight, lent,
                   back):  # pragma: no cover - compiled
        """The backed-off posterior (I + B + ... + B^depth)^T (prior x likelihood) of the first ``n`` files
        (columns of ``prior``, states x files, overwritten) and the root's share of each (``back``), the files
        in ``chunks`` ranges of whole cache lines (one per thread). ``lik`` (level-1 + 1 x files): the scaled
        likelihood of each level-1 state; ``emits``: the level-1 state each state emits; (``child``, ``parent``,
        ``weight``): the back-off pairs, children before their parents; ``slot``: each state's row in ``lent``
        (what its children lend it; -1: it has none); ``root``/``root_weight``: the states whose parent is the
        root and their beta."""
        lines = (n + LINE - 1) // LINE
        for part in prange(chunks):
            lo, hi = part * lines // chunks * LINE, min(n, (part + 1) * lines // chunks * LINE)
            for r in range(lent.shape[0]):
                for c in range(lo, hi):
                    lent[r, c] = 0.0
            # one pass, children first: a state's value is its posterior (up to the file's normaliser in lik)
            # plus what its children lent it, and it lends beta of that to its parent
            for i in range(child.shape[0]):
                k, p, be = child[i], parent[i], weight[i]
                e, sk, sp = emits[k], slot[k], slot[p]
                if sk >= 0:
                    for c in range(lo, hi):
                        v = prior[k, c] * lik[e, c] + lent[sk, c]
                        prior[k, c] = v
                        lent[sp, c] += be * v
                else:
                    for c in range(lo, hi):
                        v = prior[k, c] * lik[e, c]
                        prior[k, c] = v
                        lent[sp, c] += be * v
            for c in range(lo, hi):
                back[c] = 0.0
            for i in range(root.shape[0]):  # the root's children: their values, and the root's share
                s, be = root[i], root_weight[i]
                e, ss = emits[s], slot[s]
                for c in range(lo, hi):
                    v = prior[s, c] * lik[e, c]
                    if ss >= 0:
                        v += lent[ss, c]
                    prior[s, c] = v
                    back[c] += be * v

    def _transition(post, back, n, indptr, indices, data, q, emits, out, partial,
                    marginal):  # pragma: no cover - compiled
        """The next prior A^T post + q back of the first ``n`` files into ``out`` (states x files) and its
        level-1 marginal into ``marginal``: the targets in ``len(partial)`` fixed blocks (in parallel, whatever
        the threads), each target gathering its predecessors in A^T's order (SciPy's), each block summing its
        targets' marginal into ``partial``, the blocks then summed in order."""
        n_states, blocks = post.shape[0], partial.shape[0]
        for b in prange(blocks):
            m = partial[b]
            for e in range(m.shape[0]):
                for c in range(n):
                    m[e, c] = 0.0
            for j in range(b * n_states // blocks, (b + 1) * n_states // blocks):
                for c in range(n):
                    out[j, c] = 0.0
                for k in range(indptr[j], indptr[j + 1]):
                    i, a = indices[k], data[k]
                    for c in range(n):
                        out[j, c] += a * post[i, c]
                qj = q[j]
                if qj != 0.0:
                    for c in range(n):
                        out[j, c] += qj * back[c]
                e = emits[j]
                for c in range(n):
                    m[e, c] += out[j, c]
        for e in prange(marginal.shape[0]):
            for c in range(n):
                marginal[e, c] = 0.0
            for b in range(blocks):
                for c in range(n):
                    marginal[e, c] += partial[b, e, c]

    def _level1(prior, n, chunks, emits, marginal):  # pragma: no cover - compiled
        """The level-1 marginal of the first ``n`` files' beliefs (as :func:`transition` leaves it)."""
        lines = (n + LINE - 1) // LINE
        for part in prange(chunks):
            lo, hi = part * lines // chunks * LINE, min(n, (part + 1) * lines // chunks * LINE)
            for e in range(marginal.shape[0]):
                for c in range(lo, hi):
                    marginal[e, c] = 0.0
            for j in range(prior.shape[0]):
                e = emits[j]
                for c in range(lo, hi):
                    marginal[e, c] += prior[j, c]


    def _grow(a, need):  # pragma: no cover - compiled
        """``a`` itself, or a copy with room for at least ``need`` elements (doubling)."""
        if need <= a.shape[0]:
            return a
        b = np.empty(max(need, 2 * a.shape[0]), a.dtype)
        b[:a.shape[0]] = a
        return b

    def _sort_states(a, n, counts, buf):  # pragma: no cover - compiled
        """The first ``n`` elements of ``a`` (distinct states) sorted in place: counted into buckets of ``SORT_SHIFT``
        bits by the rest (``counts``: one more than the buckets; ``buf``: as long as ``a``), then an insertion sort
        that only meets the order within a bucket. numba's quicksort took most of the step on these arrays."""
        counts[:] = 0
        for i in range(n):
            counts[(a[i] >> SORT_SHIFT) + 1] += 1
        for b in range(1, counts.shape[0]):
            counts[b] += counts[b - 1]
        for i in range(n):
            b = a[i] >> SORT_SHIFT
            buf[counts[b]] = a[i]
            counts[b] += 1
        for i in range(n):
            v, j = buf[i], i
            while j > 0 and a[j - 1] > v:
                a[j] = a[j - 1]
                j -= 1
            a[j] = v

    def _sparse_step(state, file, value, n, lik, emits, prune, parent, beta, depth, root, q_cols, q_vals, indptr,
                     indices, data, acc, out_acc, mark, out_mark, touched, out_touched, counts, buf,
                     marginal):  # pragma: no cover - compiled
        """:meth:`~bayesbach.references.beliefs.Sparse.advance` in one pass per file: the entries (state, file,
        value) of the first ``n`` files (sorted by file, then state) times the scaled likelihood ``lik`` (files x
        level-1 + 1) of the state each emits (``emits``), pruned (each file drops the entries below ``prune`` / its
        entries, renormalised), backed off ``depth`` levels (each entry lends ``beta`` of itself to its ``parent``,
        level by level), through A (``indptr``, ``indices``, ``data``: CSR by source) plus the root's share
        (``root``: each state's weight on the root; ``q_cols``/``q_vals``: the root's next-state distribution),
        summed in the order the NumPy path sums them. Returns the next entries (sorted by file, then state), each
        file's dropped mass and the entries kept, and adds the next entries' level-1 marginal (their values, at
        least 0, summed by the state each emits; as ``Sparse.per_level1`` sums them) into ``marginal`` (files x
        level-1 + 1, zeros). Scratch, left as it came: ``acc``/``out_acc`` (states, zeros), ``mark``/``out_mark``
        (states, False), ``touched``/``out_touched``/``buf`` (states) and ``counts`` (:func:`sort_room`)."""
        m = state.shape[0]
        cap = 4 * m + n * (q_cols.shape[0] + 1) + 16
        o_state, o_file, o_value = np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap)
        lost = np.zeros(n)
        level_s, level_v = np.empty(16, np.int64), np.empty(16)
        o, i, kept = 0, 0, 0
        for f in range(n):
            lo = i
            while i < m and file[i] == f:
                i += 1
            held = i - lo
            thr = prune / max(held, 1)
            # level 0: the kept entries; level d + 1: what level d lends its parents (the NumPy path's parts)
            level_s, level_v = _grow(level_s, held), _grow(level_v, held)
            dropped = 0.0
            for j in range(lo, i):
                v = max(value[j], 0.0) * lik[f, emits[state[j]]]
                level_v[j - lo] = v
                if v < thr:
                    dropped += v
            lost[f] = dropped
            width, nt = 0, 0
            for j in range(lo, i):
                v = level_v[j - lo]
                if not v < thr:
                    level_s[width], level_v[width] = state[j], v / (1.0 - dropped)
                    width += 1
            kept += width
            for d in range(depth + 1):
                for j in range(width):
                    s = level_s[j]
                    if not mark[s]:
                        mark[s] = True
                        touched[nt] = s
                        nt += 1
                    acc[s] += level_v[j]
                if d == depth:
                    break
                up = 0
                for j in range(width):
                    s = level_s[j]
                    if parent[s] >= 0:
                        level_s[up], level_v[up] = parent[s], level_v[j] * beta[s]
                        up += 1
                width = up
            _sort_states(touched, nt, counts, buf)
            # the next states: each source's row of A in order, then the root's share (a sum and its list written
            # out in each loop: as a helper function the step took three times as long)
            nout, back = 0, 0.0
            for t in range(nt):
                s = touched[t]
                v = acc[s]
                for k in range(indptr[s], indptr[s + 1]):
                    c = indices[k]
                    if not out_mark[c]:
                        out_mark[c] = True
                        out_touched[nout] = c
                        nout += 1
                    out_acc[c] += v * data[k]
                back += v * root[s]
                acc[s] = 0.0
                mark[s] = False
            for k in range(q_cols.shape[0]):
                c = q_cols[k]
                if not out_mark[c]:
                    out_mark[c] = True
                    out_touched[nout] = c
                    nout += 1
                out_acc[c] += back * q_vals[k]
            _sort_states(out_touched, nout, counts, buf)
            if o + nout > o_state.shape[0]:
                o_state, o_file, o_value = _grow(o_state, o + nout), _grow(o_file, o + nout), _grow(o_value, o + nout)
            for t in range(nout):
                c = out_touched[t]
                o_state[o], o_file[o], o_value[o] = c, f, out_acc[c]
                marginal[f, emits[c]] += max(out_acc[c], 0.0)
                o += 1
                out_acc[c] = 0.0
                out_mark[c] = False
        return o_state[:o].copy(), o_file[:o].copy(), o_value[:o].copy(), lost, kept

    def _compile(f, parallel: bool):
        """``f`` compiled, in parallel (prange over threads) or serial (prange as range); each its own cache."""
        g = types.FunctionType(f.__code__, f.__globals__, f.__name__)
        g.__qualname__ = g.__name__ = f.__name__.lstrip("_") + ("" if parallel else "_serial")
        g.__doc__ = f.__doc__
        return njit(parallel=parallel, cache=True, fastmath=False, nogil=True)(g)

    KERNELS = {parallel: tuple(_compile(f, parallel) for f in (_posterior, _transition, _level1))
               for parallel in (True, False)}
    _grow = njit(cache=True, nogil=True)(_grow)
    _sort_states = njit(cache=True, nogil=True)(_sort_states)
    # The pruned step: one file after another (its work follows the entries, a few thousand per file, too little to
    # share among threads), so its results do not depend on the thread count either.
    sparse_step = njit(cache=True, nogil=True)(_sparse_step)


def kernels(work: int) -> tuple:
    """(posterior, transition, level1), in parallel when a step touches at least ``PARALLEL_WORK`` numbers and there
    are threads: below it, starting the threads every step costs more than they save (and far more on a machine
    whose other cores are busy)."""
    return KERNELS[threads() > 1 and work >= PARALLEL_WORK]


def chunks(n: int) -> int:
    """The ranges the first ``n`` files are split into: one per thread, at most one per cache line of files."""
    return max(1, min(threads(), -(-n // LINE)))


def backoff_pairs(parent: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (child, parent, beta) pairs of a back-off tree, every child before its parent: deepest first, by index
    within a depth (the order the states lie in memory)."""
    depth = np.zeros(len(parent), np.int64)
    cur = parent.copy()
    while (cur >= 0).any():
        depth += cur >= 0
        cur = np.where(cur >= 0, parent[np.maximum(cur, 0)], -1)
    child = np.flatnonzero(parent >= 0)
    child = child[np.lexsort((child, -depth[child]))]
    return child.astype(np.int64), parent[child].astype(np.int64), beta[child].astype(np.float64)


def slots(parent: np.ndarray) -> tuple[np.ndarray, int]:
    """Each state's row among the states that are parents (-1 for the others), and their number."""
    is_parent = np.zeros(len(parent), bool)
    is_parent[parent[parent >= 0]] = True
    slot = np.full(len(parent), -1, np.int64)
    slot[is_parent] = np.arange(is_parent.sum())
    return slot, int(is_parent.sum())
