"""The ``bundled`` source: the Bach scores that ship inside music21, exported to MIDI.

It writes ``data/raw/bundled/`` with the MIDI files and their manifest
(:mod:`bayesbach.corpus.manifest`).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from bayesbach.core.atomic import write_atomic
from bayesbach.core.parallel import pmap
from bayesbach.corpus.bwv import bwv_from_name
from bayesbach.corpus.manifest import manifest_row, write_manifest

log = logging.getLogger(__name__)
# music21 ships these next to the scores: roman-numeral analyses, not music.
_NOT_SCORES = {".rntxt"}
# When a score ships in several encodings, the first of these is exported.
_PREFERRED = (".mxl", ".xml", ".musicxml", ".krn", ".abc")


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
