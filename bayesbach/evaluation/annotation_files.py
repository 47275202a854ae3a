"""The files of an annotation (:mod:`bayesbach.evaluation.annotate`): the MIDI stimuli it reads (as the dataset's
converter reads them; the study's test split for the rule), and what it writes: per stimulus a BIDS-style events TSV and its
JSON sidecar describing every column, the time-resolved regressors (TSV, and a MATLAB file for TRF toolboxes), and
the long table of every stimulus (annotations.parquet)."""

from __future__ import annotations

import math
from pathlib import Path
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from bayesbach.core import schemas
from bayesbach.core.layout import SOURCE_DIR
from bayesbach.core.registry import REFERENCES
from bayesbach.dataset.loader import split_files
from bayesbach.dataset.midi import Rejected, events_from_bytes

if TYPE_CHECKING:  # the annotation's types; that module writes through this one
    from bayesbach.evaluation.annotate import Measures, Model



@dataclass
class Stimulus:
    """One usable MIDI file: its chords (pc12, T x 12), their MIDI pitches, onsets and durations (seconds)."""

    name: str  # as given: a file's name, or its path below a folder given
    stem: str  # its files' prefix in OUT
    y: np.ndarray
    pitches: list[list[int]]
    onset: np.ndarray
    duration: np.ndarray


def read_stimuli(files: list[tuple[str, Path]]) -> tuple[list[Stimulus], list[tuple[str, str]]]:
    """The usable MIDI ``files`` (name, path) and the rest as (name, reason), as the dataset's converter judges
    them."""
    stimuli, rejects, stems = [], [], set()
    for name, path in files:
        try:
            events = events_from_bytes(name, Path(path).read_bytes())
        except OSError as e:
            rejects.append((name, f"cannot be read ({e.strerror})"))
            continue
        except Rejected as e:
            rejects.append((name, str(e)))
            continue
        stem = str(Path(name).with_suffix("")).replace("/", "_").replace(" ", "_")
        base, k = stem, 1
        while stem in stems:  # two files of one name in different folders
            k += 1
            stem = f"{base}_{k}"
        stems.add(stem)
        y = ((events.pcs.astype(np.int32)[:, None] >> np.arange(12)) & 1).astype(np.float32)
        pitches = [events.values[a:b].tolist() for a, b in zip(events.offsets[:-1], events.offsets[1:])]
        stimuli.append(Stimulus(name, stem, y, pitches, events.onset, events.duration))
    return stimuli, rejects


def split_stimuli(dataset: Path, split: str = "test") -> list[tuple[str, Path]]:
    """The MIDI files of a split of the study's ``dataset`` as (events.parquet's ``file``, its path below
    data/raw/), composition by composition: what the annotate rule annotates."""
    raw = Path(SOURCE_DIR).parent
    files = split_files(dataset, split)
    return [(name, raw / name) for names in files.values() for name in names]

MEASURES = {  # column prefix -> (long name, description of the model's value, units)
    "ic": ("Information content", "-log2 of the probability {model} gave the chord before it came, from the input "
           "up to the chord before; n/a for a file's first chord (no prediction)", "bits"),
    "entropy": ("Entropy", "entropy of {model}'s prediction of the chord over {over}, before it "
                "came; n/a for a file's first chord", "bits"),
    "surprise": ("Bayesian surprise", "KL divergence of {model}'s posterior over the current chord after hearing it "
                 "from the prior it was updated from (its prediction; bayes_memoryless: its constant prior)", "bits"),
}


def columns(stimulus: Stimulus, models: list[Model], values: dict[str, Measures]) -> dict[str, list]:
    cols: dict[str, list] = {
        "onset": stimulus.onset.tolist(), "duration": stimulus.duration.tolist(),
        "pitches": [" ".join(map(str, p)) for p in stimulus.pitches],
        "pitch_classes": [" ".join(str(k) for k in np.flatnonzero(row)) for row in stimulus.y],
    }
    for m in models:
        v = values[m.name]
        cols[f"ic_{m.name}"], cols[f"entropy_{m.name}"] = v.ic.tolist(), v.entropy.tolist()
        if v.surprise is not None:
            cols[f"surprise_{m.name}"] = v.surprise.tolist()
    return cols


def sidecar(models: list[Model], noise: float) -> dict:
    """The events.json of every stimulus: each column's LongName, Description and Units (BIDS)."""
    out = {
        "onset": {"LongName": "Onset", "Description": "When the chord's set of sounding pitches starts, from the "
                  "file's own tempo map", "Units": "s"},
        "duration": {"LongName": "Duration", "Description": "Until the next chord's onset (a rest is part of the "
                     "chord before it), the last chord until its last note ends", "Units": "s"},
        "pitches": {"LongName": "MIDI pitches", "Description": "The chord's sounding MIDI note numbers, drums left "
                    "out, separated by spaces", "Units": "MIDI note number"},
        "pitch_classes": {"LongName": "Pitch classes", "Description": "The chord's pitch-class set (C = 0), what the "
                          "models see (pc12), separated by spaces", "Units": "pitch class"},
    }
    for m in models:
        what = (f"the network cell {m.name} (architecture, hidden units, training noise; its runs' probes as an "
                f"equal mixture)" if m.kind == "network" else f"the reference {m.name} ({REFERENCES[m.name].label})")
        for prefix, (long, description, units) in MEASURES.items():
            if prefix == "surprise" and not m.observer:
                continue
            out[f"{prefix}_{m.name}"] = {"LongName": f"{long}, {m.name}",
                                         "Description": description.format(model=what, over=m.over) + f"; input noise sigma = "
                                                                                          f"{noise!r}",
                                         "Units": units}
    return out


def _tsv_value(v) -> str:
    if isinstance(v, str):
        return v
    return "n/a" if v is None or not math.isfinite(v) else f"{v:.10g}"


def write_tsv(path: Path, cols: dict[str, list]) -> None:
    lines = ["\t".join(cols)]
    lines += ["\t".join(_tsv_value(cols[c][i]) for c in cols) for i in range(len(cols["onset"]))]
    path.write_text("\n".join(lines) + "\n")


def regressors(stimulus: Stimulus, cols: dict[str, list], rate: float) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Sample times (s) and, per measure column, impulses at the onsets scaled by it (0 elsewhere and where the
    measure is n/a; two onsets in one sample add)."""
    end = float(stimulus.onset[-1] + stimulus.duration[-1]) if len(stimulus.onset) else 0.0
    n = int(math.floor(end * rate)) + 1
    at = np.minimum(np.round(stimulus.onset * rate).astype(np.int64), n - 1)
    out = {}
    for c, values in cols.items():
        if c.split("_")[0] in MEASURES:
            v = np.nan_to_num(np.asarray(values, np.float64))
            out[c] = np.bincount(at, v, minlength=n)
    return np.arange(n) / rate, out


def write_regressors(out: Path, stimulus: Stimulus, cols: dict, rate: float, mat: bool) -> list[Path]:
    times, series = regressors(stimulus, cols, rate)
    path = out / f"{stimulus.stem}_regressors.tsv"
    write_tsv(path, {"onset": times.tolist(), **{c: v.tolist() for c, v in series.items()}})
    files = [path]
    if mat:
        from scipy.io import savemat

        mpath = out / f"{stimulus.stem}_regressors.mat"
        savemat(mpath, {"fs": float(rate), "time": times, "names": np.array(list(series), dtype=object),
                        "regressors": np.stack(list(series.values()), 1) if series else np.zeros((len(times), 0))})
        files.append(mpath)
    return files


def long_table(stimuli: list[Stimulus], models: list[Model], values: dict[str, dict[str, Measures]]) -> pa.Table:
    """annotations.parquet: one row per stimulus, step and model."""
    parts = []
    for s in stimuli:
        steps = len(s.y)
        for m in models:
            v = values[m.name][s.stem]
            parts.append({"file": [s.name] * steps, "step": np.arange(steps, dtype=np.int32), "onset": s.onset,
                          "duration": s.duration, "model": [m.name] * steps, "ic_bits": v.ic,
                          "entropy_bits": v.entropy,
                          "surprise_bits": v.surprise if v.surprise is not None else np.full(steps, np.nan)})
    if not parts:
        return schemas.ANNOTATIONS.empty_table()
    return pa.concat_tables([pa.table(p, schema=schemas.ANNOTATIONS) for p in parts])
