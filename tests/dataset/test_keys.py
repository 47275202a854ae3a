"""The key of every file (bayesbach.dataset.keys): Krumhansl-Schmuckler on scales and chords in known keys, the MIDI
key signature as pretty_midi reads it, the score's key first, and a file that cannot be read again estimated from
its chord steps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pretty_midi
import pyarrow.parquet as pq
import pytest

from bayesbach.core import schemas
from bayesbach.core.registry import KEY_NAMES, KEY_SOURCES
from bayesbach.corpus.manifest import manifest_row, write_manifest
from bayesbach.dataset.keys import (KK_MAJOR, KK_MINOR, estimate_key, file_key, key_profiles, label_files,
                                    pitch_class_durations, signature_key)
from bayesbach.dataset.midi import convert_sources
from bayesbach.dev.synthetic import write_midi

MAJOR_SCALE, MINOR_SCALE = (0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 11)  # the minor one harmonic


def scale_histogram(tonic: int, minor: bool) -> np.ndarray:
    """Seconds per pitch class of a scale played up, its tonic triad held twice as long."""
    scale, triad = (MINOR_SCALE, (0, 3, 7)) if minor else (MAJOR_SCALE, (0, 4, 7))
    h = np.zeros(12)
    for step in scale:
        h[(tonic + step) % 12] += 2.0 if step in triad else 1.0
    return h


@pytest.mark.parametrize("minor", [False, True])
def test_krumhansl_schmuckler_names_the_key_of_every_scale(minor):
    for tonic in range(12):
        index, r = estimate_key(scale_histogram(tonic, minor))
        assert KEY_NAMES[index] == KEY_NAMES[12 * minor + tonic] and 0.7 < r <= 1


def test_a_key_profile_correlates_perfectly_with_its_own_key_and_a_flat_histogram_with_none():
    profiles = key_profiles()
    assert profiles.shape == (24, 12)
    np.testing.assert_array_equal(profiles[0], KK_MAJOR)  # C major: the profile as published
    np.testing.assert_array_equal(profiles[12 + 9], np.roll(KK_MINOR, 9))  # A minor: its tonic rating on A
    for k in (0, 7, 12 + 9, 23):
        assert estimate_key(profiles[k]) == (k, pytest.approx(1.0))
    index, r = estimate_key(np.ones(12))
    assert index == 0 and np.isnan(r)
    with pytest.raises(ValueError, match="12 bins"):
        estimate_key(np.ones(11))


def test_durations_and_the_first_key_signature_are_read_from_a_midi_file(tmp_path: Path):
    # D major cadence: D-F#-A, G-B-D, A-C#-E, D-F#-A; each chord one second, the last two
    path = write_midi(tmp_path / "d.mid", [(62, 0, 1), (66, 0, 1), (69, 0, 1), (67, 1, 2), (71, 1, 2), (74, 1, 2),
                                           (69, 2, 3), (73, 2, 3), (76, 2, 3), (62, 3, 5), (66, 3, 5), (69, 3, 5)],
                      drums=[(36, 0, 5)])
    pm = pretty_midi.PrettyMIDI(str(path))
    durations = pitch_class_durations(pm)
    assert durations[2] == pytest.approx(4.0) and durations[1] == pytest.approx(1.0) and durations[0] == 0  # drums out
    assert signature_key(pm) is None and KEY_NAMES[estimate_key(durations)[0]] == "D major"
    # key signatures: pretty_midi numbers them 0-11 major, 12-23 minor, as KEY_NAMES
    pm.key_signature_changes = [pretty_midi.KeySignature(pretty_midi.key_name_to_key_number("Bb major"), 2.0),
                                pretty_midi.KeySignature(pretty_midi.key_name_to_key_number("G minor"), 0.0)]
    pm.write(str(tmp_path / "g.mid"))
    assert KEY_NAMES[signature_key(pretty_midi.PrettyMIDI(str(tmp_path / "g.mid")))] == "G minor"  # the earliest


def test_the_label_comes_from_the_score_else_the_signature_else_the_estimate():
    assert file_key("A minor", 19, 5) == ("A minor", "score")
    assert file_key(None, 19, 5) == ("G minor", "key_signature")
    assert file_key(None, None, 5) == ("F major", "estimate")
    assert list(KEY_SOURCES) == ["score", "key_signature", "estimate"]


def cadence(tonic: int, minor: bool = False) -> list[tuple[int, float, float]]:
    """i/I - iv/IV - V - i/I in the key, one second per chord, as (pitch, start, end) notes."""
    third = 3 if minor else 4
    chords = [(0, third, 7), (5, 5 + third, 12), (7, 11, 14), (0, third, 7)]
    return [(60 + tonic + p, t, t + 1) for t, chord in enumerate(chords) for p in chord]


def test_label_files_writes_one_row_per_file_of_the_dataset(tmp_path: Path):
    source = tmp_path / "raw/bundled"
    write_midi(source / "bwv1.1.mid", cadence(2))  # D major, no signature: estimated
    write_midi(source / "bwv2.1.mid", cadence(9, minor=True))  # A minor, but its score says C major
    pm = pretty_midi.PrettyMIDI(str(write_midi(source / "bwv3.1.mid", cadence(7))))
    pm.key_signature_changes = [pretty_midi.KeySignature(pretty_midi.key_name_to_key_number("E minor"), 0.0)]
    pm.write(str(source / "bwv3.1.mid"))  # G major notes, an E minor signature: the signature wins
    write_midi(source / "bwv4.1.mid", cadence(5, minor=True))  # F minor; deleted below, after conversion
    score = {1: "H major", 2: "C major"}  # H major is no key name: ignored, and the file estimated
    rows = [manifest_row(source, f"bwv{n}.1.mid", n, "bundled", None, score.get(n)) for n in (1, 2, 3, 4)]
    write_manifest(source, rows, [])
    dataset = tmp_path / "dataset"
    convert_sources([source], dataset, workers=1)
    (source / "bwv4.1.mid").unlink()  # gone since: estimated from its chord steps, not lost

    table = label_files(dataset / "events.parquet", [source], dataset / "file_keys.parquet", workers=1)
    assert table.schema == schemas.FILE_KEYS and pq.read_table(dataset / "file_keys.parquet").equals(table)
    df = table.to_pandas().set_index("file")
    assert list(df.index) == [f"bundled/bwv{n}.1.mid" for n in (1, 2, 3, 4)]
    assert list(df["piece"]) == ["bwv0001", "bwv0002", "bwv0003", "bwv0004"]
    assert list(df["key"]) == ["D major", "C major", "E minor", "F minor"]
    assert list(df["key_source"]) == ["estimate", "score", "key_signature", "estimate"]
    assert list(df["estimate"]) == ["D major", "A minor", "G major", "F minor"]  # recorded for every file
    assert list(df["score_key"].fillna("-")) == ["-", "C major", "-", "-"] and df["signature_key"].isna().sum() == 3
    assert df["correlation"].between(0.5, 1).all()
