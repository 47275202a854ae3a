"""Stage 3b, the reference ladder: counted chord models and the ideal observer (``counted``), and the
reference networks trained with the networks' own trainer (``trained``). A reference whose results do not
depend on the noise level (``registry.SIGMA_FREE``) is fitted and scored once by one job, which writes its
folder of every noise level (:func:`check_noise_levels`)."""

from __future__ import annotations

from bayesbach.core.exceptions import StudyError
from bayesbach.core.registry import SIGMA_FREE


class NoiseDependent(StudyError, ValueError):
    """Several noise levels asked of a reference whose results depend on the noise level."""


def check_sigma_free(name: str, noises: list[float]) -> None:
    """Several noise levels in one job only for a sigma-free reference (the command line checks it first)."""
    if len(noises) > 1 and name not in SIGMA_FREE:
        raise NoiseDependent(f"reference {name!r} depends on the noise level: one noise level per job, not "
                             f"{len(noises)} (several are fitted once only for {', '.join(SIGMA_FREE)})")


def check_noise_levels(name: str, outs: list, noises: list[float]) -> None:
    """One output folder per noise level, and several noise levels only for a sigma-free reference."""
    if len(outs) != len(noises) or not noises:
        raise ValueError(f"{len(noises)} noise levels for {len(outs)} output folders")
    check_sigma_free(name, noises)
