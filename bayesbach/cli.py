"""The ``bayesbach`` command: every stage by hand, and ``bench`` for performance figures."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from . import logs
from .errors import StudyError

log = logging.getLogger("bayesbach")


def cmd_convert(args) -> int:
    from .bench import midi_files
    from .midi import convert, write_tables

    files = midi_files(args.paths)
    if not files:
        log.error("no .mid or .midi files in %s", ", ".join(map(str, args.paths)))
        return 2
    events, rejects = convert(files, args.workers)
    write_tables(args.out, events, rejects)
    for row in rejects.to_pylist():
        log.warning("rejected %s: %s", row["file"], row["reason"])
    print(f"{len(files) - rejects.num_rows} files -> {events.num_rows} chord events, "
          f"{rejects.num_rows} rejected; written to {args.out}")
    return 0 if events.num_rows else 1


def cmd_export(args) -> int:
    from .corpus import export_bundled

    kept = export_bundled(args.out, args.max_works, args.workers)
    print(f"{kept} bundled scores exported to {args.out}")
    return 0 if kept else 1


def cmd_split(args) -> int:
    from .dataset import split_dataset

    ratios = dict(zip(("train", "validation", "test"), args.ratios))
    table = split_dataset(args.dataset / "events.parquet", args.dataset / "pieces.parquet", args.seed, ratios)
    print(table.group_by("split").aggregate([("piece", "count")]).to_pandas().to_string(index=False))
    return 0


def cmd_bench_convert(args) -> int:
    from .bench import bench_convert

    print(json.dumps(bench_convert(args.folder, args.workers, args.repeats)))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bayesbach", description=__doc__)
    p.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("convert", help="MIDI files to chord events (events.parquet, rejects.parquet)")
    c.add_argument("--out", type=Path, required=True, help="folder for events.parquet and rejects.parquet")
    c.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    c.add_argument("paths", type=Path, nargs="+", help="MIDI files or folders searched recursively")
    c.set_defaults(func=cmd_convert)

    c = sub.add_parser("export", help="export music21's bundled Bach scores to MIDI with a manifest")
    c.add_argument("--out", type=Path, default=Path("data/raw/bundled"))
    c.add_argument("--max-works", type=int, default=None, help="only the first N compositions")
    c.add_argument("--workers", type=int, default=None)
    c.set_defaults(func=cmd_export)

    c = sub.add_parser("split", help="assign compositions of DATASET/events.parquet to splits")
    c.add_argument("dataset", type=Path, help="folder with events.parquet; pieces.parquet is written there")
    c.add_argument("--seed", type=int, default=2024)
    c.add_argument("--ratios", type=float, nargs=3, default=(0.7, 0.1, 0.2), metavar=("TRAIN", "VAL", "TEST"))
    c.set_defaults(func=cmd_split)

    bench = sub.add_parser("bench", help="performance measurements (one JSON line each)")
    bsub = bench.add_subparsers(dest="bench", required=True)
    c = bsub.add_parser("convert", help="converter speed over the MIDI files in a folder")
    c.add_argument("folder", type=Path)
    c.add_argument("--workers", type=int, default=None)
    c.add_argument("--repeats", type=int, default=3)
    c.set_defaults(func=cmd_bench_convert)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logs.setup(level=logging.DEBUG if args.verbose else logging.INFO)
    try:
        return args.func(args)
    except (StudyError, OSError) as e:
        log.error("%s", e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
