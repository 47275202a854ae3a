"""Compositions, their split, and the loader that turns chord events into arrays.

A composition ("piece") is every file with one BWV number. Its split is a
deterministic function of the seed and the piece alone, so adding or removing
a piece never moves another one. The loader derives both encodings from the
stored events: ``pc12`` (12 pitch classes, C = 0) and ``pitch`` (128 MIDI pitches).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import tables
from .bwv import bwv_of_piece
from .errors import StudyError
from .outputs import write_parquet
from .seeds import derive_seed

log = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")
ENCODINGS = {"pc12": 12, "pitch": 128}


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
        schema=tables.PIECES,
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


def _natural_key(name: str) -> list:
    """Sort key that puts movement 2 before movement 10."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def encode(events: pa.Table, encoding: str) -> np.ndarray:
    """Multi-hot matrix (steps x units, float32) of an events table in its row order."""
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r}; expected one of {sorted(ENCODINGS)}")
    if encoding == "pc12":
        bits = events.column("pcs").to_numpy().astype(np.int32)
        return ((bits[:, None] >> np.arange(12)) & 1).astype(np.float32)
    lists = events.column("pitches").combine_chunks()
    out = np.zeros((len(lists), 128), np.float32)
    rows = np.repeat(np.arange(len(lists)), np.diff(lists.offsets.to_numpy()))
    out[rows, lists.flatten().to_numpy().astype(np.intp)] = 1.0
    return out


def load_split(dataset_dir: Path, split: str, encoding: str = "pc12", gap: int = 20) -> dict[str, np.ndarray]:
    """Each composition of a split as one array (steps x units, float32), keyed by piece in name order.

    The files of a composition are concatenated in natural name order
    (movement 2 before 10), separated by ``gap`` silent steps.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    dataset_dir = Path(dataset_dir)
    pieces = pq.read_table(dataset_dir / "pieces.parquet", columns=["piece", "split"])
    names = sorted(pieces.filter(pc.equal(pieces["split"], split)).column("piece").to_pylist())
    events = pq.read_table(dataset_dir / "events.parquet", filters=[("piece", "in", names)] if names else None)
    if not names:
        return {}
    # Order rows by (piece, file in natural order, step), then cut per piece and file.
    files = sorted(set(events.column("file").to_pylist()), key=_natural_key)
    rank = pc.index_in(events["file"], value_set=pa.array(files))
    events = events.append_column("_rank", rank).sort_by([("piece", "ascending"), ("_rank", "ascending"), ("step", "ascending")])
    x = encode(events, encoding)
    piece_col = events.column("piece").to_numpy(zero_copy_only=False)
    rank_col = events.column("_rank").to_numpy()
    out = {}
    bounds = np.flatnonzero((piece_col[1:] != piece_col[:-1]) | (rank_col[1:] != rank_col[:-1])) + 1
    starts, ends = np.r_[0, bounds], np.r_[bounds, len(x)]
    silence = np.zeros((gap, x.shape[1]), np.float32)
    for s, e in zip(starts, ends):
        parts = out.setdefault(piece_col[s], [])
        if parts:
            parts.append(silence)
        parts.append(x[s:e])
    return {piece: np.concatenate(parts) for piece, parts in out.items()}
