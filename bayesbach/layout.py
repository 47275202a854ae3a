"""Names of the report stage's outputs that the workflow plans with, kept free of heavy imports
(matplotlib, torch) so that planning a study stays fast.

- ``FIGURES``: ``results/figures/{name}.png`` (and ``.pdf``), drawn by :mod:`bayesbach.figures`.
- ``KINDS``: ``results/listen/s{noise}/{kind}.mid``, written by :mod:`bayesbach.listen`.
- ``example_network(sweep)``: the network the example excerpt and the listening files come from.
"""

from __future__ import annotations

FIGURES = ("ladder", "decoding", "sweep", "training", "example", "encoding", "architectures")
KINDS = ("clean", "noisy", "decoded", "predicted")


def example_network(sweep: dict) -> tuple[str, int, int]:
    """(arch, hidden, run) of the example network: GRU when swept (the study's core), the largest size, run 0."""
    arch = "gru" if "gru" in sweep["arch"] else sweep["arch"][0]
    return arch, max(sweep["hidden"]), 0
