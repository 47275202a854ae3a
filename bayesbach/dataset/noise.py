"""Evaluation noise by common random numbers (docs/science.md, "Noise and task").

Validation and test inputs are x = y + sigma * eps with ONE standard-normal
realisation eps per file of a piece, drawn from ``derive_seed(seed, "crn", piece, file)``
(``file``: its index in the composition): the same eps for every model, every run
and every noise level, so that comparisons are paired by piece and by noise draw. Training noise is different: fresh for
every chunk, drawn on the device by the trainer.

Public interface (stable): ``crn_eps(seed, piece, shape, file=0)``,
``crn_noisy(y, sigma, seed, piece, file=0)``, ``crn_inputs(pieces, sigma, seed)``.
"""

from __future__ import annotations

import numpy as np

from bayesbach.core.seeds import derive_seed


def crn_eps(seed: int, piece: str, shape: tuple[int, ...], file: int = 0) -> np.ndarray:
    """The realisation of one file of a piece (float32), a function of (seed, piece, file, shape) alone."""
    rng = np.random.Generator(np.random.PCG64(derive_seed(seed, "crn", piece, file)))
    return rng.standard_normal(shape, dtype=np.float32)


def crn_noisy(y: np.ndarray, sigma: float, seed: int, piece: str, file: int = 0) -> np.ndarray:
    """Noisy observation of one file, y + sigma * eps (float32)."""
    return (y + np.float32(sigma) * crn_eps(seed, piece, y.shape, file)).astype(np.float32)


def crn_inputs(pieces: dict[str, list[np.ndarray]], sigma: float, seed: int) -> dict[str, list[np.ndarray]]:
    """:func:`crn_noisy` for every file of every piece of a split."""
    return {piece: [crn_noisy(y, sigma, seed, piece, k) for k, y in enumerate(files)] for piece, files in pieces.items()}
