"""Training batches drawn on the device: chunks of the training split and their noisy inputs.

:class:`Sampler` holds the whole training split on the device as one tensor (each
composition followed by ``gap`` silent steps) and cuts ``batch_size`` chunks of
``chunk_length`` (+1 for the next-chord target) steps from it. Each lane walks on
through its composition and jumps to a random one at its end; a chunk's indices
are pure index arithmetic on the device. :func:`batch_inputs` adds fresh Gaussian
noise, drawn on the device: nothing crosses from the host.

A pack of K networks (:mod:`bayesbach.networks.models`) trains on K streams at once:
the sampler then holds K x ``batch_size`` lanes, lane block k drawn from network k's own
generator exactly as a lone network's sampler would draw them, and :func:`batch_inputs`
lays the K streams side by side along the feature axis (network k's units at
``k*units ...``), noisy at each network's own sigma.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from bayesbach.core.exceptions import StudyError


class EmptyTraining(StudyError):
    """No training data to draw batches from."""


@dataclass
class Chunk:
    y: torch.Tensor  # (batch, chunk_length + 1, units) clean chords
    music: torch.Tensor  # (batch, chunk_length + 1) bool: a step of a file (not a silent gap step)
    continues: torch.Tensor  # (batch, chunk_length + 1) bool: the lane's next step is this file's next step


class Sampler:
    """Chunks of the training split drawn on the device; lanes walk through random compositions.

    ``generator`` is one generator, or one per packed network (each drawing its own ``batch_size`` lanes)."""

    def __init__(self, pieces: dict[str, list[np.ndarray]], batch_size: int, chunk_length: int, gap: int,
                 device: torch.device, generator: torch.Generator | list[torch.Generator]):
        pieces = {k: [f for f in files if len(f)] for k, files in pieces.items()}
        pieces = {k: files for k, files in pieces.items() if files}
        if not pieces:
            raise EmptyTraining("the training split has no chord events")
        units = next(iter(pieces.values()))[0].shape[1]
        parts, music, continues = [], [], []
        for files in pieces.values():
            for f in files:  # the file, then its silent gap
                parts += [f, np.zeros((gap, units), np.float32)]
                music += [np.ones(len(f), bool), np.zeros(gap, bool)]
                continues += [np.arange(len(f)) < len(f) - 1, np.zeros(gap, bool)]
        self.data = torch.from_numpy(np.concatenate(parts)).to(device)  # the whole split, once
        self.music = torch.from_numpy(np.concatenate(music)).to(device)
        self.continues = torch.from_numpy(np.concatenate(continues)).to(device)
        lengths = torch.tensor([sum(len(f) + gap for f in files) for files in pieces.values()], dtype=torch.long)
        self.seg_len = lengths.to(device)
        self.seg_start = (torch.cumsum(lengths, 0) - lengths).to(device)
        self.generators = generator if isinstance(generator, list) else [generator]
        self.batch_size, self.steps = batch_size, chunk_length + 1
        self.n_pieces = len(pieces)
        # Enough candidate jumps that the chunk always ends inside one of them.
        self.jumps = math.ceil(self.steps / int(lengths.min()))
        lanes = batch_size * len(self.generators)
        self.arange = torch.arange(self.steps, device=device).repeat(lanes, 1)
        self.piece = self._draw(())
        self.pos = torch.zeros(lanes, dtype=torch.long, device=device)

    def _draw(self, shape: tuple) -> torch.Tensor:
        """Random compositions for every lane, (lanes, *shape): each network's lanes from its own generator."""
        return torch.cat([torch.randint(self.n_pieces, (self.batch_size, *shape), device=self.data.device, generator=g)
                          for g in self.generators])

    def next_chunk(self) -> Chunk:
        """The lanes' next chunk_length + 1 steps; the lanes advance by chunk_length."""
        nxt = self._draw((self.jumps,))
        piece = torch.cat([self.piece[:, None], nxt], 1)  # segment k of lane b plays piece[b, k]
        first = torch.cat([self.pos[:, None], torch.zeros_like(nxt)], 1)  # where it starts playing
        seg = self.seg_len[piece] - first
        ends = torch.cumsum(seg, 1)
        which = torch.searchsorted(ends, self.arange, right=True)  # segment of each step
        offset = self.arange - (ends - seg).gather(1, which) + first.gather(1, which)
        index = self.seg_start[piece].gather(1, which) + offset
        last = which[:, -1:]  # the chunk's last step starts the next chunk
        self.piece, self.pos = piece.gather(1, last)[:, 0], offset[:, -1]
        return Chunk(self.data[index], self.music[index], self.continues[index])

    def state_dict(self) -> dict:
        return {"piece": self.piece.cpu(), "pos": self.pos.cpu()}

    def load_state_dict(self, state: dict) -> None:
        self.piece, self.pos = state["piece"].to(self.data.device), state["pos"].to(self.data.device)


def side_by_side(lanes: torch.Tensor, pack: int) -> torch.Tensor:
    """(K * batch, steps, ...) lanes, network-major, as (batch, steps, K * ...): the K streams side by side."""
    split = lanes.unflatten(0, (pack, -1))  # (K, batch, steps, ...)
    return split.movedim(0, 2).flatten(2) if lanes.dim() == 3 else split.movedim(0, 2)


def batch_inputs(chunk: Chunk, stage, sigma: float | list[float], generator: torch.Generator | list[torch.Generator]
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inputs (x_t or y_t, with fresh noise drawn on the device), targets and loss weights (0 or 1 per
    step) of one chunk, for a :class:`bayesbach.networks.training.Stage` (its ``inputs`` and ``target``).

    Shapes (batch, steps, units), (batch, steps, units), (batch, steps); for a pack (one sigma and one
    generator per network, lanes as the :class:`Sampler` of those generators draws them) the K streams
    side by side: (batch, steps, K * units), (batch, steps, K * units), (batch, steps, K)."""
    sigmas = sigma if isinstance(sigma, list) else [sigma]
    generators = generator if isinstance(generator, list) else [generator]
    y = chunk.y[:, :-1]
    x = y
    if stage.inputs == "noisy":
        shape = (len(y) // len(generators), *y.shape[1:])
        if len(generators) == 1:
            x = y + sigmas[0] * torch.randn(shape, device=y.device, generator=generators[0])
        else:
            eps = torch.cat([torch.randn(shape, device=y.device, generator=g) for g in generators])
            scale = torch.tensor(sigmas, dtype=y.dtype, device=y.device).repeat_interleave(shape[0])
            x = y + scale[:, None, None] * eps
    elif stage.inputs != "clean":
        raise ValueError(f"unknown input kind {stage.inputs!r}")
    if stage.target == "current":
        target, weight = y, chunk.music[:, :-1]
    else:
        target, weight = chunk.y[:, 1:], chunk.continues[:, :-1]
    weight = weight.to(y.dtype)
    if len(generators) == 1:
        return x, target, weight
    k = len(generators)
    return side_by_side(x, k), side_by_side(target, k), side_by_side(weight, k)
