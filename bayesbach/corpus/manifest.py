"""The manifest of a source folder: one row per kept MIDI file, and the files set aside.

Every source writes ``data/raw/<source>/`` with the MIDI files, a
``manifest.parquet`` (one row per kept file: file, bwv, source, url, sha256,
bytes, and the score's key where the source has a score) and a ``rejects.parquet`` (files the source could not turn into MIDI,
with the reason). A source that knows each file's composition names it in ``piece`` (the dataset's
piece; the folder source and the bundled composers group files by work, not by name); where it is
null the dataset reads the composition from the file's name (``corpus.bwv.piece_for_file``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa

from bayesbach.core import schemas
from bayesbach.core.atomic import write_parquet


def manifest_row(folder: Path, file: str, bwv: int, source: str, url: str | None, key: str | None = None,
                 piece: str | None = None) -> dict:
    """One kept file's row; ``key`` is the score's own key (``registry.KEY_NAMES``) where the source has a score,
    ``piece`` its composition where the source gives it (None: from the file's name)."""
    data = (folder / file).read_bytes()
    return {
        "file": file,
        "bwv": bwv,
        "source": source,
        "url": url,
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
        "key": key,
        "piece": piece,
    }


def write_manifest(folder: Path, rows: list[dict], rejects: list[tuple[str, str]]) -> None:
    """Write ``manifest.parquet`` and ``rejects.parquet`` of a source folder."""
    rows = sorted(rows, key=lambda r: r["file"])
    # Rejects first: a manifest on disk means the source is complete.
    write_parquet(folder / "rejects.parquet", schemas.rejects_table(rejects))
    write_parquet(folder / "manifest.parquet", pa.Table.from_pylist(rows, schema=schemas.MANIFEST))
