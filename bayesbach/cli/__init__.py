"""The bayesbach command: every stage by hand, and bench for performance figures.

Each stage command is named as its workflow rule and calls the library function
the rule's script calls (workflow/scripts/*.py) with the same arguments, read
from the same study config (--config FILE, repeatable: layered like snakemake
--configfile A B), and the rule's files as defaults (bayesbach.core.layout);
--results DIR moves every default path from results/ to DIR. A missing input or
a bad config ends the command with one line saying so.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import textwrap

from bayesbach.cli import annotate, corpus, dataset, dev, evaluation, generalisation, networks, references, report
from bayesbach.cli.common import RENAMED
from bayesbach.core import logs
from bayesbach.core.exceptions import StudyError

log = logging.getLogger("bayesbach")
STAGES = (corpus, dataset, networks, references, evaluation, generalisation, annotate, report, dev)  # in the help's order

# What Snakemake sets for every job: the linear-algebra libraries' thread pools at the job's threads.
BLAS_THREADS = ("OMP_NUM_THREADS", "GOTO_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
# and numba's pool, the observers' kernel (bayesbach.references.kernel): a job on 2 threads should not start one per
# core of the node it shares; numba reads it when first imported
THREAD_POOLS = BLAS_THREADS + ("NUMBA_NUM_THREADS",)


def parser() -> argparse.ArgumentParser:
    renamed = ", ".join(f"{old} -> {new}" for old, new in RENAMED.items())
    epilog = textwrap.fill(f"Renamed after their rules (the old names work in this release, with a note, and go in "
                           f"the next): {renamed}.", 80)
    p = argparse.ArgumentParser(prog="bayesbach", description=__doc__, epilog=epilog,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for stage in STAGES:
        stage.register(sub)
    return p


def limit_threads(threads: int) -> None:
    """BLAS and numba pools of ``threads`` threads, as a workflow job has, where the user's environment sets none: a
    BLAS sum's order, and so its last bit, depends on them, and a command run by hand should reproduce its job's
    results exactly (the jobs that use BLAS, evaluation and counted references, run on one thread); the kernel's
    results do not depend on its threads, only its speed. Only has effect before numpy and numba load."""
    for name in THREAD_POOLS:
        os.environ.setdefault(name, str(threads))


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command in RENAMED:
        print(f"bayesbach: '{args.command}' is now '{RENAMED[args.command]}'; the old name goes in the next release",
              file=sys.stderr)
    if "numpy" not in sys.modules:  # a process of its own (called in-process, numpy's pools are already made)
        limit_threads(getattr(args, "threads", None) or 1)
    logs.setup(level=logging.DEBUG if args.verbose else logging.INFO)
    try:
        return args.func(args)
    except (StudyError, OSError) as e:
        log.error("%s", e)
        return 1
