"""The ``folder`` source: folders of MIDI files as a corpus (``corpus.folder.paths``) or as another composer
(``generalisation.composers``).

Each folder is searched recursively for ``.mid`` and ``.midi`` files. They are copied into the source's
folder (``data/raw/folder/``, or ``data/raw/composers/<name>/`` for a composer), under the listed
folder's name and their path below it, so that the study keeps what it read; the manifest
(:mod:`bayesbach.corpus.manifest`) gives each file its composition:

1. the BWV number its name carries (:func:`bayesbach.corpus.bwv.bwv_from_name`), for a Bach corpus; a
   folder standing in for another composer skips this rule (a number in a Palestrina file's name is no
   BWV number);
2. else the ``work`` of the folder's ``works.csv``, a CSV file with the header ``file,work`` and one row per
   file (its path below the folder, ``/`` between folders), where files of one work are listed;
3. else the file's stem.

A missing folder, a folder without MIDI files and a malformed ``works.csv`` are :class:`FolderError`, which
the workflow raises when it loads the config, before any job (:func:`check_folder_config`). Whether a file
is usable MIDI is decided by the dataset's conversion, which rejects it with its reason like any other
source's file, and drops copies and twins.

Nothing here imports more than the standard library until a folder is exported: the workflow runs the
checks when it plans.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
from pathlib import Path, PurePosixPath

from bayesbach.core.exceptions import StudyError
from bayesbach.core.layout import composer_folders
from bayesbach.corpus.bwv import bwv_from_name, piece_id
from bayesbach.corpus.files import evenly, midi_paths

log = logging.getLogger(__name__)

WORKS = "works.csv"  # the optional table of a folder's compositions: file,work


class FolderError(StudyError):
    """A folder of the config that cannot be a corpus: missing, not a folder, without MIDI, or a bad works.csv."""


def _folders(paths: list) -> list[Path]:
    """The config's folders as paths (``~`` is the user's home)."""
    return [Path(p).expanduser() for p in paths]


def _relative(path: Path, folder: Path) -> str:
    return PurePosixPath(path.relative_to(folder)).as_posix()


def read_works(folder: Path, files: list[str] | None = None) -> dict[str, str]:
    """``{file: work}`` from the folder's works.csv ({} without one); ``files`` (paths below the folder) are the
    MIDI files a row may name. A missing column, an empty work, a file listed twice with two works or a row
    naming no MIDI file of the folder is a :class:`FolderError` naming the file and the row."""
    path = Path(folder) / WORKS
    if not path.is_file():
        return {}
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark (spreadsheet exports) is no part of "file"
    except (OSError, UnicodeDecodeError) as e:
        raise FolderError(f"{path}: cannot be read as UTF-8 text ({e})") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip() for c in reader.fieldnames or []]
    if "file" not in columns or "work" not in columns:
        raise FolderError(f"{path}: the first line must name the columns file and work "
                          f"(it has: {', '.join(columns) or 'nothing'})")
    reader.fieldnames = columns
    known = None if files is None else set(files)
    works: dict[str, str] = {}
    for row in reader:
        line = reader.line_num  # the file's own line (the reader skips blank ones)
        file, work = (row.get("file") or "").strip(), (row.get("work") or "").strip()
        if not file and not work:
            continue  # a row of empty cells
        if not file or not work:
            raise FolderError(f"{path}, line {line}: a row needs both a file and a work")
        file = PurePosixPath(file.replace("\\", "/")).as_posix()
        if known is not None and file not in known:
            raise FolderError(f"{path}, line {line}: {file!r} is no .mid or .midi file below {folder} "
                              "(name each file by its path below the folder, with / between folders)")
        if works.get(file, work) != work:
            raise FolderError(f"{path}, line {line}: {file!r} is listed under two works ({works[file]!r} and {work!r})")
        works[file] = work
    return works


def check_folders(paths: list, what: str) -> None:
    """Each of ``paths`` must be a folder holding MIDI files, with a valid works.csv if it has one;
    :class:`FolderError` names ``what`` they are (a config key) and the folder otherwise."""
    if not paths:
        raise FolderError(f"{what}: no folder given")
    for folder in _folders(paths):
        if not folder.exists():
            raise FolderError(f"{what}: the folder {folder} does not exist")
        if not folder.is_dir():
            raise FolderError(f"{what}: {folder} is not a folder")
        files = midi_paths(folder)
        if not files:
            raise FolderError(f"{what}: the folder {folder} holds no MIDI file (.mid or .midi, searched recursively)")
        read_works(folder, [_relative(p, folder) for p in files])


def check_folder_config(config: dict) -> None:
    """The folders of a validated config (the folder source when ``corpus.sources`` has it, and every composer
    given as a folder), checked before anything runs."""
    corpus = []
    if "folder" in config["corpus"]["sources"]:
        check_folders(config["corpus"]["folder"]["paths"], "invalid config: corpus.folder.paths")
        corpus = [f.resolve() for f in _folders(config["corpus"]["folder"]["paths"])]
    for name, paths in composer_folders(config).items():
        if paths is not None:
            what = f"invalid config: generalisation.composers: {name}: paths"
            check_folders(paths, what)
            for folder in _folders(paths):  # the other composers are corpora never trained on
                if any(folder.resolve().is_relative_to(c) or c.is_relative_to(folder.resolve()) for c in corpus):
                    raise FolderError(f"{what}: {folder} holds files of the corpus the networks train on "
                                      "(corpus.folder.paths)")


def labels(paths: list) -> list[str]:
    """The name each listed folder's files are copied under: the folder's own name, made unique
    (``midi``, ``midi-2``) when two listed folders share one."""
    out: list[str] = []
    for folder in _folders(paths):
        base = folder.resolve().name or "folder"
        label, n = base, 1
        while label in out:
            n += 1
            label = f"{base}-{n}"
        out.append(label)
    return out


def folder_files(paths: list, bwv_numbers: bool = True) -> list[tuple[str, Path, int | None, str]]:
    """``(file name in the source folder, path, BWV number or None, composition)`` of every MIDI file of the
    folders, in name order; the composition by the rules of the module text."""
    out = []
    for folder, label in zip(_folders(paths), labels(paths)):
        files = midi_paths(folder)
        relative = [_relative(p, folder) for p in files]
        works = read_works(folder, relative)
        for path, rel in zip(files, relative):
            bwv = bwv_from_name(path.name) if bwv_numbers else None
            piece = piece_id(bwv) if bwv is not None else works.get(rel, PurePosixPath(rel).stem)
            out.append((f"{label}/{rel}", path, bwv, piece))
    return sorted(out, key=lambda f: f[0])


def folder_digest(paths: list) -> str:
    """A fingerprint of what the folders hold (each file's place and bytes, each works.csv): the workflow's
    parameter that reruns the source's job exactly when a file is added, removed or changed."""
    h = hashlib.sha256()
    for folder, label in zip(_folders(paths), labels(paths)):
        for path in midi_paths(folder) + ([folder / WORKS] if (folder / WORKS).is_file() else []):
            h.update(f"{label}/{_relative(path, folder)}\0".encode())
            try:
                h.update(hashlib.sha256(path.read_bytes()).digest())
            except OSError as e:  # unreadable: the job rejects it with its reason
                h.update(f"unreadable: {e.strerror}".encode())
    return h.hexdigest()


def export_folder(paths: list, out: Path, *, source: str = "folder", bwv_numbers: bool = True,
                  max_files: int | None = None) -> int:
    """Copy the MIDI files of ``paths`` into ``out`` and write its manifest; returns the files kept.

    ``source`` is the manifest's source column; ``bwv_numbers`` False for another composer (rule 1 of the
    module text off); ``max_files`` keeps that many files spread evenly over the name order
    (:func:`bayesbach.corpus.files.evenly`). A file that cannot be read is a reject with its reason.
    """
    from bayesbach.core.atomic import write_atomic
    from bayesbach.corpus.manifest import manifest_row, write_manifest

    check_folders(paths, f"the {source} source")  # the job may run long after the plan: check again
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = evenly(folder_files(paths, bwv_numbers), max_files)
    log.info("copying %d MIDI files of %s to %s", len(files), ", ".join(map(str, paths)), out)
    rows, rejects = [], []
    for name, path, bwv, piece in files:
        try:
            data = path.read_bytes()
        except OSError as e:
            rejects.append((name, f"cannot be read ({e.strerror})"))
            continue
        target = out / name
        if not (target.is_file() and target.read_bytes() == data):  # the copy of an earlier run is kept
            write_atomic(target, data)
        rows.append(manifest_row(out, name, bwv, source, None, piece=piece))
    for name, reason in rejects:
        log.warning("rejected %s: %s", name, reason)
    write_manifest(out, rows, rejects)
    log.info("kept %d files in %d compositions; %d rejected", len(rows), len({r["piece"] for r in rows}), len(rejects))
    return len(rows)
