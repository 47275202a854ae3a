"""Stage 2 by hand: chord events, keys and the split (rules convert, file_keys, split, and their composer twins
convert_composer, split_composer: ``--composer NAME``)."""

from __future__ import annotations

import logging
from pathlib import Path

from bayesbach.cli.common import (command, config_args, dataset_arg, path, require, results_arg, study_config, workers,
                                  workers_arg)
from bayesbach.core.exceptions import StudyError
from bayesbach.core.layout import COMPOSER_DATASET_DIR, COMPOSER_SOURCE_DIR, DATASET_DIR, source_files, source_manifests

log = logging.getLogger("bayesbach")
SOURCES_HINT = "bayesbach export_bundled (or crawl_web, import_folder) writes it"


def study_sources(args) -> list[Path]:
    """The folder of every corpus source of the study, their manifests checked (what convert and file_keys read)."""
    manifests = source_manifests(study_config(args))
    require(*manifests, hint=SOURCES_HINT)
    return [Path(m).parent for m in manifests]


def cmd_convert(args) -> int:
    from bayesbach.dataset.midi import convert, convert_sources, midi_files, write_tables

    if args.composer or not args.paths:  # a source folder's manifest, as the convert (or convert_composer) rule reads it
        if args.composer:
            source = COMPOSER_SOURCE_DIR.format(composer=args.composer)
            require(source_files(source)["manifest"], hint=f"bayesbach export_composer {args.composer} writes it")
            sources, out = [Path(source)], COMPOSER_DATASET_DIR.format(composer=args.composer)
        else:
            sources, out = study_sources(args), DATASET_DIR
        out = args.out or path(args.results, out)
        kept, rejected = convert_sources(sources, out, workers(args))
        print(f"{kept} files -> events, {rejected} rejected; written to {out}")
        return 0
    if args.out is None:
        raise StudyError("convert PATH... needs --out (the study's dataset is converted from its sources: "
                         "bayesbach convert without paths)")
    files = midi_files(args.paths)
    if not files:
        log.error("no .mid or .midi files in %s", ", ".join(map(str, args.paths)))
        return 2
    events, rejects = convert(files, args.workers)  # files of one's own: no study, no config
    write_tables(args.out, events, rejects)
    for row in rejects.to_pylist():
        log.warning("rejected %s: %s", row["file"], row["reason"])
    print(f"{len(files) - rejects.num_rows} files -> {events.num_rows} chord events, "
          f"{rejects.num_rows} rejected; written to {args.out}")
    return 0 if events.num_rows else 1


def cmd_file_keys(args) -> int:
    from bayesbach.dataset.keys import label_files

    dataset = args.dataset or path(args.results, DATASET_DIR)
    require(dataset / "events.parquet", hint="bayesbach convert writes it")
    table = label_files(dataset / "events.parquet", study_sources(args), dataset / "file_keys.parquet", workers(args))
    print(f"{table.num_rows} key labels written to {dataset / 'file_keys.parquet'}")
    return 0


def cmd_split(args) -> int:
    from bayesbach.dataset.split import split_dataset

    config = study_config(args)
    own = args.composer is not None  # another composer's works, split by generalisation.split
    dataset = args.dataset or path(args.results, COMPOSER_DATASET_DIR.format(composer=args.composer) if own
                                   else DATASET_DIR)
    require(dataset / "events.parquet", hint="bayesbach convert writes it")
    default = config["generalisation"]["split"] if own else config["dataset"]["split"]
    ratios = dict(zip(("train", "validation", "test"), args.ratios)) if args.ratios else dict(default)
    seed = config["seed"] if args.seed is None else args.seed
    table = split_dataset(dataset / "events.parquet", dataset / "pieces.parquet", seed, ratios,
                          **config["dataset"]["families"])
    print(table.group_by("split").aggregate([("piece", "count")]).to_pandas().to_string(index=False))
    return 0


def register(sub) -> None:
    c = command(sub, "convert", cmd_convert, "MIDI files to chord events (events.parquet, rejects.parquet)")
    c.add_argument("paths", type=Path, nargs="*", metavar="PATH",
                   help="MIDI files or folders searched recursively (needs --out); default: the config's corpus "
                        "sources (data/raw/SOURCE/ with their manifests), as the workflow converts them")
    c.add_argument("--out", type=Path, default=None,
                   help="folder for events.parquet and rejects.parquet (default without PATH: RESULTS/dataset)")
    workers_arg(c, "; all cores with PATH")
    c.add_argument("--composer", default=None, metavar="NAME",
                   help="another composer's source instead (data/raw/composers/NAME/ -> RESULTS/dataset/composers/NAME;"
                        " rule convert_composer)")
    results_arg(c)
    config_args(c, "corpus.sources, workers; not read with PATH, nor with --composer and --workers")

    c = command(sub, "file_keys", cmd_file_keys,
                "the key of every file of events.parquet and where it comes from (file_keys.parquet)")
    dataset_arg(c)
    workers_arg(c)
    results_arg(c)
    config_args(c, "corpus.sources: their manifests name the MIDI files and any score keys; workers")

    c = command(sub, "split", cmd_split, "assign the compositions of events.parquet to splits (pieces.parquet)")
    c.add_argument("dataset", type=Path, nargs="?", default=None,
                   help="folder with events.parquet; pieces.parquet is written there (default: RESULTS/dataset)")
    c.add_argument("--seed", type=int, default=None, help="default: the config's seed")
    c.add_argument("--ratios", type=float, nargs=3, default=None, metavar=("TRAIN", "VAL", "TEST"),
                   help="default: the config's dataset.split (generalisation.split with --composer)")
    c.add_argument("--composer", default=None, metavar="NAME",
                   help="another composer's works (default dataset: RESULTS/dataset/composers/NAME; rule split_composer)")
    results_arg(c)
    config_args(c, "seed, dataset.split, dataset.families, generalisation.split")
