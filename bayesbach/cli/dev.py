"""Developer commands: ``bayesbach bench ...``, the performance measurements of docs/performance.md (one JSON line
each)."""

from __future__ import annotations

import json
import sys
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
    if args.job:
        from bayesbach.dev.observer_bench import bench_bayes_job

        print(json.dumps(bench_bayes_job(args.pieces, args.sigma, args.units, args.order, args.kernel, args.threads)))
        return 0
    from bayesbach.dev.observer_bench import bench_bayes

    print(json.dumps(bench_bayes(args.pieces, args.sigma, args.units, args.repeats, args.single, args.order, args.prune,
                                 args.kernel, args.threads, args.compare)))
    return 0


def cmd_bench_evaluate(args) -> int:
    from bayesbach.dev.bench import bench_evaluate

    print(json.dumps(bench_evaluate(args.pieces, args.train_pieces, args.arch, args.hidden, args.repeats, args.threads)))
    return 0


def cmd_bench_annotate(args) -> int:
    from bayesbach.dev.bench import bench_annotate

    print(json.dumps(bench_annotate(args.stimuli, args.chords, args.train_pieces, args.train_steps, args.noise,
                                    args.repeats, args.threads)))
    return 0


def cmd_bench_gpu(args) -> int:
    from bayesbach.core.exceptions import StudyError
    from bayesbach.dev.gpu_bench import Plan, constants_text, run

    if args.out.suffix.lower() == ".md":
        raise StudyError(f"--out {args.out} names the JSON; the Markdown table is written beside it (.md)")
    plan = Plan(hidden=args.hidden, packs=args.packs, max_width=args.max_width, arch=args.arch,
                batch_size=args.batch_size, chunk_length=args.chunk_length, batches=args.batches,
                repeats=args.repeats, device=args.device, threads=args.threads, tf32_hidden=args.tf32_hidden,
                budget_s=args.budget_minutes * 60, tests=not args.no_tests, tests_timeout_s=args.tests_timeout)
    result = run(plan, args.out, log=lambda line: print(line, file=sys.stderr, flush=True))
    print(constants_text(result))
    print(json.dumps({"bench": "gpu", "out": str(args.out), "markdown": str(args.out.with_suffix(".md")),
                      "device": result["device_name"], "cells": len(result["cells"]),
                      "left_out": len(result["left_out"]), "cut_short": result["cut_short"],
                      "cuda_tests": result["cuda_tests"]["status"],
                      "elapsed_s": result["elapsed_s"]}))
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
    c.add_argument("--kernel", choices=["numba", "numpy"], default=None,
                   help="the dense and pruned steps: compiled, or the NumPy/SciPy reference path "
                        "(default: numba when installed)")
    c.add_argument("--threads", type=int, default=None,
                   help="threads of the numba kernel (default: NUMBA_NUM_THREADS if set, else 1, as a job has)")
    c.add_argument("--compare", action="store_true", help="also time the NumPy/SciPy path in the same run")
    c.add_argument("--job", action="store_true",
                   help="instead: a whole bayesK job (counting, the smoothing searches, the test pass with bits)")
    c.set_defaults(func=cmd_bench_bayes)
    c = bsub.add_parser("evaluate", help="one network's evaluation job (test BCE + encoding) at paper scale")
    c.add_argument("--pieces", type=int, default=140, help="synthetic test compositions (median 200 steps)")
    c.add_argument("--train-pieces", type=int, default=490, help="synthetic training compositions (encoding fit)")
    c.add_argument("--arch", choices=ARCHS, default="gru")
    c.add_argument("--hidden", type=int, default=256)
    c.add_argument("--repeats", type=int, default=3)
    c.add_argument("--threads", type=int, default=None)
    c.set_defaults(func=cmd_bench_evaluate)
    c = bsub.add_parser("annotate", help="bayesbach annotate on synthetic stimuli with every model of the default "
                                         "study (its sweep and references, untrained)")
    c.add_argument("--stimuli", type=int, default=100, help="synthetic MIDI files")
    c.add_argument("--chords", type=int, default=200, help="chords per file (at most; repeats merge)")
    c.add_argument("--train-pieces", type=int, default=300, help="synthetic training compositions, counted again")
    c.add_argument("--train-steps", type=int, default=250, help="chords per training composition")
    c.add_argument("--noise", type=float, default=0.0, help="the noise the models see (annotate --noise)")
    c.add_argument("--repeats", type=int, default=3)
    c.add_argument("--threads", type=int, default=None)
    c.set_defaults(func=cmd_bench_annotate)
    c = bsub.add_parser("gpu", help="a lent GPU's minutes at once: CUDA tests, bench train solo and packed at the "
                                    "paper's geometry, TF32 on/off, the cost model's constants (JSON + Markdown)")
    c.add_argument("--out", type=Path, required=True, help="the JSON written (and the Markdown table beside it, .md)")
    c.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    c.add_argument("--hidden", type=int, nargs="+", default=[8, 32, 128, 256], help="GRU sizes measured")
    c.add_argument("--packs", type=int, nargs="+", default=[2, 4, 8, 16, 32], help="pack sizes K measured per size")
    c.add_argument("--max-width", type=int, default=512, help="largest packed width K x hidden measured")
    c.add_argument("--arch", choices=ARCHS, default="gru")
    c.add_argument("--batch-size", type=int, default=512, help="default: presets/paper.yaml")
    c.add_argument("--chunk-length", type=int, default=512, help="default: presets/paper.yaml")
    c.add_argument("--batches", type=int, default=10, help="batches per timed run of each cell")
    c.add_argument("--repeats", type=int, default=3)
    c.add_argument("--threads", type=int, default=None)
    c.add_argument("--tf32-hidden", type=int, default=None,
                   help="the size measured with TF32 on (default: the largest)")
    c.add_argument("--budget-minutes", type=float, default=8.0, help="the whole run's time budget")
    c.add_argument("--tests-timeout", type=float, default=180.0, help="seconds the CUDA tests may take at most")
    c.add_argument("--no-tests", action="store_true", help="skip the CUDA tests")
    c.set_defaults(func=cmd_bench_gpu)
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
