"""A network's hidden states on every file of some compositions, each file on its own (state from zero, as in
scoring), with the study's common-random-numbers noise; what the evaluation's read-outs are fitted on.

Public interface: ``FileStates`` (h, x and optionally p of one file), ``file_states(model, pieces, sigma, seed,
head=None)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from bayesbach.networks.scoring import Padded

# Files per forward pass are bounded by this many hidden-state numbers (memory, not speed).
MAX_ELEMENTS = 2**24


@dataclass
class FileStates:
    state: np.ndarray  # (n, hidden) h_t, float32
    input: np.ndarray  # (n, units) x_t = y_t + sigma * eps_t, float32
    output: np.ndarray | None  # (n, units) sigmoid(head(h_t)), float32, when a head was asked for


def _batches(pieces: dict[str, list[np.ndarray]], per_step: int):
    """Piece names in batches of at most ``MAX_ELEMENTS`` hidden-state numbers, longest files first."""
    names = sorted(pieces, key=lambda p: (-max((len(f) for f in pieces[p]), default=0), p))
    batch, size = [], 0
    for name in names:
        n = sum(len(f) for f in pieces[name]) * per_step
        if batch and size + n > MAX_ELEMENTS:
            yield batch
            batch, size = [], 0
        batch.append(name)
        size += n
    if batch:
        yield batch


@torch.no_grad()
def file_states(model, pieces: dict[str, list[np.ndarray]], sigma: float, seed: int,
                head: str | None = None) -> dict[str, list[FileStates]]:
    """``{piece: [FileStates of each file]}`` in ``pieces``' order (files in their order); ``head`` (e.g.
    ``"predict"``) adds that head's probabilities."""
    model.eval()
    out = {}
    for names in _batches(pieces, model.spec["hidden"]):
        padded = Padded.build({p: pieces[p] for p in names}, seed)
        x = padded.inputs(sigma)
        h = model.features(x)
        p = torch.sigmoid(model.heads[head](h)) if head else None
        parts: dict[str, list] = {name: [] for name in names}
        for row, i in enumerate(padded.owner.tolist()):
            n = int(padded.mask[row].sum())
            parts[names[i]].append(FileStates(h[row, :n].numpy(), x[row, :n].numpy(),
                                              None if p is None else p[row, :n].numpy()))
        out.update(parts)
    return {name: out[name] for name in pieces}
