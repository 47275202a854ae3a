"""The observers' compiled dense step (bayesbach.references.kernel) against the NumPy/SciPy reference path: the same
decoding, prediction and bits to 1e-12 at every order, with and without pitch-class groups, for a chain given in full
and for sparse beliefs that go dense; bitwise the same on one thread and on two. The compiled pruned step against the
NumPy one: the same results and the same entries dropped."""

from __future__ import annotations

import numpy as np
import pytest

from bayesbach.dev.synthetic import known_chain, sample_chain
from bayesbach.references import kernel
from bayesbach.references import observer as observer_module
from bayesbach.references.alphabet import Alphabet, all_chords, count_alphabet
from bayesbach.references.beliefs import CompiledSparse, Sparse
from bayesbach.references.contexts import Automaton, count_contexts
from bayesbach.references.observer import Observer, observer_of

numba = pytest.importorskip("numba")

LENGTHS = [90, 61, 61, 40, 33, 30, 24, 17, 17, 12, 9, 5, 3, 2, 1, 1, 48, 70, 26]  # 19 files: ranges and blocks end


def corpus(units: int, classes: int | None, order: int, sigma: float, seed: int = 0):
    """A counted model of ``order`` on a sparse chain and noisy test files of ragged lengths, with their clean
    chords (some never seen in training, so the rest groups carry mass)."""
    rng = np.random.default_rng(seed + 10 * order + units)
    matrix, initial = known_chain(rng, units=units, vocab=60, successors=4)
    train = sample_chain(rng, matrix, initial, [400, 300, 200], "a")
    alphabet = count_alphabet(train, classes)
    model = count_contexts(train, alphabet, order)
    smoothing = {"beta": 0.7, "a_class": 0.5, **{f"a{k}": 0.3 * k for k in range(1, order + 1)}}
    ys = [y for f in sample_chain(rng, matrix, initial, LENGTHS, "b").values() for y in f]
    ys[3] = (rng.random(ys[3].shape) < 0.4).astype(np.float32)  # a file of mostly unseen chords
    xs = [y + sigma * rng.standard_normal(y.shape) for y in ys]
    return model, smoothing, xs, ys


def assert_same(a: list[tuple], b: list[tuple], exact: bool = False) -> None:
    assert len(a) == len(b)
    for fa, fb in zip(a, b):
        assert len(fa) == len(fb)
        for x, y in zip(fa, fb):
            assert x.shape == y.shape
            if exact:
                assert np.array_equal(x, y)
            else:
                np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("units,classes,order,sigma", [(8, None, 1, 0.6), (8, None, 2, 0.8), (8, None, 3, 1.0),
                                                       (8, None, 3, 0.3), (10, 5, 3, 0.7)])
def test_the_kernel_equals_the_numpy_path(units, classes, order, sigma):
    """Decoding, prediction and the bits of every step of every file, to 1e-12."""
    model, smoothing, xs, ys = corpus(units, classes, order, sigma)
    fast = observer_of(model, smoothing, sigma, kernel="numba")
    reference = observer_of(model, smoothing, sigma, kernel="numpy")
    assert fast.kernel == "numba" and reference.kernel == "numpy"
    assert_same(fast.filter(xs, ys), reference.filter(xs, ys))
    assert_same(fast.filter(xs), reference.filter(xs))
    # run() in batches: the kernel's beliefs are allocated per batch
    inputs, targets = {"a": xs[:7], "b": xs[7:]}, {"a": ys[:7], "b": ys[7:]}
    for ra, rb in zip(fast.run(inputs, 3000, targets), reference.run(inputs, 3000, targets)):
        assert ra[0] == rb[0]
        for a, b in zip(ra[1:], rb[1:]):
            assert_same([tuple(a)], [tuple(b)])


def test_the_kernel_with_many_files_of_many_lengths():
    """101 files (13 cache lines of columns, the last part-filled), ending at every step: the NumPy path's results."""
    model, smoothing, xs, ys = corpus(8, None, 3, 0.8)
    n = 101
    xs, ys = [xs[k % len(xs)][:2 + k % 5] for k in range(n)], [ys[k % len(ys)][:2 + k % 5] for k in range(n)]
    assert_same(observer_of(model, smoothing, 0.8, kernel="numba").filter(xs, ys),
                observer_of(model, smoothing, 0.8, kernel="numpy").filter(xs, ys))


def test_the_kernel_of_a_chain_given_in_full():
    """Without a back-off tree (Automaton.dense: P = A) the kernel is the plain transition product."""
    rng = np.random.default_rng(5)
    states = all_chords(3)
    alphabet = Alphabet(states, np.full(3, 0.5))
    auto = Automaton.dense(rng.dirichlet(np.ones(8), size=8), rng.dirichlet(np.ones(8)), last=alphabet.index(states))
    xs = [states[rng.integers(0, 8, n)] + 0.5 * rng.standard_normal((n, 3)) for n in (12, 9, 9, 4, 1)]
    assert_same(Observer(alphabet, auto, 0.5, kernel="numba").filter(xs),
                Observer(alphabet, auto, 0.5, kernel="numpy").filter(xs))


def test_sparse_beliefs_that_go_dense_go_on_with_the_kernel(monkeypatch):
    """Sparse beliefs that go dense (every state has mass) continue with the kernel's beliefs."""
    monkeypatch.setattr(observer_module, "DENSE_SHARE", 1e-6)
    model, smoothing, xs, ys = corpus(8, None, 2, 0.8)
    fast = observer_of(model, smoothing, 0.8, prune=1e-300, kernel="numba")
    reference = observer_of(model, smoothing, 0.8, prune=1e-300, kernel="numpy")
    assert_same(fast.filter(xs, ys), reference.filter(xs, ys))
    assert fast.discarded.dense_from_step == reference.discarded.dense_from_step == 1


@pytest.mark.parametrize("units,classes,order,sigma,prune", [(8, None, 1, 0.3, 1e-7), (8, None, 2, 0.3, 1e-3),
                                                             (8, None, 3, 0.3, 1e-7), (10, 5, 3, 0.4, 1e-7),
                                                             (8, None, 3, 1.0, 1e-3), (8, None, 3, 0.3, 1e-300)])
def test_the_compiled_pruned_step_equals_the_numpy_one(monkeypatch, units, classes, order, sigma, prune):
    """Pruned beliefs kept sparse to the end: the results to 1e-12, and the same entries kept and mass dropped."""
    monkeypatch.setattr(observer_module, "DENSE_SHARE", 1e9)
    model, smoothing, xs, ys = corpus(units, classes, order, sigma)
    fast = observer_of(model, smoothing, sigma, prune=prune, kernel="numba")
    reference = observer_of(model, smoothing, sigma, prune=prune, kernel="numpy")
    assert fast._sparse is CompiledSparse and reference._sparse is Sparse
    assert_same(fast.filter(xs, ys), reference.filter(xs, ys))
    a, b = fast.discarded, reference.discarded
    assert a.dense_from_step is None and b.dense_from_step is None
    assert a.support == b.support  # the entries kept, step by step
    assert a.steps == b.steps and a.max_step == pytest.approx(b.max_step, rel=1e-9, abs=1e-20)
    assert a.total == pytest.approx(b.total, rel=1e-9, abs=1e-20)
    if prune > 1e-100:
        assert b.max_step > 0  # something was dropped, so the pruning itself is compared


def test_the_compiled_pruned_step_makes_the_numpy_ones_entries_in_its_order():
    """One step from the same entries: the same (state, file) keys, sorted by file then state, the same values."""
    model, smoothing, xs, _ = corpus(10, 5, 3, 0.4)
    observer = observer_of(model, smoothing, 0.4, prune=1e-3, kernel="numba")
    fast, reference = CompiledSparse(observer), Sparse(observer)
    rng = np.random.default_rng(3)
    n_files, n_states = 5, model.n_states
    prior = reference.start(n_files)
    for _ in range(3):  # a few steps in, the entries are many and spread over the states
        lik = rng.random((n_files, observer.alphabet.size + 1))
        prior = reference.advance(prior, lik / (reference.per_level1(prior, n_files) * lik).sum(1)[:, None], n_files)
    lik = rng.random((n_files, observer.alphabet.size + 1))
    lik /= (reference.per_level1(prior, n_files) * lik).sum(1)[:, None]
    a, b = fast.advance(prior, lik, n_files - 1), reference.advance(prior, lik, n_files - 1)
    assert len(b[0]) > 50 and np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert np.all(np.diff(a[1] * n_states + a[0]) > 0)
    np.testing.assert_allclose(a[2], b[2], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(fast.per_level1(a, n_files - 1), reference.per_level1(b, n_files - 1), rtol=1e-12,
                               atol=1e-15)


def test_the_compiled_pruned_step_of_a_chain_given_in_full(monkeypatch):
    """Without a back-off tree (P = A) the pruned step has no root's share: the NumPy path's results."""
    monkeypatch.setattr(observer_module, "DENSE_SHARE", 1e9)
    rng = np.random.default_rng(6)
    states = all_chords(3)
    alphabet = Alphabet(states, np.full(3, 0.5))
    auto = Automaton.dense(rng.dirichlet(np.full(8, 0.3), size=8), rng.dirichlet(np.ones(8)),
                           last=alphabet.index(states))
    xs = [states[rng.integers(0, 8, n)] + 0.3 * rng.standard_normal((n, 3)) for n in (12, 9, 9, 4, 1)]
    fast, reference = (Observer(alphabet, auto, 0.3, prune=1e-4, kernel=k) for k in ("numba", "numpy"))
    assert_same(fast.filter(xs), reference.filter(xs))
    assert fast.discarded.support == reference.discarded.support and reference.discarded.max_step > 0


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="numba runs on one thread here")
def test_the_kernel_gives_the_same_bits_on_any_number_of_threads(monkeypatch):
    """Each file's arithmetic is sequential and in one order: one thread and two give identical floats."""
    monkeypatch.setattr(kernel, "PARALLEL_WORK", 0)  # two threads share even these small steps
    model, smoothing, xs, ys = corpus(10, 5, 3, 0.7)
    xs, ys = [x[:12] for x in xs], [y[:12] for y in ys]  # a parallel step costs a start of the threads
    before = numba.get_num_threads()
    out = {}
    try:
        for threads in (1, 2):
            numba.set_num_threads(threads)
            assert kernel.threads() == threads
            assert kernel.kernels(1) is kernel.KERNELS[threads == 2]
            out[threads] = observer_of(model, smoothing, 0.7, kernel="numba").filter(xs, ys)
    finally:
        numba.set_num_threads(before)
    assert_same(out[1], out[2], exact=True)


def test_the_kernel_is_the_default_and_is_checked():
    model, smoothing, _, _ = corpus(8, None, 1, 0.5)
    assert observer_module.DEFAULT_KERNEL == "numba"
    assert observer_of(model, smoothing, 0.5).kernel == "numba"
    with pytest.raises(ValueError, match="kernel"):
        observer_of(model, smoothing, 0.5, kernel="fortran")


def test_backoff_pairs_put_every_child_before_its_parent():
    parent = np.array([-1, 0, 0, 1, 3, -1, 5, 2])
    child, par, weight = kernel.backoff_pairs(parent, np.arange(8) / 10)
    assert sorted(child) == [1, 2, 3, 4, 6, 7] and np.array_equal(par, parent[child])
    np.testing.assert_array_equal(weight, child / 10)
    position = {k: i for i, k in enumerate(child)}
    assert all(position[k] < position[p] for k, p in zip(child, par) if p in position)
    slot, count = kernel.slots(parent)
    assert count == 5 and list(np.flatnonzero(slot >= 0)) == [0, 1, 2, 3, 5]
