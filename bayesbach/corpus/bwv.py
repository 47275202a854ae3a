"""BWV catalogue numbers: finding them in names, links and listings, and naming compositions by them.

Everything that reads a BWV number lives here. :func:`bwv_from_name` reads a
file name; :func:`match_bwv` weighs every clue a web archive gives about a
downloaded file (its name, the link, the table row around the link, the page)
and is a pure function, so its rules are tested as a table.
"""

from __future__ import annotations

import re
from pathlib import PurePath, PurePosixPath
from typing import NamedTuple
from urllib.parse import parse_qsl, unquote, urlsplit

# Highest number a bare number (no "BWV" before it) may be read as; the catalogue
# (with its recent additions) stays below it.
MAX_BWV = 1199
FILE_SUFFIXES = (".mid", ".midi", ".zip")

# "bwv1006a", "BWV_565", "bwv-0772", "Bach BWV 846": the letters BWV, optional
# separators, then the number. Letter suffixes (1006a) belong to the same number.
_BWV = re.compile(r"bwv[\s_.\-]*0*(\d{1,4})(?!\d)", re.IGNORECASE)
# The chorale archives' names: four digits BWV, two digits movement, a variant
# letter and an underscore ("004207b_" = BWV 42, movement 7).
_CHORALE = re.compile(r"(\d{4})(\d{2})[a-z]?_?", re.IGNORECASE)
# A name that starts with the number itself ("988-v01", "1006a_gigue"): three or
# four digits, then a letter suffix, a separator or the end; shorter numbers are
# track numbers far more often than BWV numbers.
_LEADING = re.compile(r"(\d{3,4})[a-z]?(?=$|[\s_.\-])", re.IGNORECASE)
# In running text: "BWV 846", "BWV 846-869", "bwv. 1007 – 1012".
_BWV_TEXT = re.compile(r"bwv\.?[\s_\-]*0*(\d{1,4})[a-z]?(?:\s*[-\u2013\u2014]\s*(?:bwv\.?\s*)?0*(\d{1,4}))?(?!\d)", re.IGNORECASE)
_NUMBER = re.compile(r"\d+")


def _stem(name: str) -> str:
    """A file name without folders and without its extension(s) (``004207b_.mid`` -> ``004207b_``)."""
    base = PurePath(name).name
    for suffix in (*FILE_SUFFIXES, ".kar", ".mxl", ".krn", ".xml"):
        if base.lower().endswith(suffix):
            return base[: -len(suffix)]
    return base


def _valid(n: int) -> int | None:
    return n if 1 <= n <= MAX_BWV else None


def bwv_from_name(name: str) -> int | None:
    """The BWV number that a file name carries, or None when it carries none.

    In order: the letters BWV and a number anywhere in the name
    (``Bach_BWV_565_Toccata.mid``), the chorale archives' ``BBBBMMx_`` scheme
    (``004207b_.mid``), a name that starts with a three- or four-digit number
    (``988-v01.mid``).
    """
    base = PurePath(name).name
    if m := _BWV.search(base):
        return int(m.group(1))
    stem = _stem(base)
    if m := _CHORALE.fullmatch(stem):
        return _valid(int(m.group(1)))
    if m := _LEADING.match(stem):
        return _valid(int(m.group(1)))
    return None


def url_file_name(url: str) -> str:
    """The file name a link points at: a query value naming a file (``download.php?file=bwv0772.mid``),
    else the last segment of the path (``''`` for a folder)."""
    parts = urlsplit(url)
    for _, value in parse_qsl(parts.query):
        name = PurePosixPath(unquote(value).replace("\\", "/")).name
        if name.lower().endswith(FILE_SUFFIXES):
            return name
    return PurePosixPath(unquote(parts.path)).name if not parts.path.endswith("/") else ""


def bwv_spans(text: str) -> list[tuple[int, int]]:
    """The BWV numbers and ranges a text names, as distinct (first, last) pairs in order of appearance."""
    spans = []
    for m in _BWV_TEXT.finditer(text):
        first = int(m.group(1))
        last = int(m.group(2)) if m.group(2) else first
        span = (first, last) if last > first else (first, first)
        if span not in spans and _valid(first):
            spans.append(span)
    return spans


def _numbers(text: str) -> list[int]:
    return [int(n) for n in _NUMBER.findall(text)]


def bwv_from_text(text: str, names: tuple[str, ...] = (), position: tuple[int, int] | None = None) -> int | None:
    """The BWV number a text (link text, table row, page heading) gives a file, or None.

    One number: that number. Several numbers or a range ("BWV 846-869"): the
    file must say which, by a number inside them in one of ``names`` (file
    stem, link text), by a lone number that counts within the range
    (``prelude03`` in "BWV 846-869" is 848), or by its ``position``
    ``(index, count)`` among the file links of a row when the row links
    exactly one file per number of the range. Otherwise None: never a guess.
    """
    spans = bwv_spans(text)
    if not spans:
        return None
    if len(spans) == 1 and spans[0][0] == spans[0][1]:
        return spans[0][0]
    inside = {n for name in names for n in _numbers(name) if any(a <= n <= b for a, b in spans)}
    if len(inside) == 1:
        return inside.pop()
    if len(spans) != 1 or inside:
        return None
    first, last = spans[0]
    size = last - first + 1
    for name in names:
        numbers = _numbers(name)
        if len(numbers) == 1 and 1 <= numbers[0] <= size:
            return first + numbers[0] - 1
    if position is not None and position[1] == size:
        return first + position[0]
    return None


class Clues(NamedTuple):
    """What an archive says about one file: where it was linked and how."""

    url: str  # the link (or, after a redirect, the final address) of the file
    member: str | None = None  # the member's path when the file came out of a zip archive
    link_text: str = ""
    row_text: str = ""  # the table row (or list item) around the link
    page_text: str = ""  # the page's title and headings
    position: tuple[int, int] | None = None  # (index, count) of the link among the row's file links
    other_urls: tuple[str, ...] = ()  # further addresses of the same file (the link before a redirect)


class BwvMatch(NamedTuple):
    bwv: int
    evidence: str  # which clue gave the number: "file name", "archive name", "link text", "url path", "table row", "page"


def match_bwv(clues: Clues) -> BwvMatch | None:
    """The BWV number of a downloaded file, from the most specific clue that names one; None when none does."""
    urls = (clues.url, *clues.other_urls)
    names = [url_file_name(u) for u in urls]
    if clues.member is not None:
        found = bwv_from_name(clues.member)
        if found is not None:
            return BwvMatch(found, "file name")
        found = next((b for b in map(bwv_from_name, names) if b is not None), None)
        if found is not None:
            return BwvMatch(found, "archive name")
        stems = (_stem(clues.member), clues.link_text)
    else:
        found = next((b for b in map(bwv_from_name, names) if b is not None), None)
        if found is not None:
            return BwvMatch(found, "file name")
        stems = (*(_stem(n) for n in names if n), clues.link_text)
    found = bwv_from_text(clues.link_text, stems)
    if found is not None:
        return BwvMatch(found, "link text")
    folders = {n for u in urls for seg in PurePosixPath(unquote(urlsplit(u).path)).parent.parts
               for n in [m.group(1) for m in _BWV.finditer(seg)]}
    if len(folders) == 1:
        return BwvMatch(int(folders.pop()), "url path")
    found = bwv_from_text(clues.row_text, stems, clues.position)
    if found is not None:
        return BwvMatch(found, "table row")
    found = bwv_from_text(clues.page_text, stems)
    if found is not None:
        return BwvMatch(found, "page")
    return None


def piece_id(bwv: int) -> str:
    """The composition's identifier: ``bwv`` and the number, four digits (``bwv0010``)."""
    return f"bwv{bwv:04d}"


def piece_for_file(name: str) -> str:
    """A file's composition: its BWV number when the name carries one, else its stem."""
    bwv = bwv_from_name(name)
    return piece_id(bwv) if bwv is not None else PurePath(name).stem


def bwv_of_piece(piece: str) -> int | None:
    """Inverse of :func:`piece_id` (None for pieces named by a file stem)."""
    m = re.fullmatch(r"bwv(\d{4})", piece)
    return int(m.group(1)) if m else None
