"""The other composers by hand: a composer's works (rules export_composer, import_composer_folder), every model on
its test compositions (generalise), their table (collect_generalisation) and its comparisons (generalisation_stats).
Its dataset: ``bayesbach convert --composer NAME`` and ``split --composer NAME``."""

from __future__ import annotations

from pathlib import Path

from bayesbach.cli.common import (MissingInput, command, config_args, dataset_of, flat, found, joining_args, path,
                                  require, results_arg, scoring_args, study_config, workers, workers_arg)
from bayesbach.core.layout import (COMPOSER_SOURCE_DIR, EVALUATION_DIR, GENERALISATION_DIR,
                                   collect_generalisation_inputs, composer_folders, generalisation_dir,
                                   generalise_inputs)


def cmd_export_composer(args) -> int:
    config = study_config(args)
    paths = composer_folders(config).get(args.name)  # None: a composer of music21's corpus
    out = args.out or Path(COMPOSER_SOURCE_DIR.format(composer=args.name))
    max_files = args.max_files if args.max_files is not None else config["generalisation"]["max_files"]
    if paths is None:  # export_composer's job
        from bayesbach.corpus.bundled import export_composer

        kept = export_composer(args.name, out, max_files, workers(args))
    else:  # import_composer_folder's
        from bayesbach.corpus.folder import export_folder

        kept = export_folder(paths, out, bwv_numbers=False, max_files=max_files)
    print(f"{kept} files of {args.name} written to {out} with their manifest")
    return 0 if kept else 1


def cmd_generalise(args) -> int:
    from bayesbach.evaluation.generalisation import generalise

    config = study_config(args)
    dataset = dataset_of(args)
    inputs = {k: flat(v) for k, v in generalise_inputs(config, args.name, args.noise, args.results).items()}
    require(*inputs["composer_events"], *inputs["composer_pieces"],
            hint=f"bayesbach export_composer {args.name}, convert --composer {args.name} and split --composer "
                 f"{args.name} write them")
    require(*inputs["networks"], *inputs["references"], *inputs["reference_models"],
            hint="bayesbach train and reference write them")
    models = list(dict.fromkeys(p.parent for p in inputs["networks"]))  # in the sweep's order
    refs = [p.parent for p in inputs["references"]]
    out = args.out or path(args.results, generalisation_dir(args.name, args.noise))
    table = generalise(dataset, inputs["composer_pieces"][0].parent, out / "errors.parquet", corpus=args.name,
                       noise=args.noise, model_dirs=models, reference_dirs=refs,
                       own_models=config["generalisation"]["own_models"], encoding=config["train"]["encoding"],
                       seed=config["seed"], threads=args.threads)
    print(f"{len(models)} networks, {len(refs)} references and the composer's own on {args.name}: {table.num_rows} "
          f"rows written to {out / 'errors.parquet'}")
    return 0


def collect(args) -> Path:
    """generalisation.parquet from the sweep's tables (``--sweep``) or from every table found; returns its folder."""
    from bayesbach.evaluation.collect import collect_generalisation

    if args.sweep:  # exactly the workflow rule's inputs
        tables = flat(collect_generalisation_inputs(study_config(args), args.results))
        require(*tables, hint="bayesbach generalise writes them")
    else:  # whatever has been scored
        tables = found(args.results, GENERALISATION_DIR, "errors.parquet")
        if not tables:
            raise MissingInput(f"no generalisation tables under {args.results} (generalisation/*/*/errors.parquet); "
                               "bayesbach generalise writes them")
    out = args.out or path(args.results, EVALUATION_DIR)
    table = collect_generalisation(tables, out / "generalisation.parquet")
    print(f"collected {len(tables)} tables ({table.num_rows} rows) into generalisation.parquet; written to {out}")
    return out


def compare(table: Path, out: Path) -> None:
    from bayesbach.evaluation.stats import write_generalisation_stats

    print(f"{len(write_generalisation_stats(table, out))} comparisons written to {out}")


def cmd_collect_generalisation(args) -> int:
    collect(args)
    return 0


def cmd_generalisation_stats(args) -> int:
    table = args.generalisation or path(args.results, EVALUATION_DIR) / "generalisation.parquet"
    require(table, hint="bayesbach collect_generalisation writes it")
    compare(table, args.out or path(args.results, EVALUATION_DIR) / "generalisation.csv")
    return 0


def cmd_generalisation(args) -> int:
    """The old command: the table, and its comparisons beside it."""
    out = collect(args)
    compare(out / "generalisation.parquet", out / "generalisation.csv")
    return 0


def register(sub) -> None:
    c = command(sub, "export_composer", cmd_export_composer,
                "another composer's works to MIDI with a manifest, for the generalisation: music21's (rule "
                "export_composer) or the folders generalisation.composers gives (rule import_composer_folder)",
                aliases=("import_composer_folder",))
    c.add_argument("name", help="a name of generalisation.composers, or any composer of music21's corpus")
    c.add_argument("--out", type=Path, default=None, help="default: data/raw/composers/NAME")
    c.add_argument("--max-files", type=int, default=None, help="default: the config's generalisation.max_files")
    workers_arg(c, "; music21's export only")
    config_args(c, "generalisation.composers, generalisation.max_files, workers")

    c = command(sub, "generalise", cmd_generalise, "score every network and reference of the sweep at one noise "
                                                   "level, and the composer's own references, on another composer's "
                                                   "test compositions")
    c.add_argument("name", help="the composer (its dataset: RESULTS/dataset/composers/NAME)")
    c.add_argument("--noise", type=float, required=True, help="noise standard deviation sigma")
    scoring_args(c, "folder for errors.parquet (default: RESULTS/generalisation/NAME/sNOISE)",
                 "seed, sweep:, references.models, train.encoding, generalisation.own_models")

    c = command(sub, "collect_generalisation", cmd_collect_generalisation,
                "join the other composers' tables into generalisation.parquet")
    joining_args(c, "table", "composers and noise levels", "generalisation.composers, sweep.noise")

    c = command(sub, "generalisation_stats", cmd_generalisation_stats,
                "compare the models on the other composers (generalisation.csv from generalisation.parquet)")
    c.add_argument("--generalisation", type=Path, default=None,
                   help="default: RESULTS/evaluation/generalisation.parquet")
    c.add_argument("--out", type=Path, default=None, help="default: RESULTS/evaluation/generalisation.csv")
    results_arg(c)

    c = sub.add_parser("generalisation", help="(renamed: collect_generalisation, then generalisation_stats)")
    joining_args(c, "two tables", "composers and noise levels", "generalisation.composers, sweep.noise")
    c.set_defaults(func=cmd_generalisation)
