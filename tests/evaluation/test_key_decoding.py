"""Key decoding (bayesbach.evaluation.key_decoding): the decoder finds a key that features carry and only chance
when they carry none, the running average against its definition, the per-bin rows of a network on pieces
written in known keys, and the denoised controls: the decoded-chord and observer controls against their direct
computation, and a network that only denoises and averages earning nothing over them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from bayesbach.core import schemas
from bayesbach.core.registry import KEY_DECODERS, KEY_NAMES
from bayesbach.dev.synthetic import write_dataset
from bayesbach.dataset.noise import crn_inputs
from bayesbach.evaluation import key_decoding
from bayesbach.evaluation.key_decoding import (BINS, EXP_SAFE, MissingKeys, _objective, decoder_features,
                                               file_key_labels, fit_decoder, key_rows, running_average)
from bayesbach.evaluation.key_summary import cell_table, piece_accuracy, pooled_accuracy
from bayesbach.evaluation.memory import Memory, decay
from bayesbach.evaluation.states import FileStates, file_states
from bayesbach.networks.models import build
from bayesbach.references.alphabet import count_alphabet
from bayesbach.references.contexts import count_contexts
from bayesbach.references.observer import Observer

torch.set_num_threads(1)


def test_the_running_average_weights_the_past_geometrically_and_normalises():
    x = np.random.default_rng(0).normal(size=(30, 3))
    for lam in (0.0, 0.6, 1.0):
        expected = [sum(lam ** (t - j) * x[j] for j in range(t + 1)) / sum(lam ** (t - j) for j in range(t + 1))
                    for t in range(len(x))]
        np.testing.assert_allclose(running_average(x, lam), expected, rtol=1e-10)
    np.testing.assert_allclose(running_average(x, 1.0)[-1], x.mean(0))


def test_the_decoder_recovers_a_key_the_features_carry_and_guesses_when_they_carry_none():
    rng = np.random.default_rng(1)
    keys = rng.integers(0, 24, 4000)
    embedding = rng.normal(size=(24, 10))
    carrying = embedding[keys] + rng.normal(scale=0.5, size=(len(keys), 10))
    blind = rng.normal(size=(len(keys), 10))
    train, test = slice(0, 3000), slice(3000, None)
    hit = fit_decoder(carrying[train], keys[train]).predict(carrying[test]) == keys[test]
    assert hit.mean() > 0.95
    guess = fit_decoder(blind[train], keys[train]).predict(blind[test]) == keys[test]
    assert guess.mean() < 0.1  # chance is 1/24
    # deterministic: the same fit twice, to the bit
    a, b = (fit_decoder(carrying[train], keys[train]) for _ in range(2))
    np.testing.assert_array_equal(a.weight, b.weight)
    np.testing.assert_array_equal(a.bias, b.bias)


def reference_objective(x: np.ndarray, labels: np.ndarray, theta: np.ndarray, classes: int, l2: float):
    """The textbook formula, step by step: mean over the rows of log-sum-exp minus the label's logit, plus the
    penalty; gradient (softmax - one-hot) summed against the features, the biases' against ones."""
    n, width = x.shape
    w, b = theta[:-classes].reshape(width, classes), theta[-classes:]
    value, gw, gb = l2 / 2 * np.sum(w * w), l2 * w.copy(), np.zeros(classes)
    for row, label in zip(x, labels):
        z = row @ w + b
        top = z.max()
        p = np.exp(z - top) / np.exp(z - top).sum()
        value += (top + np.log(np.exp(z - top).sum()) - z[label]) / n
        p[label] -= 1.0
        gw += np.outer(row, p) / n
        gb += p / n
    return value, np.concatenate([gw.ravel(), gb])


@pytest.mark.parametrize("size", [0.3, 3000.0])  # logits of order 1 (no shift needed) and of order 10^4 (exp overflows)
def test_the_loss_and_its_gradient_are_the_textbook_formula(size: float):
    rng = np.random.default_rng(3)
    classes, l2 = 5, 0.01
    x = rng.normal(size=(200, 4))
    labels = rng.integers(0, classes, len(x))
    theta = rng.normal(scale=size, size=(4 + 1) * classes)
    value, grad = _objective(x, labels, classes, l2)(theta)
    expected_value, expected_grad = reference_objective(x, labels, theta, classes, l2)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    assert value == pytest.approx(expected_value, rel=1e-12)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-9, atol=1e-12 * max(1.0, size))
    if size > 1:  # the naive exp overflows here: only the max-shifted path can give these numbers
        assert np.abs(x).max() * np.abs(theta.reshape(5, classes)).sum(0).max() > EXP_SAFE
    # the gradient is the derivative of the value: central differences along each coordinate
    if size < 1:
        loss, step = _objective(x, labels, classes, l2), 1e-6
        for i in range(len(theta)):
            d = np.zeros_like(theta)
            d[i] = step
            assert (loss(theta + d)[0] - loss(theta - d)[0]) / (2 * step) == pytest.approx(grad[i], abs=1e-8)


def test_the_fit_reaches_the_known_optimum():
    rng = np.random.default_rng(4)
    classes = 4
    # features that carry nothing (constant: standardised to zero): no weight, and biases whose softmax is the
    # class frequencies, the optimum of the cross-entropy of a constant prediction
    labels = np.repeat(np.arange(classes), [50, 150, 300, 500])
    flat = fit_decoder(np.full((len(labels), 3), 2.5), labels, classes)
    np.testing.assert_array_equal(flat.weight, 0.0)
    p = np.exp(flat.bias - flat.bias.max())
    np.testing.assert_allclose(p / p.sum(), [0.05, 0.15, 0.3, 0.5], atol=1e-5)
    # separable classes (a cluster each, far apart): every step decoded, and the fit is a stationary point of the
    # textbook objective (on the standardised features)
    centres = np.array([[-6.0, 0], [6, 0], [0, 6], [0, -6]])
    labels = rng.integers(0, classes, 600)
    features = centres[labels] + rng.normal(size=(len(labels), 2))
    fit = fit_decoder(features, labels, classes, l2=0.05)
    assert np.array_equal(fit.predict(features), labels)
    x = (features - features.mean(0)) / features.std(0)
    _, grad = reference_objective(x, labels, np.concatenate([fit.weight.ravel(), fit.bias]), classes, 0.05)
    assert np.abs(grad).max() < 1e-5


def scale_pieces(n: int, rng: np.random.Generator, length: int = 40) -> tuple[dict, dict]:
    """One-file pieces of random chords from a major key's scale (tonic pitch class drawn from 4), and their keys."""
    pieces, keys = {}, {}
    for i in range(n):
        tonic = int(rng.choice([0, 2, 7, 9]))
        scale = [(tonic + s) % 12 for s in (0, 2, 4, 5, 7, 9, 11)]
        y = np.zeros((length, 12), np.float32)
        for t in range(length):
            y[t, rng.choice(scale, 3, replace=False)] = 1
        pieces[f"p{i:02d}"], keys[f"p{i:02d}"] = [y], [tonic]
    return pieces, keys


def test_rows_cover_every_test_step_per_decoder_and_the_input_average_learns_the_key():
    rng = np.random.default_rng(2)
    (train, train_keys), (test, test_keys) = scale_pieces(40, rng), scale_pieces(12, rng)
    net = build({"kind": "recurrent", "arch": "gru", "units": 12, "hidden": 6, "layers": 1}, seed=0)
    memory, rows = key_rows(net, train, test, train_keys, test_keys, sigma=0.3, seed=4, observer=observer(train, 0.3))
    assert memory.tau >= 1
    assert {r["decoder"] for r in rows} == set(KEY_DECODERS)
    for name in KEY_DECODERS:
        mine = [r for r in rows if r["decoder"] == name]
        assert sum(r["steps"] for r in mine) == 12 * 40  # every test step once
        assert {r["bin_start"] for r in mine} == {b for b in BINS if b < 40}
        assert all(r["bin_end"] == BINS[BINS.index(r["bin_start"]) + 1] for r in mine)
    table = pa.Table.from_pylist([{"arch": "gru", "hidden": 6, "noise": 0.3, "run": 0, "memory": memory.tau, **r}
                                  for r in rows], schema=schemas.KEY_DECODING)
    acc = pooled_accuracy(table)
    assert acc["chance"] == pytest.approx(1 / 24)
    majority = max(set(k[0] for k in train_keys.values()), key=lambda k: sum(v[0] == k for v in train_keys.values()))
    assert acc["majority"] == pytest.approx(np.mean([v[0] == majority for v in test_keys.values()]))
    # four keys apart only by their scales: the mean of the whole file so far names them once it has heard enough
    late = piece_accuracy(table.to_pandas(), per_bin=True).query("decoder == 'input_all' and bin_start >= 16")
    assert late["accuracy"].mean() > 0.9
    cells = cell_table(table.to_pandas())
    assert len(cells) == 1 and cells["n_pieces"].iloc[0] == 12 and cells["memory"].iloc[0] == memory.tau
    # without an observer: every decoder but the observer's control
    _, rows = key_rows(net, train, test, train_keys, test_keys, sigma=0.3, seed=4)
    assert {r["decoder"] for r in rows} == set(KEY_DECODERS) - {"control_observer"}


SMOOTHING = {"beta": 0.8, "a1": 0.5}  # a first-order model's strengths (pc12: no pitch-class back-off)


def observer(train: dict, sigma: float) -> Observer:
    """The first-order observer of the training pieces' counted chords, as ``bayes`` fits it, at ``sigma``."""
    model = count_contexts(train, count_alphabet(train), 1)
    return Observer(model.alphabet, model.automaton(SMOOTHING), sigma)


class DenoiseAndAverage(torch.nn.Module):
    """A network that only denoises and integrates: per unit, d_t = sigmoid(gain (x_t - 1/2)), a steep threshold (a
    near-perfect denoiser of 0/1 chords at moderate noise), and the state h_t = [the running average of d with
    ``lam``, the logits gain (x_t - 1/2)]; its decode head reads the logits back, so its decoded chords are d_t.
    It holds no key beyond a denoised echo of its last inputs with that memory."""

    def __init__(self, units: int, lam: float, gain: float = 20.0):
        super().__init__()
        self.spec, self.lam, self.gain = {"kind": "recurrent", "hidden": 2 * units}, lam, gain
        head = torch.nn.Linear(2 * units, units)
        with torch.no_grad():
            head.weight.zero_()
            head.weight[:, units:] = torch.eye(units)
            head.bias.zero_()
        self.heads = torch.nn.ModuleDict({"observe": head})

    def features(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.gain * (x - 0.5)
        d = torch.sigmoid(logits)
        acc, weight, out = torch.zeros_like(d[:, 0]), 0.0, []
        for t in range(x.shape[1]):
            acc, weight = self.lam * acc + d[:, t], self.lam * weight + 1.0
            out.append(torch.cat([acc / weight, logits[:, t]], 1))
        return torch.stack(out, 1)


def matched_memory(monkeypatch, lam: float, lags: int = 128) -> None:
    """The effective memory of the running average with ``lam`` (the fake network's own), given to key_rows."""
    tau = float(sum(lam ** k for k in range(lags + 1)))
    assert decay(tau, lags) == pytest.approx(lam, abs=1e-12)
    monkeypatch.setattr(key_decoding, "effective_memory", lambda *args: Memory(tau, lags))


def direct_accuracy(train_features: list, train_keys: dict, test_features: dict, test_keys: dict) -> dict:
    """{piece: accuracy over its steps} of the decoder fitted on ``train_features`` (one array per training file,
    in piece order) and scored on ``test_features`` ({piece: [arrays]}): the read-out, step by step."""
    labels = np.concatenate([np.full(len(f), k) for f, k in zip(train_features,
                                                                 [k for ks in train_keys.values() for k in ks])])
    decoder = fit_decoder(np.concatenate(train_features), labels)
    return {p: float(np.mean(np.concatenate([decoder.predict(f) == k for f, k in zip(fs, test_keys[p])])))
            for p, fs in test_features.items()}


def row_accuracy(rows: list[dict], decoder: str) -> dict:
    """{piece: accuracy over all its steps} of ``decoder``'s rows (the bins pooled)."""
    table = pd.DataFrame([r for r in rows if r["decoder"] == decoder])
    table["correct"] = table["accuracy"] * table["steps"]
    g = table.groupby("piece")[["correct", "steps"]].sum()
    return (g["correct"] / g["steps"]).to_dict()


def test_the_decoded_chord_control_is_the_running_average_of_the_decoded_chords_with_the_networks_lambda():
    rng = np.random.default_rng(5)
    files = [FileStates(rng.normal(size=(n, 4)).astype(np.float32), rng.normal(size=(n, 3)).astype(np.float32),
                        rng.uniform(size=(n, 3)).astype(np.float32)) for n in (7, 1, 30)]
    means = [rng.uniform(size=(len(f.input), 3)) for f in files]
    for lam in (0.0, 0.4, 0.9):
        features = decoder_features(files, lam, means)
        assert list(features) == ["network", "input_memory", "control_decoded", "control_observer", "input_all"]
        for f, m, dec, obs, noisy in zip(files, means, features["control_decoded"], features["control_observer"],
                                         features["input_memory"]):
            np.testing.assert_array_equal(dec, running_average(f.output, lam))
            np.testing.assert_array_equal(obs, running_average(m, lam))
            np.testing.assert_array_equal(noisy, running_average(f.input, lam))
    assert "control_observer" not in decoder_features(files, 0.5)  # no observer, no observer control


def test_the_key_rows_of_both_denoised_controls_are_their_direct_computation(monkeypatch):
    rng = np.random.default_rng(6)
    (train, train_keys), (test, test_keys) = scale_pieces(30, rng), scale_pieces(8, rng)
    lam, sigma, seed = 0.7, 0.6, 3
    net = DenoiseAndAverage(12, lam)
    matched_memory(monkeypatch, lam)
    bayes = observer(train, sigma)
    _, rows = key_rows(net, train, test, train_keys, test_keys, sigma, seed, observer=bayes)
    # the decoded chords: the network's decode head, sigmoid(W_obs h_t), averaged with the network's lambda
    fit, scored = file_states(net, train, sigma, seed, "observe"), file_states(net, test, sigma, seed, "observe")
    decoded = direct_accuracy([running_average(f.output, lam) for fs in fit.values() for f in fs], train_keys,
                              {p: [running_average(f.output, lam) for f in fs] for p, fs in scored.items()}, test_keys)
    assert row_accuracy(rows, "control_decoded") == pytest.approx(decoded, abs=1e-12)
    # the observer: its posterior means on the study's noisy inputs (the same common random numbers the network
    # saw), file by file, averaged with the same lambda
    def means(pieces):
        return {p: [running_average(dec, lam) for dec, _ in bayes.filter(xs)]
                for p, xs in crn_inputs(pieces, sigma, seed).items()}
    by_hand = direct_accuracy([m for ms in means(train).values() for m in ms], train_keys, means(test), test_keys)
    assert row_accuracy(rows, "control_observer") == pytest.approx(by_hand, abs=1e-12)
    assert row_accuracy(rows, "control_observer") != row_accuracy(rows, "control_decoded")  # not one control twice


def test_a_network_that_only_denoises_and_averages_gains_nothing_over_its_decoded_control(monkeypatch):
    rng = np.random.default_rng(7)
    (train, train_keys), (test, test_keys) = scale_pieces(60, rng), scale_pieces(24, rng)
    lam, sigma = 0.8, 0.6
    matched_memory(monkeypatch, lam)
    _, rows = key_rows(DenoiseAndAverage(12, lam), train, test, train_keys, test_keys, sigma, seed=1)
    keys = pd.DataFrame([{"arch": "gru", "hidden": 24, "noise": sigma, "run": 0, "memory": 5.0, **r} for r in rows])
    cell = cell_table(keys).iloc[0]
    # against the average of its own decoded chords, with the same memory, it is level (state minus that control
    # about 0); and "state minus control", against the strongest control (here the noisy average: a hard threshold
    # throws away what the noise's size says), credits it with no context held
    assert abs(cell["network"] - cell["control_decoded"]) < 0.02
    assert cell["control"] in ("input_memory", "control_decoded") and cell["mean_diff"] < 0.01 and cell["p"] > 0.05


def test_every_file_needs_a_key_label(tmp_path: Path):
    data = write_dataset(tmp_path, {"train": 2, "validation": 1, "test": 1})
    with pytest.raises(MissingKeys, match="file_keys.parquet is missing"):
        file_key_labels(data, "train")
    files = [f"bwv{n:04d}_{k}.mid" for n in (1, 2, 3, 4) for k in (0, 1)]
    rows = [{"file": f, "piece": f[:7], "key": KEY_NAMES[i % 24], "key_source": "estimate", "estimate": KEY_NAMES[0],
             "correlation": 0.9} for i, f in enumerate(files)]
    pq.write_table(pa.Table.from_pylist(rows[1:], schema=schemas.FILE_KEYS), data / "file_keys.parquet")
    with pytest.raises(MissingKeys, match="bwv0001_0.mid has no row"):
        file_key_labels(data, "train")
    pq.write_table(pa.Table.from_pylist(rows, schema=schemas.FILE_KEYS), data / "file_keys.parquet")
    assert file_key_labels(data, "train") == {"bwv0001": [0, 1], "bwv0002": [2, 3]}
