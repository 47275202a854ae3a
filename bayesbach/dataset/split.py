"""Compositions and their split: ``pieces.parquet`` from ``events.parquet``.

A composition ("piece") is every file with one BWV number. Its split is a
deterministic function of the seed and the piece alone, so adding or removing
a piece never moves another one.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bayesbach.core import schemas
from bayesbach.core.atomic import write_parquet
from bayesbach.core.exceptions import StudyError
from bayesbach.core.registry import SPLITS
from bayesbach.core.seeds import derive_seed
from bayesbach.corpus.bwv import bwv_of_piece

log = logging.getLogger(__name__)


class EmptySplit(StudyError):
    """A split that the ratios ask for received no composition."""


def split_of(piece: str, seed: int, ratios: dict[str, float]) -> str:
    """The split of one composition: a uniform number hashed from (seed, piece), cut by the ratios."""
    u = derive_seed(seed, "split", piece) / 2.0**63
    edge = 0.0
    for split in SPLITS:
        edge += ratios[split]
        if u < edge:
            return split
    return SPLITS[-1]  # ratios summing to 1 up to rounding


def make_pieces(events: pa.Table, seed: int, ratios: dict[str, float]) -> pa.Table:
    """The ``pieces.parquet`` table: one row per composition with its split."""
    grouped = events.group_by("piece").aggregate([("file", "count_distinct"), ("step", "count")]).sort_by("piece")
    pieces = grouped.column("piece").to_pylist()
    splits = [split_of(p, seed, ratios) for p in pieces]
    table = pa.table(
        {
            "piece": pieces,
            "bwv": [bwv_of_piece(p) for p in pieces],
            "n_files": grouped.column("file_count_distinct").cast(pa.int32()),
            "n_events": grouped.column("step_count").cast(pa.int64()),
            "split": splits,
        },
        schema=schemas.PIECES,
    )
    for split in SPLITS:
        if ratios[split] > 0 and split not in splits:
            raise EmptySplit(
                f"the {split} split is empty: {len(pieces)} compositions are too few for the ratios "
                f"{ratios} (use more works or other dataset.split ratios)"
            )
    return table


def split_dataset(events: Path, pieces: Path, seed: int, ratios: dict[str, float]) -> pa.Table:
    """The split stage: read ``events.parquet``, write ``pieces.parquet``."""
    table = make_pieces(pq.read_table(events, columns=["piece", "file", "step"]), seed, ratios)
    write_parquet(pieces, table)
    for split in SPLITS:
        rows = table.filter(pc.equal(table["split"], split))
        log.info("%s: %d compositions, %d events", split, rows.num_rows, pc.sum(rows["n_events"]).as_py() or 0)
    return table
