"""The long table of per-piece errors (``errors.parquet``, schema ``schemas.ERRORS``) that every scored
model writes its part of: the networks' evaluation, the references and the generalisation to other
composers. Imports no torch, so that a job scoring only counted models never loads it.

- ``errors_table(bce, model, arch, hidden, noise, run, units=12, bits=None)``: ``{task: {piece: bce}}`` as rows
  of that table; ``bits`` (same shape) defaults to the factorised model's :func:`factorised_bits`.
"""

from __future__ import annotations

import math

import pyarrow as pa

from bayesbach.core import schemas


def factorised_bits(bce: float, units: int) -> float:
    """Bits per chord of independent Bernoulli units: the joint is their product, so -log2 p(chord) is the sum
    of the units' BCE over ln 2, and the study's BCE is a mean over units."""
    return units * bce / math.log(2)


def errors_table(bce: dict[str, dict[str, float]], model: str, arch: str | None, hidden: int | None,
                 noise: float, run: int | None, units: int = 12,
                 bits: dict[str, dict[str, float]] | None = None) -> pa.Table:
    """Rows of ``errors.parquet`` for one model and cell: one per (task, piece). ``units`` per step (the
    encoding's); ``bits`` where the model's joint is not the product of its units' marginals."""
    rows = [(task, piece, value) for task, per_piece in bce.items() for piece, value in per_piece.items()]
    info = [bits[t][p] if bits is not None else factorised_bits(v, units) for t, p, v in rows]
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
            "bits": [float(b) for b in info],
        },
        schema=schemas.ERRORS,
    )
