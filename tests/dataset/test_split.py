"""Compositions and their split (bayesbach.dataset.split): one row per BWV number, a split that depends on
the seed and the piece alone."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from bayesbach.core import schemas
from bayesbach.corpus.bwv import piece_for_file
from bayesbach.dataset import split

RATIOS = {"train": 0.7, "validation": 0.1, "test": 0.2}


def fake_events(files: dict[str, int]) -> pa.Table:
    """An events table with ``n`` one-note steps for each file name."""
    rows = [(piece_for_file(f), f, i, [60 + i % 12], 1 << (i % 12)) for f, n in files.items() for i in range(n)]
    return pa.table(
        {k: [r[j] for r in rows] for j, k in enumerate(["piece", "file", "step", "pitches", "pcs"])},
        schema=schemas.EVENTS,
    )


def test_pieces_group_files_by_bwv_and_count_events():
    ev = fake_events({"bwv1.6.mid": 5, "bwv1.2.mid": 3, "bwv2.1.mid": 4, "fugue.mid": 2})
    table = split.make_pieces(ev, 0, {"train": 1.0, "validation": 0.0, "test": 0.0})
    assert table.schema == schemas.PIECES
    assert [(r["piece"], r["bwv"], r["n_files"], r["n_events"]) for r in table.to_pylist()] == [
        ("bwv0001", 1, 2, 8), ("bwv0002", 2, 1, 4), ("fugue", None, 1, 2)]


def test_split_is_a_function_of_seed_and_piece_alone():
    pieces = [f"bwv{i:04d}" for i in range(1, 400)]
    full = {p: split.split_of(p, 7, RATIOS) for p in pieces}
    # Removing every third piece, or adding new ones, moves no other piece.
    fewer = fake_events({f"{p}.mid": 1 for p in pieces[::3]})
    more = fake_events({f"{p}.mid": 1 for p in pieces + ["bwv1500", "bwv1501"]})
    for ev in (fewer, more):
        for row in split.make_pieces(ev, 7, RATIOS).to_pylist():
            if row["piece"] in full:
                assert row["split"] == full[row["piece"]]
    assert full != {p: split.split_of(p, 8, RATIOS) for p in pieces}  # the seed matters


def test_split_proportions_follow_the_ratios():
    splits = [split.split_of(f"bwv{i:04d}", 3, RATIOS) for i in range(4000)]
    for name, ratio in RATIOS.items():
        share = splits.count(name) / len(splits)
        assert abs(share - ratio) < 4 * np.sqrt(ratio * (1 - ratio) / len(splits)), (name, share)


def test_no_composition_is_in_two_splits():
    # Many movements per BWV number: all of them share one row and one split.
    ev = fake_events({f"bwv{b}.{m}.mid": 2 for b in range(1, 60) for m in range(1, 5)})
    table = split.make_pieces(ev, 11, RATIOS)
    assert table.num_rows == 59 and len(set(table.column("piece").to_pylist())) == 59
    assert set(table.column("n_files").to_pylist()) == {4}


def test_an_empty_split_is_a_clear_error():
    with pytest.raises(split.EmptySplit, match="validation split is empty"):
        split.make_pieces(fake_events({"bwv1.mid": 1, "bwv2.mid": 1}), 0, {"train": 0.9, "validation": 0.1, "test": 0.0})


def test_the_split_stage_writes_pieces_parquet(tmp_path):
    import pyarrow.parquet as pq

    ev = fake_events({f"bwv{b}.mid": 3 for b in range(1, 30)})
    pq.write_table(ev, tmp_path / "events.parquet")
    table = split.split_dataset(tmp_path / "events.parquet", tmp_path / "pieces.parquet", 4, RATIOS)
    assert pq.read_table(tmp_path / "pieces.parquet").equals(table)
    assert table.column("split").to_pylist() == [split.split_of(p, 4, RATIOS) for p in table.column("piece").to_pylist()]
