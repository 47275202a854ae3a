"""A network's hidden states on every file of some compositions, each file on its own (state from zero, as in
scoring), with the study's common-random-numbers noise; what the evaluation's read-outs are fitted on.

Public interface: ``FileStates`` (h, x and optionally p and the whole recurrent state of one file),
``file_states(model, pieces, sigma, seed, head=None, memory=False)``, ``recurrent_memory``.
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
    memory: np.ndarray | None = None  # (n, m) the whole recurrent state after step t (recurrent_memory), when asked


def recurrent_memory(model, x: torch.Tensor) -> torch.Tensor:
    """The network's whole recurrent state after each step, (batch, steps, m), from a zero state: what the next step
    depends on. A one-layer Elman RNN or GRU: h_t itself (``features``). Otherwise, stepped through time: every
    layer's h_t, first to last, then, for an LSTM, every layer's cell state c_t, which h_t does not hold."""
    core = model.core
    lstm = isinstance(core, torch.nn.LSTM)
    if not lstm and core.num_layers == 1:
        return model.features(x)
    state, steps = None, []
    for t in range(x.shape[1]):
        _, state = core(x[:, t:t + 1], state)
        parts = state if lstm else (state,)  # each (layers, batch, hidden)
        steps.append(torch.cat([part.transpose(0, 1).reshape(x.shape[0], -1) for part in parts], dim=1))
    return torch.stack(steps, dim=1)


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
                head: str | None = None, memory: bool = False) -> dict[str, list[FileStates]]:
    """``{piece: [FileStates of each file]}`` in ``pieces``' order (files in their order); ``head`` (e.g.
    ``"predict"``) adds that head's probabilities, ``memory`` the whole recurrent state (:func:`recurrent_memory`)."""
    model.eval()
    out = {}
    width = model.spec["hidden"] * (1 + (2 * model.spec.get("layers", 1) if memory else 0))
    for names in _batches(pieces, width):
        padded = Padded.build({p: pieces[p] for p in names}, seed)
        x = padded.inputs(sigma)
        h = model.features(x)
        p = torch.sigmoid(model.heads[head](h)) if head else None
        m = recurrent_memory(model, x) if memory else None
        parts: dict[str, list] = {name: [] for name in names}
        for row, i in enumerate(padded.owner.tolist()):
            n = int(padded.mask[row].sum())
            parts[names[i]].append(FileStates(h[row, :n].numpy(), x[row, :n].numpy(),
                                              None if p is None else p[row, :n].numpy(),
                                              None if m is None else m[row, :n].numpy()))
        out.update(parts)
    return {name: out[name] for name in pieces}
