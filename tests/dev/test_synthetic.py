"""The synthetic data the tests and benchmarks use (bayesbach.dev.synthetic) is what it says it is."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pretty_midi

from bayesbach.core import schemas
from bayesbach.dev import synthetic


def test_periodic_pieces_repeat_with_period_three():
    pieces = synthetic.periodic_pieces(4, np.random.default_rng(0), lo=6, hi=9, files=2)
    assert list(pieces) == ["p0", "p1", "p2", "p3"] and all(len(f) == 2 for f in pieces.values())
    for y in (y for files in pieces.values() for y in files):
        assert y.dtype == np.float32 and y.shape[1] == 12 and 6 <= len(y) < 9
        np.testing.assert_array_equal(y[3:], y[:-3])
        assert not np.array_equal(y[1], y[0]) and y.sum(1).tolist() == [3] * len(y)


def test_write_dataset_writes_the_contracted_tables(tmp_path):
    synthetic.write_dataset(tmp_path, {"train": 2, "validation": 1, "test": 1})
    events, pieces = pq.read_table(tmp_path / "events.parquet"), pq.read_table(tmp_path / "pieces.parquet")
    assert events.schema == schemas.EVENTS and pieces.schema == schemas.PIECES
    assert pieces.column("split").to_pylist() == ["train", "train", "validation", "test"]
    assert pieces.column("n_events").to_pylist() == [
        sum(1 for p in events.column("piece").to_pylist() if p == piece) for piece in pieces.column("piece").to_pylist()]


def test_write_midi_sounds_the_notes_it_is_given(tmp_path):
    path = synthetic.write_midi(tmp_path / "sub/a.mid", [(60, 0, 1), (64, 0.5, 1.5)], drums=[(36, 0, 1)])
    pm = pretty_midi.PrettyMIDI(str(path))
    melodic, drums = [i for i in pm.instruments if not i.is_drum], [i for i in pm.instruments if i.is_drum]
    assert [(n.pitch, round(n.start, 3), round(n.end, 3)) for n in melodic[0].notes] == [(60, 0, 1), (64, 0.5, 1.5)]
    assert [n.pitch for n in drums[0].notes] == [36]


def test_a_known_chain_is_a_stochastic_matrix_into_its_vocabulary():
    rng = np.random.default_rng(1)
    matrix, initial = synthetic.known_chain(rng, units=4, vocab=8, successors=3)
    assert matrix.shape == (16, 16) and np.allclose(matrix.sum(1), 1) and initial.sum() == 1
    vocab = set(np.flatnonzero(initial))
    assert len(vocab) == 8 and all(set(np.flatnonzero(row)) <= vocab and (row > 0).sum() <= 3 for row in matrix)
    pieces = synthetic.sample_chain(rng, matrix, initial, [5, 9], "x")
    assert list(pieces) == ["x000", "x001"] and [[len(y) for y in f] for f in pieces.values()] == [[5], [9]]
    bits = 2 ** np.arange(4)
    for (y,) in pieces.values():
        ids = (y @ bits).astype(int)
        assert ids[0] in vocab and all(matrix[a, b] > 0 for a, b in zip(ids[:-1], ids[1:]))


def test_benchmark_corpora_have_the_asked_sizes():
    corpus = synthetic.random_corpus(5, units=12, seed=0)
    assert len(corpus) == 5 and all(20 <= len(y) <= 4000 and y.shape[1] == 12 for (y,) in corpus.values())
    splits = synthetic.chain_corpus({"train": 3, "test": 2}, units=12, vocab=50, successors=4, seed=0)
    assert [len(v) for v in splits.values()] == [3, 2]
    assert all(y.shape[1] == 12 for v in splits.values() for (y,) in v.values())


def test_a_known_second_order_chain_depends_on_the_chord_before_the_last():
    rng = np.random.default_rng(0)
    tensor, matrix, initial = synthetic.known_chain2(rng, units=3, successors=2)
    np.testing.assert_allclose(tensor.sum(2), 1.0)
    np.testing.assert_allclose(matrix.sum(1), 1.0)
    assert ((tensor > 0).sum(2) == 2).all()  # each pair of chords has its own two successors
    pieces = synthetic.sample_chain(rng, matrix, initial, [200], "p", tensor)
    ids = (pieces["p000"][0] @ (1 << np.arange(3))).astype(int)
    assert all(tensor[a, b, c] > 0 for a, b, c in zip(ids, ids[1:], ids[2:]))


def test_voicing_keeps_the_pitch_classes_and_varies_the_octaves():
    rng = np.random.default_rng(1)
    pc12 = {"p": [synthetic.pc12(synthetic.chords(50))]}  # three chords, over and over
    pitch = synthetic.voice(pc12, rng, octaves=(3, 4, 5))["p"][0]
    assert pitch.shape == (50, 128)
    folded = np.zeros((50, 12))
    np.add.at(folded.T, np.arange(128) % 12, pitch.T)
    np.testing.assert_array_equal(folded > 0, pc12["p"][0] > 0)
    assert len({tuple(np.flatnonzero(r)) for r in pitch}) > 10  # many voicings of the three
