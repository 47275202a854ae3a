"""Developer commands: ``bayesbach bench ...``, the performance measurements of docs/performance.md (one JSON line
each)."""

from __future__ import annotations

import json
from pathlib import Path

from bayesbach.core.registry import ARCHS, ENCODINGS


def cmd_bench_convert(args) -> int:
    from bayesbach.dev.bench import bench_convert

    print(json.dumps(bench_convert(args.folder, args.workers, args.repeats)))
    return 0


def cmd_bench_crawl(args) -> int:
    from bayesbach.dev.bench import bench_crawl

    print(json.dumps(bench_crawl(args.pages, args.files_per_page, args.repeats)))
    return 0


def cmd_bench_train(args) -> int:
    from bayesbach.dev.bench import bench_train

    if args.pack:
        from bayesbach.dev.bench import bench_pack

        print(json.dumps(bench_pack(args.pack, args.arch, args.hidden, args.batch_size, args.chunk_length, args.batches,
                                    args.device, args.repeats, args.threads, args.encoding, args.data)))
        return 0
    print(json.dumps(bench_train(args.arch, args.hidden, args.batch_size, args.chunk_length, args.batches, args.device,
                                 args.data, args.repeats, args.val_every, args.threads, args.encoding)))
    return 0


def cmd_bench_bayes(args) -> int:
    from bayesbach.dev.bench import bench_bayes

    print(json.dumps(bench_bayes(args.pieces, args.sigma, args.units, args.repeats, args.single, args.order, args.prune)))
    return 0


def cmd_bench_evaluate(args) -> int:
    from bayesbach.dev.bench import bench_evaluate

    print(json.dumps(bench_evaluate(args.pieces, args.train_pieces, args.arch, args.hidden, args.repeats, args.threads)))
    return 0


def register(sub) -> None:
    bench = sub.add_parser("bench", help="performance measurements (one JSON line each)")
    bsub = bench.add_subparsers(dest="bench", required=True, metavar="BENCH")
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
    c.add_argument("--units", type=int, default=12, help="12 = pc12 (4,096 chords); more: seen chords + other")
    c.add_argument("--order", type=int, choices=(1, 2, 3), default=1, help="the observer's order (bayes, bayes2, bayes3)")
    c.add_argument("--prune", type=float, default=None,
                   help="posterior mass a file may drop per step (0: exact; default: as a counted job decides)")
    c.add_argument("--single", type=int, default=6, help="longest files also filtered one by one (0: skip)")
    c.add_argument("--repeats", type=int, default=3)
    c.set_defaults(func=cmd_bench_bayes)
    c = bsub.add_parser("evaluate", help="one network's evaluation job (test BCE + encoding) at paper scale")
    c.add_argument("--pieces", type=int, default=140, help="synthetic test compositions (median 200 steps)")
    c.add_argument("--train-pieces", type=int, default=490, help="synthetic training compositions (encoding fit)")
    c.add_argument("--arch", choices=ARCHS, default="gru")
    c.add_argument("--hidden", type=int, default=256)
    c.add_argument("--repeats", type=int, default=3)
    c.add_argument("--threads", type=int, default=None)
    c.set_defaults(func=cmd_bench_evaluate)
    c = bsub.add_parser("train", help="training step speed: real vs bare step, and validation cost")
    c.add_argument("--arch", choices=ARCHS, default="gru")
    c.add_argument("--hidden", type=int, default=64)
    c.add_argument("--batch-size", type=int, default=64)
    c.add_argument("--chunk-length", type=int, default=256)
    c.add_argument("--batches", type=int, default=20, help="batches per timed run")
    c.add_argument("--device", choices=["auto", "cpu", "cuda"], default="cpu")
    c.add_argument("--data", type=Path, default=None, help="dataset folder (default: a synthetic corpus)")
    c.add_argument("--repeats", type=int, default=3)
    c.add_argument("--val-every", type=int, default=100, help="validation cadence the val_fraction refers to")
    c.add_argument("--threads", type=int, default=None)
    c.add_argument("--encoding", choices=list(ENCODINGS), default="pc12")
    c.add_argument("--pack", type=int, default=None, metavar="K",
                   help="instead: K networks trained packed against one alone, batch by batch (pack_speedup)")
    c.set_defaults(func=cmd_bench_train)
