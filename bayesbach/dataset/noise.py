"""Evaluation noise by common random numbers (SCIENCE.md, "Noise and task").

Validation and test inputs are x = y + sigma * eps with ONE standard-normal
realisation eps per piece, drawn from ``derive_seed(seed, "crn", piece)``: the
same eps for every model, every run and every noise level, so that comparisons
are paired by piece and by noise draw. Training noise is different: fresh for
every chunk, drawn on the device by the trainer.

Public interface (stable): ``crn_eps(seed, piece, shape)``,
``crn_noisy(y, sigma, seed, piece)``, ``crn_inputs(pieces, sigma, seed)``.
"""

from __future__ import annotations

import numpy as np

from bayesbach.core.seeds import derive_seed


def crn_eps(seed: int, piece: str, shape: tuple[int, ...]) -> np.ndarray:
    """The piece's standard-normal realisation (float32), a function of (seed, piece, shape) alone."""
    rng = np.random.Generator(np.random.PCG64(derive_seed(seed, "crn", piece)))
    return rng.standard_normal(shape, dtype=np.float32)


def crn_noisy(y: np.ndarray, sigma: float, seed: int, piece: str) -> np.ndarray:
    """Noisy observation of one piece, y + sigma * eps (float32)."""
    return (y + np.float32(sigma) * crn_eps(seed, piece, y.shape)).astype(np.float32)


def crn_inputs(pieces: dict[str, np.ndarray], sigma: float, seed: int) -> dict[str, np.ndarray]:
    """:func:`crn_noisy` for every piece of a split."""
    return {piece: crn_noisy(y, sigma, seed, piece) for piece, y in pieces.items()}
