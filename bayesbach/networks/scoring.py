"""Per-piece BCE of a model, every file scored on its own, all files as one padded batch with a mask.

Used by the trainer's validation, by the reference models and by the evaluation
stage. The scoring rule (docs/science.md, "Evaluation"): each file of a composition is
a sequence of its own (the network's state starts from zero at its first step; no
silent filler is scored), the prediction target past a file's last step is not
scored, and a composition's error is the mean over all scored steps (and units)
of its files. Public interface (stable):

- ``HEADS``: task name -> (head, target): ``decode`` = observation head vs y_t,
  ``predict`` = prediction head vs y_{t+1}.
- ``Padded.build(pieces, seed, device)``: the files of the pieces (dict piece ->
  list of steps x units arrays) zero-padded to one tensor ``y`` (F, T, U) on the
  device, with ``mask`` (F, T), ``owner`` (F,) (the piece index of each file) and
  their common-random-numbers noise ``eps`` (bayesbach.dataset.noise), made once.
- ``piece_bce(model, padded, head, target, sigma, inputs="noisy")``: tensor (P,)
  of mean BCE per piece (pooled over its files' scored steps and units), inputs
  x = y + sigma * eps (``"noisy"``) or y (``"clean"``).
- ``pack_piece_bce(model, padded, head, target, sigmas, inputs)``: the same, (K, P), for
  each network of a pack at its own sigma (:mod:`bayesbach.networks.models`).
- ``score_pieces(model, pieces, sigma, seed, tasks, inputs, device)``: {task: {piece: bce}}, the rows of
  ``errors.parquet`` by :func:`bayesbach.core.errors_table.errors_table`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from bayesbach.dataset.noise import crn_eps

HEADS = {"decode": ("observe", "current"), "predict": ("predict", "next")}


@dataclass
class Padded:
    names: list[str]  # the pieces
    y: torch.Tensor  # (F, T, U) float32, one row per file, zero after each file's end
    eps: torch.Tensor  # (F, T, U) the files' CRN standard-normal noise
    mask: torch.Tensor  # (F, T) bool, True on a file's steps
    owner: torch.Tensor  # (F,) long, the index in ``names`` of each file's piece

    @classmethod
    def build(cls, pieces: dict[str, list[np.ndarray]], seed: int, device: str | torch.device = "cpu") -> Padded:
        names = list(pieces)
        files = [(i, k, a) for i, name in enumerate(names) for k, a in enumerate(pieces[name])]
        units = files[0][2].shape[1] if files else 0
        steps = max((len(a) for _, _, a in files), default=0)
        y = np.zeros((len(files), steps, units), np.float32)
        eps = np.zeros_like(y)
        mask = np.zeros((len(files), steps), bool)
        for row, (i, k, a) in enumerate(files):
            n = len(a)
            y[row, :n], eps[row, :n], mask[row, :n] = a, crn_eps(seed, names[i], a.shape, k), True
        as_t = lambda a: torch.from_numpy(a).to(device)  # noqa: E731
        owner = torch.tensor([i for i, _, _ in files], dtype=torch.long, device=device)
        return cls(names, as_t(y), as_t(eps), as_t(mask), owner)

    def inputs(self, sigma: float | list[float], inputs: str = "noisy") -> torch.Tensor:
        """x = y + sigma * eps (``"noisy"``) or y (``"clean"``), (F, T, U); for a list of K sigmas (a pack of
        networks) the K inputs side by side, (F, T, K * U)."""
        sigmas = sigma if isinstance(sigma, list) else [sigma]
        if inputs not in ("clean", "noisy"):
            raise ValueError(f"unknown input kind {inputs!r}; expected 'noisy' or 'clean'")
        if len(sigmas) == 1:
            return self.y if inputs == "clean" else self.y + sigmas[0] * self.eps
        if inputs == "clean":
            return self.y.repeat(1, 1, len(sigmas))
        scale = torch.tensor(sigmas, dtype=self.y.dtype, device=self.y.device)[:, None]
        return (self.y[:, :, None] + scale * self.eps[:, :, None]).flatten(2)

    def scored(self, target: str) -> torch.Tensor:
        """(F, T') bool: the steps scored for ``target`` (for ``next``, those whose y_{t+1} is in the file)."""
        return self.mask[:, 1:] if target == "next" else self.mask

    def per_piece(self, values: torch.Tensor, target: str) -> torch.Tensor:
        """(P,) pooled mean of per-step ``values`` (F, T') over each piece's scored steps; NaN without any."""
        scored = self.scored(target)
        total = torch.zeros(len(self.names), dtype=values.dtype, device=values.device)
        count = torch.zeros_like(total)
        total.index_add_(0, self.owner, (values * scored).sum(1))
        count.index_add_(0, self.owner, scored.sum(1).to(values.dtype))
        return total / count


def aligned(logits: torch.Tensor, y: torch.Tensor, target: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Outputs and targets scored against each other: y_t for ``current``, y_{t+1} for ``next``."""
    if target == "current":
        return logits, y
    if target == "next":
        return logits[:, :-1], y[:, 1:]
    raise ValueError(f"unknown target {target!r}; expected 'current' or 'next'")


@torch.no_grad()
def pack_piece_bce(model, padded: Padded, head: str, target: str, sigmas: list[float], inputs: str = "noisy"
                   ) -> torch.Tensor:
    """Mean BCE per piece of each network of a pack, (K, P), each at its own sigma (a lone network: K = 1),
    pooled over a piece's files' scored steps and all units; NaN for a piece with none."""
    was_training = model.training
    model.eval()
    logits = model.logits(padded.inputs(sigmas, inputs), head).unflatten(-1, (len(sigmas), -1))  # (F, T, K, U)
    model.train(was_training)
    out, y = aligned(logits, padded.y[:, :, None, :], target)
    bce = F.binary_cross_entropy_with_logits(out, y.expand_as(out), reduction="none").mean(-1)  # (F, T', K)
    return torch.stack([padded.per_piece(bce[..., k], target) for k in range(len(sigmas))])


def piece_bce(model, padded: Padded, head: str, target: str, sigma: float, inputs: str = "noisy") -> torch.Tensor:
    """Mean BCE per piece, (P,), pooled over its files' scored steps and all units; NaN for a piece with none."""
    return pack_piece_bce(model, padded, head, target, [sigma], inputs)[0]


def score_pieces(model, pieces: dict[str, list[np.ndarray]], sigma: float, seed: int, tasks=("decode", "predict"),
                 inputs: str = "noisy", device: str | torch.device = "cpu") -> dict[str, dict[str, float]]:
    """``{task: {piece: mean BCE}}`` of a model on every file of the pieces with their CRN noise."""
    padded = Padded.build(pieces, seed, device)
    out = {}
    for task in tasks:
        head, target = HEADS[task]
        out[task] = dict(zip(padded.names, piece_bce(model, padded, head, target, sigma, inputs).tolist()))
    return out

