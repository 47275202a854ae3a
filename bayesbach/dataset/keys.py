"""The key of every file of the dataset (``results/dataset/file_keys.parquet``), with where the label comes from.

A file's label (one of ``registry.KEY_NAMES``) comes from the first source that has one
(``registry.KEY_SOURCES``):

1. ``score``: music21's key analysis of the score the file was exported from (the manifest's
   ``key``; the bundled corpora, :func:`bayesbach.corpus.bundled.score_key`);
2. ``key_signature``: the MIDI file's first key-signature event (pretty_midi's
   ``key_signature_changes``, which carry the mode, 0-11 major and 12-23 minor);
3. ``estimate``: the Krumhansl-Schmuckler estimate (:func:`estimate_key`) from the file's
   duration-weighted pitch-class histogram (all pitched notes, drums ignored).

The Krumhansl-Schmuckler estimate is recorded for every file (``estimate``, ``correlation``), beside the
score's and the signature's keys where they exist, so the page can say how often the sources agree.
A file in events.parquet whose MIDI cannot be read again (moved, changed) is estimated from its chord
steps in events.parquet instead (each step's pitch classes weighted 1): never a crash, never a file lost.

Public interface: ``KK_MAJOR``, ``KK_MINOR``, ``key_profiles``, ``estimate_key``, ``pitch_class_durations``,
``signature_key``, ``file_key``, ``step_histograms``, ``label_files``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bayesbach.core import schemas
from bayesbach.core.atomic import write_parquet
from bayesbach.core.exceptions import StudyError
from bayesbach.core.parallel import pmap
from bayesbach.core.registry import KEY_NAMES
from bayesbach.dataset.midi import Rejected, manifest_values, read_midi, source_files

log = logging.getLogger(__name__)

# Krumhansl & Kessler (1982) probe-tone ratings of the 12 pitch classes above the tonic, major and minor keys.
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


class NoFiles(StudyError):
    """events.parquet names no file to label."""


def key_profiles() -> np.ndarray:
    """(24, 12): the profile of each key of ``KEY_NAMES`` over pitch classes C..B (its tonic's rating at the tonic)."""
    pcs = np.arange(12)
    return np.array([profile[(pcs - tonic) % 12] for profile in (KK_MAJOR, KK_MINOR) for tonic in range(12)])


def estimate_key(histogram: np.ndarray) -> tuple[int, float]:
    """Krumhansl-Schmuckler: (index in ``KEY_NAMES``, Pearson r) of the key profile that correlates best with a
    12-bin pitch-class histogram; ties go to the lower index. A flat or empty histogram correlates with no key:
    (0, NaN), C major by convention."""
    h = np.asarray(histogram, float)
    if h.shape != (12,):
        raise ValueError(f"a pitch-class histogram has 12 bins, not {h.shape}")
    if np.ptp(h) == 0:
        return 0, float("nan")
    profiles = key_profiles()
    hc, pc_ = h - h.mean(), profiles - profiles.mean(1, keepdims=True)
    r = pc_ @ hc / (np.linalg.norm(pc_, axis=1) * np.linalg.norm(hc))
    best = int(np.argmax(r))
    return best, float(r[best])


def pitch_class_durations(pm) -> np.ndarray:
    """Seconds each pitch class sounds in a parsed MIDI file (pretty_midi), summed over its pitched notes."""
    out = np.zeros(12)
    for inst in pm.instruments:
        if not inst.is_drum:
            for n in inst.notes:
                out[n.pitch % 12] += max(n.end - n.start, 0.0)
    return out


def signature_key(pm) -> int | None:
    """Index in ``KEY_NAMES`` of the file's first key-signature event (the earliest; None without one).

    pretty_midi's ``key_number`` is 0-11 for major and 12-23 for minor keys on tonic C..B: the same order."""
    changes = sorted(pm.key_signature_changes, key=lambda k: k.time)  # stable: the first event of a time
    return int(changes[0].key_number) if changes else None


def file_key(score_key: str | None, signature: int | None, estimate: int) -> tuple[str, str]:
    """(label, source) of a file from the keys its sources give (``KEY_SOURCES`` order of preference)."""
    if score_key is not None:
        return score_key, "score"
    if signature is not None:
        return KEY_NAMES[signature], "key_signature"
    return KEY_NAMES[estimate], "estimate"


def _label_one(job: tuple[str, str, Path | None, str | None, np.ndarray]) -> dict:
    """One file's row of ``FILE_KEYS``; ``steps`` is its step-weighted histogram, the fallback of an unreadable file
    (``path`` None: in no manifest)."""
    name, piece, path, score, steps = job
    signature, histogram = None, steps
    if path is not None:
        try:
            pm = read_midi(Path(path).read_bytes())
            signature, histogram = signature_key(pm), pitch_class_durations(pm)
        except (Rejected, OSError) as e:
            log.warning("%s: MIDI not readable again (%s); its key is estimated from its chord steps", name, e)
    if not histogram.any():  # only zero-length notes: the chord steps are all there is
        histogram = steps
    estimate, r = estimate_key(histogram)
    key, source = file_key(score, signature, estimate)
    return {"file": name, "piece": piece, "key": key, "key_source": source, "score_key": score,
            "signature_key": None if signature is None else KEY_NAMES[signature], "estimate": KEY_NAMES[estimate],
            "correlation": r}


def _score_keys(folders: list[Path]) -> dict[str, str]:
    """``{<source>/<file>: key}`` of the manifests' score keys; a value that is no key name is ignored, loudly."""
    keys = manifest_values(folders, "key")
    for name in sorted(n for n, k in keys.items() if k not in KEY_NAMES):
        log.warning("%s: the manifest's key %r is no key name; ignored", name, keys.pop(name))
    return keys


def step_histograms(events: pa.Table) -> dict[str, tuple[str, np.ndarray]]:
    """``{file: (piece, steps per pitch class)}`` of an events table (each chord step counts once per pitch class)."""
    files = events.column("file").to_numpy(zero_copy_only=False)
    bits = (events.column("pcs").to_numpy().astype(np.int64)[:, None] >> np.arange(12)) & 1
    names, first, inverse = np.unique(files, return_index=True, return_inverse=True)
    sums = np.zeros((len(names), 12))
    np.add.at(sums, inverse, bits)
    pieces = events.column("piece").to_numpy(zero_copy_only=False)
    return {name: (pieces[i], sums[k]) for k, (name, i) in enumerate(zip(names, first))}


def label_files(events_path: Path, folders: list[Path], out: Path, workers: int | None = None) -> pa.Table:
    """The key-label stage: every file of ``events.parquet`` (its MIDI found through the source folders'
    manifests) -> ``file_keys.parquet`` (``schemas.FILE_KEYS``, sorted by file); returns the table."""
    events = pq.read_table(events_path, columns=["piece", "file", "pcs"])
    if events.num_rows == 0:
        raise NoFiles(f"{events_path} holds no chord event: no file to label")
    hist = step_histograms(events)
    paths = dict(source_files(folders)[0])
    scores = _score_keys(folders)
    missing = sorted(set(hist) - set(paths))
    if missing:
        log.warning("%d files of events.parquet are in no source manifest (first: %s); their keys come from their "
                    "chord steps", len(missing), missing[0])
    jobs = [(name, piece, paths.get(name), scores.get(name), steps)
            for name, (piece, steps) in sorted(hist.items())]
    rows = list(pmap(_label_one, jobs, workers))
    table = pa.Table.from_pylist(rows, schema=schemas.FILE_KEYS)
    write_parquet(out, table)
    counts = table.group_by("key_source").aggregate([("file", "count")]).to_pylist()
    log.info("%d files labelled: %s", table.num_rows,
             ", ".join(f"{c['file_count']} from {c['key_source']}" for c in counts))
    return table

