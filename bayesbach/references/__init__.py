"""Stage 3b, the reference ladder: counted chord models and the ideal observer (``counted``), and the
reference networks trained with the networks' own trainer (``trained``). A reference whose results do not
depend on the noise level (``registry.SIGMA_FREE``) is fitted and scored once by one job, which writes its
folder of every noise level (:func:`check_noise_levels`)."""

from __future__ import annotations

from bayesbach.core.registry import SIGMA_FREE


def check_noise_levels(name: str, outs: list, noises: list[float]) -> None:
    """One output folder per noise level, and several noise levels only for a sigma-free reference."""
    if len(outs) != len(noises) or not noises:
        raise ValueError(f"{len(noises)} noise levels for {len(outs)} output folders")
    if len(noises) > 1 and name not in SIGMA_FREE:
        raise ValueError(f"reference {name!r} depends on the noise level: one job per noise level, not {len(noises)}")
