"""What every stage's commands share: the study config, the inputs they check, their common options, and the
old command names."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from bayesbach.core.exceptions import StudyError
from bayesbach.core.layout import DATASET_DIR, RESULTS, under

# The workflow's own files (relative to the folder a study runs in, like Snakemake's).
CONFIG = "config.yaml"
SCHEMA = "workflow/schemas/config.schema.yaml"
CAPTIONS = "workflow/report"  # one {figure}.rst per figure, as the figure rules' report() captions
CHECKOUT = Path(__file__).resolve().parents[2]

# Commands renamed after their rules: old name -> new. The old names still work in this release, with a note on
# stderr, and go in the next one.
RENAMED = {
    "export": "export_bundled",
    "crawl": "crawl_web",
    "folder": "import_folder",
    "keys": "file_keys",
    "collect": "collect_evaluation",
    "composer": "export_composer",
    "generalisation": "collect_generalisation and generalisation_stats",  # it ran both
}


class MissingInput(StudyError):
    """An input file of a stage is not there (an earlier stage has not run)."""


def command(sub, name: str, func, help: str, aliases: tuple[str, ...] = ()) -> argparse.ArgumentParser:
    """Add command ``name`` (a rule's name where it runs one rule's job), answering also to its old name."""
    old = [o for o, new in RENAMED.items() if new == name]
    c = sub.add_parser(name, help=help, aliases=[*aliases, *old])
    c.set_defaults(func=func)
    return c


def path(results, template: str) -> Path:
    """A layout path with results/ moved to the ``--results`` folder."""
    return Path(under(template, results))


def flat(files) -> list[Path]:
    """Every path of a layout file list, or of a dict of paths and lists (a rule's inputs), in order."""
    if isinstance(files, dict):
        return [p for value in files.values() for p in flat(value)]
    return [Path(files)] if isinstance(files, str) else list(map(Path, files))


def found(results, template: str, file: str) -> list[Path]:
    """Every existing ``file`` in the folders a layout template names (each {wildcard} any value), below
    ``results`` instead of results/."""
    pattern = Path(re.sub(r"\{\w+\}", "*", template)).relative_to(RESULTS) / file
    return sorted(Path(results).glob(str(pattern)))


def workflow_file(name: str) -> Path:
    """A workflow file (schema, captions): the study folder's own, else this checkout's."""
    here = Path(name)
    return here if here.exists() or not (CHECKOUT / name).exists() else CHECKOUT / name


def require(*paths, hint: str = "") -> None:
    """Raise :class:`MissingInput` naming the first missing input file, and how many are missing."""
    missing = [p for p in map(Path, paths) if not p.exists()]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise MissingInput(f"missing input: {missing[0]}{more}" + (f"; {hint}" if hint else ""))


def study_config(args) -> dict:
    """The validated study config: the ``--config`` files layered in order (the one way every command loads it),
    read once per command."""
    if getattr(args, "loaded_config", None) is None:
        from bayesbach.core.config import load_config

        paths = [*getattr(args, "configs", []), *(args.config or [])] or [Path(CONFIG)]
        missing = [p for p in paths if not p.exists()]
        if missing:
            raise MissingInput(f"config file not found: {missing[0]}")
        args.loaded_config = load_config(paths, args.schema or workflow_file(SCHEMA))
    return args.loaded_config


def workers(args) -> int:
    """``--workers``, else the config's ``workers`` capped to this machine's cores (as Snakemake caps the threads of
    the rule's job to ``--cores``)."""
    from bayesbach.core.parallel import default_workers

    return args.workers if args.workers is not None else min(study_config(args)["workers"], default_workers())


def dataset_of(args) -> Path:
    """The dataset folder (``--dataset``, else RESULTS/dataset), its tables checked."""
    dataset = args.dataset or path(args.results, DATASET_DIR)
    require(dataset / "events.parquet", dataset / "pieces.parquet", hint="bayesbach convert and split write them")
    return dataset


# ---- options ------------------------------------------------------------------------------------


def config_args(c: argparse.ArgumentParser, uses: str) -> None:
    """``--config`` (repeatable, layered) and ``--schema``: how every command that reads the study config gets it."""
    c.add_argument("--config", type=Path, action="append", default=None, metavar="FILE",
                   help=f"study config ({uses}); repeat to layer files like snakemake --configfile A B "
                        f"(default: {CONFIG})")
    c.add_argument("--schema", type=Path, default=None,
                   help=f"config schema (default: {SCHEMA}, this checkout's where the folder has none)")


def results_arg(c: argparse.ArgumentParser) -> None:
    c.add_argument("--results", type=Path, default=Path(RESULTS), metavar="DIR",
                   help=f"the study's results folder: every default path below {RESULTS}/ moves there "
                        f"(default: {RESULTS})")


def dataset_arg(c: argparse.ArgumentParser) -> None:
    c.add_argument("--dataset", type=Path, default=None, help="folder with events/pieces.parquet (default: RESULTS/dataset)")


def workers_arg(c: argparse.ArgumentParser, note: str = "") -> None:
    c.add_argument("--workers", type=int, default=None, help=f"processes (default: the config's workers{note})")


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
    c.add_argument("--out", type=Path, default=None, help=f"folder for the {tables} (default: RESULTS/evaluation)")
    c.add_argument("--sweep", action="store_true",
                   help=f"exactly the config's {cells}, as the workflow does (a missing table is an error); default: "
                        "every table found under RESULTS")
    results_arg(c)
    config_args(c, f"{uses}; only with --sweep")
