"""The ideal Bayesian observer of every order (bayesbach.references.observer) against brute-force filtering
over every hidden chord path, with and without lumped rest states, and its limits (no noise, tiny noise, pruning);
its information content of the actual chords against the enumerated distributions over every chord."""

from __future__ import annotations

import numpy as np
import pytest

from bayesbach.dev.synthetic import known_chain, sample_chain
from bayesbach.references.alphabet import Alphabet, all_chords, count_alphabet
from bayesbach.references.contexts import Automaton, count_contexts
from bayesbach.references import observer as observer_module
from bayesbach.references.observer import Observer, observer_of
from ngram_by_hand import ByHand, brute_force, brute_force_chords


def random_pieces(rng, units, lengths, density=0.35):
    return {f"p{i}": [(rng.random((n, units)) < density).astype(np.float32)] for i, n in enumerate(lengths)}


class KnownChain:
    """A first-order chain given in full, as :func:`brute_force` reads a model."""

    def __init__(self, matrix, initial, chords):
        self.matrix, self.initial, self.chords = matrix, initial, chords

    def next_dist(self, path):
        return self.matrix[path[-1]] if path else self.initial


def test_filter_equals_path_enumeration_for_a_known_chain():
    rng = np.random.default_rng(1)
    states = all_chords(2)
    matrix = rng.dirichlet(np.ones(4), size=4)
    initial = rng.dirichlet(np.ones(4))
    sigma = 0.6
    xs = [states[rng.integers(0, 4, n)] + sigma * rng.standard_normal((n, 2)) for n in (5, 3, 1)]
    alphabet = Alphabet(states, np.full(2, 0.5))  # every chord seen: the rest group is empty
    observer = Observer(alphabet, Automaton.dense(matrix, initial, last=alphabet.index(states)), sigma)
    for x, (dec, pred) in zip(xs, observer.filter(xs)):  # files of different lengths in one batch
        ref_dec, ref_pred = brute_force(KnownChain(matrix, initial, states), x, sigma)
        np.testing.assert_allclose(dec, ref_dec, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(pred, ref_pred, rtol=1e-10, atol=1e-12)
        assert dec.shape == x.shape and pred.shape == (len(x) - 1, 2)


# (units, seen chords, classes, order, sigma): with a lumped rest group, without one (every chord seen),
# and with pitch-class groups (4 units folded onto 2 classes)
CASES = [(3, 5, None, 1, 0.7), (3, 5, None, 2, 0.8), (3, 5, None, 3, 0.6), (2, 4, None, 3, 0.5),
         (3, 8, None, 2, 0.9), (4, 6, 2, 1, 0.6), (4, 6, 2, 2, 0.7), (4, 6, 2, 3, 0.4), (3, 5, None, 3, 0.05)]


@pytest.mark.parametrize("units,seen,classes,order,sigma", CASES)
def test_filter_of_every_order_equals_enumeration_over_all_chord_paths(units, seen, classes, order, sigma, monkeypatch):
    """Seen contexts plus lumped rest groups are the filter over every chord path, exactly; with dense beliefs,
    with sparse ones that drop nothing, and with sparse ones that go on dense (spread over most states). The
    information content of each actual chord, seen or unseen, is -log2 of its probability under the enumerated
    posterior (decode) and predictive distribution (predict) over every chord."""
    rng = np.random.default_rng(units * 100 + seen * 10 + order)
    vocab = all_chords(units)[rng.choice(2**units, seen, replace=False)]
    train = {f"p{i}": [vocab[rng.integers(0, seen, n)].astype(np.float32) for n in (14, 9)] for i in range(2)}
    alphabet = count_alphabet(train, classes)
    model = count_contexts(train, alphabet, order)
    smoothing = {"beta": 0.8, "a_class": 0.6, **{f"a{k}": 0.4 * k for k in range(1, order + 1)}}
    by_hand = ByHand(train, order, smoothing, alphabet.marginal, classes)
    n_steps = {2: 5, 3: 4, 4: 3}[units]  # (2^units)^steps paths
    ys = [all_chords(units)[rng.integers(0, 2**units, n)] for n in (n_steps, 2)]  # seen and unseen chords
    xs = [y + sigma * rng.standard_normal(y.shape) for y in ys]
    observer = Observer(alphabet, model.automaton(smoothing), sigma)
    sparse = Observer(alphabet, model.automaton(smoothing), sigma, prune=1e-300)  # sparse beliefs, nothing dropped
    switched = sparse.filter(xs, ys)
    assert sparse.discarded.dense_from_step == 1  # a tiny alphabet: every state has mass
    monkeypatch.setattr(observer_module, "DENSE_SHARE", 2.0)
    kept = sparse.filter(xs, ys)
    assert (alphabet.index(np.concatenate(ys)) >= alphabet.n_seen).any() == (seen < 2**units)  # unseen ones too
    for x, y, (dec, pred), *others in zip(xs, ys, observer.filter(xs), observer.filter(xs, ys), switched, kept):
        post, pred_chords = brute_force_chords(by_hand, x, sigma)
        ids = [by_hand.id(row) for row in y]
        bits_dec = -np.log2(post[np.arange(len(y)), ids])
        bits_pred = -np.log2(pred_chords[np.arange(len(y) - 1), ids[1:]])
        for d, p, *bits in [(dec, pred), *others]:
            np.testing.assert_allclose(d, post @ by_hand.chords, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(p, pred_chords @ by_hand.chords, rtol=1e-9, atol=1e-12)
            if bits:
                np.testing.assert_allclose(bits[0], bits_dec, rtol=1e-8, atol=1e-10)
                np.testing.assert_allclose(bits[1], bits_pred, rtol=1e-8, atol=1e-10)


def test_pruning_drops_little_mass_and_says_how_much(monkeypatch):
    monkeypatch.setattr(observer_module, "DENSE_SHARE", 10.0)  # stay sparse: a small alphabet would go dense
    rng = np.random.default_rng(3)
    matrix, initial = known_chain(rng, units=10, vocab=300, successors=3)
    train = sample_chain(rng, matrix, initial, [1500, 1500, 1000], "a")
    alphabet = count_alphabet(train)
    model = count_contexts(train, alphabet, 3)
    auto = model.automaton({"beta": 1.0, "a1": 1.0, "a2": 1.0, "a3": 1.0})
    xs = [y + 0.3 * rng.standard_normal(y.shape) for f in sample_chain(rng, matrix, initial, [60, 40], "b").values()
          for y in f]
    exact = Observer(alphabet, auto, 0.3).filter(xs)
    pruned = Observer(alphabet, auto, 0.3, prune=1e-7)
    for (d0, p0), (d1, p1) in zip(exact, pruned.filter(xs)):
        np.testing.assert_allclose(d1, d0, atol=1e-5)
        np.testing.assert_allclose(p1, p0, atol=1e-5)
    assert 0 < pruned.discarded.max_step <= 1e-7 and pruned.discarded.dense_from_step is None
    assert pruned.discarded.as_meta()["mean_states_kept"] < 0.05 * model.n_states


def test_tiny_sigma_decodes_the_clean_chord_even_if_never_seen():
    rng = np.random.default_rng(4)
    train = random_pieces(rng, 12, [200, 150])
    alphabet = count_alphabet(train)
    model = count_contexts(train, alphabet, 2)
    y = (rng.random((50, 12)) < 0.5).astype(np.float32)  # mostly unseen chords
    x = y + 0.001 * rng.standard_normal(y.shape)
    (dec, _, bits, pred_bits), = Observer(alphabet, model.automaton({"beta": 1.0, "a1": 1.0, "a2": 1.0}),
                                          0.001).filter([x], [y])
    np.testing.assert_allclose(dec, y, atol=1e-6)
    np.testing.assert_allclose(bits, 0.0, atol=1e-6)  # the posterior is on the chord, seen or not
    assert np.isfinite(pred_bits).all() and (pred_bits > 0).all()


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("units,classes", [(5, None), (16, None), (24, 12)])
def test_noiseless_observer_is_the_counted_model(units, classes, order):
    """At sigma = 0 the posterior is the observed chord, so prediction is markov_counts of the same order."""
    rng = np.random.default_rng(9)
    train = random_pieces(rng, units, [90, 70], density=0.2)
    alphabet = count_alphabet(train, classes)
    model = count_contexts(train, alphabet, order)
    smoothing = {"beta": 2.0, "a_class": 0.7, **{f"a{k}": 0.3 * k for k in range(1, order + 1)}}
    y = np.concatenate([train["p0"][0][:20], (rng.random((20, units)) < 0.2)]).astype(np.float32)  # seen, unseen
    unseen = model.alphabet.index(y) >= alphabet.n_seen
    assert unseen.any() and not unseen.all()
    (dec, pred, bits, pred_bits), = Observer(alphabet, model.automaton(smoothing), 0.0).filter([y], [y])
    np.testing.assert_array_equal(dec, y)
    np.testing.assert_allclose(pred, model.predict_units(model.states(y)[:-1], smoothing), rtol=1e-10)
    np.testing.assert_array_equal(bits, 0.0)
    counted = -model.log_probability(model.states(y)[:-1], y[1:], smoothing) / np.log(2)
    np.testing.assert_allclose(pred_bits, counted, rtol=1e-9)  # markov_counts' information content


@pytest.mark.parametrize("units,seen,classes,sigma", [(3, 5, None, 0.7), (2, 4, None, 0.4), (4, 6, 2, 0.6),
                                                      (3, 5, None, 0.05)])
def test_the_memoryless_observer_equals_enumeration_over_every_chord(units, seen, classes, sigma):
    """Decode: the posterior over all 2^units chords given x_t alone under the by-hand unigram; predict: that
    posterior through the by-hand first-order transitions (an unseen chord's: its rest group's); the information
    content of the actual chords under both distributions over every chord."""
    rng = np.random.default_rng(units * 10 + seen)
    vocab = all_chords(units)[rng.choice(2**units, seen, replace=False)]
    train = {f"p{i}": [vocab[rng.integers(0, seen, n)].astype(np.float32) for n in (14, 9)] for i in range(2)}
    alphabet = count_alphabet(train, classes)
    model = count_contexts(train, alphabet, 1)
    smoothing = {"beta": 0.8, "a_class": 0.6, "a1": 0.5}
    by_hand = ByHand(train, 1, smoothing, alphabet.marginal, classes)
    chords, prior = by_hand.chords, by_hand.dist(())
    moves = np.array([by_hand.dist((c,)) for c in range(len(chords))])  # P(next chord | chord c)
    then = moves @ chords  # P(next units | chord c)
    ys = [all_chords(units)[rng.integers(0, 2**units, n)] for n in (6, 1)]
    xs = [y + sigma * rng.standard_normal(y.shape) for y in ys]
    observer = observer_of(model, smoothing, sigma, memoryless=True)
    for x, y, (dec, pred), (_, _, bits, pred_bits) in zip(xs, ys, observer.filter(xs), observer.filter(xs, ys)):
        lik = np.exp(-((x[:, None, :] - chords[None]) ** 2).sum(-1) / (2 * sigma**2))  # (steps, chords)
        post = prior * lik / (prior * lik).sum(1, keepdims=True)
        np.testing.assert_allclose(dec, post @ chords, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(pred, (post @ then)[:-1], rtol=1e-9, atol=1e-12)
        assert dec.shape == x.shape and pred.shape == (len(x) - 1, units)
        ids = np.array([by_hand.id(row) for row in y])
        np.testing.assert_allclose(bits, -np.log2(post[np.arange(len(y)), ids]), rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(pred_bits, -np.log2((post @ moves)[np.arange(len(y) - 1), ids[1:]]), rtol=1e-8,
                                   atol=1e-10)


def test_the_memoryless_observer_decodes_as_bayes_with_every_transition_the_unigram():
    """Its decoding is the forward filter of the chain whose every row is the unigram (Automaton.independent),
    whose prediction is the unigram's constant; its own prediction knows the transitions."""
    rng = np.random.default_rng(6)
    matrix, initial = known_chain(rng, units=6, vocab=12, successors=2)
    train = sample_chain(rng, matrix, initial, [300, 200], "a")
    model = count_contexts(train, count_alphabet(train), 2)
    smoothing = {"beta": 1.5, "a1": 0.4, "a2": 0.3}
    xs = [y + 0.5 * rng.standard_normal(y.shape) for f in sample_chain(rng, matrix, initial, [40, 25], "b").values()
          for y in f]
    q = model.q(smoothing)
    unigram = Observer(model.alphabet, Automaton.independent(q), 0.5).filter(xs)
    memoryless = observer_of(model, smoothing, 0.5, memoryless=True).filter(xs)
    for (d0, p0), (d1, p1), x in zip(unigram, memoryless, xs):
        np.testing.assert_allclose(d1, d0, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(p0, np.broadcast_to(q[:model.alphabet.size] @ model.alphabet.unit_vectors(),
                                                       p0.shape), rtol=1e-10)
        assert np.abs(p1 - p0).max() > 0.05  # the transitions move its prediction off the unigram's
    bayes = observer_of(model, smoothing, 0.5).filter(xs)
    assert all(np.abs(d - d1).max() > 0.01 for (d, _), (d1, _) in zip(bayes, memoryless))  # memory changes decoding
