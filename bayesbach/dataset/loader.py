"""The loader: chord events of one split, one list of file arrays per composition.

Both encodings are derived from the stored events: ``pc12`` (12 pitch classes,
C = 0) and ``pitch`` (128 MIDI pitches); ``bayesbach.core.registry.ENCODINGS``
gives their widths.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bayesbach.core.registry import ENCODINGS, SPLITS


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


def _split_pieces(dataset_dir: Path, split: str) -> list[str]:
    """The compositions of a split, in name order."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    pieces = pq.read_table(Path(dataset_dir) / "pieces.parquet", columns=["piece", "split"])
    return sorted(pieces.filter(pc.equal(pieces["split"], split)).column("piece").to_pylist())


def split_files(dataset_dir: Path, split: str) -> dict[str, list[str]]:
    """The file names (events.parquet's ``file``) of each composition of a split, in :func:`load_split`'s order:
    ``split_files(d, s)[piece][k]`` is the file of ``load_split(d, s)[piece][k]``."""
    names = _split_pieces(dataset_dir, split)
    if not names:
        return {}
    events = pq.read_table(Path(dataset_dir) / "events.parquet", columns=["piece", "file"],
                           filters=[("piece", "in", names)])
    out: dict[str, list[str]] = {}
    for row in events.group_by(["piece", "file"]).aggregate([]).to_pylist():
        out.setdefault(row["piece"], []).append(row["file"])
    return {piece: sorted(out[piece], key=_natural_key) for piece in sorted(out)}


def load_split(dataset_dir: Path, split: str, encoding: str = "pc12") -> dict[str, list[np.ndarray]]:
    """Each composition of a split as its files, keyed by piece in name order.

    A composition is a list of arrays (steps x units, float32), one per file in
    natural name order (movement 2 before 10). Files are never joined here: every
    model scores each file on its own (docs/science.md, "Evaluation"); only the
    trainer's sampler strings them together, with silent steps that carry no loss.
    """
    names = _split_pieces(dataset_dir, split)
    if not names:
        return {}
    events = pq.read_table(Path(dataset_dir) / "events.parquet", filters=[("piece", "in", names)])
    # Order rows by (piece, file in natural order, step), then cut per piece and file.
    files = sorted(set(events.column("file").to_pylist()), key=_natural_key)
    rank = pc.index_in(events["file"], value_set=pa.array(files))
    events = events.append_column("_rank", rank).sort_by([("piece", "ascending"), ("_rank", "ascending"), ("step", "ascending")])
    x = encode(events, encoding)
    piece_col = events.column("piece").to_numpy(zero_copy_only=False)
    rank_col = events.column("_rank").to_numpy()
    out: dict[str, list[np.ndarray]] = {}
    bounds = np.flatnonzero((piece_col[1:] != piece_col[:-1]) | (rank_col[1:] != rank_col[:-1])) + 1
    for s, e in zip(np.r_[0, bounds], np.r_[bounds, len(x)]):
        out.setdefault(piece_col[s], []).append(x[s:e])
    return out


def load_splits(dataset_dir: Path, splits: tuple[str, ...], encoding: str = "pc12") -> dict[str, dict[str, list[np.ndarray]]]:
    """:func:`load_split` for several splits: ``{split: {piece: [file arrays]}}``."""
    return {split: load_split(dataset_dir, split, encoding) for split in splits}


def files_of(pieces: dict[str, list[np.ndarray]]) -> list[np.ndarray]:
    """Every file of every composition, in piece order."""
    return [f for files in pieces.values() for f in files]


def n_steps(pieces: dict[str, list[np.ndarray]]) -> int:
    """Chord events in a split (all files of all compositions)."""
    return sum(len(f) for f in files_of(pieces))
