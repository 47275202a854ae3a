"""The bayesbach command: every stage by hand, and bench for performance figures.

Each stage command calls the library function its workflow rule's script calls
(workflow/scripts/*.py) with the same arguments, read from the same study config
(--config FILE, repeatable: layered like snakemake --configfile A B), and the
workflow's paths as defaults (bayesbach.core.registry); --results DIR moves every
default path from results/ to DIR. A missing input or a bad config ends the
command with one line saying so.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import re
import sys
from pathlib import Path

from bayesbach.core import logs
from bayesbach.core.exceptions import StudyError
from bayesbach.core.layout import (COMPOSER_DATASET_DIR, COMPOSER_SOURCE_DIR, DATASET_DIR, EVALUATION_DIR,
                                   FIGURE_INPUTS, FIGURES, FIGURES_DIR, GENERALISATION_DIR, LISTEN_DIR, MODEL_DIR,
                                   NETWORK_EVALUATION_DIR, REFERENCE_DIR, SOURCE_DIR, SUMMARY, composer_folders,
                                   example_model_dirs, figure_names, model_dir, network_evaluation_dir, noise_label,
                                   reference_dir)
from bayesbach.core.registry import ARCHS, ENCODINGS, LISTEN_KINDS, REFERENCES, SIGMA_FREE, example_network, reference_names

log = logging.getLogger("bayesbach")

# The workflow's own files (relative to the folder a study runs in, like Snakemake's).
CONFIG = "config.yaml"
SCHEMA = "workflow/schemas/config.schema.yaml"
CAPTIONS = "workflow/report"  # one {figure}.rst per figure, as the figure rules' report() captions
CHECKOUT = Path(__file__).resolve().parents[1]


class MissingInput(StudyError):
    """An input file of a stage is not there (an earlier stage has not run)."""


def under(results: Path, path: str) -> Path:
    """A workflow path (``results/...``) under the ``--results`` folder instead of ``results/``."""
    parts = Path(path).parts
    if parts[0] != "results":
        raise ValueError(f"{path} is not a results path")
    return Path(results, *parts[1:])


def glob_template(results: Path, template: str, file: str) -> list[Path]:
    """Every existing ``file`` in the folders a registry path template names (each {wildcard} any value)."""
    pattern = Path(*Path(re.sub(r"\{\w+\}", "*", template)).parts[1:], file)  # below results/
    return sorted(Path(results).glob(str(pattern)))


def workflow_file(path: str) -> Path:
    """A workflow file (schema, captions): the study folder's own, else this checkout's."""
    here = Path(path)
    return here if here.exists() or not (CHECKOUT / path).exists() else CHECKOUT / path


def require(*paths: Path, hint: str = "") -> None:
    """Raise :class:`MissingInput` naming the first missing input file, and how many are missing."""
    missing = [p for p in map(Path, paths) if not p.exists()]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise MissingInput(f"missing input: {missing[0]}{more}" + (f"; {hint}" if hint else ""))


def study_config(args) -> dict:
    """The validated study config: the ``--config`` files layered in order (the one way every command loads it)."""
    from bayesbach.core.config import load_config

    paths = [*getattr(args, "configs", []), *(args.config or [])] or [Path(CONFIG)]
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise MissingInput(f"config file not found: {missing[0]}")
    return load_config(paths, args.schema or workflow_file(SCHEMA))


def dataset_of(args) -> Path:
    """The dataset folder (``--dataset``, else RESULTS/dataset), its tables checked."""
    dataset = args.dataset or under(args.results, DATASET_DIR)
    require(dataset / "events.parquet", dataset / "pieces.parquet", hint="bayesbach convert and split write them")
    return dataset


def sweep_cells(sweep: dict):
    """(arch, hidden, noise, run) of every network of the sweep, in the workflow's order."""
    return itertools.product(sweep["arch"], sweep["hidden"], sweep["noise"], range(sweep["runs"]))


def figure_inputs(name: str, config: dict, results: Path) -> dict:
    """The files figure ``name`` is drawn from, as its rule gives them (registry.FIGURE_INPUTS)."""
    return {key: [under(results, model_dir(*cell)) for cell in sweep_cells(config["sweep"])] if path == MODEL_DIR
            else under(results, path) for key, path in FIGURE_INPUTS[name].items()}


# ---- corpus and dataset -------------------------------------------------------------------------


def cmd_export(args) -> int:
    from bayesbach.corpus.bundled import export_bundled

    max_works = args.max_works if args.max_works is not None else study_config(args)["corpus"]["max_works"]
    kept = export_bundled(args.out, max_works, args.workers)
    print(f"{kept} bundled scores exported to {args.out}")
    return 0 if kept else 1


def cmd_crawl(args) -> int:
    from dataclasses import replace

    from bayesbach.corpus.crawl import CrawlOptions, crawl
    from bayesbach.corpus.crawl.run import format_summary

    if args.start_url:  # a crawl of one's own: the command line alone
        options = CrawlOptions(start_urls=args.start_url)
    else:  # the study's crawl, as its rule runs it
        options = CrawlOptions.from_config(study_config(args)["corpus"]["web"])
    options = replace(options, **{k: v for k, v in (
        ("depth", args.depth), ("follow", args.follow), ("max_file_mb", args.max_file_mb)) if v is not None})
    summary = crawl(args.out, options.impolite() if args.no_delay else options)
    print(json.dumps(summary) if args.json else format_summary(summary, args.out))
    return 0


def cmd_convert(args) -> int:
    from bayesbach.dataset.midi import convert, convert_sources, midi_files, write_tables

    if args.composer:  # another composer's source, as the convert_composer rule reads it
        sources = [Path(COMPOSER_SOURCE_DIR.format(composer=args.composer))]
        require(sources[0] / "manifest.parquet", hint=f"bayesbach composer {args.composer} writes it")
        out = args.out or under(args.results, COMPOSER_DATASET_DIR.format(composer=args.composer))
        kept, rejected = convert_sources(sources, out, args.workers)
        print(f"{kept} files -> events, {rejected} rejected; written to {out}")
        return 0
    if not args.paths:  # the study's sources, as the convert rule reads them (their manifests and rejects)
        sources = [Path(SOURCE_DIR.format(source=s)) for s in study_config(args)["corpus"]["sources"]]
        require(*(folder / "manifest.parquet" for folder in sources), hint="bayesbach export (or crawl) writes it")
        out = args.out or under(args.results, DATASET_DIR)
        kept, rejected = convert_sources(sources, out, args.workers)
        print(f"{kept} files -> events, {rejected} rejected; written to {out}")
        return 0
    if args.out is None:
        raise StudyError("convert PATH... needs --out (the study's dataset is converted from its sources: "
                         "bayesbach convert without paths)")
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


def cmd_keys(args) -> int:
    from bayesbach.dataset.keys import label_files

    dataset = args.dataset or under(args.results, DATASET_DIR)
    sources = [Path(SOURCE_DIR.format(source=s)) for s in study_config(args)["corpus"]["sources"]]
    require(dataset / "events.parquet", hint="bayesbach convert writes it")
    require(*(folder / "manifest.parquet" for folder in sources), hint="bayesbach export (or crawl) writes it")
    table = label_files(dataset / "events.parquet", sources, dataset / "file_keys.parquet", args.workers)
    print(f"{table.num_rows} key labels written to {dataset / 'file_keys.parquet'}")
    return 0


def cmd_split(args) -> int:
    from bayesbach.dataset.split import split_dataset

    config = study_config(args)
    own = args.composer is not None  # another composer's works, split by generalisation.split
    dataset = args.dataset or under(args.results, COMPOSER_DATASET_DIR.format(composer=args.composer) if own
                                    else DATASET_DIR)
    require(dataset / "events.parquet", hint="bayesbach convert writes it")
    default = config["generalisation"]["split"] if own else config["dataset"]["split"]
    ratios = dict(zip(("train", "validation", "test"), args.ratios)) if args.ratios else dict(default)
    seed = config["seed"] if args.seed is None else args.seed
    table = split_dataset(dataset / "events.parquet", dataset / "pieces.parquet", seed, ratios,
                          **config["dataset"]["families"])
    print(table.group_by("split").aggregate([("piece", "count")]).to_pandas().to_string(index=False))
    return 0


# ---- networks and references --------------------------------------------------------------------


def cmd_train(args) -> int:
    from bayesbach.networks.training_job import train_pack

    config = study_config(args)
    dataset = dataset_of(args)
    train = config["train"]
    for key in ("decode_batches", "probe_batches", "batch_size", "chunk_length", "val_every", "encoding"):
        if getattr(args, key) is not None:
            train[key] = getattr(args, key)
    cells = [(noise, run) for run in args.run for noise in args.noise]
    if args.out and len(cells) > 1:
        raise StudyError("--out names one network's folder: train several cells without it (into RESULTS/models)")
    outs = [args.out] if args.out else [under(args.results, model_dir(args.arch, args.hidden, n, r)) for n, r in cells]
    metas = train_pack(dataset, outs, arch=args.arch, hidden=args.hidden, cells=cells, seed=config["seed"],
                       train=train, gap=config["dataset"]["gap"], device=args.device or config["device"],
                       threads=args.threads or train["threads"], progress=not args.no_progress)
    for out, meta in zip(outs, metas):
        print(f"best validation BCE: decode {meta['best_val']['decode']:.5f}, probe {meta['best_val']['probe']:.5f}; "
              f"written to {out}")
    return 0


def cmd_reference(args) -> int:
    from bayesbach.references import check_sigma_free

    check_sigma_free(args.name, args.noise)  # the arguments first, before the config and the dataset
    config = study_config(args)
    dataset = dataset_of(args)
    if args.out and len(args.noise) > 1:
        raise StudyError("--out names one noise level's folder: score several without it (into RESULTS/references)")
    outs = [args.out] if args.out else [under(args.results, reference_dir(args.name, s)) for s in args.noise]
    common = {"name": args.name, "noises": args.noise, "seed": config["seed"]}
    kind = REFERENCES[args.name].kind
    if kind == "counted":
        from bayesbach.references.counted import counted_reference

        metas = counted_reference(dataset, outs, encoding=config["train"]["encoding"], **common)
    elif kind == "trained":
        from bayesbach.references.trained import network_reference

        refs = config["references"]
        metas = network_reference(dataset, outs, refs=refs, train=config["train"], gap=config["dataset"]["gap"],
                                  device=args.device or config["device"], threads=args.threads or refs["threads"],
                                  **common)
    else:
        raise ValueError(f"reference {args.name!r} has an unknown kind {kind!r}")
    for out, meta in zip(outs, metas):
        print(f"{args.name} at sigma={meta['noise']!r}: {meta['seconds']:.1f} s; written to {out}")
    return 0


def cmd_estimate(args) -> int:
    from bayesbach.core.resources import study_hours

    config = study_config(args)
    hours = study_hours(config, args.device)
    print(json.dumps({"device": args.device, **{f"{k}_hours": round(v, 1) for k, v in hours.items()}}))
    return 0


# ---- evaluation ---------------------------------------------------------------------------------


def cmd_evaluate(args) -> int:
    from bayesbach.evaluation.evaluation_job import evaluate_network
    from bayesbach.networks.models import load_network

    _, meta = load_network(args.model, "decoder")  # NotTrained, naming what is missing, before anything runs
    config = study_config(args)
    dataset = dataset_of(args)
    out = args.out or under(args.results, network_evaluation_dir(meta["arch"], meta["hidden"], meta["noise"], meta["run"]))
    require(dataset / "file_keys.parquet", hint="bayesbach keys writes it")
    summary = evaluate_network(dataset, args.model, out / "errors.parquet", out / "encoding.parquet",
                               out / "keys.parquet", seed=config["seed"], threads=args.threads)
    print(f"test BCE: decode {summary['decode']:.5f}, predict {summary['predict']:.5f}; effective memory "
          f"{summary['memory']:.2f} steps; written to {out}")
    return 0


def cmd_collect(args) -> int:
    import pyarrow.parquet as pq

    from bayesbach.evaluation.collect import collect_evaluation

    results = args.results
    if args.sweep:  # exactly the workflow rule's inputs
        config = study_config(args)
        cells = [under(results, network_evaluation_dir(*cell)) for cell in sweep_cells(config["sweep"])]
        networks, encodings = [d / "errors.parquet" for d in cells], [d / "encoding.parquet" for d in cells]
        keys = [d / "keys.parquet" for d in cells]
        refs = [under(results, reference_dir(name, s)) / "errors.parquet"
                for s in config["sweep"]["noise"] for name in config["references"]["models"]]
        require(*networks, *encodings, *keys, *refs, hint="bayesbach evaluate and reference write them")
    else:  # whatever has been evaluated
        networks = glob_template(results, NETWORK_EVALUATION_DIR, "errors.parquet")
        encodings = glob_template(results, NETWORK_EVALUATION_DIR, "encoding.parquet")
        keys = glob_template(results, NETWORK_EVALUATION_DIR, "keys.parquet")
        refs = glob_template(results, REFERENCE_DIR, "errors.parquet")
        if not networks and not refs:
            raise MissingInput(f"no evaluation tables under {results} (evaluation/networks/**/errors.parquet, "
                               "references/*/*/errors.parquet); bayesbach evaluate and reference write them")
    out = args.out or under(results, EVALUATION_DIR)
    collect_evaluation(networks + refs, encodings, out / "errors.parquet", out / "encoding.parquet", keys,
                       out / "keys.parquet")
    rows = {name: pq.read_metadata(out / f"{name}.parquet").num_rows for name in ("errors", "encoding", "keys")}
    print(f"collected {len(networks)} network and {len(refs)} reference error tables ({rows['errors']} rows), "
          f"{len(encodings)} encoding tables ({rows['encoding']} rows) and {len(keys)} key-decoding tables "
          f"({rows['keys']} rows); written to {out}")
    return 0


def from_errors(args, filename: str, write):
    """Run ``write(errors.parquet, out)`` for a table made from the errors alone; returns (table, out)."""
    errors = args.errors or under(args.results, EVALUATION_DIR) / "errors.parquet"
    out = args.out or under(args.results, EVALUATION_DIR) / filename
    require(errors, hint="bayesbach collect writes it")
    return write(errors, out), out


def cmd_stats(args) -> int:
    from bayesbach.evaluation.stats import write_stats

    table, out = from_errors(args, "stats.csv", write_stats)
    print(f"{len(table)} comparisons written to {out}")
    return 0


def cmd_orders(args) -> int:
    from bayesbach.evaluation.effective_order import write_orders

    table, out = from_errors(args, "orders.csv", write_orders)
    print(f"{len(table)} network cells placed on the ladder of ideal observers; written to {out}")
    return 0


# ---- report -------------------------------------------------------------------------------------


def cmd_listen(args) -> int:
    from bayesbach.report.listening import listen

    config = study_config(args)
    dataset = dataset_of(args)
    arch, hidden, run = example_network(config["sweep"])
    networks = {s: under(args.results, d) for s, d in example_model_dirs(config["sweep"]).items()}
    require(*(d / f for d in networks.values() for f in ("decoder.pt", "probe.pt", "meta.json")),
            hint=f"bayesbach train --arch {arch} --hidden {hidden} --run {run} --noise SIGMA writes it")
    out = args.out or under(args.results, LISTEN_DIR)
    piece = listen(dataset, networks, out, seed=config["seed"], step_seconds=config["report"]["listen_step_seconds"],
                   max_steps=config["report"]["listen_max_steps"])
    print(f"{piece} through {arch} h{hidden} run {run} at sigma {', '.join(map(noise_label, sorted(networks)))}: "
          f"{len(networks) * len(LISTEN_KINDS)} MIDI files and example.parquet written to {out}")
    return 0


def cmd_figures(args) -> int:
    from bayesbach.report.figures import make

    config = study_config(args)
    names = args.names or figure_names(config["sweep"], config["generalisation"]["composers"])
    inputs = {name: figure_inputs(name, config, args.results) for name in names}
    needed = []
    for files in inputs.values():
        for key, value in files.items():
            needed += [d / f for d in value for f in ("history.parquet", "meta.json")] if key == "model_dirs" else [value]
    require(*needed, hint="the earlier stages (bayesbach train, collect, stats, orders, listen) write it")
    out = args.out or under(args.results, FIGURES_DIR)
    for name, files in inputs.items():
        dirs = sorted({str(d) for d in files.pop("model_dirs", [])})
        make(name, out / f"{name}.png", model_dirs=dirs, example_steps=config["report"]["example_steps"], **files)
    print(f"{len(names)} figures ({', '.join(names)}) written to {out} as PNG and PDF")
    return 0


def cmd_summary(args) -> int:
    from bayesbach.report.page import write_summary

    config = study_config(args)
    results = args.results
    evaluation, listen = under(results, EVALUATION_DIR), under(results, LISTEN_DIR)
    figures = [under(results, FIGURES_DIR) / f"{name}.png"
               for name in figure_names(config["sweep"], config["generalisation"]["composers"])]
    captions = args.captions or workflow_file(CAPTIONS)
    pieces = under(results, DATASET_DIR) / "pieces.parquet"
    midi = [listen / f"s{noise_label(s)}" / f"{kind}.mid" for s in config["sweep"]["noise"] for kind in LISTEN_KINDS]
    file_keys = under(results, DATASET_DIR) / "file_keys.parquet"
    require(pieces, evaluation / "errors.parquet", evaluation / "stats.csv", evaluation / "orders.csv",
            evaluation / "keys.parquet", file_keys, *figures, listen / "example.parquet", *midi,
            hint="the earlier stages (bayesbach split, keys, collect, stats, orders, figures, listen) write it")
    require(*(captions / f"{p.stem}.rst" for p in figures), hint="captions come from the workflow's report folder")
    out = args.out or under(results, SUMMARY)
    crawl = ""
    if "web" in config["corpus"]["sources"]:
        import pyarrow.parquet as pq

        from bayesbach.corpus.crawl.report import report_html

        report = Path(SOURCE_DIR.format(source="web")) / "report.parquet"
        require(report, hint="bayesbach crawl writes it")
        crawl = report_html(pq.read_table(report))
    others = {}  # the other composers' tables, when the study names some
    if config["generalisation"]["composers"]:
        others = {"generalisation": evaluation / "generalisation.parquet",
                  "generalisation_stats": evaluation / "generalisation.csv",
                  "composer_pieces": [under(results, COMPOSER_DATASET_DIR.format(composer=name)) / "pieces.parquet"
                                      for name in composer_folders(config)]}
        require(others["generalisation"], others["generalisation_stats"], *others["composer_pieces"],
                hint="bayesbach split --composer, generalise and generalisation write it")
    text = write_summary(config, pieces=pieces, errors=evaluation / "errors.parquet", stats=evaluation / "stats.csv",
                         orders=evaluation / "orders.csv", figures=figures, captions=captions, listen=listen, out_html=out,
                         out_text=out.with_suffix(".txt"), crawl=crawl, keys=evaluation / "keys.parquet",
                         file_keys=file_keys, **others)
    print("\n" + text, end="")
    return 0


# ---- the folder source and the other composers ---------------------------------------------------


def cmd_folder(args) -> int:
    from bayesbach.corpus.folder import export_folder

    paths = args.paths or study_config(args)["corpus"]["folder"]["paths"]
    out = args.out or Path(SOURCE_DIR.format(source="folder"))
    kept = export_folder(paths, out)
    print(f"{kept} MIDI files of {', '.join(map(str, paths))} copied to {out} with their manifest")
    return 0 if kept else 1


def cmd_composer(args) -> int:
    config = study_config(args)
    paths = composer_folders(config).get(args.name)  # None: a composer of music21's corpus
    out = args.out or Path(COMPOSER_SOURCE_DIR.format(composer=args.name))
    max_files = args.max_files if args.max_files is not None else config["generalisation"]["max_files"]
    if paths is None:
        from bayesbach.corpus.bundled import export_composer

        kept = export_composer(args.name, out, max_files, args.workers)
    else:
        from bayesbach.corpus.folder import export_folder

        kept = export_folder(paths, out, bwv_numbers=False, max_files=max_files)
    print(f"{kept} files of {args.name} written to {out} with their manifest")
    return 0 if kept else 1


def cmd_generalise(args) -> int:
    from bayesbach.evaluation.generalisation import generalise

    config = study_config(args)
    dataset = dataset_of(args)
    own = under(args.results, COMPOSER_DATASET_DIR.format(composer=args.name))
    require(own / "events.parquet", own / "pieces.parquet",
            hint=f"bayesbach composer {args.name}, convert --composer {args.name} and split --composer {args.name} "
                 "write them")
    sweep = {**config["sweep"], "noise": [args.noise]}
    models = [under(args.results, model_dir(*cell)) for cell in sweep_cells(sweep)]
    refs = [under(args.results, reference_dir(name, args.noise)) for name in config["references"]["models"]]
    require(*(d / "meta.json" for d in models + refs), hint="bayesbach train and reference write them")
    out = args.out or under(args.results, GENERALISATION_DIR.format(composer=args.name, noise=noise_label(args.noise)))
    table = generalise(dataset, own, out / "errors.parquet", corpus=args.name, noise=args.noise, model_dirs=models,
                       reference_dirs=refs, own_models=config["generalisation"]["own_models"],
                       encoding=config["train"]["encoding"], seed=config["seed"], threads=args.threads)
    print(f"{len(models)} networks, {len(refs)} references and the composer's own on {args.name}: {table.num_rows} "
          f"rows written to {out / 'errors.parquet'}")
    return 0


def cmd_generalisation(args) -> int:
    from bayesbach.evaluation.collect import collect_generalisation
    from bayesbach.evaluation.stats import write_generalisation_stats

    if args.sweep:  # exactly the workflow rule's inputs
        config = study_config(args)
        tables = [under(args.results, GENERALISATION_DIR.format(composer=name, noise=noise_label(s))) / "errors.parquet"
                  for name in composer_folders(config) for s in config["sweep"]["noise"]]
        require(*tables, hint="bayesbach generalise writes them")
    else:  # whatever has been scored
        tables = glob_template(args.results, GENERALISATION_DIR, "errors.parquet")
        if not tables:
            raise MissingInput(f"no generalisation tables under {args.results} (generalisation/*/*/errors.parquet); "
                               "bayesbach generalise writes them")
    out = args.out or under(args.results, EVALUATION_DIR)
    table = collect_generalisation(tables, out / "generalisation.parquet")
    stats = write_generalisation_stats(out / "generalisation.parquet", out / "generalisation.csv")
    print(f"collected {len(tables)} tables ({table.num_rows} rows) into generalisation.parquet and {len(stats)} "
          f"comparisons into generalisation.csv; written to {out}")
    return 0


# ---- benchmarks ---------------------------------------------------------------------------------


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


# ---- the parser ---------------------------------------------------------------------------------


def figure_name(name: str) -> str:
    if name not in FIGURES:
        raise argparse.ArgumentTypeError(f"unknown figure {name!r} (choose from {', '.join(FIGURES)})")
    return name


def config_args(c: argparse.ArgumentParser, uses: str) -> None:
    """``--config`` (repeatable, layered) and ``--schema``: how every command that reads the study config gets it."""
    c.add_argument("--config", type=Path, action="append", default=None, metavar="FILE",
                   help=f"study config ({uses}); repeat to layer files like snakemake --configfile A B "
                        f"(default: {CONFIG})")
    c.add_argument("--schema", type=Path, default=None,
                   help=f"config schema (default: {SCHEMA}, this checkout's where the folder has none)")


def results_arg(c: argparse.ArgumentParser) -> None:
    c.add_argument("--results", type=Path, default=Path("results"), metavar="DIR",
                   help="the study's results folder: every default path below results/ moves there (default: results)")


def dataset_arg(c: argparse.ArgumentParser) -> None:
    c.add_argument("--dataset", type=Path, default=None, help="folder with events/pieces.parquet (default: RESULTS/dataset)")


def job_args(c: argparse.ArgumentParser, out: str, uses: str, threads: str) -> None:
    """Options of the commands that run one training or reference job by hand."""
    dataset_arg(c)
    c.add_argument("--out", type=Path, default=None, help=f"default: {out}")
    results_arg(c)
    config_args(c, uses)
    c.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None, help="default: the config's device")
    c.add_argument("--threads", type=int, default=None, help=f"CPU threads (default: {threads})")


def scoring_args(c: argparse.ArgumentParser, out: str, uses: str) -> None:
    """Options of the commands that score trained models on a dataset (the evaluation stage's jobs)."""
    dataset_arg(c)
    c.add_argument("--out", type=Path, default=None, help=out)
    results_arg(c)
    config_args(c, uses)
    c.add_argument("--threads", type=int, default=None, help="CPU threads")


def joining_args(c: argparse.ArgumentParser, tables: str, cells: str, uses: str) -> None:
    """Options of the commands that join the per-job tables of the evaluation stage."""
    c.add_argument("--out", type=Path, default=None, help=f"folder for the {tables} tables (default: RESULTS/evaluation)")
    c.add_argument("--sweep", action="store_true",
                   help=f"exactly the config's {cells}, as the workflow does (a missing table is an error); default: "
                        "every table found under RESULTS")
    results_arg(c)
    config_args(c, f"{uses}; only with --sweep")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bayesbach", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    c = sub.add_parser("export", help="export music21's bundled Bach scores to MIDI with a manifest")
    c.add_argument("--out", type=Path, default=Path(SOURCE_DIR.format(source="bundled")))
    c.add_argument("--max-works", type=int, default=None,
                   help="only the first N compositions (default: the config's corpus.max_works)")
    c.add_argument("--workers", type=int, default=None)
    config_args(c, "corpus.max_works; not read with --max-works")
    c.set_defaults(func=cmd_export)

    c = sub.add_parser("crawl", help="crawl web archives for Bach MIDI files into a source folder with its manifest")
    c.add_argument("--out", type=Path, default=Path(SOURCE_DIR.format(source="web")), help="the web source's folder")
    c.add_argument("--start-url", action="append", default=None,
                   help="a listing page to start from (repeatable); with it the crawl takes its options from the "
                        "command line alone, without it from the config's corpus.web")
    c.add_argument("--depth", type=int, default=None, help="links to follow away from a start URL (default 3)")
    c.add_argument("--follow", action="append", default=None, metavar="REGEX",
                   help="follow page links whose URL matches (repeatable; default: bach, bwv)")
    c.add_argument("--max-file-mb", type=float, default=None, help="largest download kept (default 16)")
    c.add_argument("--no-delay", action="store_true", help="no pauses between requests: only for a server of your own")
    c.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    config_args(c, "corpus.web; not read with --start-url")
    c.set_defaults(func=cmd_crawl)

    c = sub.add_parser("convert", help="MIDI files to chord events (events.parquet, rejects.parquet)")
    c.add_argument("paths", type=Path, nargs="*", metavar="PATH",
                   help="MIDI files or folders searched recursively (needs --out); default: the config's corpus "
                        "sources (data/raw/SOURCE/ with their manifests), as the workflow converts them")
    c.add_argument("--out", type=Path, default=None,
                   help="folder for events.parquet and rejects.parquet (default without PATH: RESULTS/dataset)")
    c.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    c.add_argument("--composer", default=None, metavar="NAME",
                   help="another composer's source instead (data/raw/composers/NAME/ -> RESULTS/dataset/composers/NAME)")
    results_arg(c)
    config_args(c, "corpus.sources; not read with PATH or --composer")
    c.set_defaults(func=cmd_convert)

    c = sub.add_parser("keys", help="the key of every file of events.parquet and where it comes from "
                                    "(file_keys.parquet)")
    dataset_arg(c)
    c.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    results_arg(c)
    config_args(c, "corpus.sources: their manifests name the MIDI files and any score keys")
    c.set_defaults(func=cmd_keys)

    c = sub.add_parser("split", help="assign the compositions of events.parquet to splits (pieces.parquet)")
    c.add_argument("dataset", type=Path, nargs="?", default=None,
                   help="folder with events.parquet; pieces.parquet is written there (default: RESULTS/dataset)")
    c.add_argument("--seed", type=int, default=None, help="default: the config's seed")
    c.add_argument("--ratios", type=float, nargs=3, default=None, metavar=("TRAIN", "VAL", "TEST"),
                   help="default: the config's dataset.split (generalisation.split with --composer)")
    c.add_argument("--composer", default=None, metavar="NAME",
                   help="another composer's works (default dataset: RESULTS/dataset/composers/NAME)")
    results_arg(c)
    config_args(c, "seed, dataset.split, dataset.families, generalisation.split")
    c.set_defaults(func=cmd_split)

    c = sub.add_parser("folder", help="folders of MIDI files as the corpus: the folder source (data/raw/folder/)")
    c.add_argument("paths", type=Path, nargs="*", metavar="FOLDER",
                   help="folders searched recursively (default: the config's corpus.folder.paths)")
    c.add_argument("--out", type=Path, default=Path(SOURCE_DIR.format(source="folder")))
    config_args(c, "corpus.folder.paths; not read with FOLDER")
    c.set_defaults(func=cmd_folder)

    c = sub.add_parser("composer", help="another composer's works (music21's, or the folders the config gives) "
                                        "to MIDI with a manifest, for the generalisation")
    c.add_argument("name", help="a name of generalisation.composers, or any composer of music21's corpus")
    c.add_argument("--out", type=Path, default=None, help="default: data/raw/composers/NAME")
    c.add_argument("--max-files", type=int, default=None, help="default: the config's generalisation.max_files")
    c.add_argument("--workers", type=int, default=None)
    config_args(c, "generalisation.composers, generalisation.max_files")
    c.set_defaults(func=cmd_composer)

    c = sub.add_parser("train", help="train one network cell (decode, then probe) with the config's train: settings; "
                                      "several noise levels or runs train packed as one model")
    c.add_argument("--arch", choices=ARCHS, default="gru")
    c.add_argument("--hidden", type=int, required=True, help="hidden units")
    c.add_argument("--noise", type=float, nargs="+", required=True, help="noise standard deviation(s) sigma")
    c.add_argument("--run", type=int, nargs="+", default=[0],
                   help="run number(s) (seed the initialisation and the batches)")
    job_args(c, "RESULTS/models/ARCH/hH/sNOISE/rRUN", "seed, dataset.gap, device, train:", "train.threads")
    for key in ("decode_batches", "probe_batches", "batch_size", "chunk_length", "val_every"):
        c.add_argument("--" + key.replace("_", "-"), type=int, default=None, help=f"override train.{key}")
    c.add_argument("--encoding", choices=list(ENCODINGS), default=None, help="override train.encoding")
    c.add_argument("--no-progress", action="store_true", help="no progress bar")
    c.set_defaults(func=cmd_train)

    c = sub.add_parser("reference", help="fit and score one reference model at one noise level, or at several for one "
                                         "that does not depend on it (the config's references:)")
    c.add_argument("name", choices=list(REFERENCES),
                   help="; ".join(f"{kind}: {', '.join(reference_names(kind))}" for kind in ("counted", "trained")))
    c.add_argument("--noise", type=float, nargs="+", required=True,
                   help=f"noise standard deviation(s) sigma; several only for {', '.join(SIGMA_FREE)} (fitted once)")
    job_args(c, "RESULTS/references/sNOISE/NAME", "seed, dataset.gap (trained ones), device, train:, references:", "references.threads")
    c.set_defaults(func=cmd_reference)

    c = sub.add_parser("evaluate", help="score one trained network on the test split (errors, encoding and "
                                        "key-decoding tables)")
    c.add_argument("model", type=Path, help="the network's folder (results/models/ARCH/hH/sNOISE/rRUN)")
    scoring_args(c, "default: RESULTS/evaluation/networks/ARCH/hH/sNOISE/rRUN, the network's cell (its meta.json)",
                 "seed")
    c.set_defaults(func=cmd_evaluate)

    c = sub.add_parser("collect", help="join the per-network and per-reference tables into errors.parquet, "
                                       "encoding.parquet and keys.parquet")
    joining_args(c, "three", "sweep cells and references", "sweep:, references.models")
    c.set_defaults(func=cmd_collect)

    for name, func, filename, text in (
            ("stats", cmd_stats, "stats.csv", "the comparisons of stats.csv from errors.parquet"),
            ("orders", cmd_orders, "orders.csv", "each network cell's effective order on the ladder of ideal observers "
                                                 "(orders.csv from errors.parquet)")):
        c = sub.add_parser(name, help=text)
        c.add_argument("--errors", type=Path, default=None, help="default: RESULTS/evaluation/errors.parquet")
        c.add_argument("--out", type=Path, default=None, help=f"default: RESULTS/evaluation/{filename}")
        results_arg(c)
        c.set_defaults(func=func)

    c = sub.add_parser("generalise", help="score every network and reference of the sweep at one noise level, and "
                                          "the composer's own references, on another composer's test compositions")
    c.add_argument("name", help="the composer (its dataset: RESULTS/dataset/composers/NAME)")
    c.add_argument("--noise", type=float, required=True, help="noise standard deviation sigma")
    scoring_args(c, "folder for errors.parquet (default: RESULTS/generalisation/NAME/sNOISE)",
                 "seed, sweep:, references.models, train.encoding, generalisation.own_models")
    c.set_defaults(func=cmd_generalise)

    c = sub.add_parser("generalisation", help="join the other composers' tables into generalisation.parquet and "
                                              "compare the models on them (generalisation.csv)")
    joining_args(c, "two", "composers and noise levels", "generalisation.composers, sweep.noise")
    c.set_defaults(func=cmd_generalisation)

    c = sub.add_parser("listen", help="the example network's view of the example piece at each noise level, as MIDI")
    dataset_arg(c)
    c.add_argument("--out", type=Path, default=None, help=f"default: RESULTS/{Path(LISTEN_DIR).name}")
    results_arg(c)
    config_args(c, "seed, sweep:, report:")
    c.set_defaults(func=cmd_listen)

    c = sub.add_parser("figures", help="draw the study's figures (PNG and PDF)")
    c.add_argument("names", nargs="*", type=figure_name, metavar="NAME",
                   help=f"figures to draw, of {', '.join(FIGURES)} (default: all the study draws; architectures only "
                        "when it sweeps several)")
    c.add_argument("--out", type=Path, default=None, help="default: RESULTS/figures")
    results_arg(c)
    config_args(c, "sweep:, report.example_steps")
    c.set_defaults(func=cmd_figures)

    c = sub.add_parser("summary", help="the results page (summary.html) and the headline table (summary.txt)")
    c.add_argument("--out", type=Path, default=None, help="the page; summary.txt is written beside it "
                                                          "(default: RESULTS/summary.html)")
    c.add_argument("--captions", type=Path, default=None, help=f"folder of the figure captions (default: {CAPTIONS})")
    results_arg(c)
    config_args(c, "the whole config is shown on the page")
    c.set_defaults(func=cmd_summary)

    c = sub.add_parser("estimate", help="device-hours a study needs (its networks and recurrent reference)")
    c.add_argument("configs", type=Path, nargs="*", default=[], metavar="CONFIG",
                   help="config files layered in order, the same as --config (default: config.yaml)")
    c.add_argument("--device", choices=["cuda", "cpu"], default="cuda", help="cpu: hours of one job's threads")
    config_args(c, "sweep:, train:, references:")
    c.set_defaults(func=cmd_estimate)

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
    return p


# What Snakemake sets for every job: the linear-algebra libraries' thread pools at the job's threads.
BLAS_THREADS = ("OMP_NUM_THREADS", "GOTO_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def limit_blas_threads(threads: int) -> None:
    """BLAS pools of ``threads`` threads, as a workflow job has, where the user's environment sets none: a sum's
    order, and so its last bit, depends on them, and a command run by hand should reproduce its job's results
    exactly (the jobs that use BLAS, evaluation and counted references, run on one thread). Only has effect
    before numpy loads."""
    for name in BLAS_THREADS:
        os.environ.setdefault(name, str(threads))


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if "numpy" not in sys.modules:  # a process of its own (called in-process, numpy's pools are already made)
        limit_blas_threads(getattr(args, "threads", None) or 1)
    logs.setup(level=logging.DEBUG if args.verbose else logging.INFO)
    try:
        return args.func(args)
    except (StudyError, OSError) as e:
        log.error("%s", e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
