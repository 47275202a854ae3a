"""The reference ladder on data from a known first-order chord chain, where the theory fixes the answer.

With the true transition matrix the forward filter is the exact posterior, so no
model can beat it in expectation; and H(y' | y) <= H(y' | x) <= H(y') orders
markov_counts <= markov_high <= global for prediction at any sigma > 0.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bayesbach.references import counted as exact
from bayesbach.references import trained as references
from bayesbach.references.chord_counts import DenseTransitions, all_chords, count_chords, select_smoothing
from bayesbach.dataset.noise import crn_inputs
from bayesbach.references.observer import Observer
from bayesbach.networks.training import Settings

UNITS = 4
SEED = 11
SIGMAS = (0.4, 0.9)


def chain(rng):
    """A sparse first-order chain over 8 of the 16 chords of 4 units, with its start distribution."""
    vocab = rng.choice(2**UNITS, 8, replace=False)
    matrix = np.zeros((2**UNITS, 2**UNITS))
    for i in range(2**UNITS):
        nxt = rng.choice(vocab, 3, replace=False)
        matrix[i, nxt] = rng.dirichlet(np.full(3, 0.7))
    initial = np.zeros(2**UNITS)
    initial[vocab] = 1 / len(vocab)
    return matrix, initial


def sample(rng, matrix, initial, lengths, prefix):
    chords = all_chords(UNITS)
    out = {}
    for i, n in enumerate(lengths):
        s = [rng.choice(len(initial), p=initial)]
        for _ in range(n - 1):
            s.append(rng.choice(len(initial), p=matrix[s[-1]]))
        out[f"{prefix}{i:03d}"] = chords[s].astype(np.float32)
    return out


@pytest.fixture(scope="module")
def ladder():
    """Per-piece test BCE of every model, {(model, task, sigma): array over pieces in name order}."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    matrix, initial = chain(rng)
    train = sample(rng, matrix, initial, rng.integers(80, 160, 40), "a")
    validation = sample(rng, matrix, initial, rng.integers(80, 160, 6), "b")
    test = sample(rng, matrix, initial, rng.integers(60, 120, 60), "c")
    refs = {"batches": 400, "ff_hidden": 32, "rnn_arch": "gru", "rnn_hidden": 24}
    out = {}
    for sigma in SIGMAS:
        settings = Settings(sigma=sigma, lr=0.02, batch_size=16, chunk_length=32, val_every=50, gap=0,
                            checkpoint_every=10**6)
        truth = Observer(all_chords(UNITS), DenseTransitions(matrix), initial, sigma)
        for piece, dec, pred in truth.run(crn_inputs(test, sigma, SEED)):
            out.setdefault(("truth", "decode", sigma), {})[piece] = exact.piece_bce(dec, test[piece])
            out.setdefault(("truth", "predict", sigma), {})[piece] = exact.piece_bce(pred, test[piece][1:])
            out.setdefault(("truth", "entropy", sigma), {})[piece] = exact.piece_bce(pred, pred)
        for name in exact.TASKS:
            for task, values in exact.score(name, train, validation, test, sigma, SEED)[0].items():
                out[(name, task, sigma)] = values
        nets = ["markov_high", "decoder_ff"] + (["rnn_pred"] if sigma == SIGMAS[0] else [])
        for name in nets:
            model, _ = references.fit_reference(name, train, validation, sigma=sigma, seed=SEED, settings=settings,
                                                refs=refs)
            for task, values in references.score_reference(name, model, test, sigma, SEED).items():
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


def tiny_splits(seed=3):
    rng = np.random.default_rng(seed)
    matrix, initial = chain(rng)
    return [sample(rng, matrix, initial, rng.integers(20, 40, n), p) for n, p in ((6, "a"), (2, "b"), (3, "c"))]


def test_clean_input_reference_is_the_same_model_at_every_noise_level():
    train, validation, _ = tiny_splits()
    refs = {"batches": 6, "ff_hidden": 8}
    states = {}
    for name in ("markov_low", "markov_high"):
        for sigma in (0.3, 0.9):
            settings = Settings(sigma=sigma, batch_size=4, chunk_length=8, val_every=3, gap=0, checkpoint_every=10**6)
            model, _ = references.fit_reference(name, train, validation, sigma=sigma, seed=SEED, settings=settings, refs=refs)
            states[(name, sigma)] = model.state_dict()
    for key, value in states[("markov_low", 0.3)].items():
        assert torch.equal(value, states[("markov_low", 0.9)][key])
    assert not all(torch.equal(v, states[("markov_high", 0.9)][k]) for k, v in states[("markov_high", 0.3)].items())


def test_observer_sees_the_networks_noise_realisation():
    """The counted references use the same common-random-numbers inputs as the networks' evaluation."""
    from bayesbach.networks.scoring import Padded

    train, validation, test = tiny_splits()
    scores, _ = exact.score("bayes", train, validation, test, 0.7, SEED)
    padded = Padded.build(test, SEED)
    noisy = padded.inputs(0.7).numpy()
    inputs = {name: noisy[i, : len(test[name])] for i, name in enumerate(padded.names)}
    model = count_chords(train)
    select_smoothing(model, validation)
    for piece, dec, _ in Observer.from_model(model, 0.7).run(inputs):
        assert exact.piece_bce(dec, test[piece]) == pytest.approx(scores["decode"][piece], rel=1e-6)


def test_no_validation_split_keeps_default_smoothing_and_scores_every_piece():
    train, _, test = tiny_splits()
    scores, meta = exact.score("bayes", train, {}, test, 0.5, SEED)
    assert meta["smoothing_grid"] == [] and meta["alpha"] == 1.0 and meta["beta"] == 1.0
    assert set(scores["predict"]) == set(test) and all(np.isfinite(list(scores["predict"].values())))


def test_an_empty_training_split_is_a_readable_error():
    from bayesbach.core.exceptions import StudyError

    with pytest.raises(StudyError, match="training"):
        exact.score("markov_counts", {}, {}, {"c": np.zeros((3, UNITS), np.float32)}, 0.5, SEED)
