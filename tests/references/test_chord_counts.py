"""The counted chord model (bayesbach.references.chord_counts) against counts by hand: the training marginal,
conditional frequencies, the smoothed fallback, and the smoothing chosen on validation."""

from __future__ import annotations

import numpy as np
import pytest

from bayesbach.references import chord_counts
from bayesbach.references.chord_counts import count_chords, global_marginal, select_smoothing


def random_pieces(rng, units, lengths, density=0.35):
    return {f"p{i}": (rng.random((n, units)) < density).astype(np.float32) for i, n in enumerate(lengths)}


def test_global_is_the_training_marginal():
    rng = np.random.default_rng(5)
    train = random_pieces(rng, 12, [40, 7, 91])
    stacked = np.concatenate(list(train.values()))
    np.testing.assert_allclose(global_marginal(train), stacked.mean(0, dtype=np.float64), rtol=1e-12)


@pytest.mark.parametrize("units", [4, 20])
def test_unsmoothed_counts_are_the_empirical_conditional_frequencies(units):
    rng = np.random.default_rng(6)
    chords = (rng.random((6, units)) < 0.4).astype(np.float32)  # a small chord vocabulary
    train = {f"p{i}": chords[rng.integers(0, 6, n)] for i, n in enumerate([60, 45])}
    model = count_chords(train, alpha=0.0, beta=0.0)
    # count next-chord unit frequencies by hand, per distinct current chord
    for c in np.unique(chords, axis=0):
        nexts = [y[t + 1] for y in train.values() for t in range(len(y) - 1) if np.array_equal(y[t], c)]
        if nexts:
            got = model.predict_units(c[None])[0]
            np.testing.assert_allclose(got, np.mean(nexts, 0, dtype=np.float64), rtol=1e-12)


def test_unseen_current_chord_falls_back_to_the_smoothed_unigram():
    rng = np.random.default_rng(7)
    train = random_pieces(rng, 20, [80])
    model = count_chords(train, alpha=2.0, beta=1.5)
    unseen = np.ones((1, 20), np.float32)
    nexts = np.concatenate([y[1:] for y in train.values()]).astype(np.float64)
    mu = (nexts.sum(0) + 1.5 * model.marginal) / (len(nexts) + 1.5)
    np.testing.assert_allclose(model.predict_units(unseen)[0], mu, rtol=1e-12)
    assert (model.predict_units(nexts[:5]) > 0).all()  # smoothing: nothing is impossible


def test_smoothing_is_chosen_at_the_validation_minimum():
    rng = np.random.default_rng(8)
    train, val = random_pieces(rng, 12, [120, 80]), random_pieces(rng, 12, [60])
    model = count_chords(train)
    grid = select_smoothing(model, val)
    assert len(grid) == len(chord_counts.ALPHAS) * len(chord_counts.BETAS)
    best = min(g["bce"] for g in grid)
    y = val["p0"]
    assert chord_counts.bce(model.predict(y), y[1:]) == pytest.approx(best, rel=1e-12)
    # random chords: the transitions carry no information, so heavy smoothing towards q wins
    assert model.alpha >= 10
