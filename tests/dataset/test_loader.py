"""The loader (bayesbach.dataset.loader): one list of file arrays per composition, in movement order, both encodings."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from bayesbach.core import schemas
from bayesbach.dataset import loader, midi, split
from bayesbach.dev.synthetic import write_midi


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
    split.split_dataset(out / "events.parquet", out / "pieces.parquet", 0, {"train": 1.0, "validation": 0.0, "test": 0.0})
    return out


def test_loader_keeps_each_file_on_its_own_in_movement_order(dataset_dir):
    seqs = loader.load_split(dataset_dir, "train", "pc12")
    assert list(seqs) == ["bwv0010", "bwv0020"]
    files = seqs["bwv0010"]
    assert [f.dtype for f in files] == [np.float32] * 2 and [f.shape for f in files] == [(2, 12), (1, 12)]
    assert [[np.flatnonzero(r).tolist() for r in f] for f in files] == [[[2], [6]], [[0]]]  # no silent filler
    assert [np.flatnonzero(r).tolist() for r in seqs["bwv0020"][0]] == [[4]]  # E4 and E5: one pitch class
    assert loader.n_steps(seqs) == 4


def test_pitch_encoding_keeps_octaves(dataset_dir):
    x = loader.load_split(dataset_dir, "train", "pitch")["bwv0020"][0]
    assert x.shape == (1, 128) and np.flatnonzero(x[0]).tolist() == [64, 76]


def test_loader_returns_nothing_for_an_empty_split(dataset_dir):
    assert loader.load_split(dataset_dir, "test") == {}
    with pytest.raises(ValueError, match="unknown encoding"):
        loader.encode(pq.read_table(dataset_dir / "events.parquet"), "piano")
    with pytest.raises(ValueError, match="unknown split"):
        loader.load_split(dataset_dir, "training")


def test_load_splits_is_load_split_per_split(dataset_dir):
    both = loader.load_splits(dataset_dir, ("train", "test"), "pc12")
    assert list(both) == ["train", "test"] and both["test"] == {}
    for piece, files in loader.load_split(dataset_dir, "train", "pc12").items():
        for a, b in zip(both["train"][piece], files, strict=True):
            np.testing.assert_array_equal(a, b)
