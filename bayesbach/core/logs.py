"""Logging set-up shared by the command line and the workflow's scripts."""

from __future__ import annotations

import logging
import os
import socket
import sys
from pathlib import Path

from bayesbach.core.exceptions import StudyError

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup(log_file: str | Path | None = None, level: int = logging.INFO) -> None:
    """Log to ``log_file`` (a workflow job's log; stderr is sent there too) or to stderr."""
    handlers: list[logging.Handler]
    if log_file is None:
        handlers = [logging.StreamHandler(sys.stderr)]
    else:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        stream = open(log_file, "a", buffering=1)  # noqa: SIM115 - lives as long as the job
        sys.stderr = stream  # tracebacks and library warnings land in the job's log too
        handlers = [logging.StreamHandler(stream)]
    logging.basicConfig(level=level, format=FORMAT, handlers=handlers, force=True)
    logging.captureWarnings(True)
    sys.excepthook = _excepthook
    if log_file is not None:
        # Where the job ran: on a cluster, the Slurm job id ties this log to sacct/squeue.
        slurm = os.environ.get("SLURM_JOB_ID")
        logging.getLogger("bayesbach").info(
            "job on %s (pid %d)%s", socket.gethostname(), os.getpid(), f", Slurm job {slurm}" if slurm else ""
        )


def _excepthook(kind, value, tb):
    """Expected failures (bad input, bad config) end the job with their message alone."""
    if isinstance(value, StudyError):
        logging.getLogger("bayesbach").error("%s", value)
    else:
        sys.__excepthook__(kind, value, tb)
