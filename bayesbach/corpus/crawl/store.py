"""The web source's folder: the files kept, a ledger that makes a crawl resumable, the manifest.

Layout of ``data/raw/web/``::

    <site>/bwvNNNN-<name>.mid   the MIDI files kept (the BWV number leads the name,
                                so every later stage reads the composition from it)
    manifest.parquet            written when a crawl finished and did not fail (the contract of docs/architecture.md)
    rejects.parquet             the files not kept, with the reason
    report.parquet, report.txt  what each start URL gave (report.py), written on every run
    .crawl/ledger.jsonl         one line per URL whose content was handled, across runs
    .crawl/job/                 Scrapy's JOBDIR while a crawl is unfinished, with failures.jsonl:
                                the file links that failed in it (Scrapy will not ask for them again
                                in this crawl, so their rejects must outlive an interruption)

The ledger is what a rerun trusts: a URL in it is not downloaded again, and its
files and rejects join the manifest of every later crawl (as long as its site is
still among the start URLs), even while that site is down.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import warnings
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bayesbach.corpus.bwv import bwv_from_name, match_bwv, name_range, piece_id, url_file_name
from bayesbach.corpus.manifest import manifest_row, write_manifest
from bayesbach.core.atomic import write_atomic
from .items import Download
from .zips import ZipRejected, midi_members

if TYPE_CHECKING:  # report.py imports this module
    from .report import Tally

log = logging.getLogger(__name__)

MIDI_HEADER = b"MThd\x00\x00\x00\x06"  # chunk name and the header's fixed length


def site_of(url: str) -> str:
    """The host a URL belongs to, without ``www.``: a site's folder, and the unit of 'its own domain'."""
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def _slug(text: str) -> str:
    """A safe file-name fragment: letters, digits, '-', '_', '.', at most 80 characters."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")[:80] or "file"


def notes_digest(body: bytes) -> str | None:
    """A digest of the notes a MIDI file plays (onset and release to the millisecond, pitch, velocity), None
    when it cannot be read. The same performance saved as format 0 and as format 1 has other bytes but the
    same digest: one recording, not two finds."""
    import pretty_midi  # here: the workflow imports this package when it plans

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            midi = pretty_midi.PrettyMIDI(io.BytesIO(body))
    except Exception:  # noqa: BLE001 - a file it cannot read has no notes to compare; the converter judges it
        return None
    notes = sorted((round(n.start * 1000), round(n.end * 1000), n.pitch, n.velocity, inst.is_drum)
                   for inst in midi.instruments for n in inst.notes)
    return hashlib.sha256(repr(notes).encode()).hexdigest() if notes else None


def looks_like(body: bytes) -> str:
    head = body[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in head:
        return "an HTML page"
    if not body:
        return "an empty file"
    return f"data starting with {body[:8]!r}"


class Store:
    """The folder of the web source; methods are called from the spider's (single) thread.

    Every count goes to ``tally`` (report.py), under the start URL a thing was found from."""

    def __init__(self, folder: Path, start_urls: list[str], tally: Tally, max_unzipped_bytes: int, max_zip_members: int):
        self.folder = Path(folder)
        self.state = self.folder / ".crawl"
        self.ledger = self.state / "ledger.jsonl"
        self.failures = self.state / "job" / "failures.jsonl"
        self.start_urls = list(start_urls)
        self.first_start = {}  # site -> its first start URL, which takes over files of start URLs no longer given
        for url in start_urls:
            self.first_start.setdefault(site_of(url), url)
        self.tally = tally
        self.max_unzipped_bytes = max_unzipped_bytes
        self.max_zip_members = max_zip_members
        self.fetched: set[str] = set()  # URLs whose content is handled
        self.rows: list[dict] = []  # manifest rows (with their "origin" and "notes"), earlier runs included
        self.rejects: list[tuple[str, str]] = []  # (url or url!member, reason), earlier runs included
        self.new_files = 0
        self._load()

    def origin(self, entry: dict) -> str:
        """The start URL a ledger entry counts for (its site's first one when its own is no longer given)."""
        if entry.get("origin") in self.start_urls:
            return entry["origin"]
        return self.first_start.get(entry["site"], entry.get("origin"))

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
        self.rejects += [(e["url"], e["reason"]) for e in self._lines(self.failures) if e["site"] in self.first_start]
        for entry in self._lines(self.ledger):
            if entry["site"] not in self.first_start or entry["url"] in self.fetched:
                continue
            if not all(self._intact(row) for row in entry["kept"]):
                continue  # a file went missing: fetch the URL again
            self._record(entry)

    def _intact(self, row: dict) -> bool:
        path = self.folder / row["file"]
        return path.is_file() and path.stat().st_size == row["bytes"]

    def _record(self, entry: dict) -> None:
        self.fetched.add(entry["url"])
        origin = self.origin(entry)
        self.rows += [{**row, "origin": origin} for row in entry["kept"]]
        self.rejects += [tuple(r) for r in entry["rejected"]]

    def _append(self, entry: dict) -> None:
        self.state.mkdir(parents=True, exist_ok=True)
        with open(self.ledger, "a") as f:
            f.write(json.dumps(entry) + "\n")
        self._record(entry)

    # --- what the spider asks and reports
    def known(self, url: str) -> bool:
        return url in self.fetched

    def skip(self, category: str, origin: str, name: str | None = None, reason: str | None = None) -> None:
        """Count a thing not kept; a file with a ``name`` also goes to this crawl's rejects (not the
        ledger: a failed download is worth another try in the next crawl)."""
        self.tally.skip(origin, category)
        if name is not None:
            self.rejects.append((name, reason))
            self.failures.parent.mkdir(parents=True, exist_ok=True)
            with open(self.failures, "a") as f:
                f.write(json.dumps({"url": name, "site": site_of(origin), "reason": reason}) + "\n")
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
            self.tally.skip(item.origin, category)
            log.warning("skipped %s: %s", name, reason)
        self._append({"url": item.url, "site": item.site, "origin": item.origin, "kept": kept,
                      "rejected": [[name, reason] for name, reason, _ in rejected]})

    def _one(self, item: Download, body: bytes, member: str | None, kept: list, rejected: list) -> None:
        name = item.url if member is None else f"{item.url}!{member}"
        if not body.startswith(MIDI_HEADER):
            rejected.append((name, f"not a MIDI file: {looks_like(body)}, without the 'MThd' header", "not MIDI"))
            return
        clues = item.clues(member)
        match = match_bwv(clues)
        if match is None:
            bounds = name_range(url_file_name(clues.url)) if member is not None else None
            within = f" within the archive's range BWV {bounds[0]}-{bounds[1]}" if bounds else ""
            rejected.append((name, f"no BWV number{within} in the file name, the link, its table row or the heading "
                                   "before it", "no BWV number"))
            return
        sha = hashlib.sha256(body).hexdigest()
        file = self._file_name(item, member, match.bwv, sha, kept)
        write_atomic(self.folder / file, body)
        row = manifest_row(self.folder, file, match.bwv, item.site, item.final_url if member is None else name)
        kept.append({**row, "notes": notes_digest(body)})
        self.new_files += 1
        self.tally[item.origin].files_new += 1
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
    def settle(self) -> None:
        """Set aside what was found twice: the same content from several URLs, and the same recording in
        another MIDI format (the same notes, other bytes). The copy kept is the one whose URL sorts first:
        which arrived first depends on the network, the manifest must not."""
        rows, rejects, first_content, first_notes = [], set(self.rejects), {}, {}
        for row in sorted(self.rows, key=lambda r: r["url"]):
            # Rows of ledgers older than the digest: read it from the kept file.
            notes = row["notes"] if "notes" in row else notes_digest((self.folder / row["file"]).read_bytes())
            if row["sha256"] in first_content:
                reason, category = f"same content as {first_content[row['sha256']]}", "duplicate content"
            elif notes is not None and notes in first_notes:
                reason, category = f"same recording as {first_notes[notes]} (the same notes, another MIDI format)", \
                    "same recording"
            else:
                first_content[row["sha256"]] = row["file"]
                if notes is not None:
                    first_notes[notes] = row["file"]
                rows.append(row)
                continue
            rejects.add((row["url"], reason))
            self.tally.skip(row["origin"], category)
        self.rows, self.rejects = rows, sorted(rejects)

    def write(self) -> None:
        """Write ``manifest.parquet`` and ``rejects.parquet`` (of a settled store)."""
        write_manifest(self.folder, self.rows, self.rejects)

    def kept(self) -> Counter[str]:
        """Files kept per start URL."""
        return Counter(row["origin"] for row in self.rows)

    @property
    def files(self) -> int:
        return len(self.rows)
