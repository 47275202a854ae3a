"""The long table of per-piece errors (``errors.parquet``, schema ``schemas.ERRORS``) that every scored
model writes its part of: the networks' evaluation, the references and the generalisation to other
composers. Imports no torch, so that a job scoring only counted models never loads it.

- ``errors_table(bce, model, arch, hidden, noise, run)``: ``{task: {piece: bce}}`` as rows of that table.
"""

from __future__ import annotations

import pyarrow as pa

from bayesbach.core import schemas


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
