"""The ``bayesbach`` command: every stage by hand, and ``bench`` for performance figures."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from bayesbach.core import logs
from bayesbach.core.exceptions import StudyError

log = logging.getLogger("bayesbach")


def cmd_convert(args) -> int:
    from bayesbach.dataset.midi import convert, midi_files, write_tables

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
    from bayesbach.corpus.bundled import export_bundled

    kept = export_bundled(args.out, args.max_works, args.workers)
    print(f"{kept} bundled scores exported to {args.out}")
    return 0 if kept else 1


def cmd_split(args) -> int:
    from bayesbach.dataset.split import split_dataset

    ratios = dict(zip(("train", "validation", "test"), args.ratios))
    table = split_dataset(args.dataset / "events.parquet", args.dataset / "pieces.parquet", args.seed, ratios)
    print(table.group_by("split").aggregate([("piece", "count")]).to_pandas().to_string(index=False))
    return 0


def cmd_train(args) -> int:
    import yaml

    from bayesbach.core.config import check_config
    from bayesbach.networks.job import train_network

    config = check_config(yaml.safe_load(args.config.read_text()) or {}, args.schema)
    train = config["train"]
    for key in ("decode_batches", "probe_batches", "batch_size", "chunk_length", "val_every", "encoding"):
        if getattr(args, key) is not None:
            train[key] = getattr(args, key)
    out = args.out or Path(f"results/models/{args.arch}/h{args.hidden}/s{args.noise!r}/r{args.run}")
    meta = train_network(args.dataset, out, arch=args.arch, hidden=args.hidden, noise=args.noise, run=args.run,
                         seed=config["seed"], train=train, gap=config["dataset"]["gap"],
                         device=args.device or config["device"], threads=args.threads or train["threads"],
                         progress=not args.no_progress)
    print(f"best validation BCE: decode {meta['best_val']['decode']:.5f}, probe {meta['best_val']['probe']:.5f}; "
          f"written to {out}")
    return 0


def cmd_bench_train(args) -> int:
    from bayesbach.dev.bench import bench_train

    print(json.dumps(bench_train(args.arch, args.hidden, args.batch_size, args.chunk_length, args.batches, args.device,
                                 args.data, args.repeats, args.val_every, args.threads, args.encoding)))
    return 0


def cmd_crawl(args) -> int:
    from bayesbach.corpus.crawl import CrawlOptions, crawl
    from bayesbach.corpus.crawl.run import format_summary

    options = CrawlOptions(start_urls=args.start_url, **{k: v for k, v in (
        ("depth", args.depth), ("follow", args.follow), ("max_file_mb", args.max_file_mb)) if v is not None})
    summary = crawl(args.out, options.impolite() if args.no_delay else options)
    print(json.dumps(summary) if args.json else format_summary(summary, args.out))
    return 0


def cmd_bench_crawl(args) -> int:
    from bayesbach.dev.bench import bench_crawl

    print(json.dumps(bench_crawl(args.pages, args.files_per_page, args.repeats)))
    return 0


def cmd_reference(args) -> int:
    import yaml

    from bayesbach.core.config import check_config

    config = check_config(yaml.safe_load(args.config.read_text()) or {}, args.schema)
    out = args.out or Path(f"results/references/s{args.noise!r}/{args.name}")
    common = {"name": args.name, "noise": args.noise, "seed": config["seed"], "gap": config["dataset"]["gap"]}
    if args.name in ("global", "markov_counts", "bayes"):
        from bayesbach.references.counted import counted_reference

        meta = counted_reference(args.dataset, out, encoding=config["train"]["encoding"], **common)
    else:
        from bayesbach.references.trained import network_reference

        refs = config["references"]
        meta = network_reference(args.dataset, out, refs=refs, train=config["train"],
                                 device=args.device or config["device"], threads=args.threads or refs["threads"], **common)
    print(f"{args.name} at sigma={args.noise!r}: {meta['seconds']:.1f} s; written to {out}")
    return 0


def cmd_bench_bayes(args) -> int:
    from bayesbach.dev.bench import bench_bayes

    print(json.dumps(bench_bayes(args.pieces, args.sigma, args.units, args.repeats)))
    return 0


def cmd_estimate(args) -> int:
    from bayesbach.core.config import load_config
    from bayesbach.core.resources import study_hours

    config = load_config(args.configs, args.schema)
    hours = study_hours(config, args.device)
    print(json.dumps({"device": args.device, **{f"{k}_hours": round(v, 1) for k, v in hours.items()}}))
    return 0


def cmd_evaluate(args) -> int:
    from bayesbach.core.config import load_config
    from bayesbach.evaluation.jobs import evaluate_network

    config = load_config([args.config], args.schema)
    out = args.out or Path("results/evaluation/networks", *args.model.resolve().parts[-4:])  # ARCH/hH/sNOISE/rRUN
    summary = evaluate_network(args.dataset, args.model, out / "errors.parquet", out / "encoding.parquet",
                               seed=config["seed"], threads=args.threads)
    print(f"test BCE: decode {summary['decode']:.5f}, predict {summary['predict']:.5f}; written to {out}")
    return 0


def cmd_stats(args) -> int:
    from bayesbach.evaluation.stats import write_stats

    table = write_stats(args.errors, args.out)
    print(f"{len(table)} comparisons written to {args.out}")
    return 0


def cmd_bench_evaluate(args) -> int:
    from bayesbach.dev.bench import bench_evaluate

    print(json.dumps(bench_evaluate(args.pieces, args.train_pieces, args.arch, args.hidden, args.repeats, args.threads)))
    return 0


def cmd_bench_convert(args) -> int:
    from bayesbach.dev.bench import bench_convert

    print(json.dumps(bench_convert(args.folder, args.workers, args.repeats)))
    return 0


def _job_args(c: argparse.ArgumentParser, out: str, uses: str, threads: str) -> None:
    """Options of the commands that run one workflow job by hand, with the study config."""
    c.add_argument("--dataset", type=Path, default=Path("results/dataset"), help="folder with events/pieces.parquet")
    c.add_argument("--out", type=Path, default=None, help=f"default: {out}")
    c.add_argument("--config", type=Path, default=Path("config.yaml"), help=f"study config ({uses})")
    c.add_argument("--schema", type=Path, default=Path("workflow/schemas/config.schema.yaml"))
    c.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None, help="default: the config's device")
    c.add_argument("--threads", type=int, default=None, help=f"CPU threads (default: {threads})")


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

    c = sub.add_parser("train", help="train one network cell (decode, then probe) with the config's train: settings")
    c.add_argument("--arch", choices=["elman", "lstm", "gru"], default="gru")
    c.add_argument("--hidden", type=int, required=True, help="hidden units")
    c.add_argument("--noise", type=float, required=True, help="noise standard deviation sigma")
    c.add_argument("--run", type=int, default=0, help="run number (seeds the initialisation and the batches)")
    _job_args(c, "results/models/ARCH/hH/sNOISE/rRUN", "seed, dataset.gap, train:", "train.threads")
    for key in ("decode_batches", "probe_batches", "batch_size", "chunk_length", "val_every"):
        c.add_argument("--" + key.replace("_", "-"), type=int, default=None, help=f"override train.{key}")
    c.add_argument("--encoding", choices=["pc12", "pitch"], default=None, help="override train.encoding")
    c.add_argument("--no-progress", action="store_true", help="no progress bar")
    c.set_defaults(func=cmd_train)

    c = sub.add_parser("reference", help="fit and score one reference model at one noise level (the config's references:)")
    c.add_argument("name", choices=["global", "markov_counts", "markov_low", "markov_high", "decoder_ff", "rnn_pred", "bayes"])
    c.add_argument("--noise", type=float, required=True, help="noise standard deviation sigma")
    _job_args(c, "results/references/sNOISE/NAME", "seed, dataset, train:, references:", "references.threads")
    c.set_defaults(func=cmd_reference)

    c = sub.add_parser("crawl", help="crawl web archives for Bach MIDI files into a source folder with its manifest")
    c.add_argument("--out", type=Path, default=Path("data/raw/web"), help="the web source's folder")
    c.add_argument("--start-url", action="append", required=True, help="a listing page to start from (repeatable)")
    c.add_argument("--depth", type=int, default=None, help="links to follow away from a start URL (default 3)")
    c.add_argument("--follow", action="append", default=None, metavar="REGEX",
                   help="follow page links whose URL matches (repeatable; default: bach, bwv)")
    c.add_argument("--max-file-mb", type=float, default=None, help="largest download kept (default 16)")
    c.add_argument("--no-delay", action="store_true", help="no pauses between requests: only for a server of your own")
    c.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    c.set_defaults(func=cmd_crawl)

    c = sub.add_parser("estimate", help="device-hours a study needs (its networks and recurrent reference)")
    c.add_argument("configs", type=Path, nargs="*", default=[Path("config.yaml")],
                   help="config files layered like snakemake --configfile (default: config.yaml)")
    c.add_argument("--device", choices=["cuda", "cpu"], default="cuda", help="cpu: hours of one job's threads")
    c.add_argument("--schema", type=Path, default=Path("workflow/schemas/config.schema.yaml"))
    c.set_defaults(func=cmd_estimate)

    c = sub.add_parser("evaluate", help="score one trained network on the test split (errors and encoding tables)")
    c.add_argument("model", type=Path, help="the network's folder (results/models/ARCH/hH/sNOISE/rRUN)")
    c.add_argument("--dataset", type=Path, default=Path("results/dataset"), help="folder with events/pieces.parquet")
    c.add_argument("--out", type=Path, default=None, help="default: results/evaluation/networks/ARCH/hH/sNOISE/rRUN")
    c.add_argument("--config", type=Path, default=Path("config.yaml"), help="study config (seed)")
    c.add_argument("--schema", type=Path, default=Path("workflow/schemas/config.schema.yaml"))
    c.add_argument("--threads", type=int, default=None, help="CPU threads")
    c.set_defaults(func=cmd_evaluate)

    c = sub.add_parser("stats", help="the comparisons of stats.csv from errors.parquet")
    c.add_argument("--errors", type=Path, default=Path("results/evaluation/errors.parquet"))
    c.add_argument("--out", type=Path, default=Path("results/evaluation/stats.csv"))
    c.set_defaults(func=cmd_stats)

    bench = sub.add_parser("bench", help="performance measurements (one JSON line each)")
    bsub = bench.add_subparsers(dest="bench", required=True)
    c = bsub.add_parser("convert", help="converter speed over the MIDI files in a folder")
    c.add_argument("folder", type=Path)
    c.add_argument("--workers", type=int, default=None)
    c.add_argument("--repeats", type=int, default=3)
    c.set_defaults(func=cmd_bench_convert)
    c = bsub.add_parser("crawl", help="crawler speed (pages/s, files/s) against a generated site on 127.0.0.1")
    c.add_argument("--pages", type=int, default=20, help="listing pages beyond the fixture's own")
    c.add_argument("--files-per-page", type=int, default=20)
    c.add_argument("--repeats", type=int, default=3)
    c.set_defaults(func=cmd_bench_crawl)
    c = bsub.add_parser("bayes", help="ideal observer's filter over a paper-scale synthetic test split")
    c.add_argument("--pieces", type=int, default=140, help="test compositions (median 2,000 steps each)")
    c.add_argument("--sigma", type=float, default=1.0)
    c.add_argument("--units", type=int, default=12, help="12 = pc12 (4,096 states); more: seen chords + other")
    c.add_argument("--repeats", type=int, default=3)
    c.set_defaults(func=cmd_bench_bayes)
    c = bsub.add_parser("evaluate", help="one network's evaluation job (test BCE + encoding) at paper scale")
    c.add_argument("--pieces", type=int, default=140, help="synthetic test compositions (median 200 steps)")
    c.add_argument("--train-pieces", type=int, default=490, help="synthetic training compositions (encoding fit)")
    c.add_argument("--arch", choices=["elman", "lstm", "gru"], default="gru")
    c.add_argument("--hidden", type=int, default=256)
    c.add_argument("--repeats", type=int, default=3)
    c.add_argument("--threads", type=int, default=None)
    c.set_defaults(func=cmd_bench_evaluate)
    c = bsub.add_parser("train", help="training step speed: real vs bare step, and validation cost")
    c.add_argument("--arch", choices=["elman", "lstm", "gru"], default="gru")
    c.add_argument("--hidden", type=int, default=64)
    c.add_argument("--batch-size", type=int, default=64)
    c.add_argument("--chunk-length", type=int, default=256)
    c.add_argument("--batches", type=int, default=20, help="batches per timed run")
    c.add_argument("--device", choices=["auto", "cpu", "cuda"], default="cpu")
    c.add_argument("--data", type=Path, default=None, help="dataset folder (default: a synthetic corpus)")
    c.add_argument("--repeats", type=int, default=3)
    c.add_argument("--val-every", type=int, default=100, help="validation cadence the val_fraction refers to")
    c.add_argument("--threads", type=int, default=None)
    c.add_argument("--encoding", choices=["pc12", "pitch"], default="pc12")
    c.set_defaults(func=cmd_bench_train)
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
