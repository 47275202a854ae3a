"""MIDI files out of zip archives, safely: never outside the target, never unbounded."""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePosixPath

MIDI_SUFFIXES = (".mid", ".midi")


class ZipRejected(Exception):
    """The archive as a whole is refused; the message is the reason."""


def unsafe_member_reason(name: str) -> str | None:
    """Why a member's path could escape the folder it is extracted to (None when it cannot)."""
    path = name.replace("\\", "/")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        return f"unsafe zip member {name!r}: absolute path"
    if ".." in PurePosixPath(path).parts:
        return f"unsafe zip member {name!r}: '..' would leave the target folder"
    return None


def midi_members(data: bytes, max_bytes: int, max_members: int) -> tuple[list[tuple[str, bytes]], list[tuple[str, str]]]:
    """The MIDI members of a zip archive as ``(path, bytes)``, and ``(path, reason)`` for members refused.

    Only ``.mid``/``.midi`` members are read; other members are ignored. Raises
    :class:`ZipRejected` when the archive is not a zip, has more than
    ``max_members`` members, or its MIDI members would unpack to more than
    ``max_bytes`` (checked against the sizes the archive declares and again
    while reading, since a forged header can understate them).
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise ZipRejected(f"not a readable zip archive ({e})") from None
    if len(infos) > max_members:
        raise ZipRejected(f"zip archive with {len(infos)} members, more than the limit of {max_members}")
    midi = [i for i in infos if not i.is_dir() and i.filename.lower().endswith(MIDI_SUFFIXES)]
    declared = sum(i.file_size for i in midi)
    if declared > max_bytes:
        raise ZipRejected(f"zip archive unpacks to {declared} bytes of MIDI, more than the limit of {max_bytes}")

    kept, refused, total = [], [], 0
    for info in midi:
        reason = unsafe_member_reason(info.filename)
        if reason:
            refused.append((info.filename, reason))
            continue
        try:
            with archive.open(info) as f:
                body = f.read(max_bytes - total + 1)
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as e:
            refused.append((info.filename, f"unreadable zip member ({e})"))
            continue
        total += len(body)
        if total > max_bytes:
            raise ZipRejected(f"zip archive unpacks to more than the limit of {max_bytes} bytes of MIDI")
        kept.append((info.filename, body))
    return kept, refused
