"""Families of compositions (bayesbach.dataset.families): which compositions are joined, on synthetic corpora
whose shared content is known, and on the bundled chorales that Bach re-used under two numbers."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from conftest import REPO
from test_split import RATIOS, fake_events

from bayesbach.core.config import load_schema
from bayesbach.dataset import families, midi, split


def seq(seed: int, n: int) -> list[int]:
    """``n`` random pitch-class masks, the same for the same seed."""
    return np.random.default_rng(seed).integers(1, 4096, n).tolist()


def up(masks: list[int], k: int) -> list[int]:
    """The masks transposed up by ``k`` semitones, computed pitch class by pitch class."""
    return [sum(1 << ((p + k) % 12) for p in range(12) if m >> p & 1) for m in masks]


A, B, C, D, E = (seq(i, 20) for i in range(5))
SHORT = seq(9, 10)
# The cases use 4-grams: A (20 chords) has 17 distinct ones.
CASES = {
    "a chain A~B~C joins transitively; D stays apart": (
        {"bwv1.mid": A, "bwv2.1.mid": A[:14], "bwv2.2.mid": C[:14], "bwv3.mid": C, "bwv4.mid": D},
        [["bwv0001", "bwv0002", "bwv0003"], ["bwv0004"]]),
    "the same pitch-class sequence in a second file joins, though the share is small": (
        {"bwv1.1.mid": A, "bwv1.2.mid": SHORT, "bwv2.1.mid": B + C + D, "bwv2.2.mid": SHORT},
        [["bwv0001", "bwv0002"]]),
    "a share below the threshold does not join (5 of 17)": (
        {"bwv1.mid": A, "bwv2.mid": A[:8] + B}, [["bwv0001"], ["bwv0002"]]),
    "a share above the threshold joins (11 of 17)": (
        {"bwv1.mid": A, "bwv2.mid": A[:14] + B}, [["bwv0001", "bwv0002"]]),
    "n-grams do not cross files": (
        {"bwv2.1.mid": B + A[:2], "bwv2.2.mid": A[2:4] + C, "bwv9.mid": A[:4]}, [["bwv0002"], ["bwv0009"]]),
    "a file shorter than an n-gram joins nothing by its sequence": (
        {"bwv1.1.mid": A, "bwv1.2.mid": A[:3], "bwv2.1.mid": B, "bwv2.2.mid": A[:3]}, [["bwv0001"], ["bwv0002"]]),
    "a stock figure in more compositions than `common` is not shared (6 > 5)": (
        {f"bwv{b}.mid": E + seq(b, 3) for b in range(1, 7)}, [[f"bwv{b:04d}"] for b in range(1, 7)]),
    "... but it is in `common` compositions or fewer (5)": (
        {f"bwv{b}.mid": E + seq(b, 3) for b in range(1, 6)}, [[f"bwv{b:04d}" for b in range(1, 6)]]),
    "a composition and its transposition (a minor seventh up) are one family": (
        {"bwv414.mid": A, "bwv253.mid": up(A, 10), "bwv5.mid": B}, [["bwv0005"], ["bwv0253", "bwv0414"]]),
    "a transposed file joins by its whole sequence, though the share is small": (
        {"bwv1.1.mid": A, "bwv1.2.mid": SHORT, "bwv2.1.mid": B + C + D, "bwv2.2.mid": up(SHORT, 5)},
        [["bwv0001", "bwv0002"]]),
    "a share above the threshold after a transposition joins (11 of 17, 3 semitones)": (
        {"bwv1.mid": A, "bwv2.mid": up(A[:14], 3) + B}, [["bwv0001", "bwv0002"]]),
    "... and one below it does not (5 of 17)": (
        {"bwv1.mid": A, "bwv2.mid": up(A[:8], 3) + B}, [["bwv0001"], ["bwv0002"]]),
    "a passage repeated in another key counts its n-grams once (5 of 10 shared, not 5 of 17)": (
        {"bwv1.mid": A[:10] + up(A[:10], 7), "bwv2.mid": A[:8] + B}, [["bwv0001", "bwv0002"]]),
    "a family is named by its smallest BWV number, pieces without one last": (
        {"fugue.mid": A, "bwv300.mid": A, "bwv1000.mid": A, "aria.mid": B, "canon.mid": B},
        [["aria", "canon"], ["bwv0300", "bwv1000", "fugue"]]),
}


@pytest.mark.parametrize("files, expected", CASES.values(), ids=CASES.keys())
def test_which_compositions_are_joined(files, expected):
    ev = fake_events(files)
    shuffled = ev.take(np.random.default_rng(0).permutation(ev.num_rows))  # row order does not matter
    for table in (ev, shuffled):
        family = families.families(table, ngram=4, share=0.5, common=5)
        groups: dict[str, list[str]] = {}
        for piece in sorted(family):
            groups.setdefault(family[piece], []).append(piece)
        assert sorted(groups.values()) == expected
        assert all(name == families.family_name(members) for name, members in groups.items())


def test_transpose_moves_each_pitch_class_up_and_canonical_forms_are_one_per_key_class():
    masks = np.array(seq(3, 50), np.uint16)
    for k in range(12):
        assert families.transpose(masks, k).tolist() == up(masks.tolist(), k)
    # sequences of different lengths, one after the other; the symmetric ones (all 12, a diminished seventh chord,
    # alone or repeated) test the ties
    sequences = [seq(s, 2 + s % 9) for s in range(40)] + [[4095, 4095], [0b001001001001] * 3, [0b001001001001, 1]]
    bounds = np.cumsum([0] + [len(x) for x in sequences])
    forms = families.canonical(np.concatenate(sequences).astype(np.uint16), bounds)
    pieces = [forms[a:b].tolist() for a, b in zip(bounds[:-1], bounds[1:])]
    # by definition: the smallest of the 12 transpositions, as Python compares lists
    assert pieces == [min(up(x, k) for k in range(12)) for x in sequences]
    for k in range(12):  # every transposition of every sequence has the sequence's own canonical form
        moved = np.concatenate([up(x, k) for x in sequences]).astype(np.uint16)
        np.testing.assert_array_equal(families.canonical(moved, bounds), forms)
    assert len({tuple(x) for x in pieces}) == len(sequences)  # none is a transposition of another


def test_family_name_is_the_smallest_bwv_number():
    assert families.family_name(["bwv0175", "bwv0059"]) == "bwv0059"
    assert families.family_name(["bwv1000", "bwv0999"]) == "bwv0999"
    assert families.family_name(["fugue", "bwv0300", "aria"]) == "bwv0300"
    assert families.family_name(["fugue", "aria"]) == "aria"


def test_defaults_are_the_configs():
    schema = load_schema(REPO / "workflow" / "schemas" / "config.schema.yaml")
    keys = schema["properties"]["dataset"]["properties"]["families"]["properties"]
    assert (keys["ngram"]["default"], keys["share"]["default"]) == (families.NGRAM, families.SHARE)


def test_summary_counts_joined_compositions_and_lists_the_largest_families():
    pieces = pa.table({"piece": ["bwv0001", "bwv0002", "bwv0003", "bwv0004", "bwv0005", "bwv0006"],
                       "family": ["bwv0001", "bwv0001", "bwv0003", "bwv0004", "bwv0004", "bwv0004"],
                       "split": ["test", "test", "train", "validation", "validation", "validation"]})
    assert families.family_summary(pieces, largest=5) == {
        "compositions": 6, "families": 3, "joined": 5, "joined_families": 2,
        "largest": [{"family": "bwv0004", "members": ["bwv0004", "bwv0005", "bwv0006"], "split": "validation"},
                    {"family": "bwv0001", "members": ["bwv0001", "bwv0002"], "split": "test"}]}
    assert len(families.family_summary(pieces, largest=1)["largest"]) == 1


def test_the_split_stage_takes_the_family_settings(tmp_path):
    import pyarrow.parquet as pq

    files = {"bwv1.mid": A, "bwv2.mid": A[:14] + B}  # share of 4-grams 11/17, of 8-grams 7/13
    files |= {f"bwv{b}.mid": 12 for b in range(10, 70)}
    pq.write_table(fake_events(files), tmp_path / "events.parquet")
    for ngram, share, joined in ((4, 0.6, True), (4, 0.7, False), (8, 0.5, True), (8, 0.6, False)):
        table = split.split_dataset(tmp_path / "events.parquet", tmp_path / "pieces.parquet", 0, RATIOS, ngram, share)
        family = dict(zip(table.column("piece").to_pylist(), table.column("family").to_pylist()))
        assert (family["bwv0002"] == "bwv0001") == joined, (ngram, share)


@pytest.mark.slow  # music21 parses four scores
def test_bundled_chorales_reused_under_two_numbers_are_one_family(tmp_path):
    from bayesbach.corpus.bundled import _export_one, bundled_scores

    wanted = {"bwv175.7", "bwv59.3", "bwv274", "bwv62.6"}
    scores = [s for s in bundled_scores()[0] if s.stem in wanted]
    assert {s.stem for s in scores} == wanted
    done = [_export_one((s, s.stem + ".mid", tmp_path)) for s in scores]
    assert all(d.reason is None for d in done)
    ev, rejects = midi.convert([(d.name, tmp_path / d.name) for d in done], workers=1)
    assert rejects.num_rows == 0
    family = families.families(ev)
    assert family["bwv0175"] == family["bwv0059"] == "bwv0059"
    assert family["bwv0274"] == family["bwv0062"] == "bwv0062"
