"""BWV catalogue numbers: finding them in names, links and listings, and naming compositions by them.

Everything that reads a BWV number lives here. :func:`bwv_from_name` reads a
file name, with the naming schemes of the archives (:data:`ABBREVIATIONS`);
:func:`match_bwv` weighs every clue a web archive gives about a downloaded file
(its name, the link, the table row around the link, the heading before it) and
is a pure function, so its rules are tested as a table.
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
# A name for a range of works ("846-869.zip", "bwv772-786"): it names no single work.
_RANGE_NAME = re.compile(r"(?<![\d.])(?:bwv[\s_.\-]*)?0*(\d{3,4})[\s_]*[-\u2013][\s_]*(?:bwv[\s_.\-]*)?0*(\d{3,4})(?!\d)",
                         re.IGNORECASE)
# Where a work abbreviation may start: the name's start or after a separator ("bach-cs1-1pre").
_START = r"(?:^|(?<=[\s_.\-]))"
# piano-midi.de: the composer, then the number ("bach_846", "bach_846_format0").
_BACH_NUMBER = re.compile(_START + r"bach[\s_\-]?(\d{3,4})(?!\d)", re.IGNORECASE)
# In running text: "BWV 846", "BWV 846-869", "bwv. 1007 – 1012".
_BWV_TEXT = re.compile(r"bwv\.?[\s_\-]*0*(\d{1,4})[a-z]?(?:\s*[-\u2013\u2014]\s*(?:bwv\.?\s*)?0*(\d{1,4}))?(?!\d)", re.IGNORECASE)
_NUMBER = re.compile(r"\d+")

# The archives' abbreviations of a set of works: (pattern, the set's BWV numbers). The pattern's
# group counts through the set from 1 ("cs3" is the third cello suite, BWV 1009); a pattern without
# a group names a single work. Each pattern is tried at the start of a name or after a separator.
ABBREVIATIONS: tuple[tuple[str, tuple[int, ...]], ...] = (
    (r"cs(\d)(?!\d)", tuple(range(1007, 1013))),  # cello suites (jsbach.net: cs1-1pre ... cs6-6gig)
    (r"vs(\d)(?!\d)", (1001, 1003, 1005)),  # violin sonatas (jsbach.net: vs1-1ada)
    (r"vp(\d)(?!\d)", (1002, 1004, 1006)),  # violin partitas (jsbach.net: vp2-5cha)
    (r"fp(?=[\s_\-]|$)", (1013,)),  # the flute partita (jsbach.net: fp-1all)
    (r"inv(?:ention)?[\s_\-]?(\d{1,2})(?!\d)", tuple(range(772, 787))),  # two-part inventions: inv01 ... inv15
    (r"sin(?:f|fonia)?[\s_\-]?(\d{1,2})(?!\d)", tuple(range(787, 802))),  # sinfonias: sinf01 ... sinf15
    # the Well-Tempered Clavier by book and number: wtc1-01, wtc1p01, wtc2_f24
    (r"wtc[\s_\-]?1[\s_\-]?(?:p|f|prel(?:ude)?|fug(?:ue)?)?[\s_\-]?(\d{1,2})(?!\d)", tuple(range(846, 870))),
    (r"wtc[\s_\-]?2[\s_\-]?(?:p|f|prel(?:ude)?|fug(?:ue)?)?[\s_\-]?(\d{1,2})(?!\d)", tuple(range(870, 894))),
)
_ABBREVIATIONS = [(re.compile(_START + pattern, re.IGNORECASE), numbers) for pattern, numbers in ABBREVIATIONS]


def _stem(name: str) -> str:
    """A file name without folders and without its extension(s) (``004207b_.mid`` -> ``004207b_``)."""
    base = PurePath(name).name
    for suffix in (*FILE_SUFFIXES, ".kar", ".mxl", ".krn", ".xml"):
        if base.lower().endswith(suffix):
            return base[: -len(suffix)]
    return base


def _valid(n: int) -> int | None:
    return n if 1 <= n <= MAX_BWV else None


def _abbreviation(stem: str) -> int | None:
    for pattern, numbers in _ABBREVIATIONS:
        if m := pattern.search(stem):
            index = int(m.group(1)) if m.lastindex else 1
            return numbers[index - 1] if 1 <= index <= len(numbers) else None
    return None


def name_range(name: str) -> tuple[int, int] | None:
    """The range of works a name stands for (``846-869.zip`` -> (846, 869)), None for any other name."""
    m = _RANGE_NAME.search(_stem(name))
    if m and _valid(int(m.group(2))) and int(m.group(1)) < int(m.group(2)):
        return int(m.group(1)), int(m.group(2))
    return None


def bwv_from_name(name: str) -> int | None:
    """The BWV number that a file name carries, or None when it carries none.

    In order: None for a name of a range of works (``846-869.zip``); the
    letters BWV and a number anywhere in the name (``Bach_BWV_565_Toccata.mid``),
    the chorale archives' ``BBBBMMx_`` scheme (``004207b_.mid``), a name that
    starts with a three- or four-digit number (``988-v01.mid``), piano-midi.de's
    ``bach_846.mid``, and the work abbreviations of :data:`ABBREVIATIONS`
    (``cs1-1pre.mid``, ``inv01.mid``, ``wtc1-01.mid``).
    """
    base = PurePath(name).name
    if name_range(base):
        return None
    if m := _BWV.search(base):
        return int(m.group(1))
    stem = _stem(base)
    if m := _CHORALE.fullmatch(stem):
        return _valid(int(m.group(1)))
    if m := _LEADING.match(stem):
        return _valid(int(m.group(1)))
    if m := _BACH_NUMBER.search(stem):
        return _valid(int(m.group(1)))
    return _abbreviation(stem)


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
    heading: str = ""  # the nearest heading or table caption before the link (else the page's title)
    position: tuple[int, int] | None = None  # (index, count) of the link among the row's file links
    other_urls: tuple[str, ...] = ()  # further addresses of the same file (the link before a redirect)


class BwvMatch(NamedTuple):
    bwv: int
    evidence: str  # which clue gave the number: "file name", "archive name", "link text", "url path", "table row", "heading"


def _within(bwv: int | None, span: tuple[int, int] | None) -> bool:
    return bwv is not None and (span is None or span[0] <= bwv <= span[1])


def match_bwv(clues: Clues) -> BwvMatch | None:
    """The BWV number of a downloaded file, from the most specific clue that names one; None when none does.

    A file's own name first (a zip member's: its own name, then the archive's when that names one
    work). An archive named for a range of works (``846-869.zip``) gives its members no number: it
    only bounds them, so a number outside the range, from any clue, is no answer.
    """
    urls = (clues.url, *clues.other_urls)
    names = [n for n in map(url_file_name, urls) if n]
    span = next((r for r in map(name_range, names) if r), None)
    if clues.member is not None:
        own = bwv_from_name(clues.member)
        if own is not None:
            return BwvMatch(own, "file name") if _within(own, span) else None
        found = next((b for b in map(bwv_from_name, names) if b is not None), None)
        if found is not None:
            return BwvMatch(found, "archive name")
        stems = (_stem(clues.member), clues.link_text)
    else:
        found = next((b for b in map(bwv_from_name, names) if b is not None), None)
        if found is not None:
            return BwvMatch(found, "file name")
        stems = (*map(_stem, names), clues.link_text)
    folders = {int(m.group(1)) for u in urls for seg in PurePosixPath(unquote(urlsplit(u).path)).parent.parts
               for m in _BWV.finditer(seg)}
    candidates = (
        ("link text", bwv_from_text(clues.link_text, stems)),
        ("url path", folders.pop() if len(folders) == 1 else None),
        ("table row", bwv_from_text(clues.row_text, stems, clues.position)),
        ("heading", bwv_from_text(clues.heading, stems)),
    )
    return next((BwvMatch(bwv, evidence) for evidence, bwv in candidates if _within(bwv, span)), None)


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
