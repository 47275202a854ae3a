"""The alphabet of the counted models (bayesbach.references.alphabet) against sums over every chord: the
seen chords, the rest groups (one, or one per pitch-class set), the base measure and the pooled BCE."""

from __future__ import annotations

import numpy as np
import pytest

from bayesbach.references.alphabet import (Alphabet, TooFewSteps, all_chords, bce, count_alphabet, global_marginal,
                                               pooled_bce)


def random_pieces(rng, units, lengths, density=0.35, files=1):
    return {f"p{i}": [(rng.random((n, units)) < density).astype(np.float32) for _ in range(files)]
            for i, n in enumerate(lengths)}


def test_global_is_the_training_marginal_over_every_file():
    rng = np.random.default_rng(5)
    train = random_pieces(rng, 12, [40, 7, 91], files=2)
    stacked = np.concatenate([f for files in train.values() for f in files])
    np.testing.assert_allclose(global_marginal(train), stacked.mean(0, dtype=np.float64), rtol=1e-12)


def test_no_steps_is_a_readable_error():
    with pytest.raises(TooFewSteps, match="no steps"):
        count_alphabet({"p": [np.zeros((0, 4), np.float32)]})


def test_pooled_bce_weighs_every_step_alike_and_is_nan_without_any():
    p1, y1 = np.full((3, 2), 0.25), np.ones((3, 2))
    p2, y2 = np.full((1, 2), 0.5), np.zeros((1, 2))
    expected = (6 * np.log(4) + 2 * np.log(2)) / 8
    assert pooled_bce([p1, p2], [y1, y2]) == pytest.approx(expected)
    assert pooled_bce([p1], [y1]) == pytest.approx(bce(p1, y1))
    assert np.isnan(pooled_bce([np.zeros((0, 2))], [np.zeros((0, 2))]))


def five_of_sixteen(seed, classes):
    """An alphabet of 5 of the 16 chords of 4 units, every chord, its base measure u and its level-1 index."""
    rng = np.random.default_rng(seed)
    chords = all_chords(4)
    m = rng.uniform(0.1, 0.6, 4)
    alphabet = Alphabet(chords[[1, 3, 6, 9, 12]], m, classes)
    return rng, alphabet, chords, np.prod(np.where(chords > 0, m, 1 - m), axis=1), alphabet.index(chords)


@pytest.mark.parametrize("classes", [None, 2])
def test_groups_sum_the_base_measure_of_their_unseen_members(classes):
    """Level-1 states of every chord, their base-measure mass and mean chord, against all 2^units chords."""
    _, alphabet, chords, u, idx = five_of_sixteen(0, classes)
    class_set = lambda c: frozenset(k % 2 for k in range(4) if c[k])  # noqa: E731
    seen_sets = {class_set(c) for c in alphabet.chords}
    assert alphabet.size == 5 + (1 if classes is None else len(seen_sets) + 1)  # with classes: + the remainder
    mass = np.bincount(idx, u, minlength=alphabet.size)
    np.testing.assert_allclose(alphabet.base(), mass, rtol=1e-12)
    v = alphabet.n_seen
    for g in range(alphabet.n_groups):
        members = idx == v + g
        if members.any():
            mean = u[members] @ chords[members] / u[members].sum()
            # a unit no member has is 0 up to rounding
            np.testing.assert_allclose(alphabet.group_units[g], mean, rtol=1e-12, atol=1e-15)
    # every seen chord is itself, every unseen one in the group of its class set (or the remainder)
    np.testing.assert_array_equal(alphabet.chords[idx[idx < v]], chords[idx < v])
    if classes:
        for c, i in zip(chords, idx):
            if i >= v and class_set(c) in seen_sets:
                assert class_set(alphabet.chords[alphabet.chord_group == i - v][0]) == class_set(c)


@pytest.mark.parametrize("classes", [None, 2])
def test_group_sums_under_evidence_equal_sums_over_all_chords(classes):
    """``mixtures`` and ``group_numerators``, the emission's sums, against loops over every chord."""
    rng, alphabet, chords, u, idx = five_of_sixteen(1, classes)
    v, m = alphabet.n_seen, alphabet.marginal
    log_ratio = rng.normal(0, 2, (3, 4))  # per-unit log l_k(1) / l_k(0) of three observations
    terms = alphabet.mixtures(np.log(m / (1 - m)) + log_ratio, log_ratio @ alphabet.chords.T, 0.7)
    weight = u * np.exp(log_ratio @ chords.T - 0.7)  # (3, 16): u(c) l(c), scaled like the sums
    per_state = np.stack([np.bincount(idx, w, minlength=alphabet.size) for w in weight])
    np.testing.assert_allclose(terms.w, per_state[:, :v], rtol=1e-12)
    np.testing.assert_allclose(terms.rest, per_state[:, v:], rtol=1e-10, atol=1e-14)
    rho = rng.random((3, alphabet.n_groups))
    expected = sum(rho[:, i - v, None] * weight[:, c, None] * chords[c] for c, i in enumerate(idx) if i >= v)
    np.testing.assert_allclose(alphabet.group_numerators(rho, terms), expected, rtol=1e-10, atol=1e-14)


def test_pitch_chords_fall_in_the_group_of_their_pitch_class_set():
    rng = np.random.default_rng(2)
    train = random_pieces(rng, 128, [50], density=0.03)
    alphabet = count_alphabet(train, 12)
    seen = train["p0"][0][0]
    moved = np.zeros(128, np.float32)
    on = np.flatnonzero(seen)
    moved[(on + 12) % 128] = 1  # the same pitch classes an octave up: most likely never seen
    i = alphabet.index(np.stack([seen, moved]))
    assert i[0] < alphabet.n_seen
    if i[1] >= alphabet.n_seen:
        assert i[1] - alphabet.n_seen == alphabet.chord_group[i[0]]
