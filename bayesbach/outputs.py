"""Job outputs written atomically (complete or absent): Parquet tables and JSON metadata."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .corpus import write_atomic


def write_parquet(path: Path, table: pa.Table) -> None:
    buf = pa.BufferOutputStream()
    pq.write_table(table, buf)
    write_atomic(Path(path), buf.getvalue().to_pybytes())


def write_json(path: Path, obj) -> None:
    write_atomic(Path(path), (json.dumps(obj, indent=2) + "\n").encode())
