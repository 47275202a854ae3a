"""Job outputs written atomically (complete or absent): Parquet tables, JSON metadata, torch state dicts."""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file so that it either exists complete or not at all (a killed job leaves no torso)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_parquet(path: Path, table: pa.Table) -> None:
    buf = pa.BufferOutputStream()
    pq.write_table(table, buf)
    write_atomic(Path(path), buf.getvalue().to_pybytes())


def write_json(path: Path, obj) -> None:
    write_atomic(Path(path), (json.dumps(obj, indent=2) + "\n").encode())


def write_torch(path: Path, obj) -> None:
    """``torch.save`` written atomically; loadable with ``torch.load(..., weights_only=True)``."""
    import torch  # here, not at the top: the workflow imports this package when it plans, torch is slow to load

    buf = io.BytesIO()
    torch.save(obj, buf)
    write_atomic(Path(path), buf.getvalue())
