"""Key decoding (bayesbach.evaluation.key_decoding): the decoder finds a key that features carry and only chance
when they carry none, the running average against its definition, and the per-bin rows of a network on pieces
written in known keys."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from bayesbach.core import schemas
from bayesbach.core.registry import KEY_DECODERS, KEY_NAMES
from bayesbach.dev.synthetic import write_dataset
from bayesbach.evaluation.key_decoding import (BINS, EXP_SAFE, MissingKeys, _objective, file_key_labels,
                                               fit_decoder, key_rows, running_average)
from bayesbach.evaluation.key_summary import cell_table, piece_accuracy, pooled_accuracy
from bayesbach.networks.models import build

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
    memory, rows = key_rows(net, train, test, train_keys, test_keys, sigma=0.3, seed=4)
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
