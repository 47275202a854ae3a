"""The ``bundled`` source, the Bach scores that ship inside music21, and the other composers music21 ships,
exported to MIDI.

:func:`export_bundled` writes ``data/raw/bundled/`` (the study's corpus) and :func:`export_composer` another
composer's scores for ``generalisation.composers`` (``data/raw/composers/<name>/``), each with the MIDI files
and their manifest (:mod:`bayesbach.corpus.manifest`). Both export every score with :func:`_export_one`, so a
file's record (its key by music21's analysis, its parent work) is made the same way for Bach and the others.
A Bach file's composition is its BWV number; another composer's is the score's parent work where its
metadata names one (music21's ``parentTitle``: a Palestrina movement names its mass), else the folder of
several movement files below the composer's (Beethoven's ``opus59no1/``), else the score's own name.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from bayesbach.core.atomic import write_atomic
from bayesbach.core.exceptions import StudyError
from bayesbach.core.parallel import pmap
from bayesbach.core.registry import KEY_NAMES
from bayesbach.corpus.bwv import bwv_from_name, piece_id
from bayesbach.corpus.manifest import manifest_row, write_manifest
from bayesbach.corpus.files import evenly

log = logging.getLogger(__name__)
# music21 ships these next to the scores: roman-numeral analyses, not music.
_NOT_SCORES = {".rntxt"}
# When a score ships in several encodings, the first of these is exported.
_PREFERRED = (".mxl", ".xml", ".musicxml", ".krn", ".abc")


class UnknownComposer(StudyError):
    """A composer of generalisation.composers of whom music21 ships no score."""


def _one_encoding(paths: list[Path], root: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """One score per name (its path below ``root`` without the suffix), from the preferred encoding, in name
    order, and the other encodings set aside with their reason (as ``(path below root, reason)``)."""
    by_stem: dict[str, list[Path]] = {}
    for p in paths:
        by_stem.setdefault(_below(p, root).with_suffix("").as_posix(), []).append(p)
    scores, aside = [], []
    for stem, found in by_stem.items():
        best, *others = sorted(found, key=lambda p: _PREFERRED.index(p.suffix) if p.suffix in _PREFERRED else 99)
        scores.append(best)
        aside += [(_below(o, root).as_posix(), f"the same score is also bundled as {_below(best, root).as_posix()}, "
                   "which is used") for o in others]
    return sorted(scores, key=lambda p: _below(p, root).as_posix()), aside


def _below(path: Path, root: Path) -> PurePosixPath:
    return PurePosixPath(path.relative_to(root).as_posix())


def bundled_scores(max_works: int | None = None) -> tuple[list[Path], list[tuple[str, str]]]:
    """The Bach scores inside music21 that carry a BWV number, in name order, and those set aside.

    A few scores ship in two encodings (``bwv281.krn`` and ``bwv281.mxl``): one
    MIDI file per score name, from the preferred encoding; the other is set
    aside with its reason. ``max_works`` keeps the scores of the first that many
    compositions (BWV numbers in ascending order): a small, stable subset.
    """
    import music21

    paths = [p for p in map(Path, music21.corpus.getComposer("bach"))
             if p.suffix not in _NOT_SCORES and bwv_from_name(p.name) is not None]
    scores, aside = _one_encoding(paths, paths[0].parent)
    scores.sort(key=lambda p: (bwv_from_name(p.name), p.name))
    if max_works is not None:
        works = sorted({bwv_from_name(p.name) for p in scores})[:max_works]
        scores = [p for p in scores if bwv_from_name(p.name) in works]
        aside = [a for a in aside if bwv_from_name(a[0]) in works]
    return scores, aside


def composer_scores(composer: str, max_files: int | None = None) -> tuple[list[Path], Path, list[tuple[str, str]]]:
    """The scores of another composer inside music21 (one per name, as :func:`bundled_scores`), their
    composer's folder, and those set aside; ``max_files`` keeps that many spread evenly over the name order
    (:func:`bayesbach.corpus.files.evenly`)."""
    import music21

    paths = [p for p in map(Path, music21.corpus.getComposer(composer)) if p.suffix not in _NOT_SCORES]
    if not paths:
        raise UnknownComposer(f"generalisation.composers: music21 ships no score of {composer!r} (its composers "
                              "are the folder names of music21/corpus, e.g. palestrina, monteverdi, beethoven)")
    # The composer's folder: the nearest one named for the composer, else the scores' common folder.
    root = next((q for q in paths[0].parents if q.name.lower() == composer.lower()), paths[0].parent)
    scores, aside = _one_encoding(paths, root)
    scores = evenly(scores, max_files)
    kept = {_below(p, root).with_suffix("").as_posix() for p in scores}
    return scores, root, [a for a in aside if PurePosixPath(a[0]).with_suffix("").as_posix() in kept]


def score_key(stream) -> str | None:
    """music21's key analysis of a parsed score (``analyze('key')``) as a ``registry.KEY_NAMES`` label; None when
    it finds no major or minor key (the file's key then comes from its MIDI, bayesbach.dataset.keys)."""
    try:
        key = stream.analyze("key")
    except Exception:  # noqa: BLE001 - an analysis that fails costs the label its source, not the score
        return None
    if key is None or key.mode not in ("major", "minor"):
        return None
    return KEY_NAMES[key.tonic.pitchClass + 12 * (key.mode == "minor")]


class Exported(NamedTuple):
    """One score's export: where it went, or why it could not, and what the score says about itself."""

    name: str  # the MIDI file below the folder (the score's own name when it failed)
    reason: str | None  # why the score could not be exported; None when it was
    key: str | None  # music21's key analysis of the score (score_key)
    work: str | None  # the parent work the score's metadata names (music21's parentTitle), e.g. a movement's mass


def _export_one(job: tuple[Path, str, Path]) -> Exported:
    """Export one score to ``folder/name`` (``job`` = (score, name, folder)) and read what it says of itself."""
    score, name, folder = job
    target = folder / name
    import music21

    try:
        stream = music21.converter.parse(score)
        # written atomically, so an existing file is complete: resume (the score is still parsed for its record)
        if not target.exists():
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(stream.write("midi", fp=Path(tmp) / Path(name).name))
                write_atomic(target, out.read_bytes())
    except Exception as e:  # noqa: BLE001 - music21 raises many kinds; each is a reason, not a crash
        failed = PurePosixPath(name).with_name(score.name).as_posix()  # the score, named like its MIDI file
        return Exported(failed, f"music21 cannot convert the score to MIDI ({type(e).__name__}: {e})", None, None)
    work = (stream.metadata.parentTitle or None) if stream.metadata is not None else None
    return Exported(name, None, score_key(stream), work)


def _export_all(folder: Path, jobs: list[tuple[Path, str]], rejects: list[tuple[str, str]],
                workers: int | None) -> list[Exported]:
    """Export ``(score, name)`` pairs into ``folder``: the scores exported; the others join ``rejects``."""
    folder.mkdir(parents=True, exist_ok=True)
    log.info("exporting %d bundled scores to %s", len(jobs), folder)
    done = []
    for result in pmap(_export_one, [(score, name, folder) for score, name in jobs], workers):
        if result.reason is None:
            done.append(result)
        else:
            log.warning("rejected %s: %s", result.name, result.reason)
            rejects.append((result.name, result.reason))
    return done


def export_bundled(folder: Path, max_works: int | None = None, workers: int | None = None) -> int:
    """Export music21's Bach scores to MIDI in ``folder`` with its manifest; returns files kept."""
    folder = Path(folder)
    scores, rejects = bundled_scores(max_works)
    rows = []
    for done in _export_all(folder, [(s, s.stem + ".mid") for s in scores], rejects, workers):
        bwv = bwv_from_name(done.name)
        rows.append(manifest_row(folder, done.name, bwv, "bundled", None, done.key, piece_id(bwv)))
    write_manifest(folder, rows, rejects)
    log.info("kept %d files; %d scores set aside or not exportable", len(rows), len(rejects))
    return len(rows)


def work_of(name: str) -> str:
    """Another composer's composition of a file with no parent work in its metadata: the folder below the
    composer's that holds it (an opus of several movement files), else its own name without the suffix."""
    path = PurePosixPath(name)
    return path.parts[0] if len(path.parts) > 1 else path.stem


def export_composer(composer: str, folder: Path, max_files: int | None = None, workers: int | None = None) -> int:
    """Export the scores music21 ships of ``composer`` (capped at ``max_files``) to MIDI in ``folder`` with its
    manifest, each file with its composition (the module text); returns files kept."""
    folder = Path(folder)
    scores, root, rejects = composer_scores(composer, max_files)
    jobs = [(s, _below(s, root).with_suffix(".mid").as_posix()) for s in scores]
    rows = [manifest_row(folder, done.name, None, "bundled", None, done.key, done.work or work_of(done.name))
            for done in _export_all(folder, jobs, rejects, workers)]
    write_manifest(folder, rows, rejects)
    log.info("%s: kept %d files in %d compositions; %d scores set aside or not exportable", composer, len(rows),
             len({r["piece"] for r in rows}), len(rejects))
    return len(rows)
