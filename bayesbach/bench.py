"""Performance measurements behind ``bayesbach bench ...``: each prints one JSON line."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

# The original implementation converted about 0.5 chorale files per second on a
# 2-core machine of this project's kind (shared/notes/facts.md).
ORIGINAL_CONVERT_FILES_PER_S = 0.5


def midi_files(paths: list[Path]) -> list[tuple[str, Path]]:
    """``(name, path)`` for every .mid/.midi file given or found below the given folders."""
    files = []
    for path in map(Path, paths):
        if path.is_dir():
            files += [(str(p.relative_to(path)), p) for p in sorted(path.rglob("*")) if p.suffix.lower() in {".mid", ".midi"}]
        else:
            files.append((path.name, path))
    return files


def bench_convert(folder: Path, workers: int | None = None, repeats: int = 3) -> dict:
    """Time the converter over every MIDI file below ``folder``; median of ``repeats`` runs."""
    from .midi import convert

    files = midi_files([folder])
    if not files:
        raise FileNotFoundError(f"no .mid or .midi files below {folder}")
    times, events = [], 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        table, _ = convert(files, workers)
        times.append(time.perf_counter() - t0)
        events = table.num_rows
    seconds = statistics.median(times)
    return {
        "bench": "convert",
        "files": len(files),
        "events": events,
        "seconds": round(seconds, 4),
        "files_per_s": round(len(files) / seconds, 1),
        "runs": repeats,
        "workers": workers,
        "speedup_vs_original": round(len(files) / seconds / ORIGINAL_CONVERT_FILES_PER_S, 1),
    }
