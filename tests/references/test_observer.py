"""The ideal Bayesian observer (bayesbach.references.observer) against brute-force filtering over every hidden path."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bayesbach.references.chord_counts import DenseTransitions, all_chords, count_chords
from bayesbach.references.observer import Observer


def random_pieces(rng, units, lengths, density=0.35):
    return {f"p{i}": (rng.random((n, units)) < density).astype(np.float32) for i, n in enumerate(lengths)}


def brute_force(states, matrix, initial, x, sigma):
    """Filtering by enumerating every hidden path: per-unit decode and predict probabilities.

    ``states`` are chord vectors (S, U); ``matrix`` the dense transitions (S, S).
    """
    n = len(states)
    decode, predict = [], []
    for t in range(1, len(x) + 1):
        post = np.zeros(n)
        for path in itertools.product(range(n), repeat=t):
            p = initial[path[0]]
            for a, b in zip(path[:-1], path[1:]):
                p *= matrix[a, b]
            for s, xt in zip(path, x[:t]):
                p *= np.exp(-np.sum((xt - states[s]) ** 2) / (2 * sigma**2))
            post[path[-1]] += p
        post /= post.sum()
        decode.append(post @ states)
        predict.append((post @ matrix) @ states)
    return np.array(decode), np.array(predict[:-1]).reshape(len(x) - 1, states.shape[1])


def dense_matrix(model):
    """The smoothed transition matrix written out in full from its defining formula."""
    counts = model.counts.toarray()
    q = model.q()
    n_row = counts.sum(1, keepdims=True)
    return np.where(n_row + model.alpha > 0, (counts + model.alpha * q) / np.maximum(n_row + model.alpha, 1e-300), q)


def test_filter_equals_path_enumeration_for_a_known_chain():
    rng = np.random.default_rng(1)
    states = all_chords(2)
    matrix = rng.dirichlet(np.ones(4), size=4)
    initial = rng.dirichlet(np.ones(4))
    sigma = 0.6
    xs = [states[rng.integers(0, 4, n)] + sigma * rng.standard_normal((n, 2)) for n in (5, 3, 1)]
    observer = Observer(states, DenseTransitions(matrix), initial, sigma)
    for x, (dec, pred) in zip(xs, observer.filter(xs)):  # pieces of different lengths in one batch
        ref_dec, ref_pred = brute_force(states, matrix, initial, x, sigma)
        np.testing.assert_allclose(dec, ref_dec, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(pred, ref_pred, rtol=1e-10, atol=1e-12)
        assert dec.shape == x.shape and pred.shape == (len(x) - 1, 2)


def enumerated_chain(train, units, alpha, beta):
    """The smoothed model written out over all 2^units chords, from the training data by loops."""
    n_chords = 2**units
    bits = 2 ** np.arange(units)
    counts = np.zeros((n_chords, n_chords))
    for y in train.values():
        ids = (y @ bits).astype(int)
        for a, b in zip(ids[:-1], ids[1:]):
            counts[a, b] += 1
    chords = all_chords(units)
    nxt = counts.sum(0)
    m = (nxt @ chords + 0.5) / (nxt.sum() + 1)
    u = np.prod(np.where(chords > 0, m, 1 - m), axis=1)
    q = (nxt + beta * u) / (nxt.sum() + beta)
    n_row = counts.sum(1, keepdims=True)
    matrix = np.where(n_row + alpha > 0, (counts + alpha * q) / np.maximum(n_row + alpha, 1e-300), q)
    return chords, matrix, q


@pytest.mark.parametrize("units,seen,sigma", [(3, 8, 0.9), (3, 3, 0.8), (4, 5, 0.5), (4, 5, 0.05)])
def test_lumped_filter_equals_enumeration_over_all_chords(units, seen, sigma):
    """Seen chords plus one lumped state for the rest is the filter over every chord, exactly."""
    rng = np.random.default_rng(units * 10 + seen)
    vocab = all_chords(units)[rng.choice(2**units, seen, replace=False)]
    train = {f"p{i}": vocab[rng.integers(0, seen, n)].astype(np.float32) for i, n in enumerate([25, 14])}
    model = count_chords(train, alpha=0.7, beta=0.3)
    assert len(model.chords) <= seen and model.rest == (len(model.chords) < 2**units)
    # the sparse-plus-rank-one application equals the dense matrix of the same states
    matrix = dense_matrix(model)
    np.testing.assert_allclose(matrix.sum(1), 1, rtol=1e-12)
    belief = rng.dirichlet(np.ones(model.n_states), size=3)
    np.testing.assert_allclose(model.transition().apply(belief), belief @ matrix, rtol=1e-12)
    chords, full, q = enumerated_chain(train, units, 0.7, 0.3)
    y = all_chords(units)[rng.integers(0, 2**units, 7 - units)]  # seen and unseen chords; 2^(u(7-u)) paths
    x = y + sigma * rng.standard_normal(y.shape)
    (dec, pred), = Observer.from_model(model, sigma).filter([x])
    ref_dec, ref_pred = brute_force(chords, full, q, x, sigma)
    np.testing.assert_allclose(dec, ref_dec, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(pred, ref_pred, rtol=1e-9, atol=1e-12)


def test_tiny_sigma_decodes_the_clean_chord_even_if_never_seen():
    rng = np.random.default_rng(4)
    train = random_pieces(rng, 12, [200, 150])
    model = count_chords(train)
    y = (rng.random((50, 12)) < 0.5).astype(np.float32)  # mostly unseen chords
    x = y + 0.001 * rng.standard_normal(y.shape)
    (dec, _), = Observer.from_model(model, 0.001).filter([x])
    np.testing.assert_allclose(dec, y, atol=1e-6)


@pytest.mark.parametrize("units", [5, 16])
def test_noiseless_observer_is_markov_counts(units):
    """At sigma = 0 the posterior is the observed chord, so prediction is the counted model's."""
    rng = np.random.default_rng(9)
    model = count_chords(random_pieces(rng, units, [90, 70], density=0.2), alpha=0.3, beta=2.0)
    y = (rng.random((40, units)) < 0.2).astype(np.float32)  # seen and unseen chords
    unseen = model.index(y) == len(model.chords)
    assert unseen.any() and not unseen.all()
    (dec, pred), = Observer.from_model(model, 0.0).filter([y])
    np.testing.assert_array_equal(dec, y)
    np.testing.assert_allclose(pred, model.predict(y), rtol=1e-10)
