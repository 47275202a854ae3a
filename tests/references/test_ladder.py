"""The reference ladder on data from a known first-order chord chain, where the theory fixes the answer.

With the true transition matrix the forward filter is the exact posterior, so no
model can beat it in expectation; and H(y' | y) <= H(y' | x) <= H(y') orders
markov_counts <= markov_high <= global for prediction at any sigma > 0.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bayesbach.core.registry import references
from bayesbach.dataset.noise import crn_inputs
from bayesbach.dev.synthetic import known_chain, sample_chain
from bayesbach.networks.training import Settings
from bayesbach.references.chord_counts import DenseTransitions, all_chords
from bayesbach.references.counted import mean_bce, score_counted
from bayesbach.references.observer import Observer
from bayesbach.references.trained import fit_reference, score_reference

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
        truth = Observer(all_chords(UNITS), DenseTransitions(matrix), initial, sigma)
        for piece, dec, pred in truth.run(crn_inputs(test, sigma, SEED)):
            out.setdefault(("truth", "decode", sigma), {})[piece] = mean_bce(dec, test[piece])
            out.setdefault(("truth", "predict", sigma), {})[piece] = mean_bce(pred, test[piece][1:])
            out.setdefault(("truth", "entropy", sigma), {})[piece] = mean_bce(pred, pred)
        for name in references("counted"):
            for task, values in score_counted(name, train, validation, test, sigma, SEED)[0].items():
                out[(name, task, sigma)] = values
        nets = ["markov_high", "decoder_ff"] + (["rnn_pred"] if sigma == SIGMAS[0] else [])
        for name in nets:
            model, _ = fit_reference(name, train, validation, sigma=sigma, seed=SEED, settings=settings, refs=refs)
            for task, values in score_reference(name, model, test, sigma, SEED).items():
                out[(name, task, sigma)] = values
    torch.set_num_threads(threads)
    return {k: np.array([v[p] for p in sorted(test)]) for k, v in out.items()}


def beats_by_more_than_sampling_error(ladder, model, task, sigma, z=2.0):
    d = ladder[(model, task, sigma)] - ladder[("truth", task, sigma)]
    return d.mean() < -z * d.std(ddof=1) / np.sqrt(len(d))


@pytest.mark.parametrize("sigma", SIGMAS)
def test_true_chain_filter_is_the_lowest_of_all_models(ladder, sigma):
    means = {k: v.mean() for k, v in ladder.items() if k[2] == sigma}
    for task in ("decode", "predict"):
        others = {m: v for (m, t, s), v in means.items() if t == task and m != "truth"}
        # markov_counts sees the clean chord, more than any observer of the noise can know
        others.pop("markov_counts", None)
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
