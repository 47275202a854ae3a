"""Training batches drawn on the device: chunks of the training split and their noisy inputs.

:class:`Sampler` holds the whole training split on the device as one tensor (each
composition followed by ``gap`` silent steps) and cuts ``batch_size`` chunks of
``chunk_length`` (+1 for the next-chord target) steps from it. Each lane walks on
through its composition and jumps to a random one at its end; a chunk's indices
are pure index arithmetic on the device. :func:`batch_inputs` adds fresh Gaussian
noise, drawn on the device: nothing crosses from the host.
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
    """Chunks of the training split drawn on the device; lanes walk through random compositions."""

    def __init__(self, pieces: dict[str, list[np.ndarray]], batch_size: int, chunk_length: int, gap: int,
                 device: torch.device, generator: torch.Generator):
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
        self.batch_size, self.steps, self.g = batch_size, chunk_length + 1, generator
        self.n_pieces = len(pieces)
        # Enough candidate jumps that the chunk always ends inside one of them.
        self.jumps = math.ceil(self.steps / int(lengths.min()))
        self.arange = torch.arange(self.steps, device=device).repeat(batch_size, 1)
        self.piece = torch.randint(self.n_pieces, (batch_size,), device=device, generator=generator)
        self.pos = torch.zeros(batch_size, dtype=torch.long, device=device)

    def next_chunk(self) -> Chunk:
        """The lanes' next chunk_length + 1 steps; the lanes advance by chunk_length."""
        nxt = torch.randint(self.n_pieces, (self.batch_size, self.jumps), device=self.data.device, generator=self.g)
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


def batch_inputs(chunk: Chunk, stage, sigma: float, generator: torch.Generator
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inputs (x_t or y_t, with fresh noise drawn on the device), targets and loss weights (0 or 1 per
    step) of one chunk, for a :class:`bayesbach.networks.training.Stage` (its ``inputs`` and ``target``)."""
    y = chunk.y[:, :-1]
    x = y
    if stage.inputs == "noisy":
        x = y + sigma * torch.randn(y.shape, device=y.device, generator=generator)
    elif stage.inputs != "clean":
        raise ValueError(f"unknown input kind {stage.inputs!r}")
    if stage.target == "current":
        return x, y, chunk.music[:, :-1].to(y.dtype)
    return x, chunk.y[:, 1:], chunk.continues[:, :-1].to(y.dtype)
