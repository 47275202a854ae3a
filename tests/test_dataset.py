"""Compositions, the split, and the loader."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bayesbach.dataset import DATASET as dataset
from bayesbach.dataset import midi
from bayesbach.corpus.bwv import bwv_from_name, piece_for_file
from conftest import write_midi

RATIOS = {"train": 0.7, "validation": 0.1, "test": 0.2}


def fake_events(files: dict[str, int]) -> pa.Table:
    """An events table with ``n`` one-note steps for each file name."""
    rows = [(piece_for_file(f), f, i, [60 + i % 12], 1 << (i % 12)) for f, n in files.items() for i in range(n)]
    return pa.table(
        {k: [r[j] for r in rows] for j, k in enumerate(["piece", "file", "step", "pitches", "pcs"])},
        schema=schemas.EVENTS,
    )


@pytest.mark.parametrize(
    "name,bwv",
    [("bwv1.6.mid", 1), ("bwv248.12-2.mid", 248), ("BWV_565_Toccata.mid", 565), ("bwv1006a.mid", 1006),
     ("bwv0772.mid", 772), ("riemenschneider001.rntxt", None), ("prelude.mid", None)],
)
def test_bwv_from_file_name(name, bwv):
    assert bwv_from_name(name) == bwv


def test_pieces_group_files_by_bwv_and_count_events():
    ev = fake_events({"bwv1.6.mid": 5, "bwv1.2.mid": 3, "bwv2.1.mid": 4, "fugue.mid": 2})
    rows = dataset.make_pieces(ev, 0, {"train": 1.0, "validation": 0.0, "test": 0.0}).to_pylist()
    assert [(r["piece"], r["bwv"], r["n_files"], r["n_events"]) for r in rows] == [
        ("bwv0001", 1, 2, 8), ("bwv0002", 2, 1, 4), ("fugue", None, 1, 2)]


def test_split_is_a_function_of_seed_and_piece_alone():
    pieces = [f"bwv{i:04d}" for i in range(1, 400)]
    full = {p: dataset.split_of(p, 7, RATIOS) for p in pieces}
    # Removing every third piece, or adding new ones, moves no other piece.
    fewer = fake_events({f"{p}.mid": 1 for p in pieces[::3]})
    more = fake_events({f"{p}.mid": 1 for p in pieces + ["bwv1500", "bwv1501"]})
    for ev in (fewer, more):
        for row in dataset.make_pieces(ev, 7, RATIOS).to_pylist():
            if row["piece"] in full:
                assert row["split"] == full[row["piece"]]
    assert full != {p: dataset.split_of(p, 8, RATIOS) for p in pieces}  # the seed matters


def test_split_proportions_follow_the_ratios():
    splits = [dataset.split_of(f"bwv{i:04d}", 3, RATIOS) for i in range(4000)]
    for name, ratio in RATIOS.items():
        share = splits.count(name) / len(splits)
        assert abs(share - ratio) < 4 * np.sqrt(ratio * (1 - ratio) / len(splits)), (name, share)


def test_no_composition_is_in_two_splits():
    # Many movements per BWV number: all of them share one row and one split.
    ev = fake_events({f"bwv{b}.{m}.mid": 2 for b in range(1, 60) for m in range(1, 5)})
    table = dataset.make_pieces(ev, 11, RATIOS)
    assert table.num_rows == 59 and len(set(table.column("piece").to_pylist())) == 59
    assert set(table.column("n_files").to_pylist()) == {4}


def test_an_empty_split_is_a_clear_error():
    with pytest.raises(dataset.EmptySplit, match="validation split is empty"):
        dataset.make_pieces(fake_events({"bwv1.mid": 1, "bwv2.mid": 1}), 0, {"train": 0.9, "validation": 0.1, "test": 0.0})


@pytest.fixture
def dataset_dir(tmp_path):
    files = {
        "bwv10.10.mid": [(60, 0, 1)],  # movement 10 must come after movement 2
        "bwv10.2.mid": [(62, 0, 1), (66, 1, 2)],
        "bwv20.1.mid": [(64, 0, 1), (76, 0, 1)],
    }
    paths = [(name, write_midi(tmp_path / "midi" / name, notes)) for name, notes in files.items()]
    ev, _ = midi.convert(paths, workers=1)
    out = tmp_path / "dataset"
    midi.write_tables(out, ev, schemas.rejects_table([]))
    dataset.split_dataset(out / "events.parquet", out / "pieces.parquet", 0, {"train": 1.0, "validation": 0.0, "test": 0.0})
    return out


def test_loader_joins_files_in_movement_order_with_silent_gaps(dataset_dir):
    seqs = dataset.load_split(dataset_dir, "train", "pc12", gap=3)
    assert list(seqs) == ["bwv0010", "bwv0020"]
    x = seqs["bwv0010"]
    assert x.dtype == np.float32 and x.shape == (2 + 3 + 1, 12)
    assert [np.flatnonzero(r).tolist() for r in x] == [[2], [6], [], [], [], [0]]
    assert [np.flatnonzero(r).tolist() for r in seqs["bwv0020"]] == [[4]]  # E4 and E5: one pitch class


def test_pitch_encoding_keeps_octaves(dataset_dir):
    x = dataset.load_split(dataset_dir, "train", "pitch", gap=0)["bwv0020"]
    assert x.shape == (1, 128) and np.flatnonzero(x[0]).tolist() == [64, 76]


def test_loader_returns_nothing_for_an_empty_split(dataset_dir):
    assert dataset.load_split(dataset_dir, "test") == {}
    with pytest.raises(ValueError, match="unknown encoding"):
        dataset.encode(pq.read_table(dataset_dir / "events.parquet"), "piano")
