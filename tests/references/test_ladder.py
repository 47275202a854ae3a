"""The reference ladder on data from known chord chains, where the theory fixes the answer.

With the true transitions the forward filter is the exact posterior, so no
model can beat it in expectation; and H(y' | y) <= H(y' | x) <= H(y') orders
markov_counts <= markov_high <= global for prediction at any sigma > 0. On a
second-order chain the second-order observer reaches the true filter's bound,
the first-order one cannot.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bayesbach.core.registry import reference_names
from bayesbach.dataset.noise import crn_inputs
from bayesbach.dev.synthetic import known_chain, known_chain2, sample_chain
from bayesbach.networks.training import Settings
from bayesbach.references.alphabet import Alphabet, all_chords
from bayesbach.references.contexts import Automaton
from bayesbach.references.counted import mean_bce, score_counted
from bayesbach.references.observer import Observer
from bayesbach.references import trained

UNITS = 4
SEED = 11
SIGMAS = (0.4, 0.9)


@pytest.fixture(scope="module")
def ladder():
    """Per-piece test BCE of every model, {(model, task, sigma): array over pieces in name order}."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    matrix, initial = known_chain(rng, UNITS)
    train = sample_chain(rng, matrix, initial, rng.integers(80, 160, 40), "a")
    validation = sample_chain(rng, matrix, initial, rng.integers(80, 160, 6), "b")
    test = sample_chain(rng, matrix, initial, rng.integers(60, 120, 60), "c")
    refs = {"batches": 400, "ff_hidden": 32, "rnn_arch": "gru", "rnn_hidden": 24}
    out = {}
    for sigma in SIGMAS:
        settings = Settings(sigma=sigma, lr=0.02, batch_size=16, chunk_length=32, val_every=50, gap=0,
                            checkpoint_every=10**6)
        for piece, dec, pred in true_observer(matrix, initial, sigma).run(crn_inputs(test, sigma, SEED)):
            out.setdefault(("truth", "decode", sigma), {})[piece] = mean_bce(dec, test[piece])
            out.setdefault(("truth", "predict", sigma), {})[piece] = mean_bce(pred, [y[1:] for y in test[piece]])
            out.setdefault(("truth", "entropy", sigma), {})[piece] = mean_bce(pred, pred)
        for name in reference_names("counted"):
            for task, values in score_counted(name, train, validation, test, sigma, SEED)[0].items():
                out[(name, task, sigma)] = values
        nets = ["markov_high", "decoder_ff"] + (["rnn_pred"] if sigma == SIGMAS[0] else [])
        for name in nets:
            fitted = trained.fit(name, train, validation, sigma=sigma, seed=SEED, settings=settings, refs=refs)
            for task, values in fitted.scores(test, sigma, SEED).items():
                out[(name, task, sigma)] = values
    torch.set_num_threads(threads)
    return {k: np.array([v[p] for p in sorted(test)]) for k, v in out.items()}


def true_observer(matrix, initial, sigma, tensor=None):
    """The forward filter of a known chain over all chords (second order with ``tensor``: the states are the
    first chord, then the pairs (previous, current) of all chords)."""
    chords = all_chords(int(np.log2(len(initial))))
    alphabet = Alphabet(chords, np.full(chords.shape[1], 0.5))  # every chord seen: no rest group
    level1 = alphabet.index(chords)
    if tensor is None:
        return Observer(alphabet, Automaton.dense(matrix, initial, level1), sigma)
    n = len(initial)
    first, pair = np.arange(n), n + np.arange(n * n).reshape(n, n)  # state ids: chord a; pair (a, b)
    a, b, c = np.meshgrid(first, first, first, indexing="ij")
    rows = np.r_[np.repeat(first, n), pair[a, b].ravel()]
    cols = np.r_[pair.ravel(), pair[b, c].ravel()]
    transitions = np.zeros((n + n * n, n + n * n))
    np.add.at(transitions, (rows, cols), np.r_[matrix.ravel(), tensor.ravel()])
    last = np.r_[level1, np.tile(level1, n)]  # a pair emits its current chord
    return Observer(alphabet, Automaton.dense(transitions, np.r_[initial, np.zeros(n * n)], last), sigma)


def beats_by_more_than_sampling_error(ladder, model, task, sigma, z=2.0):
    d = ladder[(model, task, sigma)] - ladder[("truth", task, sigma)]
    return d.mean() < -z * d.std(ddof=1) / np.sqrt(len(d))


@pytest.mark.parametrize("sigma", SIGMAS)
def test_true_chain_filter_is_the_lowest_of_all_models(ladder, sigma):
    means = {k: v.mean() for k, v in ladder.items() if k[2] == sigma}
    for task in ("decode", "predict"):
        others = {m: v for (m, t, s), v in means.items() if t == task and m != "truth"}
        # markov_counts of any order and the PPM models see the clean chords, more than any observer of the noise
        # can know
        others = {m: v for m, v in others.items() if not m.startswith(("markov_counts", "ppm_"))}
        assert others and all(means[("truth", task, sigma)] <= v for v in others.values()), (task, others)
        for model in others:
            assert not beats_by_more_than_sampling_error(ladder, model, task, sigma)


def test_gru_does_not_beat_the_ideal_observer(ladder):
    sigma = SIGMAS[0]
    assert not beats_by_more_than_sampling_error(ladder, "rnn_pred", "predict", sigma)
    # and it learnt something: clearly better than the constant marginal
    assert ladder[("rnn_pred", "predict", sigma)].mean() < ladder[("global", "predict", sigma)].mean() - 0.02


@pytest.mark.parametrize("sigma", SIGMAS)
def test_prediction_ordering_of_the_ladder(ladder, sigma):
    bce = {m: ladder[(m, "predict", sigma)].mean() for m in ("markov_counts", "truth", "markov_high", "global")}
    assert bce["markov_counts"] <= bce["markov_high"] <= bce["global"]
    assert bce["markov_counts"] <= bce["truth"]  # y_{t+1} is independent of x_1..t given y_t


@pytest.mark.parametrize("sigma", SIGMAS)
def test_exact_posterior_is_calibrated(ladder, sigma):
    """For the exact posterior, expected BCE equals the expected entropy of its own predictions."""
    d = ladder[("truth", "predict", sigma)] - ladder[("truth", "entropy", sigma)]
    assert abs(d.mean()) < 3 * d.std(ddof=1) / np.sqrt(len(d))


def test_second_order_observer_reaches_the_bound_of_a_second_order_chain_and_the_first_order_one_cannot():
    """At low noise the true filter's prediction BCE is the chain's own uncertainty; bayes2, counted on
    samples of the chain, gets there; bayes, which sees only the last chord, stays well above."""
    rng = np.random.default_rng(4)
    tensor, matrix, initial = known_chain2(rng, units=3)
    draw = lambda n, lo, hi, p: sample_chain(rng, matrix, initial, rng.integers(lo, hi, n), p, tensor)  # noqa: E731
    train, validation, test = draw(60, 100, 200, "a"), draw(10, 100, 200, "b"), draw(40, 60, 120, "c")
    sigma = 0.2
    bound = {p: mean_bce(pred, [y[1:] for y in test[p]])
             for p, _, pred in true_observer(matrix, initial, sigma, tensor).run(crn_inputs(test, sigma, SEED))}
    bound = np.array([bound[p] for p in sorted(test)])
    scores = {name: np.array(list(score_counted(name, train, validation, test, sigma, SEED)[0]["predict"].values()))
              for name in ("bayes", "bayes2")}
    gap2, gap1 = scores["bayes2"] - bound, scores["bayes"] - bound
    # within 2 % of the bound (what ~140 counted transitions per pair of chords leave), against more than half
    assert gap2.mean() < 0.02 * bound.mean(), (gap2.mean(), bound.mean())
    assert gap1.mean() > 0.5 * bound.mean() and (gap1 > gap2).all(), (gap1.mean(), bound.mean())
