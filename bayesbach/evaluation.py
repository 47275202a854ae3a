"""The evaluation stage: every trained network scored on the test pieces, and the long error table.

One job per network (``evaluate_network``) reads its ``decoder.pt`` and ``probe.pt``
and writes, beside nothing else, its per-piece decoding and prediction BCE (the
rows of ``errors.parquet``, by :func:`bayesbach.evaluate.evaluate`: whole pieces,
one padded batch, the study's CRN noise) and its prediction-error encoding
(:mod:`bayesbach.encoding`). Adding a run therefore adds one job and
re-evaluates nothing else. ``collect`` concatenates the per-network and
per-reference tables into one file, sorted, so the result does not depend on
the order jobs finished in.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from .dataset import load_split
from .encoding import encoding_rows
from .errors import StudyError
from .evaluate import errors_table, evaluate
from .models import build
from .outputs import write_parquet

log = logging.getLogger(__name__)

CELL = ("arch", "hidden", "noise", "run")
ENCODING = pa.schema([("arch", pa.string()), ("hidden", pa.int32()), ("noise", pa.float64()), ("run", pa.int32()),
                      ("piece", pa.string()), ("steps", pa.int64()), ("corr_state", pa.float64()),
                      ("corr_change", pa.float64()), ("mse_state", pa.float64()), ("mse_change", pa.float64()),
                      ("mse_baseline", pa.float64()), ("gain_state", pa.float64()), ("gain_change", pa.float64())])


class NotTrained(StudyError):
    """A network folder without the files training writes."""


def load_network(model_dir: Path, which: str = "probe") -> tuple[torch.nn.Module, dict]:
    """A trained network (``which`` = decoder or probe state) on the CPU, in eval mode, and its meta.json."""
    model_dir = Path(model_dir)
    missing = [f for f in ("meta.json", f"{which}.pt") if not (model_dir / f).exists()]
    if missing:
        raise NotTrained(f"{model_dir} holds no trained network ({', '.join(missing)} missing); train it first")
    meta = json.loads((model_dir / "meta.json").read_text())
    model = build(meta["model"])
    model.load_state_dict(torch.load(model_dir / f"{which}.pt", map_location="cpu", weights_only=True))
    return model.eval(), meta


def evaluate_network(dataset: Path, model_dir: Path, errors_out: Path, encoding_out: Path, *, seed: int,
                     threads: int | None = None) -> dict:
    """One network's test errors (decode with decoder.pt, predict with probe.pt) and its encoding table."""
    if threads:
        torch.set_num_threads(threads)
    decoder, meta = load_network(model_dir, "decoder")
    probe, _ = load_network(model_dir, "probe")
    encoding, gap, sigma = meta["encoding"], meta["gap"], float(meta["noise"])
    test = load_split(dataset, "test", encoding, gap)
    bce = evaluate(decoder, test, sigma, seed, ("decode",))
    bce.update(evaluate(probe, test, sigma, seed, ("predict",)))
    cell = {k: meta[k] for k in CELL}
    write_parquet(errors_out, errors_table(bce, meta["arch"], meta["arch"], meta["hidden"], sigma, meta["run"]))
    rows = encoding_rows(probe, load_split(dataset, "train", encoding, gap), test, sigma, seed)
    write_parquet(encoding_out, pa.Table.from_pylist([{**cell, **r} for r in rows], schema=ENCODING))
    summary = {task: float(np.nanmean(list(v.values()))) for task, v in bce.items()}
    log.info("%s h%d sigma=%r run %d on %d test pieces: decode %.5f, predict %.5f", meta["arch"], meta["hidden"], sigma,
             meta["run"], len(test), summary["decode"], summary["predict"])
    return summary


# Row order of the collected tables: nulls (references have no run) first, then by value.
ERRORS_ORDER = ["model", "arch", "hidden", "noise", "run", "task", "piece"]
ENCODING_ORDER = ["arch", "hidden", "noise", "run", "piece"]


def collect(paths: list[Path], out: Path, schema: pa.Schema, order: list[str]) -> pa.Table:
    """Concatenate tables of one schema into ``out``, sorted by ``order`` (independent of the input order)."""
    tables = [pq.read_table(p).cast(schema) for p in paths]
    table = pa.concat_tables(tables) if tables else schema.empty_table()
    table = table.sort_by([(c, "ascending") for c in order], null_placement="at_start")
    write_parquet(out, table.combine_chunks())
    log.info("%s: %d rows from %d files", out, table.num_rows, len(paths))
    return table
