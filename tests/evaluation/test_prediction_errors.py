"""Prediction-error encoding (bayesbach.evaluation.prediction_errors) on synthetic hidden states where the
answer is known, and the traces of a real network."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bayesbach.dataset.noise import crn_noisy
from bayesbach.dev.synthetic import periodic_pieces
from bayesbach.evaluation.prediction_errors import Trace, fit_maps, measures, partial_corr, traces
from bayesbach.evaluation.states import recurrent_memory
from bayesbach.networks.models import build

torch.set_num_threads(1)


def linear_trace(rng, steps: int, a: np.ndarray, b: np.ndarray, noise: float = 0.0) -> Trace:
    h = rng.standard_normal((steps + 1, a.shape[0]))
    e = h[1:] @ a + b + noise * rng.standard_normal((steps, a.shape[1]))
    return Trace(h[1:], h[1:] - h[:-1], rng.standard_normal((steps, a.shape[1])), e)


def test_an_error_linear_in_the_state_is_decoded_exactly_and_beats_the_mean_baseline():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((5, 12)), rng.standard_normal(12)
    maps = fit_maps([linear_trace(rng, 300, a, b) for _ in range(3)])
    np.testing.assert_allclose(maps["state"][:-1], a, atol=1e-9)  # weights, then the intercept
    np.testing.assert_allclose(maps["state"][-1], b, atol=1e-9)
    test = linear_trace(rng, 200, a, b)
    m = measures(test, maps)
    assert m["steps"] == 200 and m["mse_state"] < 1e-18 and m["gain_state"] == pytest.approx(1.0)
    # the baseline is the mean squared deviation from the training-mean error, by hand
    assert m["mse_baseline"] == pytest.approx(float(((test.error - maps["baseline"]) ** 2).mean()))
    # the state change carries only part of the state: it decodes worse, still better than the mean
    assert 0 < m["gain_change"] < 1 and m["mse_baseline"] > m["mse_change"] > m["mse_state"]


def test_noise_in_the_error_sets_the_floor_of_the_least_squares_map():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((4, 12)), np.zeros(12)
    maps = fit_maps([linear_trace(rng, 4000, a, b, noise=0.5)])
    m = measures(linear_trace(rng, 4000, a, b, noise=0.5), maps)
    assert m["mse_state"] == pytest.approx(0.25, rel=0.05)  # the noise variance: nothing more is decodable
    assert m["mse_baseline"] == pytest.approx(0.25 + (a**2).sum(0).mean(), rel=0.05)


def test_correlations_of_error_energy_with_state_and_change_energy():
    rng = np.random.default_rng(2)
    e = rng.standard_normal((500, 12)) * rng.uniform(0.1, 2, (500, 1))
    energy = np.sqrt((e**2).mean(1, keepdims=True))
    state = np.repeat(energy, 6, axis=1)  # ||h_{t+1}||^2 equals ||e_t||^2 exactly
    change = rng.standard_normal((500, 6))  # unrelated
    x = rng.standard_normal((500, 12))
    maps = fit_maps([Trace(state, change, x, e)])
    m = measures(Trace(state, change, x, e), maps)
    assert m["corr_state"] == pytest.approx(1.0)
    assert abs(m["corr_change"]) < 0.15
    e2, s2 = (e**2).mean(1), (2 * state + 1) ** 2  # Pearson r against NumPy on an affine-then-squared state
    assert measures(Trace(2 * state + 1, change, x, e), maps)["corr_state"] == pytest.approx(np.corrcoef(e2, s2.mean(1))[0, 1])


def test_a_piece_of_one_step_has_no_measures_instead_of_an_error():
    maps = fit_maps([linear_trace(np.random.default_rng(3), 50, np.ones((3, 12)), np.zeros(12))])
    m = measures(Trace(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros((0, 12)), np.zeros((0, 12))), maps)
    assert m["steps"] == 0 and np.isnan(m["corr_state"]) and np.isnan(m["gain_state"]) and np.isnan(m["gain_over_input"])
    assert np.isnan(m["pcorr_state"]) and np.isnan(m["gain_over_history"]) and np.isnan(m["mse_full"])


def input_trace(rng, steps: int, from_input: float, from_memory: float) -> Trace:
    """A state that copies its input x_{t+1} and holds one more feature m; e is linear in both."""
    x, m = rng.standard_normal((steps, 12)), rng.standard_normal((steps, 1))
    h = np.hstack([x, m])  # the state encodes the input, and m
    e = from_input * x + from_memory * m + 0.1 * rng.standard_normal((steps, 12))
    return Trace(h, np.vstack([h[:1], np.diff(h, axis=0)]), x, e)


def test_the_input_control_tells_prediction_error_coding_from_input_encoding():
    rng = np.random.default_rng(5)
    # e is the input's noise part, nothing else: the state "encodes" it, the input alone does as well
    maps = fit_maps([input_trace(np.random.default_rng(6), 3000, 1.0, 0.0)])
    copy = measures(input_trace(rng, 2000, 1.0, 0.0), maps)
    assert copy["gain_state"] > 0.9 and copy["gain_input"] > 0.9 and abs(copy["gain_over_input"]) < 0.01
    # e also depends on what the state holds beyond the input: only then does h add to x
    maps = fit_maps([input_trace(np.random.default_rng(6), 3000, 1.0, 1.0)])
    memory = measures(input_trace(rng, 2000, 1.0, 1.0), maps)
    assert memory["gain_over_input"] > 0.5 and memory["mse_joint"] < memory["mse_input"]
    assert memory["gain_joint"] == pytest.approx(1 - memory["mse_joint"] / memory["mse_baseline"])


def sigmoid(a: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-a))


def history_trace(seed: int, steps: int, codes_error: bool) -> Trace:
    """A network-like trace of 18 units: the prediction p_t = sigmoid(W h_t) is a non-linear read-out of the previous
    state h_t, e_t = x_{t+1} - p_t. The new state h_{t+1} either holds e_t itself beside a mix of its inputs (it codes
    the error), or is a linear function of [x_{t+1}, h_t] alone (it holds its input and its memory, nothing more)."""
    rng, net = np.random.default_rng(seed), np.random.default_rng(99)  # the same network for every trace
    w, mix = 0.7 * net.standard_normal((18, 12)), net.standard_normal((30, 18))
    previous, x = rng.standard_normal((steps, 18)), rng.standard_normal((steps, 12))
    e = x - sigmoid(previous @ w)
    linear = np.hstack([x, previous]) @ mix + 0.3
    state = np.hstack([e, linear[:, :6]]) if codes_error else linear
    return Trace(state, state - previous, x, e)


def test_the_history_control_tells_error_coding_from_memory_of_the_input():
    # h_{t+1} linear in [x_{t+1}, h_t]: it adds much to the input alone (p_t is a read-out of h_t), which
    # the input control would call error coding, and nothing to the input and the previous state
    memory = measures(history_trace(1, 3000, False), fit_maps([history_trace(0, 6000, False)]))
    assert memory["gain_over_input"] > 0.3
    assert abs(memory["gain_over_history"]) < 0.01 and memory["mse_full"] == pytest.approx(memory["mse_history"], rel=0.01)
    # h_{t+1} holds e_t, a non-linear function of h_t that no linear read-out of [x_{t+1}, h_t] recovers
    coding = measures(history_trace(1, 3000, True), fit_maps([history_trace(0, 6000, True)]))
    assert coding["gain_over_history"] > 0.9 and coding["gain_full"] == pytest.approx(1.0)
    assert coding["gain_history"] == pytest.approx(memory["gain_history"])  # the same control, whatever the state
    assert coding["gain_input"] < coding["gain_history"] < 0.999  # h_t adds to x; its linear read-out misses some


def test_the_regressors_see_the_previous_state_as_state_minus_change():
    rng = np.random.default_rng(7)
    h = rng.standard_normal((41, 3))
    t = Trace(h[1:], h[1:] - h[:-1], rng.standard_normal((40, 12)), rng.standard_normal((40, 12)))
    np.testing.assert_allclose(t.previous, h[:-1], atol=1e-12)
    np.testing.assert_allclose(t.history, np.hstack([t.input, h[:-1]]), atol=1e-12)
    np.testing.assert_allclose(t.full, np.hstack([t.input, h[:-1], h[1:]]), atol=1e-12)


def residual_pearson(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
    """The partial correlation the long way: Pearson r of what a least-squares fit on [1, c] leaves of a and of b."""
    design = np.column_stack([np.ones_like(c), c])
    ra = a - design @ np.linalg.lstsq(design, a, rcond=None)[0]
    rb = b - design @ np.linalg.lstsq(design, b, rcond=None)[0]
    return float(np.corrcoef(ra, rb)[0, 1])


def test_partial_correlation_equals_the_correlation_of_least_squares_residuals():
    rng = np.random.default_rng(8)
    c = rng.standard_normal(400)
    a, b = 2 * c + rng.standard_normal(400), -c + 0.5 * rng.standard_normal(400)
    b = b + 0.4 * a
    assert partial_corr(a, b, c) == pytest.approx(residual_pearson(a, b, c), abs=1e-12)
    # correlated only through c: the raw r is large, the partial r is not
    a, b = c + 0.3 * rng.standard_normal(400), c + 0.3 * rng.standard_normal(400)
    assert np.corrcoef(a, b)[0, 1] > 0.8 and abs(partial_corr(a, b, c)) < 0.15
    assert partial_corr(a, b, c) == pytest.approx(residual_pearson(a, b, c), abs=1e-12)
    assert np.isnan(partial_corr(a, b, np.ones(400))) and np.isnan(partial_corr(2 * c + 1, b, c))


def test_the_energy_correlations_given_the_input_energy():
    rng = np.random.default_rng(9)
    size = rng.uniform(0.2, 2.0, (800, 1))  # the input's size sets the error's and the state's
    x = size * rng.standard_normal((800, 12))
    e = x + 0.2 * rng.standard_normal((800, 12))
    state = np.repeat(np.sqrt((x**2).mean(1, keepdims=True)), 4, axis=1) + 0.05 * rng.standard_normal((800, 4))
    change = state - rng.standard_normal((800, 4))
    t = Trace(state, change, x, e)
    m = measures(t, fit_maps([t]))
    energy, inputs = (e**2).mean(1), (x**2).mean(1)
    assert m["corr_input"] == pytest.approx(np.corrcoef(energy, inputs)[0, 1]) and m["corr_input"] > 0.9
    assert m["corr_state"] > 0.8 and abs(m["pcorr_state"]) < 0.2  # the state's energy only echoes the input's
    assert m["pcorr_state"] == pytest.approx(residual_pearson(energy, (state**2).mean(1), inputs), abs=1e-10)
    assert m["pcorr_change"] == pytest.approx(residual_pearson(energy, (change**2).mean(1), inputs), abs=1e-10)


def test_traces_align_states_with_the_prediction_error_of_each_file():
    rng = np.random.default_rng(4)
    pieces = periodic_pieces(4, rng, 10, 40, files=2)
    model = build({"kind": "recurrent", "arch": "lstm", "units": 12, "hidden": 5, "layers": 1}, seed=1)
    out = traces(model, pieces, sigma=0.7, seed=9)
    assert list(out) == list(pieces)
    for piece, files in pieces.items():  # each file alone, from a zero state, no padding: the reference
        ref = {"state": [], "change": [], "input": [], "error": [], "previous": []}
        for k, y in enumerate(files):
            x = torch.from_numpy(crn_noisy(y, 0.7, 9, piece, k))[None]
            with torch.no_grad():
                h = model.features(x)[0].double().numpy()
                p = torch.sigmoid(model.logits(x, "predict"))[0].double().numpy()
                # the history control's h_t: the LSTM's hidden and cell state before each x_{t+1}, one prefix at a time
                cells = [model.core(x[:, :t + 1])[1][1][0, 0].double().numpy() for t in range(x.shape[1] - 1)]
            xs = x[0].double().numpy()
            ref["state"].append(h[1:]), ref["change"].append(h[1:] - h[:-1])
            ref["input"].append(xs[1:]), ref["error"].append(xs[1:] - p[:-1])
            ref["previous"].append(np.hstack([h[:-1], np.array(cells).reshape(-1, 5)]))
        for kind, parts in ref.items():
            np.testing.assert_allclose(getattr(out[piece], kind), np.concatenate(parts), atol=1e-5)


@pytest.mark.parametrize("arch,layers", [("gru", 1), ("elman", 2), ("lstm", 1), ("lstm", 2)])
def test_the_whole_recurrent_state_is_what_the_next_step_depends_on(arch, layers):
    model = build({"kind": "recurrent", "arch": arch, "units": 12, "hidden": 4, "layers": layers}, seed=2)
    x = torch.rand(3, 9, 12)
    with torch.no_grad():
        memory, h = recurrent_memory(model, x), model.features(x)
        assert memory.shape == (3, 9, 4 * layers * (2 if arch == "lstm" else 1))
        for t in (0, 4, 8):  # the core's final state after t + 1 steps, layer by layer (then the cell states)
            _, state = model.core(x[:, :t + 1])
            parts = state if arch == "lstm" else (state,)
            expected = torch.cat([part.transpose(0, 1).reshape(3, -1) for part in parts], dim=1)
            torch.testing.assert_close(memory[:, t], expected, atol=1e-5, rtol=1e-5)
        top = slice(4 * (layers - 1), 4 * layers)  # the last layer's h_t is the state the heads read
        torch.testing.assert_close(memory[..., top], h, atol=1e-5, rtol=1e-5)
        # continuing from it gives the same next state as the whole sequence does: nothing is missing
        n = 4 * layers
        hidden = memory[:, 4, :n].reshape(3, layers, 4).transpose(0, 1).contiguous()
        start = (hidden, memory[:, 4, n:].reshape(3, layers, 4).transpose(0, 1).contiguous()) if arch == "lstm" else hidden
        torch.testing.assert_close(model.core(x[:, 5:6], start)[0][:, 0], h[:, 5], atol=1e-5, rtol=1e-5)
