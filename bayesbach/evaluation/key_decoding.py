"""Key decoding (docs/science.md, "Key context"): does a network's hidden state carry the key of the piece?

Every step of a file is labelled with the file's key (``results/dataset/file_keys.parquet``,
:mod:`bayesbach.dataset.keys`). A linear decoder, multinomial logistic regression over the 24 keys of
``registry.KEY_NAMES``, is fitted on every step of the training compositions and scored on every step of
the test compositions; each file runs on its own from a zero state with the study's common-random-numbers
noise, as in scoring. The decoders (``registry.KEY_DECODERS``):

- ``network``: from the state h_t;
- ``input_memory``: from a running average of the noisy input,
  a_t = sum_{j<=t} lambda^{t-j} x_j / sum_{j<=t} lambda^{t-j}, with lambda set by the network's effective
  memory (:mod:`bayesbach.evaluation.memory`): what a plain integrator of the input with the same memory
  allows;
- ``control_decoded``: the same running average (the same lambda) of the network's own decoded chords, its
  decode head's per-unit probabilities sigmoid(W_obs h_t) at each step: what an integrator of the *denoised*
  input with the network's memory allows, the network's own denoising included;
- ``control_observer``: the same running average of the first-order ideal observer's posterior means (``bayes``,
  :mod:`bayesbach.references.observer`, its decode output) on the same noisy inputs, when an observer is given:
  the denoising that the study's chord statistics allow, without the network.
  The network is a non-linear denoiser, so the state beating ``input_memory`` can be denoising alone; only the
  state beating the denoised controls (the strongest control: :mod:`bayesbach.evaluation.key_summary`) is
  evidence that it holds the key as context, more than a denoised echo of its recent input;
- ``input_all``: the noisy input averaged with lambda = 1, the mean of the whole file so far (unbounded memory:
  the step-weighted pitch-class histogram a Krumhansl-Schmuckler reader uses);
- ``majority``: always the key most frequent among the training steps;
- ``chance``: 1/24.

Accuracy: the fraction of a test composition's steps (pooled over its files) whose key is decoded, per bin of
steps into the file, ``BINS`` (t = 0, 1, 2-3, 4-7, ..., 256 to the end; t counted from 0).

The fit: features standardised with the training mean and deviation, weights and biases from zero, full-batch
L-BFGS (SciPy's L-BFGS-B, analytic gradient) in float64 on mean cross-entropy + ``L2`` / 2 ||W||^2 (its numpy
formula laid out for speed: ``_objective``): deterministic, no random number involved. At most ``MAX_FIT_STEPS``
training steps (an even stride over them beyond that).

Public interface: ``BINS``, ``MissingKeys``, ``file_key_labels``, ``running_average``, ``Decoder``,
``fit_decoder``, ``decoder_features``, ``key_rows``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from scipy.optimize import minimize

from bayesbach.core.exceptions import StudyError
from bayesbach.core.registry import KEY_DECODERS, KEY_NAMES
from bayesbach.dataset.loader import split_files
from bayesbach.evaluation.memory import Memory, decay, effective_memory
from bayesbach.evaluation.states import file_states

BINS = (0, 1, 2, 4, 8, 16, 32, 64, 128, 256)  # bin b holds steps BINS[b] <= t < BINS[b + 1] (the last: to the end)
L2 = 1e-3  # weight penalty on standardised features: mild against ~10^4-10^5 training steps
MAX_FIT_STEPS = 50_000  # bounds the fit's time at paper scale (about 500,000 training steps, 256 units: a stride of 10)
ITERATIONS = 100  # L-BFGS iterations at most (the loss then moves in its fourth digit, the accuracy less)
EXP_SAFE = 700.0  # |logits| below: exp neither overflows (classes e^700 < 1.8e308) nor vanishes (e^-700 > 2.3e-308)


class MissingKeys(StudyError):
    """A file of the dataset has no key label (file_keys.parquet missing, stale or damaged)."""


def file_key_labels(dataset: Path, split: str) -> dict[str, list[int]]:
    """The key (index in ``KEY_NAMES``) of each file of each composition of a split, in ``load_split``'s order."""
    path = Path(dataset) / "file_keys.parquet"
    if not path.exists():
        raise MissingKeys(f"{path} is missing (bayesbach keys writes it)")
    table = pq.read_table(path, columns=["file", "key"])
    keys = dict(zip(table.column("file").to_pylist(), table.column("key").to_pylist()))
    index = {name: i for i, name in enumerate(KEY_NAMES)}
    out = {}
    for piece, files in split_files(dataset, split).items():
        for f in files:
            if keys.get(f) not in index:
                what = "has no row" if f not in keys else f"has the key {keys[f]!r}, which is not a key name"
                raise MissingKeys(f"{f} {what} in {path} (rerun bayesbach keys)")
        out[piece] = [index[keys[f]] for f in files]
    return out


def running_average(x: np.ndarray, lam: float) -> np.ndarray:
    """a_t = sum_{j<=t} lam^{t-j} x_j / sum_{j<=t} lam^{t-j} over the steps (rows) of ``x``, in float64:
    ``x`` itself for lam = 0, the mean so far for lam = 1."""
    x = np.asarray(x, np.float64)
    num, acc, den, weight = np.empty_like(x), np.zeros(x.shape[1:]), np.empty(len(x)), 0.0
    for t in range(len(x)):  # the first-order recursion, step by step (scipy.signal's import costs more than this)
        acc = lam * acc + x[t]
        weight = lam * weight + 1.0
        num[t], den[t] = acc, weight
    return num / den[:, None]


@dataclass
class Decoder:
    mean: np.ndarray  # (features,) standardisation
    scale: np.ndarray
    weight: np.ndarray  # (features, classes)
    bias: np.ndarray  # (classes,)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """The decoded class of each row of ``features``."""
        return (((np.asarray(features, np.float64) - self.mean) / self.scale) @ self.weight + self.bias).argmax(1)


def _objective(x: np.ndarray, labels: np.ndarray, classes: int, l2: float):
    """The fit's loss: theta (the weights, ``(features, classes)`` row-major, then the biases) -> (mean
    cross-entropy + ``l2`` / 2 ||W||^2, its gradient), on standardised ``x``.

    Laid out for speed (against the plain row-major formula: docs/performance.md, "Evaluation"), with the same value:
    the logits are held class-major, ``(classes, steps)``, so the log-sum-exp's max and sum over the classes run
    along long contiguous rows rather than over a short inner axis; a column of ones appended to the features
    carries the biases, so that theta is the ``(features + 1, classes)`` matrix W1 itself and one product gives
    the logits; the labels enter only through their feature sums S = X1^T Y (computed once), since
    sum_i z_{i,y_i} = <S, W1> and X1^T (P - Y) = X1^T P - S: no indexing by label per evaluation; and the
    softmax's normalisation 1/total is applied to X1's (features + 1) columns rather than to P's 24. The
    log-sum-exp subtracts each step's largest logit only where exp could overflow or every term underflow:
    |z| <= max|X1| * max_c ||W1[:, c]||_1 bounds every logit, and below ``EXP_SAFE`` neither can happen (the
    usual case: the subtraction and its max cost a tenth of an evaluation)."""
    n, width = x.shape
    x1t = np.empty((width + 1, n))  # [X, 1]^T: one feature per contiguous row
    x1t[:width] = x.T
    x1t[width] = 1.0
    onehot = np.zeros((classes, n))
    onehot[labels, np.arange(n)] = 1.0
    s = x1t @ onehot.T  # (features + 1, classes): S = X1^T Y, the summed features of each class
    reach = float(np.abs(x1t).max())

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w1 = theta.reshape(width + 1, classes)
        w = w1[:width]
        z = w1.T @ x1t  # (classes, steps) logits
        shift = reach * np.abs(w1).sum(0).max() > EXP_SAFE
        if shift:
            top = z.max(0)
            z -= top
        e = np.exp(z, out=z)
        total = e.sum(0)
        value = np.log(total).sum() + (top.sum() if shift else 0.0)
        value = (value - (s * w1).sum()) / n + l2 / 2 * (w * w).sum()
        g = (x1t * (1.0 / total)) @ e.T  # X1^T softmax
        g -= s
        g /= n
        g[:width] += l2 * w
        return float(value), g.ravel()

    return loss


def fit_decoder(features: np.ndarray, labels: np.ndarray, classes: int = len(KEY_NAMES), l2: float = L2) -> Decoder:
    """Multinomial logistic regression (module text) of ``labels`` (ints < ``classes``) on ``features`` rows."""
    features = np.asarray(features, np.float64)
    if not len(features):
        raise ValueError("no training steps to fit the key decoder on")
    mean, scale = features.mean(0), features.std(0)
    scale[scale == 0] = 1.0  # a constant feature carries nothing: leave it at zero
    x = (features - mean) / scale
    width = x.shape[1]
    loss = _objective(x, np.asarray(labels, np.int64), classes, l2)
    # SciPy rather than torch.optim, whose first use imports torch's compiler (seconds per job).
    res = minimize(loss, np.zeros((width + 1) * classes), jac=True, method="L-BFGS-B",
                   options={"maxiter": ITERATIONS, "ftol": 1e-9, "gtol": 1e-7})
    return Decoder(mean, scale, res.x[:-classes].reshape(width, classes), res.x[-classes:])


def decoder_features(files, lam: float, means: list[np.ndarray] | None = None) -> dict[str, list[np.ndarray]]:
    """Per file of ``files`` (:class:`~bayesbach.evaluation.states.FileStates` with the decode head's output), the
    features of each learnt decoder: h_t, the running averages with ``lam`` of the noisy input, of the decoded
    chords and (given ``means``, the observer's posterior means of each file) of the observer's, and the mean of
    the noisy input so far."""
    out = {"network": [f.state for f in files], "input_memory": [running_average(f.input, lam) for f in files],
           "control_decoded": [running_average(f.output, lam) for f in files]}
    if means is not None:
        out["control_observer"] = [running_average(m, lam) for m in means]
    out["input_all"] = [running_average(f.input, 1.0) for f in files]
    return out


def posterior_means(observer, states: dict[str, list]) -> dict[str, list[np.ndarray] | None]:
    """``{piece: the posterior means (decode output) of each file}`` of ``observer`` (an
    :class:`~bayesbach.references.observer.Observer`; None: None for every piece) on the noisy inputs of
    ``states`` (``{piece: [FileStates]}``): the very inputs the network saw."""
    if observer is None:
        return dict.fromkeys(states)
    return {piece: decode for piece, decode, _ in observer.run({p: [f.input for f in fs] for p, fs in states.items()})}


def key_rows(model, train: dict[str, list[np.ndarray]], test: dict[str, list[np.ndarray]],
             train_keys: dict[str, list[int]], test_keys: dict[str, list[int]], sigma: float,
             seed: int, observer=None, memo: dict | None = None) -> tuple[Memory, list[dict]]:
    """The network's effective memory and one row per (decoder, test piece, bin with steps): ``decoder``,
    ``piece``, ``bin_start``, ``bin_end`` (None for the last bin), ``steps``, ``accuracy``. ``model`` is the
    network with its decode head (``observe``: the decoder stage's), ``*_keys`` are :func:`file_key_labels` of the
    splits, aligned with ``train`` and ``test``; ``observer`` (the ``bayes`` reference's filter at ``sigma``, or
    None: no ``control_observer`` rows) gives the observer control. ``memo`` keeps the observer's posterior means of
    each split for the next network of the job at the same ``sigma``: they depend on the CRN inputs, not the network."""
    memo = {} if memo is None else memo
    memory = effective_memory(model, train, sigma, seed)
    lam = decay(memory.tau, memory.lags)
    fit = file_states(model, train, sigma, seed, head="observe")
    fit_states = [f for files in fit.values() for f in files]
    labels = np.concatenate([np.full(len(y), k) for p in train for y, k in zip(train[p], train_keys[p])])
    keep = np.unique(np.linspace(0, len(labels) - 1, MAX_FIT_STEPS).round().astype(int)) \
        if len(labels) > MAX_FIT_STEPS else slice(None)
    means = memo["train"] = memo.get("train") or posterior_means(observer, fit)
    fit_means = None if observer is None else [m for piece in fit for m in means[piece]]
    decoders = {name: fit_decoder(np.concatenate(files)[keep], labels[keep])
                for name, files in decoder_features(fit_states, lam, fit_means).items()}
    majority = int(np.argmax(np.bincount(labels, minlength=len(KEY_NAMES))))

    edges = np.asarray(BINS)
    rows = []
    scored = file_states(model, test, sigma, seed, head="observe")
    means = memo["test"] = memo.get("test") or posterior_means(observer, scored)
    for piece, files in scored.items():
        truth = [np.full(len(f.state), k) for f, k in zip(files, test_keys[piece])]
        steps = np.concatenate([np.searchsorted(edges, np.arange(len(t)), side="right") - 1 for t in truth])
        truth = np.concatenate(truth)
        decoded = {name: decoders[name].predict(np.concatenate(feats))
                   for name, feats in decoder_features(files, lam, means[piece]).items()}
        decoded["majority"] = np.full(len(truth), majority)
        for name in KEY_DECODERS:
            if name not in decoded and name != "chance":
                continue  # no observer given
            for b in np.unique(steps):
                at = steps == b
                accuracy = 1 / len(KEY_NAMES) if name == "chance" else float((decoded[name][at] == truth[at]).mean())
                rows.append({"decoder": name, "piece": piece, "bin_start": int(BINS[b]),
                             "bin_end": int(BINS[b + 1]) if b + 1 < len(BINS) else None, "steps": int(at.sum()),
                             "accuracy": accuracy})
    return memory, rows
