"""The evaluation stage: every trained network scored on the test pieces, and the long error table.

One job per network (``evaluate_network``) reads its ``decoder.pt`` and ``probe.pt``
and writes, beside nothing else, its per-piece decoding and prediction BCE (the
rows of ``errors.parquet``, by :func:`bayesbach.networks.scoring.score_pieces`: every file on
its own, one padded batch, the study's CRN noise) and its prediction-error encoding
(:mod:`bayesbach.evaluation.prediction_errors`). Adding a run therefore adds one job and
re-evaluates nothing else; :mod:`bayesbach.evaluation.collect` joins the tables.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch

from bayesbach.dataset.loader import load_split
from bayesbach.evaluation.prediction_errors import encoding_rows
from bayesbach.networks.scoring import errors_table, score_pieces
from bayesbach.networks.models import load_network
from bayesbach.core import schemas
from bayesbach.core.atomic import write_parquet

log = logging.getLogger(__name__)

CELL = ("arch", "hidden", "noise", "run")


def evaluate_network(dataset: Path, model_dir: Path, errors_out: Path, encoding_out: Path, *, seed: int,
                     threads: int | None = None) -> dict:
    """One network's test errors (decode with decoder.pt, predict with probe.pt) and its encoding table."""
    if threads:
        torch.set_num_threads(threads)
    decoder, meta = load_network(model_dir, "decoder")
    probe, _ = load_network(model_dir, "probe")
    encoding, sigma = meta["encoding"], float(meta["noise"])
    test = load_split(dataset, "test", encoding)
    bce = score_pieces(decoder, test, sigma, seed, ("decode",))
    bce.update(score_pieces(probe, test, sigma, seed, ("predict",)))
    cell = {k: meta[k] for k in CELL}
    write_parquet(errors_out, errors_table(bce, meta["arch"], meta["arch"], meta["hidden"], sigma, meta["run"]))
    rows = encoding_rows(probe, load_split(dataset, "train", encoding), test, sigma, seed)
    write_parquet(encoding_out, pa.Table.from_pylist([{**cell, **r} for r in rows], schema=schemas.ENCODING))
    summary = {task: float(np.nanmean(list(v.values()))) for task, v in bce.items()}
    log.info("%s h%d sigma=%r run %d on %d test pieces: decode %.5f, predict %.5f", meta["arch"], meta["hidden"], sigma,
             meta["run"], len(test), summary["decode"], summary["predict"])
    return summary
