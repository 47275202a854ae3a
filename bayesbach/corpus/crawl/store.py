"""The web source's folder: the files kept, a ledger that makes a crawl resumable, the manifest.

Layout of ``data/raw/web/``::

    <site>/bwvNNNN-<name>.mid   the MIDI files kept (the BWV number leads the name,
                                so every later stage reads the composition from it)
    manifest.parquet            written only when a crawl finished (DESIGN.md contract)
    rejects.parquet             the files not kept, with the reason
    .crawl/ledger.jsonl         one line per URL whose content was handled, across runs
    .crawl/job/                 Scrapy's JOBDIR while a crawl is unfinished, with failures.jsonl:
                                the file links that failed in it (Scrapy will not ask for them again
                                in this crawl, so their rejects must outlive an interruption)

The ledger is what a rerun trusts: a URL in it is not downloaded again, and its
files and rejects join the manifest of every later crawl.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import Counter
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from bayesbach.corpus.bwv import bwv_from_name, match_bwv, piece_id, url_file_name
from bayesbach.corpus.manifest import manifest_row, write_manifest
from bayesbach.core.atomic import write_atomic
from .items import Download
from .zips import ZipRejected, midi_members

log = logging.getLogger(__name__)

MIDI_HEADER = b"MThd\x00\x00\x00\x06"  # chunk name and the header's fixed length


def site_of(url: str) -> str:
    """The host a URL belongs to, without ``www.``: a site's folder, and the unit of 'its own domain'."""
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def _slug(text: str) -> str:
    """A safe file-name fragment: letters, digits, '-', '_', '.', at most 80 characters."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")[:80] or "file"


def looks_like(body: bytes) -> str:
    head = body[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in head:
        return "an HTML page"
    if not body:
        return "an empty file"
    return f"data starting with {body[:8]!r}"


class Store:
    """The folder of the web source; methods are called from the spider's (single) thread."""

    def __init__(self, folder: Path, sites: list[str], max_unzipped_bytes: int, max_zip_members: int):
        self.folder = Path(folder)
        self.state = self.folder / ".crawl"
        self.ledger = self.state / "ledger.jsonl"
        self.failures = self.state / "job" / "failures.jsonl"
        self.sites = set(sites)
        self.max_unzipped_bytes = max_unzipped_bytes
        self.max_zip_members = max_zip_members
        self.fetched: set[str] = set()  # URLs whose content is handled
        self.rows: list[dict] = []  # manifest rows, earlier runs included
        self.rejects: list[tuple[str, str]] = []  # (url or url!member, reason), earlier runs included
        self.new_files = 0
        self.skipped: Counter[str] = Counter()  # category -> count, this run
        self._load()

    # --- the ledger
    @staticmethod
    def _lines(path: Path) -> list[dict]:
        entries = []
        for line in path.read_text().splitlines() if path.exists() else []:
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:  # the torn last line of a killed run
                pass
        return entries

    def _load(self) -> None:
        """Take over what earlier runs kept, as long as their files are still there, intact."""
        self.rejects += [(e["url"], e["reason"]) for e in self._lines(self.failures) if e["site"] in self.sites]
        for entry in self._lines(self.ledger):
            if entry["site"] not in self.sites or entry["url"] in self.fetched:
                continue
            if not all(self._intact(row) for row in entry["kept"]):
                continue  # a file went missing: fetch the URL again
            self._record(entry)

    def _intact(self, row: dict) -> bool:
        path = self.folder / row["file"]
        return path.is_file() and path.stat().st_size == row["bytes"]

    def _record(self, entry: dict) -> None:
        self.fetched.add(entry["url"])
        self.rows += entry["kept"]
        self.rejects += [tuple(r) for r in entry["rejected"]]

    def _append(self, entry: dict) -> None:
        self.state.mkdir(parents=True, exist_ok=True)
        with open(self.ledger, "a") as f:
            f.write(json.dumps(entry) + "\n")
        self._record(entry)

    # --- what the spider asks and reports
    def known(self, url: str) -> bool:
        return url in self.fetched

    def skip(self, category: str, site: str, name: str | None = None, reason: str | None = None) -> None:
        """Count a thing not kept; a file with a ``name`` also goes to this crawl's rejects (not the
        ledger: a failed download is worth another try in the next crawl)."""
        self.skipped[category] += 1
        if name is not None:
            self.rejects.append((name, reason))
            self.failures.parent.mkdir(parents=True, exist_ok=True)
            with open(self.failures, "a") as f:
                f.write(json.dumps({"url": name, "site": site, "reason": reason}) + "\n")
            log.warning("skipped %s: %s", name, reason)

    def add(self, item: Download) -> None:
        """Keep what a download holds (the MIDI file, or the MIDI members of a zip archive)."""
        if item.url in self.fetched:
            return
        kept, rejected = [], []
        if item.body.startswith(b"PK") or url_file_name(item.final_url).lower().endswith(".zip"):
            try:
                members, refused = midi_members(item.body, self.max_unzipped_bytes, self.max_zip_members)
            except ZipRejected as e:
                members, refused = [], []
                rejected.append((item.url, str(e), "zip rejected"))
            rejected += [(f"{item.url}!{m}", reason, "unsafe zip member") for m, reason in refused]
            for member, body in members:
                self._one(item, body, member, kept, rejected)
        else:
            self._one(item, item.body, None, kept, rejected)
        for name, reason, category in rejected:
            self.skipped[category] += 1
            log.warning("skipped %s: %s", name, reason)
        self._append({"url": item.url, "site": item.site, "kept": kept,
                      "rejected": [[name, reason] for name, reason, _ in rejected]})

    def _one(self, item: Download, body: bytes, member: str | None, kept: list, rejected: list) -> None:
        name = item.url if member is None else f"{item.url}!{member}"
        if not body.startswith(MIDI_HEADER):
            rejected.append((name, f"not a MIDI file: {looks_like(body)}, without the 'MThd' header", "not MIDI"))
            return
        match = match_bwv(item.clues(member))
        if match is None:
            rejected.append((name, "no BWV number in the file name, the link, its table row or the page", "no BWV number"))
            return
        sha = hashlib.sha256(body).hexdigest()
        file = self._file_name(item, member, match.bwv, sha, kept)
        write_atomic(self.folder / file, body)
        row = manifest_row(self.folder, file, match.bwv, item.site, item.final_url if member is None else name)
        kept.append(row)
        self.new_files += 1
        log.info("kept %s as %s (BWV %d from the %s)", name, file, match.bwv, match.evidence)

    def _file_name(self, item: Download, member: str | None, bwv: int, sha: str, kept: list) -> str:
        stem = PurePosixPath(url_file_name(item.final_url) or "index").stem
        if member is not None:
            stem += "-" + PurePosixPath(member.replace("\\", "/")).with_suffix("").as_posix().replace("/", "-")
        stem = _slug(stem)
        # The name must carry the number for the later stages: keep the archive's own name when it does.
        file = f"{_slug(item.site)}/{stem if bwv_from_name(stem + '.mid') == bwv else piece_id(bwv) + '-' + stem}.mid"
        taken = {r["file"] for r in (*self.rows, *kept) if r["sha256"] != sha}
        path = self.folder / file
        # Another file under the same name (here or left by a killed run): the content tells them apart.
        if file in taken or (path.exists() and hashlib.sha256(path.read_bytes()).hexdigest() != sha):
            file = file[:-4] + f"-{sha[:8]}.mid"
        return file

    # --- the end of a crawl
    def finish(self) -> None:
        """Write ``manifest.parquet`` and ``rejects.parquet`` (only for a crawl that finished).

        The same content from several URLs is listed once, under the URL that sorts first: which
        copy arrived first depends on the network, the manifest must not.
        """
        rows, rejects, first = [], set(self.rejects), {}
        for row in sorted(self.rows, key=lambda r: r["url"]):
            if row["sha256"] in first:
                rejects.add((row["url"], f"same content as {first[row['sha256']]}"))
                self.skipped["duplicate content"] += 1
            else:
                first[row["sha256"]] = row["file"]
                rows.append(row)
        write_manifest(self.folder, rows, sorted(rejects))
        self.rows = rows

    @property
    def files(self) -> int:
        return len(self.rows)
