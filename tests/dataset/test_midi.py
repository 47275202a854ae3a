"""MIDI to chord events: exact event sequences on synthetic files, and every kind of bad file rejected."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import mido
import numpy as np
import pyarrow.parquet as pq
import pytest

from bayesbach.core import schemas
from bayesbach.dataset import midi
from bayesbach.dev.synthetic import write_midi

C4, E4, G4, B4 = 60, 64, 67, 71


def events(path: Path) -> list[list[int]]:
    """The chord sequence of a file as lists of MIDI pitches."""
    steps = midi.chord_steps(midi.read_midi(path.read_bytes()))
    return [np.flatnonzero(s).tolist() for s in steps]


def mido_bytes(*tracks: list, ticks_per_beat: int = 480) -> bytes:
    """A type-1 file from lists of mido messages (one list per track)."""
    mf = mido.MidiFile(ticks_per_beat=ticks_per_beat)
    for msgs in tracks:
        mf.tracks.append(mido.MidiTrack(msgs))
    buf = io.BytesIO()
    mf.save(file=buf)
    return buf.getvalue()


def test_overlapping_notes_make_a_step_at_every_change(tmp_path):
    f = write_midi(tmp_path / "a.mid", [(C4, 0, 1), (E4, 0.5, 1.5), (G4, 1, 2)])
    assert events(f) == [[C4], [C4, E4], [E4, G4], [G4]]


def test_tracks_are_merged_and_the_same_pitch_in_two_tracks_counts_once(tmp_path):
    f = write_midi(tmp_path / "a.mid", [(C4, 0, 2)], [(G4, 1, 2), (C4, 0.5, 1.5)])
    assert events(f) == [[C4], [C4, G4]]


def test_restruck_note_without_gap_is_one_step_and_silence_is_dropped(tmp_path):
    # C4 re-struck at 1 s: the sounding set does not change, so no new step.
    # Then a rest from 2 s to 3 s: dropped, leaving two equal chords in a row.
    f = write_midi(tmp_path / "a.mid", [(C4, 0, 1), (C4, 1, 2), (C4, 3, 4)])
    assert events(f) == [[C4], [C4]]


def test_leading_and_trailing_silence_is_not_a_step(tmp_path):
    f = write_midi(tmp_path / "a.mid", [(E4, 2, 3), (G4, 2, 3)])
    assert events(f) == [[E4, G4]]


def test_drums_are_ignored(tmp_path):
    f = write_midi(tmp_path / "a.mid", [(C4, 1, 2)], drums=[(36, 0, 3), (42, 0.5, 1.5)])
    assert events(f) == [[C4]]


def test_zero_length_notes_are_ignored(tmp_path):
    f = write_midi(tmp_path / "a.mid", [(C4, 0, 1), (B4, 0.5, 0.5), (E4, 1, 2)])
    assert events(f) == [[C4], [E4]]


def test_tempo_changes_do_not_change_the_chords():
    notes = [
        mido.Message("note_on", note=C4, velocity=80, time=0),
        mido.Message("note_on", note=E4, velocity=80, time=240),
        mido.Message("note_off", note=C4, velocity=0, time=240),
        mido.Message("note_on", note=G4, velocity=80, time=0),
        mido.Message("note_off", note=E4, velocity=0, time=960),
        mido.Message("note_off", note=G4, velocity=0, time=480),
    ]
    steady = mido_bytes([mido.MetaMessage("set_tempo", tempo=500_000)], notes)
    changing = mido_bytes(
        [mido.MetaMessage("set_tempo", tempo=500_000), mido.MetaMessage("set_tempo", tempo=250_000, time=300),
         mido.MetaMessage("set_tempo", tempo=900_000, time=700)],
        notes,
    )
    expected = [[C4], [C4, E4], [E4, G4], [G4]]
    for data in (steady, changing):
        steps = midi.chord_steps(midi.read_midi(data))
        assert [np.flatnonzero(s).tolist() for s in steps] == expected


def test_channels_of_one_track_are_merged():
    track = [
        mido.Message("note_on", channel=0, note=C4, velocity=80, time=0),
        mido.Message("note_on", channel=3, note=G4, velocity=80, time=480),
        mido.Message("note_off", channel=0, note=C4, velocity=0, time=480),
        mido.Message("note_off", channel=3, note=G4, velocity=0, time=480),
    ]
    steps = midi.chord_steps(midi.read_midi(mido_bytes(track)))
    assert [np.flatnonzero(s).tolist() for s in steps] == [[C4], [C4, G4], [G4]]


def test_pitch_class_mask_sets_bit_of_each_pitch_class():
    steps = np.zeros((3, 128), bool)
    steps[0, [C4, E4, G4]] = True  # C major: bits 0, 4, 7
    steps[1, [48, 60, 72]] = True  # three Cs: bit 0 once
    steps[2, [B4, 127]] = True  # B and G9: bits 11 and 7
    assert midi.pitch_class_mask(steps).tolist() == [1 + 16 + 128, 1, 2048 + 128]


def test_convert_writes_the_contracted_tables(tmp_path):
    a = write_midi(tmp_path / "bwv0772_invention.mid", [(C4, 0, 1), (E4, 0.5, 1.5)])
    b = write_midi(tmp_path / "prelude.mid", [(G4, 0, 1)], [(B4, 0, 1)])
    ev, rej = midi.convert([(a.name, a), (b.name, b)], workers=1)
    assert ev.schema == schemas.EVENTS and rej.num_rows == 0
    rows = ev.to_pylist()
    assert [(r["piece"], r["file"], r["step"], r["pitches"], r["pcs"]) for r in rows] == [
        ("bwv0772", "bwv0772_invention.mid", 0, [C4], 1),
        ("bwv0772", "bwv0772_invention.mid", 1, [C4, E4], 1 + 16),
        ("bwv0772", "bwv0772_invention.mid", 2, [E4], 16),
        ("prelude", "prelude.mid", 0, [G4, B4], 128 + 2048),
    ]


def test_parallel_conversion_equals_serial(tmp_path):
    rng = np.random.default_rng(0)
    files = []
    for i in range(12):
        starts = np.sort(rng.uniform(0, 10, 40))
        notes = [(int(p), float(s), float(s + d)) for p, s, d in zip(rng.integers(40, 90, 40), starts, rng.uniform(0.1, 2, 40))]
        files.append((f"f{i}.mid", write_midi(tmp_path / f"f{i}.mid", notes)))
    serial, _ = midi.convert(files, workers=1)
    parallel, _ = midi.convert(files, workers=2)
    assert serial.equals(parallel) and serial.num_rows > 12 * 20


def broken_files(tmp_path: Path) -> dict[str, bytes]:
    good = write_midi(tmp_path / "good.mid", [(C4, 0, 1), (E4, 0.5, 1.5)]).read_bytes()
    key = mido_bytes([mido.MetaMessage("key_signature", key="C"),
                      mido.Message("note_on", note=C4, time=0), mido.Message("note_off", note=C4, time=480)])
    assert b"\xff\x59\x02\x00\x00" in key
    return {
        "page.mid": b"<!DOCTYPE html><html><body>404 not found</body></html>",
        "truncated.mid": good[: len(good) - 9],
        "badchunk.mid": good.replace(b"MTrk", b"MTrX"),
        "badkey.mid": key.replace(b"\xff\x59\x02\x00\x00", b"\xff\x59\x02\x0a\x00"),  # 10 sharps
        "overflow.mid": mido_bytes([mido.Message("note_on", note=C4, time=0),
                                    mido.Message("note_off", note=C4, time=20_000_000)]),
        "silent.mid": mido_bytes([mido.MetaMessage("set_tempo", tempo=400_000)]),
        "drums.mid": write_midi(tmp_path / "drums_src.mid", drums=[(36, 0, 1), (38, 1, 2)]).read_bytes(),
        "good.mid": good,
        "good_copy.mid": good,
    }


def test_every_bad_file_is_rejected_with_its_reason_and_the_good_one_kept(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name, data in broken_files(tmp_path).items():
        (folder / name).write_bytes(data)
    ev, rej = midi.convert([(p.name, p) for p in folder.iterdir()], workers=2)
    reasons = dict(zip(rej.column("file").to_pylist(), rej.column("reason").to_pylist()))
    assert set(ev.column("file").to_pylist()) == {"good.mid"}
    assert reasons["page.mid"].startswith("not a MIDI file")
    assert reasons["truncated.mid"].startswith("truncated")
    assert reasons["badchunk.mid"].startswith("corrupt track chunk")
    assert reasons["badkey.mid"].startswith("invalid key signature")
    assert reasons["overflow.mid"].startswith("tick overflow")
    assert reasons["silent.mid"].startswith("no notes")
    assert reasons["drums.mid"].startswith("only drums")
    assert reasons["good_copy.mid"] == "exact duplicate of good.mid"
    assert len(reasons) == 8


def format0(src: Path, dest: Path, name: str = "") -> Path:
    """``src`` in MIDI format 0: every track merged into one (a track name makes the bytes differ)."""
    mf = mido.MidiFile(src)
    out = mido.MidiFile(type=0, ticks_per_beat=mf.ticks_per_beat)
    out.tracks.append(mido.merge_tracks(mf.tracks))
    out.tracks[0].insert(0, mido.MetaMessage("track_name", name=name))
    out.save(dest)
    return dest


def test_one_recording_in_two_formats_is_kept_once_in_name_order(tmp_path):
    melody, bass = [(C4, 0, 1), (E4, 1, 2), (G4, 2, 3)], [(48, 0, 2), (43, 2, 3)]
    type1 = write_midi(tmp_path / "bwv0846_type1.mid", melody, bass)  # pretty_midi: format 1, a track per part
    type0 = format0(type1, tmp_path / "bwv0846_type0.mid")
    other = format0(type1, tmp_path / "bwv0847.mid", "BWV 847")  # the same chords under another number
    changed = write_midi(tmp_path / "bwv0846_type1b.mid", melody[:2], bass)
    files = [(p.name, p) for p in (type1, type0, other, changed)]
    assert len({p.read_bytes() for _, p in files}) == 4 and mido.MidiFile(type0).type == 0
    for workers in (1, 2):
        ev, rej = midi.convert(files, workers=workers)
        assert rej.to_pylist() == [{"file": "bwv0846_type1.mid",
                                    "reason": "same chord events as bwv0846_type0.mid (one recording, another format)"}]
        assert sorted(set(ev.column("file").to_pylist())) == ["bwv0846_type0.mid", "bwv0846_type1b.mid", "bwv0847.mid"]


def test_convert_sources_fails_clearly_when_no_file_survives(tmp_path):
    from bayesbach.corpus.manifest import manifest_row, write_manifest

    src = tmp_path / "raw" / "bundled"
    src.mkdir(parents=True)
    (src / "bwv1.mid").write_bytes(b"not midi at all")
    write_manifest(src, [manifest_row(src, "bwv1.mid", 1, "bundled", None)], [("bwv2.mxl", "music21 cannot read it")])
    with pytest.raises(midi.NoEvents, match="no usable MIDI file"):
        midi.convert_sources([src], tmp_path / "out", workers=1)
    assert not (tmp_path / "out" / "events.parquet").exists()


def test_convert_sources_carries_source_rejects_over(tmp_path):
    from bayesbach.corpus.manifest import manifest_row, write_manifest

    src = tmp_path / "raw" / "bundled"
    write_midi(src / "bwv1.6.mid", [(C4, 0, 1)])
    (src / "bwv3.1.mid").write_bytes(b"junk")
    write_manifest(src, [manifest_row(src, f, b, "bundled", None) for f, b in [("bwv1.6.mid", 1), ("bwv3.1.mid", 3)]],
                   [("bwv2.1.krn", "music21 cannot convert the score to MIDI (badly formed repeats)")])
    kept, rejected = midi.convert_sources([src], tmp_path / "out", workers=1)
    assert (kept, rejected) == (1, 2)
    rej = pq.read_table(tmp_path / "out" / "rejects.parquet").to_pylist()
    assert [r["file"] for r in rej] == ["bundled/bwv2.1.krn", "bundled/bwv3.1.mid"]
    ev = pq.read_table(tmp_path / "out" / "events.parquet")
    assert set(ev.column("file").to_pylist()) == {"bundled/bwv1.6.mid"}


def test_the_manifest_names_a_files_composition_and_an_older_manifest_leaves_it_to_the_name(tmp_path):
    from bayesbach.corpus.manifest import manifest_row, write_manifest

    src = tmp_path / "raw" / "folder"
    for name, pitch in (("bwv1.mid", C4), ("a.mid", E4), ("b.mid", G4)):
        write_midi(src / name, [(pitch, 0, 1)])
    write_manifest(src, [manifest_row(src, "bwv1.mid", 1, "folder", None, piece="bwv0001"),
                         manifest_row(src, "a.mid", None, "folder", None, piece="Op. 2"),
                         manifest_row(src, "b.mid", None, "folder", None, piece="Op. 2")], [])
    midi.convert_sources([src], tmp_path / "out", workers=1)
    pieces = pq.read_table(tmp_path / "out/events.parquet").to_pandas().groupby("file")["piece"].first().to_dict()
    assert pieces == {"folder/bwv1.mid": "bwv0001", "folder/a.mid": "Op. 2", "folder/b.mid": "Op. 2"}
    old = pq.read_table(src / "manifest.parquet").drop_columns(["piece"])  # written before sources named compositions
    pq.write_table(old, src / "manifest.parquet")
    midi.convert_sources([src], tmp_path / "old", workers=1)
    pieces = pq.read_table(tmp_path / "old/events.parquet").to_pandas().groupby("file")["piece"].first().to_dict()
    assert pieces == {"folder/bwv1.mid": "bwv0001", "folder/a.mid": "a", "folder/b.mid": "b"}


def test_cli_convert_writes_tables_and_reports_rejects(tmp_path):
    folder = tmp_path / "in"
    write_midi(folder / "sub" / "bwv846_prelude.mid", [(C4, 0, 1), (G4, 1, 2)])
    (folder / "broken.mid").write_bytes(b"MThd\x00\x00")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "bayesbach.cli", "convert", "--out", str(out), str(folder)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "1 rejected" in proc.stdout and "broken.mid" in proc.stderr
    ev = pq.read_table(out / "events.parquet").to_pylist()
    assert [(r["piece"], r["pitches"]) for r in ev] == [("bwv0846", [C4]), ("bwv0846", [G4])]
    assert pq.read_table(out / "rejects.parquet").column("file").to_pylist() == ["broken.mid"]


def test_onsets_follow_the_tempo_map_and_a_rest_extends_the_chord_before_it():
    """Two tempo changes (120 -> 60 -> 240 bpm) and a rest: onsets are pretty_midi's note starts; the chord
    before the rest lasts until the next onset (silence is no event), the last until its note ends."""
    track = [mido.MetaMessage("set_tempo", tempo=500000, time=0)]
    track += [mido.Message("note_on", note=C4, velocity=80, time=0), mido.Message("note_off", note=C4, time=480),
              mido.MetaMessage("set_tempo", tempo=1000000, time=0),
              mido.Message("note_on", note=E4, velocity=80, time=0), mido.Message("note_off", note=E4, time=480),
              mido.MetaMessage("set_tempo", tempo=250000, time=0),
              mido.Message("note_on", note=G4, velocity=80, time=480),  # a one-beat rest before G4
              mido.Message("note_off", note=G4, time=480)]
    data = mido_bytes(track)
    pm = midi.read_midi(data)
    starts = sorted(n.start for inst in pm.instruments for n in inst.notes)
    steps, onset, duration = midi.chord_events(pm)
    assert [np.flatnonzero(s).tolist() for s in steps] == [[C4], [E4], [G4]]
    assert onset.dtype == np.float64 and np.allclose(onset, starts) and np.allclose(onset, [0, 0.5, 1.75])
    assert np.allclose(duration, [0.5, 1.25, 0.25])  # E4 sounds 1 s, then 0.25 s of rest until G4
    ev = midi.events_from_bytes("a.mid", data)
    assert np.allclose(ev.onset, onset) and np.allclose(ev.duration, duration)
