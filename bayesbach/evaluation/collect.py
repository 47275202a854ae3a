"""The evaluation's long tables: the per-network and per-reference tables joined into
``errors.parquet``, ``encoding.parquet`` and ``keys.parquet`` (and the other composers' into
``generalisation.parquet``), sorted, so the result does not depend on the order jobs finished in."""

from __future__ import annotations

import logging
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bayesbach.core import schemas
from bayesbach.core.atomic import write_parquet

log = logging.getLogger(__name__)

# Row order of the collected tables: nulls (references have no run) first, then by value.
ERRORS_ORDER = ["model", "arch", "hidden", "noise", "run", "task", "piece"]
ERROR_CODING_ORDER = ["arch", "hidden", "noise", "run", "piece"]
KEYS_ORDER = ["arch", "hidden", "noise", "run", "decoder", "piece", "bin_start"]
GENERALISATION_ORDER = ["corpus", *ERRORS_ORDER]


def collect(paths: list[Path], out: Path, schema: pa.Schema, order: list[str]) -> pa.Table:
    """Concatenate tables of one schema into ``out``, sorted by ``order`` (independent of the input order)."""
    tables = [pq.read_table(p).cast(schema) for p in paths]
    table = pa.concat_tables(tables) if tables else schema.empty_table()
    table = table.sort_by([(c, "ascending", "at_start") for c in order])
    write_parquet(out, table.combine_chunks())
    log.info("%s: %d rows from %d files", out, table.num_rows, len(paths))
    return table


def collect_evaluation(errors: list[Path], coding: list[Path], errors_out: Path, coding_out: Path,
                       keys: list[Path] | None = None, keys_out: Path | None = None) -> None:
    """The collect stage: every network's and reference's errors into ``errors.parquet``, every network's
    encoding rows into ``encoding.parquet`` and, with ``keys_out``, its key-decoding rows into ``keys.parquet``."""
    collect(errors, errors_out, schemas.ERRORS, ERRORS_ORDER)
    collect(coding, coding_out, schemas.ERROR_CODING, ERROR_CODING_ORDER)
    if keys_out is not None:
        collect(keys or [], keys_out, schemas.KEY_DECODING, KEYS_ORDER)


def collect_generalisation(paths: list[Path], out: Path) -> pa.Table:
    """The other composers' long table: every composer's and noise level's rows into ``generalisation.parquet``
    (an empty table when the study names no other composer)."""
    return collect(paths, out, schemas.GENERALISATION, GENERALISATION_ORDER)
