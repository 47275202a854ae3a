"""Prediction-error encoding (docs/science.md, "Prediction-error coding"), with an input and a history control.

With the network's prediction p_t = sigmoid(prediction head(h_t)), the prediction
error is e_t = x_{t+1} - p_t, measured against the noisy input (the only thing
the network sees). Each file is run on its own (state from zero, as in scoring);
its steps t = 0 .. n-2 are pooled per test piece:

- ``corr_state``: Pearson correlation over steps of ||e_t||^2 with ||h_{t+1}||^2,
- ``corr_change``: the same with the state change ||h_{t+1} - h_t||^2
  (squared norms are means over components),
- ``corr_input``: the same with the input energy ||x_{t+1}||^2 (the baseline: the
  error's size follows the input's), and ``pcorr_state`` / ``pcorr_change``: the
  partial correlations of ||e_t||^2 with the state's and the change's energy given
  the input energy (:func:`partial_corr`),
- ``mse_state`` / ``mse_change``: mean squared error (over steps and units) of an
  ordinary-least-squares map (with intercept) from h_{t+1}, resp. h_{t+1} - h_t,
  to the vector e_t, fitted on the training pieces,
- ``mse_baseline``: the same for the constant map to the training-mean error,
  and ``gain_state`` / ``gain_change`` = 1 - mse / mse_baseline (the fraction of
  the baseline error the state explains; > 0 means the state encodes e).

Two controls. The input control: h_{t+1} is computed from x_{t+1}, which holds the noise
part of e_t, so a map from h to e can succeed by plain input encoding. The same regression
from the input x_{t+1} alone (``mse_input``, ``gain_input``) and from [x_{t+1}, h_{t+1}]
(``mse_joint``, ``gain_joint``) separate the two: ``gain_over_input`` = 1 - mse_joint /
mse_input is the fraction of what the input leaves unexplained that the state adds.

That control does not hold alone: p_t is a read-out of the previous state h_t, so
[x_{t+1}, h_t] already recovers most of e_t, and a state that merely keeps its memory
beside the new input passes it. The history control, with h_t the network's whole
recurrent state before x_{t+1} (every layer's hidden state and an LSTM's cell state, all
that h_{t+1} depends on besides x_{t+1}; :func:`bayesbach.evaluation.states.recurrent_memory`):
the regression from [x_{t+1}, h_t] (``mse_history``, ``gain_history``) and from
[x_{t+1}, h_t, h_{t+1}] (``mse_full``, ``gain_full``); ``gain_over_history`` =
1 - mse_full / mse_history is what the new state adds to the input and the previous state,
and only that is called prediction-error coding (tested across pieces in
:func:`bayesbach.evaluation.stats.encoding_comparisons`).

Public interface: ``Trace`` (aligned h_{t+1}, dh, x_{t+1}, e and the whole state before x_{t+1} of one piece),
``traces`` (from a model and pieces, with the study's CRN noise), ``fit_maps``, ``partial_corr``,
``measures``, ``error_coding_rows``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bayesbach.evaluation.states import file_states

# The regressors of e_t, each fitted by least squares with an intercept.
REGRESSORS = ("state", "change", "input", "joint", "history", "full")
CORRELATIONS = ("corr_state", "corr_change", "corr_input", "pcorr_state", "pcorr_change")
# Gains of one regressor over another: name -> (with, without), each 1 - mse_with / mse_without.
GAINS_OVER = {"gain_over_input": ("joint", "input"), "gain_over_history": ("full", "history")}


@dataclass
class Trace:
    state: np.ndarray  # (S, n) h_{t+1}
    change: np.ndarray  # (S, n) h_{t+1} - h_t
    input: np.ndarray  # (S, U) x_{t+1}
    error: np.ndarray  # (S, U) e_t = x_{t+1} - p_t
    # (S, m) the whole recurrent state before x_{t+1} (states.recurrent_memory: every layer's h_t, an LSTM's c_t);
    # None: h_t = state - change, the whole state of a one-layer Elman RNN or GRU
    memory: np.ndarray | None = None

    @property
    def previous(self) -> np.ndarray:
        """The state before x_{t+1}, all the next step depends on besides it (it cannot hold e_t's noise part)."""
        return self.state - self.change if self.memory is None else self.memory

    @property
    def joint(self) -> np.ndarray:
        return np.hstack([self.input, self.state])

    @property
    def history(self) -> np.ndarray:
        return np.hstack([self.input, self.previous])

    @property
    def full(self) -> np.ndarray:
        return np.hstack([self.input, self.previous, self.state])


def traces(model, pieces: dict[str, list[np.ndarray]], sigma: float, seed: int) -> dict[str, Trace]:
    """Hidden states, inputs, prediction errors and the whole recurrent state before each input of every piece
    (each file on its own, with its CRN noise, steps pooled over the files), in ``pieces``' order."""
    out = {}
    for name, files in file_states(model, pieces, sigma, seed, head="predict", memory=True).items():
        parts = []
        for f in files:
            h, x, p, m = (a.astype(np.float64) for a in (f.state, f.input, f.output, f.memory))
            parts.append((h[1:], h[1:] - h[:-1], x[1:], x[1:] - p[:-1], m[:-1]))
        out[name] = Trace(*(np.concatenate([f[k] for f in parts]) for k in range(5)))
    return out


def _design(a: np.ndarray) -> np.ndarray:
    return np.hstack([a, np.ones((len(a), 1))])


def fit_maps(train: list[Trace]) -> dict[str, np.ndarray]:
    """Least-squares weights (with intercept) from each of ``REGRESSORS`` to e, and the mean error."""
    train = [t for t in train if len(t.error)]
    if not train:
        raise ValueError("no training steps to fit the encoding maps on")
    e = np.concatenate([t.error for t in train])
    maps = {"baseline": e.mean(0)}
    for kind in REGRESSORS:
        a = _design(np.concatenate([getattr(t, kind) for t in train]))
        maps[kind] = np.linalg.lstsq(a, e, rcond=None)[0]
    return maps


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")  # undefined for a constant series
    return float(np.corrcoef(a, b)[0, 1])


def partial_corr(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
    """The Pearson correlation of a and b given c: (r_ab - r_ac r_bc) / sqrt((1 - r_ac^2)(1 - r_bc^2)), the
    correlation of what a linear fit on c leaves of each; NaN where a, b or c is constant, or a or b is a linear
    function of c."""
    r_ab, r_ac, r_bc = _corr(a, b), _corr(a, c), _corr(b, c)
    denominator = (1 - r_ac**2) * (1 - r_bc**2)
    if not denominator > 1e-12:  # NaN too
        return float("nan")
    return float(np.clip((r_ab - r_ac * r_bc) / np.sqrt(denominator), -1.0, 1.0))


def measures(trace: Trace, maps: dict[str, np.ndarray]) -> dict[str, float]:
    """The encoding measures of one piece (see the module text); NaN where a piece has no step."""
    e = trace.error
    if not len(e):
        nan = float("nan")
        return dict(steps=0, **{c: nan for c in CORRELATIONS}, mse_baseline=nan,
                    **{f"{m}_{k}": nan for m in ("mse", "gain") for k in REGRESSORS}, **{g: nan for g in GAINS_OVER})
    energy, inputs = (e**2).mean(1), (trace.input**2).mean(1)
    state, change = (trace.state**2).mean(1), (trace.change**2).mean(1)
    out = {"steps": len(e), "corr_state": _corr(energy, state), "corr_change": _corr(energy, change),
           "corr_input": _corr(energy, inputs), "pcorr_state": partial_corr(energy, state, inputs),
           "pcorr_change": partial_corr(energy, change, inputs)}
    base = float(((e - maps["baseline"]) ** 2).mean())
    for kind in REGRESSORS:
        out[f"mse_{kind}"] = float(((e - _design(getattr(trace, kind)) @ maps[kind]) ** 2).mean())
    out["mse_baseline"] = base
    for kind in REGRESSORS:
        out[f"gain_{kind}"] = 1 - out[f"mse_{kind}"] / base if base > 0 else float("nan")
    for name, (with_, without) in GAINS_OVER.items():
        out[name] = 1 - out[f"mse_{with_}"] / out[f"mse_{without}"] if out[f"mse_{without}"] > 0 else float("nan")
    return out


def error_coding_rows(model, train: dict[str, list[np.ndarray]], test: dict[str, list[np.ndarray]], sigma: float,
                  seed: int) -> list[dict]:
    """One dict of measures per test piece (``piece`` included), maps fitted on the training pieces."""
    maps = fit_maps(list(traces(model, train, sigma, seed).values()))
    return [{"piece": piece, **measures(t, maps)} for piece, t in traces(model, test, sigma, seed).items()]
