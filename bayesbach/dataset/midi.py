"""MIDI files to chord event sequences.

A file becomes a sequence of chords: a new step starts whenever the set of
sounding pitches changes (tempo and rhythm dropped), silent steps are dropped,
drums are ignored, all tracks and channels are merged and zero-length notes are
ignored. The sweep over note boundaries is vectorised with NumPy. A file is kept
once: a copy (the same bytes) or a twin (the same chord events in the same
composition) of an earlier file goes to the rejects, naming it. A file's
composition is the one its source's manifest gives (``piece``), else the one its
name gives (:func:`bayesbach.corpus.bwv.piece_for_file`).
"""

from __future__ import annotations

import hashlib
import io
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np
import pretty_midi
import pyarrow as pa
import pyarrow.parquet as pq

from bayesbach.core import schemas
from bayesbach.corpus.bwv import piece_for_file
from bayesbach.corpus.files import midi_paths
from bayesbach.core.exceptions import StudyError
from bayesbach.core.atomic import write_parquet
from bayesbach.core.parallel import pmap

log = logging.getLogger(__name__)

N_PITCHES = 128



class Rejected(Exception):
    """A file that cannot be used; the message is the readable reason."""


class NoEvents(StudyError):
    """No file of the corpus gave a single chord event."""


def read_midi(data: bytes) -> pretty_midi.PrettyMIDI:
    """Parse MIDI bytes, turning every way a file can be broken into :class:`Rejected`."""
    if not data.startswith(b"MThd"):
        raise Rejected("not a MIDI file: it does not start with the 'MThd' header")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            midi = mido.MidiFile(file=io.BytesIO(data))
    except EOFError:
        raise Rejected("truncated MIDI file: the data ends inside a chunk") from None
    except mido.KeySignatureError as e:
        raise Rejected(f"invalid key signature ({e})") from None
    except OSError as e:  # mido reports bad chunk headers as IOError
        raise Rejected(f"corrupt track chunk ({e})") from None
    except Exception as e:  # noqa: BLE001 - anything else mido chokes on is a corrupt file
        raise Rejected(f"unreadable MIDI data ({type(e).__name__}: {e})") from None
    if not any(len(track) for track in midi.tracks):
        raise Rejected("no notes: the file has no MIDI events")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pretty_midi.PrettyMIDI(mido_object=midi)
    except ValueError as e:
        if "likely corrupt" in str(e):
            raise Rejected(f"tick overflow: {e}") from None
        raise Rejected(f"unreadable MIDI data ({e})") from None
    except Exception as e:  # noqa: BLE001
        raise Rejected(f"unreadable MIDI data ({type(e).__name__}: {e})") from None


def chord_steps(pm: pretty_midi.PrettyMIDI) -> np.ndarray:
    """The chord sequence of a parsed file as a boolean matrix (steps x 128 MIDI pitches)."""
    return chord_events(pm)[0]


def chord_events(pm: pretty_midi.PrettyMIDI) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The chord sequence (steps x 128 booleans), each step's onset and duration in seconds.

    Times are pretty_midi's (the file's own tempo map). A silent segment is no step: the chord before a rest
    lasts until the next chord's onset; the last chord lasts until its last note ends.
    """
    notes = [(n.start, n.end, n.pitch) for inst in pm.instruments if not inst.is_drum for n in inst.notes]
    if not notes:
        has_drums = any(inst.notes for inst in pm.instruments if inst.is_drum)
        raise Rejected("only drums: every note is on the percussion channel" if has_drums else "no notes: the file has no pitched notes")
    start, end, pitch = (np.array(col) for col in zip(*notes))
    keep = end > start
    if not keep.any():
        raise Rejected("no notes: every note has zero length")
    start, end, pitch = start[keep], end[keep], pitch[keep].astype(np.intp)

    # Sweep: +1 where a note starts, -1 where it ends; the running sum over the
    # sorted boundaries says which pitches sound in each segment between them.
    times = np.unique(np.concatenate([start, end]))
    delta = np.zeros((len(times), N_PITCHES), np.int32)
    np.add.at(delta, (np.searchsorted(times, start), pitch), 1)
    np.add.at(delta, (np.searchsorted(times, end), pitch), -1)
    sounding = np.cumsum(delta, axis=0)[:-1] > 0  # the last boundary opens no segment

    changed = np.ones(len(sounding), bool)
    changed[1:] = (sounding[1:] != sounding[:-1]).any(axis=1)
    steps, onsets = sounding[changed], times[:-1][changed]
    voiced = steps.any(axis=1)
    steps, onsets = steps[voiced], onsets[voiced]
    durations = np.diff(np.append(onsets, end.max()))
    return steps, onsets.astype(np.float64), durations.astype(np.float64)


def pitch_class_mask(steps: np.ndarray) -> np.ndarray:
    """Pitch-class bitmask (C = bit 0) of each step of a boolean (steps x 128) matrix."""
    pcs = np.zeros(len(steps), np.uint16)
    for pc in range(12):
        pcs |= steps[:, pc::12].any(axis=1).astype(np.uint16) << pc
    return pcs


@dataclass
class FileEvents:
    """The events of one file in columnar form (what a worker sends back)."""

    name: str
    offsets: np.ndarray  # int32, steps + 1: row i's pitches are values[offsets[i]:offsets[i+1]]
    values: np.ndarray  # uint8 MIDI pitches
    pcs: np.ndarray  # uint16
    onset: np.ndarray  # float64 seconds
    duration: np.ndarray  # float64 seconds


def events_from_bytes(name: str, data: bytes) -> FileEvents:
    """Convert one file's bytes; raises :class:`Rejected` with the reason."""
    steps, onset, duration = chord_events(read_midi(data))
    rows, cols = np.nonzero(steps)
    offsets = np.zeros(len(steps) + 1, np.int32)
    np.cumsum(np.bincount(rows, minlength=len(steps)), out=offsets[1:])
    return FileEvents(name, offsets, cols.astype(np.uint8), pitch_class_mask(steps), onset, duration)


def _convert_one(job: tuple[str, bytes]) -> FileEvents | tuple[str, str]:
    name, data = job
    try:
        return events_from_bytes(name, data)
    except Rejected as e:
        return name, str(e)


def convert(files: list[tuple[str, Path]], workers: int | None = None,
            pieces: dict[str, str] | None = None) -> tuple[pa.Table, pa.Table]:
    """Convert ``(name, path)`` pairs into the events and rejects tables.

    ``name`` is what the tables record for the file and, unless ``pieces`` (name
    -> composition, from the sources' manifests) names its composition, what its
    piece is derived from. Files are taken in name order; a file whose bytes equal an earlier
    one's is rejected as a duplicate of it, and so is a file whose chord events
    (the pitches of every step) equal those of an earlier file of the same
    composition: its twin.
    """
    pieces = pieces or {}
    jobs, rejects, seen = [], [], {}
    for name, path in sorted(files):
        try:
            data = Path(path).read_bytes()
        except OSError as e:
            rejects.append((name, f"cannot be read ({e.strerror})"))
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest in seen:
            rejects.append((name, f"exact duplicate of {seen[digest]}"))
            continue
        seen[digest] = name
        jobs.append((name, data))

    kept, first = [], {}
    for result in pmap(_convert_one, jobs, workers):  # in name order, whatever the workers' order
        if not isinstance(result, FileEvents):
            rejects.append(result)
            continue
        # One recording stored twice (MIDI format 0 and 1) differs in bytes, not in its chords.
        chords = (piece_of(result.name, pieces), result.offsets.tobytes(), result.values.tobytes())
        if chords in first:
            rejects.append((result.name, f"same chord events as {first[chords]} (one recording, another format)"))
            continue
        first[chords] = result.name
        kept.append(result)
    return events_table(kept, pieces), schemas.rejects_table(rejects)


def piece_of(name: str, pieces: dict[str, str]) -> str:
    """A file's composition: the one its source gives in ``pieces``, else the one its name gives."""
    return pieces.get(name) or piece_for_file(name)


def events_table(files: list[FileEvents], pieces: dict[str, str] | None = None) -> pa.Table:
    """Concatenate per-file events into the ``events.parquet`` table (``pieces`` as for :func:`convert`)."""
    if not files:
        return schemas.EVENTS.empty_table()
    n = [len(f.pcs) for f in files]
    values = np.concatenate([f.values for f in files])
    bases = np.cumsum([0] + [len(f.values) for f in files])
    offsets = np.concatenate([f.offsets[:-1] + b for f, b in zip(files, bases)] + [bases[-1:]]).astype(np.int32)
    return pa.table(
        {
            "piece": np.repeat([piece_of(f.name, pieces or {}) for f in files], n).astype(object),
            "file": np.repeat([f.name for f in files], n).astype(object),
            "step": np.concatenate([np.arange(k, dtype=np.int32) for k in n]),
            "pitches": pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, pa.uint8())),
            "pcs": np.concatenate([f.pcs for f in files]),
            "onset": np.concatenate([f.onset for f in files]),
            "duration": np.concatenate([f.duration for f in files]),
        },
        schema=schemas.EVENTS,
    )


def midi_files(paths: list[Path]) -> list[tuple[str, Path]]:
    """``(name, path)`` for every .mid/.midi file given or found below the given folders."""
    files = []
    for path in map(Path, paths):
        if path.is_dir():
            files += [(str(p.relative_to(path)), p) for p in midi_paths(path)]
        else:
            files.append((path.name, path))
    return files


def source_files(folders: list[Path]) -> tuple[list[tuple[str, Path]], list[tuple[str, str]]]:
    """The files listed in source folders' manifests as (``<source>/<file>``, path), and their rejects."""
    files, rejects = [], []
    for folder in map(Path, folders):
        for row in pq.read_table(folder / "manifest.parquet", columns=["file"]).to_pylist():
            files.append((f"{folder.name}/{row['file']}", folder / row["file"]))
        if (folder / "rejects.parquet").exists():
            for row in pq.read_table(folder / "rejects.parquet").to_pylist():
                rejects.append((f"{folder.name}/{row['file']}", row["reason"]))
    return files, rejects


def manifest_values(folders: list[Path], column: str) -> dict[str, str]:
    """``{<source>/<file>: value}`` of an optional manifest column, for the files that have one (a manifest written
    before the column existed has none)."""
    out = {}
    for folder in map(Path, folders):
        manifest = pq.read_table(folder / "manifest.parquet")
        if column in manifest.column_names:
            out |= {f"{folder.name}/{row['file']}": row[column]
                    for row in manifest.select(["file", column]).to_pylist() if row[column]}
    return out


def source_pieces(folders: list[Path]) -> dict[str, str]:
    """``{<source>/<file>: composition}`` of the files whose source's manifest names their composition."""
    return manifest_values(folders, "piece")


def write_tables(out_dir: Path, events: pa.Table, rejects: pa.Table) -> None:
    write_parquet(Path(out_dir) / "events.parquet", events)
    write_parquet(Path(out_dir) / "rejects.parquet", rejects)


def convert_sources(folders: list[Path], out_dir: Path, workers: int | None = None) -> tuple[int, int]:
    """The dataset's convert stage: every source's files to ``events.parquet`` and ``rejects.parquet``.

    Rejects of the sources themselves (files they could not produce) are carried
    over, so that every file not used is listed once. Returns (files kept, rejected).
    """
    files, source_rejects = source_files(folders)
    events, rejects = convert(files, workers, source_pieces(folders))
    rejects = pa.concat_tables([rejects, schemas.rejects_table(source_rejects)]).sort_by("file")
    for row in rejects.to_pylist():
        log.warning("rejected %s: %s", row["file"], row["reason"])
    if events.num_rows == 0:
        raise NoEvents(f"no usable MIDI file among the {len(files)} files of {', '.join(map(str, folders))}")
    write_tables(out_dir, events, rejects)
    kept = len(set(events.column("file").to_pylist()))
    log.info("%d files gave %d chord events; %d files rejected", kept, events.num_rows, rejects.num_rows)
    return kept, rejects.num_rows
