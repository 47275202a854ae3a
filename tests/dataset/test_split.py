"""Compositions and their split (bayesbach.dataset.split): one row per BWV number, a split that depends on
the seed and the family's name alone."""

from __future__ import annotations

import zlib

import numpy as np
import pyarrow as pa
import pytest

from bayesbach.core import schemas
from bayesbach.corpus.bwv import piece_for_file
from bayesbach.dataset import split

RATIOS = {"train": 0.7, "validation": 0.1, "test": 0.2}


def fake_events(files: dict[str, int | list[int]]) -> pa.Table:
    """An events table: for each file name, its pitch-class masks, or a number of random chords (drawn from
    the name, so that no two files share chord content by chance); pitches in the octave above C4."""
    rows = []
    for f, steps in files.items():
        if isinstance(steps, int):
            steps = np.random.default_rng(zlib.crc32(f.encode())).integers(1, 4096, steps).tolist()
        rows += [(piece_for_file(f), f, i, [60 + b for b in range(12) if m >> b & 1], m, 0.5 * i, 0.5)
                 for i, m in enumerate(steps)]
    return pa.table(
        {k: [r[j] for r in rows] for j, k in enumerate(["piece", "file", "step", "pitches", "pcs", "onset", "duration"])},
        schema=schemas.EVENTS,
    )


def test_pieces_group_files_by_bwv_and_count_events():
    ev = fake_events({"bwv1.6.mid": 5, "bwv1.2.mid": 3, "bwv2.1.mid": 4, "fugue.mid": 2})
    table = split.make_pieces(ev, 0, {"train": 1.0, "validation": 0.0, "test": 0.0})
    assert table.schema == schemas.PIECES
    assert [(r["piece"], r["bwv"], r["n_files"], r["n_events"], r["family"]) for r in table.to_pylist()] == [
        ("bwv0001", 1, 2, 8, "bwv0001"), ("bwv0002", 2, 1, 4, "bwv0002"), ("fugue", None, 1, 2, "fugue")]


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


def test_a_split_is_empty_when_families_leave_too_few():
    # 40 compositions, one family: one split, whatever the ratios ask.
    ev = fake_events({f"bwv{b}.mid": [1 << (i % 12) for i in range(30)] for b in range(1, 41)})
    with pytest.raises(split.EmptySplit, match=r"split is empty: 40 compositions in 1 families"):
        split.make_pieces(ev, 0, RATIOS)


def test_a_family_goes_to_the_split_of_its_smallest_bwv_number():
    shared = list(range(1, 41))  # bwv175.7 is bwv59.3: one chord sequence under two numbers
    files = {"bwv175.7.mid": shared, "bwv59.3.mid": shared, "bwv59.1.mid": 25}
    files |= {f"bwv{b}.mid": 25 for b in range(200, 260)}  # unrelated compositions
    moved = 0
    for seed in range(12):
        rows = {r["piece"]: r for r in split.make_pieces(fake_events(files), seed, RATIOS).to_pylist()}
        assert rows["bwv0175"]["family"] == rows["bwv0059"]["family"] == "bwv0059"
        assert rows["bwv0175"]["split"] == rows["bwv0059"]["split"] == split.split_of("bwv0059", seed, RATIOS)
        moved += split.split_of("bwv0175", seed, RATIOS) != rows["bwv0175"]["split"]
        # A composition alone in its family keeps the split of its own name.
        assert all(r["family"] == p and r["split"] == split.split_of(p, seed, RATIOS)
                   for p, r in rows.items() if p not in ("bwv0059", "bwv0175"))
    assert moved  # on its own, bwv175 would have gone elsewhere for some seeds


def test_the_split_stage_writes_pieces_parquet(tmp_path):
    import pyarrow.parquet as pq

    ev = fake_events({f"bwv{b}.mid": 3 for b in range(1, 30)})
    pq.write_table(ev, tmp_path / "events.parquet")
    table = split.split_dataset(tmp_path / "events.parquet", tmp_path / "pieces.parquet", 4, RATIOS)
    assert pq.read_table(tmp_path / "pieces.parquet").equals(table)
    assert table.column("split").to_pylist() == [split.split_of(p, 4, RATIOS) for p in table.column("piece").to_pylist()]
