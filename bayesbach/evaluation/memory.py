"""A network's effective memory: for how many steps an input keeps its influence on the hidden state. It sets
the time constant of the key decoder's memory-matched input control (:mod:`bayesbach.evaluation.key_decoding`).

Measured by perturbation, in float64. At one site s of a training file (a quarter into it), the file's noisy
input x_s (the study's CRN noise, as in scoring) is moved by ``DELTA`` along a unit direction v (seeded), and the
network runs again from the file's start; the influence at lag k is ||h'_{s+k} - h_{s+k}||. Over the sites of up
to ``SITES`` training files (evenly spread over them),

    r(k) = sum_sites ||dh_{s+k}|| / sum_sites ||dh_s||   (the sites whose file lasts to s + k)

is the average decay of an input's influence (r(0) = 1), and the effective memory is its sum up to the
longest lag K that a quarter of the sites reach (at most ``MAX_LAG``):

    tau = sum_{k=0}^{K} r(k),

1 for a memoryless map, about 1 / (1 - lambda) for an influence decaying as lambda^k. :func:`decay` gives the
lambda of the exponential running average whose influence sums to the same tau over the same lags: the
running average with the network's memory. The perturbation is tiny (``DELTA``), so r is the linearised
response, the same whatever its size; it averages over directions, not over what the network may keep in a few
slow directions (that is what the decoders then test).

Public interface: ``Memory`` (tau, lags), ``effective_memory(model, pieces, sigma, seed)``, ``decay(tau, lags)``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from bayesbach.core.seeds import derive_seed
from bayesbach.dataset.noise import crn_noisy

SITES = 256  # perturbed files at most (one site each)
MAX_LAG = 128  # longest lag summed: the memory is at most MAX_LAG + 1 steps
DELTA = 1e-6  # perturbation size, in float64: the linear regime


@dataclass(frozen=True)
class Memory:
    tau: float  # effective memory in steps (>= 1)
    lags: int  # K: the lags 0 .. K it sums over


def _sites(pieces: dict[str, list[np.ndarray]]) -> list[tuple[str, int, np.ndarray]]:
    """(piece, file index, y) of up to SITES files of two steps or more, evenly spread, in piece order."""
    files = [(piece, k, y) for piece, ys in pieces.items() for k, y in enumerate(ys) if len(y) >= 2]
    if len(files) > SITES:
        files = [files[i] for i in np.unique(np.linspace(0, len(files) - 1, SITES).round().astype(int))]
    return files


@torch.no_grad()
def effective_memory(model, pieces: dict[str, list[np.ndarray]], sigma: float, seed: int) -> Memory:
    """The effective memory of a recurrent ``model`` (``features(x)`` from a zero state) on ``pieces`` (module text)."""
    files = _sites(pieces)
    if not files:
        raise ValueError("no file of two steps or more to measure the network's memory on")
    rng = np.random.Generator(np.random.PCG64(derive_seed(seed, "memory")))
    units = files[0][2].shape[1]
    starts = np.array([len(y) // 4 for _, _, y in files])
    ends = np.array([min(len(y), s + MAX_LAG + 1) for (_, _, y), s in zip(files, starts)])
    x = np.zeros((2 * len(files), ends.max(), units))
    for i, ((piece, k, y), s, e) in enumerate(zip(files, starts, ends)):
        x[2 * i, :e] = x[2 * i + 1, :e] = crn_noisy(y, sigma, seed, piece, k)[:e]
        v = rng.standard_normal(units)
        x[2 * i + 1, s] += DELTA * v / np.linalg.norm(v)
    net = copy.deepcopy(model).double().eval()
    h = net.features(torch.from_numpy(x)).numpy()
    lags = MAX_LAG + 1
    num, den, count = np.zeros(lags), np.zeros(lags), np.zeros(lags, int)
    for i, (s, e) in enumerate(zip(starts, ends)):
        dh = np.linalg.norm(h[2 * i + 1, s:e] - h[2 * i, s:e], axis=1)  # lags 0 .. e - s - 1
        num[:len(dh)] += dh
        den[:len(dh)] += dh[0]
        count[:len(dh)] += 1
    reached = np.flatnonzero(count >= max(1, int(np.ceil(len(files) / 4))))
    top = int(reached[-1])
    r = np.divide(num[:top + 1], den[:top + 1], out=np.zeros(top + 1), where=den[:top + 1] > 0)
    r[0] = 1.0  # by definition (also for a state the input does not move)
    return Memory(float(r.sum()), top)


def decay(tau: float, lags: int) -> float:
    """lambda in [0, 1] with sum_{k=0}^{lags} lambda^k = tau (1 for tau >= lags + 1): the running average whose
    influence sums to the memory ``tau`` over the same lags."""
    if tau <= 1:
        return 0.0
    if tau >= lags + 1:
        return 1.0
    lo, hi = 0.0, 1.0
    powers = np.arange(lags + 1)
    for _ in range(60):  # bisection on an increasing function: 2^-60 is below float precision
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if (mid ** powers).sum() < tau else (lo, mid)
    return (lo + hi) / 2
