"""Corpus sources: where the MIDI files come from, and their manifests.

Every source writes ``data/raw/<source>/`` with the MIDI files, a
``manifest.parquet`` (one row per kept file) and a ``rejects.parquet`` (files
the source could not turn into MIDI, with the reason). This module holds the
manifest contract and the ``bundled`` source: the Bach scores that ship inside
music21, exported to MIDI.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from pathlib import Path

import pyarrow as pa

from . import tables
from .bwv import bwv_from_name
from .outputs import write_atomic, write_parquet
from .parallel import pmap

log = logging.getLogger(__name__)

SOURCES = ("bundled", "web")
# music21 ships these next to the scores: roman-numeral analyses, not music.
_NOT_SCORES = {".rntxt"}
# When a score ships in several encodings, the first of these is exported.
_PREFERRED = (".mxl", ".xml", ".musicxml", ".krn", ".abc")


def manifest_row(folder: Path, file: str, bwv: int, source: str, url: str | None) -> dict:
    data = (folder / file).read_bytes()
    return {
        "file": file,
        "bwv": bwv,
        "source": source,
        "url": url,
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
    }


def write_manifest(folder: Path, rows: list[dict], rejects: list[tuple[str, str]]) -> None:
    """Write ``manifest.parquet`` and ``rejects.parquet`` of a source folder."""
    rows = sorted(rows, key=lambda r: r["file"])
    # Rejects first: a manifest on disk means the source is complete.
    write_parquet(folder / "rejects.parquet", tables.rejects_table(rejects))
    write_parquet(folder / "manifest.parquet", pa.Table.from_pylist(rows, schema=tables.MANIFEST))


def bundled_scores(max_works: int | None = None) -> tuple[list[Path], list[tuple[str, str]]]:
    """The Bach scores inside music21 that carry a BWV number, in name order, and those set aside.

    A few scores ship in two encodings (``bwv281.krn`` and ``bwv281.mxl``): one
    MIDI file per score name, from the preferred encoding; the other is set
    aside with its reason. ``max_works`` keeps the scores of the first that many
    compositions (BWV numbers in ascending order): a small, stable subset.
    """
    import music21

    by_stem: dict[str, list[Path]] = {}
    for p in map(Path, music21.corpus.getComposer("bach")):
        if p.suffix not in _NOT_SCORES and bwv_from_name(p.name) is not None:
            by_stem.setdefault(p.stem, []).append(p)
    scores, aside = [], []
    for stem, paths in by_stem.items():
        best, *others = sorted(paths, key=lambda p: _PREFERRED.index(p.suffix) if p.suffix in _PREFERRED else 99)
        scores.append(best)
        aside += [(o.name, f"the same score is also bundled as {best.name}, which is used") for o in others]
    scores.sort(key=lambda p: (bwv_from_name(p.name), p.name))
    if max_works is not None:
        works = sorted({bwv_from_name(p.name) for p in scores})[:max_works]
        scores = [p for p in scores if bwv_from_name(p.name) in works]
        aside = [a for a in aside if bwv_from_name(a[0]) in works]
    return scores, aside


def _export_one(job: tuple[Path, Path]) -> tuple[str, str | None]:
    """Export one score to MIDI; returns (file name, reason it failed or None)."""
    score, folder = job
    name = score.stem + ".mid"
    target = folder / name
    if target.exists():  # written atomically, so an existing file is complete: resume
        return name, None
    import music21

    try:
        stream = music21.converter.parse(score)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(stream.write("midi", fp=Path(tmp) / name))
            write_atomic(target, out.read_bytes())
    except Exception as e:  # noqa: BLE001 - music21 raises many kinds; each is a reason, not a crash
        return score.name, f"music21 cannot convert the score to MIDI ({type(e).__name__}: {e})"
    return name, None


def export_bundled(folder: Path, max_works: int | None = None, workers: int | None = None) -> int:
    """Export music21's Bach scores to MIDI in ``folder`` with its manifest; returns files kept."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    scores, rejects = bundled_scores(max_works)
    log.info("exporting %d bundled scores to %s", len(scores), folder)
    rows = []
    for name, reason in pmap(_export_one, [(s, folder) for s in scores], workers):
        if reason is None:
            rows.append(manifest_row(folder, name, bwv_from_name(name), "bundled", None))
        else:
            log.warning("rejected %s: %s", name, reason)
            rejects.append((name, reason))
    write_manifest(folder, rows, rejects)
    log.info("kept %d files; %d scores set aside or not exportable", len(rows), len(rejects))
    return len(rows)
