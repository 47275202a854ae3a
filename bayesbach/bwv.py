"""BWV catalogue numbers: finding them in names and naming compositions by them."""

from __future__ import annotations

import re
from pathlib import PurePath

# "bwv1006a", "BWV_565", "bwv-0772", "Bach BWV 846": the letters BWV, optional
# separators, then the number. Letter suffixes (1006a) belong to the same number.
_BWV = re.compile(r"bwv[\s_.\-]*0*(\d{1,4})(?!\d)", re.IGNORECASE)


def bwv_from_name(name: str) -> int | None:
    """The BWV number that a file name carries, or None when it carries none."""
    m = _BWV.search(PurePath(name).name)
    return int(m.group(1)) if m else None


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
