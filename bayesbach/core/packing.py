"""Which networks of the sweep train together (``train.pack``): one job per pack.

A pack is K cells ``(noise, run)`` of one architecture and size, trained in one
process as one block-diagonal model (:mod:`bayesbach.networks.models`), each cell
exactly as it would train alone. Small recurrent networks are latency-bound: a
step of 8 or 16 units costs little more than the per-step overhead around it, so K
of them side by side cost about as much as one until the packed width ``K *
hidden`` makes the step compute-bound. Since the packed weights are dense
(block-diagonal, the off-diagonal blocks zero), a step's work grows as K^2, so
``auto`` caps the packed width per device (``PACK_WIDTH``):

- CPU: the packed width up to which packing was measured to pay on one thread at
  64 x 64 batches (``bayesbach bench train --pack K``). A packed step costs about what
  one network as wide costs, so the gain grows up to that width and then flattens or
  falls. The figures: docs/performance.md, "Packed training".
- CUDA: an estimate until measured on a GPU: the width at which a step's arithmetic
  at 512 x 512 batches equals its latency under the cost model of
  :mod:`bayesbach.core.resources` (``sqrt(latency * flops / (18 * 512))``, about 256;
  docs/performance.md, "Never measured").

``auto`` packs ``PACK_WIDTH // hidden`` cells (at least one); an integer packs that
many. Cells are taken run by run (all noise levels of run 0, then of run 1, ...) in
consecutive packs, so adding runs leaves every full pack as it was: only the last,
partial pack and the new ones train.
"""

from __future__ import annotations

from dataclasses import dataclass

PACK_WIDTH = {"cpu": 64, "cuda": 256}  # packed hidden units per job under pack: auto
# Networks per evaluation job under pack: auto (an integer pack is kept): its start-up and the observer's posterior
# means, shared by the networks of one noise level, cost about as much as scoring a network, whatever its size.
EVALUATION_PACK = 4


@dataclass(frozen=True)
class Pack:
    arch: str
    hidden: int
    index: int  # the pack's place among those of its architecture and size
    cells: tuple[tuple[float, int], ...]  # (noise, run) of each network, in the pack's order

    @property
    def name(self) -> str:
        return f"{self.arch}_h{self.hidden}_p{self.index}"


def pack_size(pack: int | str, hidden: int, device: str) -> int:
    """Networks per job: ``pack`` itself, or under ``auto`` as many as ``PACK_WIDTH[device]`` units hold."""
    if pack == "auto":
        return max(1, PACK_WIDTH[device] // int(hidden))
    if not isinstance(pack, int) or pack < 1:
        raise ValueError(f"train.pack must be 'auto' or a positive integer, not {pack!r}")
    return pack


def packs(sweep: dict, pack: int | str, device: str) -> list[Pack]:
    """Every pack of the sweep (``sweep:`` of the config) under ``train.pack`` on ``device`` (cpu or cuda)."""
    out = []
    for arch in sweep["arch"]:
        for hidden in sweep["hidden"]:
            cells = [(float(noise), run) for run in range(sweep["runs"]) for noise in sweep["noise"]]
            k = pack_size(pack, hidden, device)
            out += [Pack(arch, int(hidden), i, tuple(cells[start:start + k]))
                    for i, start in enumerate(range(0, len(cells), k))]
    return out
