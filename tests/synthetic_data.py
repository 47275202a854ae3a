"""Tiny synthetic datasets for the training tests: periodic chord sequences written in the
contracted ``events.parquet`` / ``pieces.parquet`` form, or held in memory as arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bayesbach import tables

# I - IV - V - I ...: period 3, so the next chord is a function of the current one.
PROGRESSION = [(60, 64, 67), (65, 69, 72), (67, 71, 74)]


def chords(n: int, phase: int = 0) -> list[tuple[int, ...]]:
    return [PROGRESSION[(phase + t) % len(PROGRESSION)] for t in range(n)]


def pc12(seq: list[tuple[int, ...]]) -> np.ndarray:
    y = np.zeros((len(seq), 12), np.float32)
    for t, chord in enumerate(seq):
        y[t, [p % 12 for p in chord]] = 1
    return y


def periodic_pieces(n: int, rng: np.random.Generator, lo: int = 20, hi: int = 60, prefix: str = "p") -> dict[str, np.ndarray]:
    """``n`` pieces of random length and phase, keyed like the loader's output."""
    return {f"{prefix}{i}": pc12(chords(int(rng.integers(lo, hi)), int(rng.integers(3)))) for i in range(n)}


def write_dataset(folder: Path, splits: dict[str, int], seed: int = 0) -> Path:
    """``events.parquet`` and ``pieces.parquet`` of periodic pieces: ``splits`` = pieces per split."""
    rng = np.random.default_rng(seed)
    rows, pieces = [], []
    bwv = 1
    for split, count in splits.items():
        for _ in range(count):
            piece = f"bwv{bwv:04d}"
            n_events = 0
            for f in range(2):  # two files per composition: the loader joins them with a gap
                seq = chords(int(rng.integers(15, 40)), int(rng.integers(3)))
                rows += [{"piece": piece, "file": f"{piece}_{f}.mid", "step": t, "pitches": list(c),
                          "pcs": sum(1 << (p % 12) for p in set(c))} for t, c in enumerate(seq)]
                n_events += len(seq)
            pieces.append({"piece": piece, "bwv": bwv, "n_files": 2, "n_events": n_events, "split": split})
            bwv += 1
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=tables.EVENTS), folder / "events.parquet")
    pq.write_table(pa.Table.from_pylist(pieces, schema=tables.PIECES), folder / "pieces.parquet")
    return folder
