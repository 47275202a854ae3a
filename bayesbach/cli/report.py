"""The report by hand: the listening files (rule listen), the figures (figure_{name}) and the page (summary)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bayesbach.cli.common import (CAPTIONS, command, config_args, dataset_arg, dataset_of, flat, path, require,
                                  results_arg, study_config, workflow_file)
from bayesbach.core.layout import (FIGURES, FIGURES_DIR, LISTEN_DIR, SUMMARY, example_model_dirs, figure_inputs,
                                   listen_inputs, noise_label, study_figures, summary_inputs)
from bayesbach.core.registry import LISTEN_KINDS, example_network


def cmd_listen(args) -> int:
    from bayesbach.report.listening import listen

    config = study_config(args)
    dataset = dataset_of(args)
    arch, hidden, run = example_network(config["sweep"])
    require(*listen_inputs(config, args.results)["models"],
            hint=f"bayesbach train --arch {arch} --hidden {hidden} --run {run} --noise SIGMA writes it")
    networks = {s: path(args.results, d) for s, d in example_model_dirs(config["sweep"]).items()}
    out = args.out or path(args.results, LISTEN_DIR)
    piece = listen(dataset, networks, out, seed=config["seed"], step_seconds=config["report"]["listen_step_seconds"],
                   max_steps=config["report"]["listen_max_steps"])
    print(f"{piece} through {arch} h{hidden} run {run} at sigma {', '.join(map(noise_label, sorted(networks)))}: "
          f"{len(networks) * len(LISTEN_KINDS)} MIDI files and example.parquet written to {out}")
    return 0


def cmd_figures(args) -> int:
    from bayesbach.report.figures import make

    config = study_config(args)
    names = args.names or study_figures(config)
    inputs = {name: figure_inputs(name, config, args.results) for name in names}
    require(*flat(inputs), hint="the earlier stages (bayesbach train, collect_evaluation, stats, orders, listen) write it")
    out = args.out or path(args.results, FIGURES_DIR)
    for name, files in inputs.items():
        dirs = sorted({str(Path(p).parent) for p in files.pop("model_dirs", [])})  # as the figure rules' script
        make(name, out / f"{name}.png", model_dirs=dirs, example_steps=config["report"]["example_steps"], **files)
    print(f"{len(names)} figures ({', '.join(names)}) written to {out} as PNG and PDF")
    return 0


def cmd_summary(args) -> int:
    from bayesbach.report.page import write_summary

    config = study_config(args)
    inputs = summary_inputs(config, args.results)
    figures = list(map(Path, inputs["figures"]))
    captions = args.captions or workflow_file(CAPTIONS)
    require(*(inputs[k] for k in ("pieces", "errors", "stats", "orders", "convergence", "key_decoding", "file_keys")),
            *figures, *inputs["listen"], hint="the earlier stages (bayesbach split, file_keys, collect_evaluation, "
                                              "stats, orders, convergence, figures, listen) write it")
    require(*(captions / f"{p.stem}.rst" for p in figures), hint="captions come from the workflow's report folder")
    require(*inputs["crawl"], hint="bayesbach crawl_web writes it")
    require(*inputs["generalisation"], *inputs["composer_pieces"],
            hint="bayesbach split --composer, generalise, collect_generalisation and generalisation_stats write it")
    crawl = ""
    if inputs["crawl"]:
        import pyarrow.parquet as pq

        from bayesbach.corpus.crawl.report import report_html

        crawl = report_html(pq.read_table(inputs["crawl"][0]))
    others = inputs["generalisation"] or [None, None]  # [parquet, csv] when the study names other composers
    out = args.out or path(args.results, SUMMARY)
    text = write_summary(config, pieces=inputs["pieces"], errors=inputs["errors"], stats=inputs["stats"],
                         orders=inputs["orders"], figures=figures, captions=captions,
                         listen=Path(inputs["listen"][0]).parent, out_html=out, out_text=out.with_suffix(".txt"),
                         crawl=crawl, keys=inputs["key_decoding"], file_keys=inputs["file_keys"],
                         generalisation=others[0], generalisation_stats=others[1],
                         composer_pieces=inputs["composer_pieces"], convergence=inputs["convergence"])
    print("\n" + text, end="")
    return 0


def figure_name(name: str) -> str:
    if name not in FIGURES:
        raise argparse.ArgumentTypeError(f"unknown figure {name!r} (choose from {', '.join(FIGURES)})")
    return name


def register(sub) -> None:
    c = command(sub, "listen", cmd_listen, "the example network's view of the example piece at each noise level, "
                                           "as MIDI")
    dataset_arg(c)
    c.add_argument("--out", type=Path, default=None, help=f"default: RESULTS/{Path(LISTEN_DIR).name}")
    results_arg(c)
    config_args(c, "seed, sweep:, report:")

    c = command(sub, "figures", cmd_figures, "draw the study's figures (PNG and PDF; rules figure_NAME)")
    c.add_argument("names", nargs="*", type=figure_name, metavar="NAME",
                   help=f"figures to draw, of {', '.join(FIGURES)} (default: all the study draws; architectures only "
                        "when it sweeps several)")
    c.add_argument("--out", type=Path, default=None, help="default: RESULTS/figures")
    results_arg(c)
    config_args(c, "sweep:, report.example_steps")

    c = command(sub, "summary", cmd_summary, "the results page (summary.html) and the headline table (summary.txt)")
    c.add_argument("--out", type=Path, default=None, help="the page; summary.txt is written beside it "
                                                          "(default: RESULTS/summary.html)")
    c.add_argument("--captions", type=Path, default=None, help=f"folder of the figure captions (default: {CAPTIONS})")
    results_arg(c)
    config_args(c, "the whole config is shown on the page")
