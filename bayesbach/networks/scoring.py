"""Per-piece BCE of a model on whole pieces, all pieces as one padded batch with a mask.

Used by the trainer's validation, by the reference models and by the evaluation
stage. Public interface (stable):

- ``HEADS``: task name -> (head, target): ``decode`` = observation head vs y_t,
  ``predict`` = prediction head vs y_{t+1}.
- ``Padded.build(pieces, seed, device)``: the pieces (dict piece -> steps x units)
  zero-padded to one tensor ``y`` (P, T, U) on the device with ``mask`` (P, T) and
  their common-random-numbers noise ``eps`` (bayesbach.dataset.noise), made once.
- ``piece_bce(model, padded, head, target, sigma, inputs="noisy")``: tensor (P,)
  of mean BCE per piece (over valid steps and units), inputs x = y + sigma * eps
  (``"noisy"``) or y (``"clean"``).
- ``score_pieces(model, pieces, sigma, seed, tasks, inputs, device)``: {task: {piece: bce}}.
- ``errors_table(bce, model, arch, hidden, noise, run)``: that result as rows of
  ``results/evaluation/errors.parquet`` (schema ``schemas.ERRORS``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import torch
import torch.nn.functional as F

from bayesbach.core import schemas
from bayesbach.dataset.noise import crn_eps

HEADS = {"decode": ("observe", "current"), "predict": ("predict", "next")}


@dataclass
class Padded:
    names: list[str]
    y: torch.Tensor  # (P, T, U) float32, zero after each piece's end
    eps: torch.Tensor  # (P, T, U) the pieces' CRN standard-normal noise
    mask: torch.Tensor  # (P, T) bool, True on a piece's steps

    @classmethod
    def build(cls, pieces: dict[str, np.ndarray], seed: int, device: str | torch.device = "cpu") -> Padded:
        names = list(pieces)
        units = next(iter(pieces.values())).shape[1] if names else 0
        steps = max((len(a) for a in pieces.values()), default=0)
        y = np.zeros((len(names), steps, units), np.float32)
        eps = np.zeros_like(y)
        mask = np.zeros((len(names), steps), bool)
        for i, name in enumerate(names):
            n = len(pieces[name])
            y[i, :n], eps[i, :n], mask[i, :n] = pieces[name], crn_eps(seed, name, pieces[name].shape), True
        as_t = lambda a: torch.from_numpy(a).to(device)  # noqa: E731
        return cls(names, as_t(y), as_t(eps), as_t(mask))

    def inputs(self, sigma: float, inputs: str = "noisy") -> torch.Tensor:
        if inputs == "clean":
            return self.y
        if inputs != "noisy":
            raise ValueError(f"unknown input kind {inputs!r}; expected 'noisy' or 'clean'")
        return self.y + sigma * self.eps


def aligned(logits: torch.Tensor, y: torch.Tensor, target: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Outputs and targets scored against each other: y_t for ``current``, y_{t+1} for ``next``."""
    if target == "current":
        return logits, y
    if target == "next":
        return logits[:, :-1], y[:, 1:]
    raise ValueError(f"unknown target {target!r}; expected 'current' or 'next'")


@torch.no_grad()
def piece_bce(model, padded: Padded, head: str, target: str, sigma: float, inputs: str = "noisy") -> torch.Tensor:
    """Mean BCE per piece, (P,), over its valid steps and all units; NaN for a piece with no scored step."""
    was_training = model.training
    model.eval()
    logits, y = aligned(model.logits(padded.inputs(sigma, inputs), head), padded.y, target)
    mask = padded.mask[:, 1:] if target == "next" else padded.mask  # t+1 inside the piece
    bce = F.binary_cross_entropy_with_logits(logits, y, reduction="none").mean(-1)
    model.train(was_training)
    return (bce * mask).sum(1) / mask.sum(1)


def score_pieces(model, pieces: dict[str, np.ndarray], sigma: float, seed: int, tasks=("decode", "predict"),
                 inputs: str = "noisy", device: str | torch.device = "cpu") -> dict[str, dict[str, float]]:
    """``{task: {piece: mean BCE}}`` of a model on whole pieces with their CRN noise."""
    padded = Padded.build(pieces, seed, device)
    out = {}
    for task in tasks:
        head, target = HEADS[task]
        out[task] = dict(zip(padded.names, piece_bce(model, padded, head, target, sigma, inputs).tolist()))
    return out


def errors_table(bce: dict[str, dict[str, float]], model: str, arch: str | None, hidden: int | None,
                 noise: float, run: int | None) -> pa.Table:
    """Rows of ``errors.parquet`` for one model and cell: one per (task, piece)."""
    rows = [(task, piece, value) for task, per_piece in bce.items() for piece, value in per_piece.items()]
    n = len(rows)
    return pa.table(
        {
            "model": [model] * n,
            "arch": [arch] * n,
            "hidden": [hidden] * n,
            "noise": [float(noise)] * n,
            "run": [run] * n,
            "task": [r[0] for r in rows],
            "piece": [r[1] for r in rows],
            "bce": [float(r[2]) for r in rows],
        },
        schema=schemas.ERRORS,
    )
