"""Stage 3b, the reference ladder: counted chord models and the ideal observer (``counted``), and the
reference networks trained with the networks' own trainer (``trained``). A reference whose results do not
depend on the noise level (``registry.SIGMA_FREE``) is fitted and scored once by one job, which writes its
folder of every noise level (:func:`check_noise_levels`).

The protocol. A reference of either kind is fitted on the clean training split, then scored on any pieces:

    fitted = counted.fit(name, train, validation, counted.Fitting(sigma, seed, classes, smoothing, progress))
    fitted = trained.fit(name, train, validation, sigma=, seed=, settings=, refs=, device=, checkpoint=)
    fitted = trained.load_reference(folder)                # one its job fitted, from its folder
    fitted.scores(test, sigma, seed) -> {task: {piece: mean BCE}}   # the rows of errors.parquet
    fitted.meta                                            # what was fitted: its meta.json records it
    fitted.cell -> (arch, hidden)                          # its columns in errors.parquet (None: not applicable)

(:class:`Fitted`). Each counted reference is a fit in ``counted.MODELS``: ``(train, validation, how)`` -> a
model with ``meta`` and ``probabilities(test, sigma, seed)``, which yields ``(piece, decode probabilities per
file or None, predict probabilities per file, decode bits per file or None, predict bits per file or None)`` for
every test piece (the bits: the information content of each actual chord under the model's categorical
distribution over chords; None for independent units, whose bits are factorised, ``Counted.evaluate``). ``how`` (a ``counted.Fitting``) holds the
noise level and seed (an observer chooses its smoothing on the noisy validation split), the encoding's
``classes``, a given ``smoothing`` (a fitted reference's, from its meta.json: no search, as the generalisation
counts a reference again) and the ``progress`` file of a resumable smoothing search. Each trained reference is a
``trained.NETWORKS`` entry (task, inputs, layers); trainer, checkpoints and scoring are shared. A sigma-free
reference ignores sigma; its job fits and scores it once.
"""

from __future__ import annotations

from typing import Protocol

from bayesbach.core.exceptions import StudyError
from bayesbach.core.registry import SIGMA_FREE


class Fitted(Protocol):
    """A reference fitted on a training split, either kind (module text)."""

    meta: dict  # what was fitted; complete once it has scored (an observer adds its filter's time and pruning)
    cell: tuple[str | None, int | None]  # its arch and hidden in errors.parquet

    def scores(self, test: dict, sigma: float, seed: int) -> dict[str, dict[str, float]]:
        """``{task: {piece: mean BCE}}`` on ``test``, every file on its own, with the study's common random numbers."""


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
