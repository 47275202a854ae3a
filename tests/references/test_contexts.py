"""The counted chord model of order K and its automaton (bayesbach.references.contexts) against the smoothing
formula written out by hand over every chord: markov_countsK's probabilities, the states, the transitions, the
start of a file, and contexts that never reach across files."""

from __future__ import annotations

import numpy as np
import pytest

from bayesbach.references.alphabet import TooFewSteps, all_chords, count_alphabet
from bayesbach.references.contexts import count_contexts
from ngram_by_hand import ByHand

# (units, classes, order): a lumped rest group, every chord seen (2 units), pitch-class groups (4 units on 2 classes)
CASES = [(3, None, 1), (3, None, 2), (3, None, 3), (2, None, 3), (4, 2, 1), (4, 2, 2), (4, 2, 3)]


def vocab_pieces(rng, units, vocab, n_pieces=4, files=2, hi=12):
    chords = all_chords(units)[rng.choice(2**units, min(vocab, 2**units), replace=False)]
    return {f"p{i}": [chords[rng.integers(0, len(chords), n)].astype(np.float32) for n in rng.integers(1, hi, files)]
            for i in range(n_pieces)}


def smoothing_of(order):
    return {"beta": 0.7, "a_class": 1.3, **{f"a{k}": 0.5 + k for k in range(1, order + 1)}}


@pytest.mark.parametrize("units,classes,order", CASES)
def test_counted_model_is_the_smoothing_formula_over_every_chord(units, classes, order):
    """P(next | history) of every level-1 state and its per-unit means (markov_countsK), after seen and unseen
    histories, equal the formula summed over all 2^units chords; the first chord's is P(. | BOS)."""
    rng = np.random.default_rng(units * 10 + order)
    train = vocab_pieces(rng, units, 5)
    alphabet = count_alphabet(train, classes)
    model = count_contexts(train, alphabet, order)
    smoothing = smoothing_of(order)
    by_hand = ByHand(train, order, smoothing, alphabet.marginal, classes)
    chords, idx = all_chords(units), alphabet.index(all_chords(units))
    seen_vocab = np.concatenate([f for files in train.values() for f in files])
    for trial in range(20):
        pool = chords if trial % 2 else seen_vocab
        y = pool[rng.integers(0, len(pool), rng.integers(1, 6))]
        state = model.states(y)[-1]
        dist = by_hand.next_dist(tuple(by_hand.id(r) for r in y))
        assert dist.sum() == pytest.approx(1, abs=1e-12)
        per_state = np.bincount(idx, dist, minlength=alphabet.size)  # lumped into level-1 states
        got = model.probability(np.full(alphabet.size, state), np.arange(alphabet.size), smoothing)
        np.testing.assert_allclose(got, per_state, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(model.predict_units([state], smoothing)[0], dist @ chords, rtol=1e-12)
    first = np.bincount(idx, by_hand.next_dist(()), minlength=alphabet.size)
    np.testing.assert_allclose(model.probability(np.full(alphabet.size, model.bos), np.arange(alphabet.size), smoothing),
                               first, rtol=1e-12)


@pytest.mark.parametrize("units,classes,order", CASES)
def test_automaton_rows_are_the_next_chord_distribution_at_the_next_state(units, classes, order):
    """Applying the sparse-plus-back-off transitions to a state equals P(c | state) placed at step(state, c)."""
    rng = np.random.default_rng(units * 10 + order + 1)
    train = vocab_pieces(rng, units, 6)
    alphabet = count_alphabet(train, classes)
    model = count_contexts(train, alphabet, order)
    smoothing = smoothing_of(order)
    auto = model.automaton(smoothing)
    everything = np.eye(model.n_states)
    rows = auto.apply(everything.copy()).T  # row s: the next-state distribution of state s
    level1 = np.arange(alphabet.size)
    for s in range(model.n_states):
        expected = np.bincount(model.step(np.full(alphabet.size, s), level1),
                               model.probability(np.full(alphabet.size, s), level1, smoothing), minlength=model.n_states)
        np.testing.assert_allclose(rows[s], expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(auto.initial, rows[model.bos], rtol=1e-12, atol=1e-15)
    state, file = np.nonzero(everything)  # beliefs as entries: the same
    s, f, v = auto.apply_entries(state, file, everything[state, file], model.n_states)
    entries = np.zeros_like(rows)
    entries[f, s] = v
    np.testing.assert_allclose(entries, rows, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_states_are_the_automaton_run_from_the_start_of_the_file(order):
    rng = np.random.default_rng(order)
    train = vocab_pieces(rng, 4, 7, hi=20)
    model = count_contexts(train, count_alphabet(train), order)
    y = all_chords(4)[rng.integers(0, 16, 30)]
    state, run = model.bos, []
    for i in model.alphabet.index(y):
        state = model.step(np.array([state]), np.array([i]))[0]
        run.append(state)
    np.testing.assert_array_equal(model.states(y), run)


def test_contexts_never_reach_across_files():
    """Two files of one composition count like two compositions, not like one file joined."""
    rng = np.random.default_rng(3)
    a, b = (all_chords(3)[rng.integers(0, 8, n)].astype(np.float32) for n in (9, 7))
    alphabet = count_alphabet({"x": [a, b]})
    counts = lambda pieces: count_contexts(pieces, alphabet, 3).counts  # noqa: E731
    as_files, as_pieces, joined = counts({"x": [a, b]}), counts({"x": [a], "y": [b]}), counts({"x": [np.r_[a, b]]})
    assert (as_files != as_pieces).nnz == 0
    # events with a full context of order 1, 2, 3 (BOS counts as one element): n + (n - 1) + (n - 2) per file
    assert as_files.sum() == sum(3 * len(f) - 3 for f in (a, b))
    assert joined.sum() == 3 * (len(a) + len(b)) - 3  # joined, the seam would add contexts


def test_training_files_of_one_step_have_no_transition():
    with pytest.raises(TooFewSteps, match="no chord transition"):
        train = {"p": [np.ones((1, 3), np.float32)], "q": [np.zeros((1, 3), np.float32)]}
        count_contexts(train, count_alphabet(train), 2)
