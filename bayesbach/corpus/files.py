"""Which files a source takes: the MIDI files below a folder, and a capped subset spread over a source's files.

The other composers of a study (``generalisation.max_files``) are capped by files, not by works: a
work's size differs by orders of magnitude between composers (a Palestrina mass has a dozen movement
files, a madrigal one), and the cost of a source is its files. Taking every k-th file of the sorted list
rather than the first ones keeps the subset representative (music21's Palestrina files sort by movement:
the first twenty would all be settings of the Agnus Dei) and the same on every run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence, TypeVar

T = TypeVar("T")
MIDI_SUFFIXES = (".mid", ".midi")


def midi_paths(folder: Path) -> list[Path]:
    """Every .mid/.midi file below ``folder`` (recursively, any case of the suffix), sorted by path."""
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in MIDI_SUFFIXES and p.is_file())


def evenly(items: Sequence[T], limit: int | None) -> list[T]:
    """``limit`` of ``items`` at evenly spaced positions, in their order (all of them when ``limit`` is None or
    not below their number)."""
    if limit is None or limit >= len(items):
        return list(items)
    return [items[i * len(items) // limit] for i in range(limit)]
