"""The evaluation stage: every trained network scored on the test pieces, and the long error table.

:func:`evaluate_network` reads one network's ``decoder.pt`` and ``probe.pt``
and writes, beside nothing else, its per-piece decoding and prediction BCE (the
rows of ``errors.parquet``, by :func:`bayesbach.networks.scoring.score_pieces`: every file on
its own, one padded batch, the study's CRN noise), its prediction-error encoding
(:mod:`bayesbach.evaluation.prediction_errors`) and its key decoding with its controls
(:mod:`bayesbach.evaluation.key_decoding`; its observer control is the study's ``bayes`` reference at the
network's noise level, counted again on the training split with the smoothing its job chose, its meta.json:
:func:`bayes_observer`). A workflow job evaluates four networks of one architecture and size, or a
training job's networks under an integer ``train.pack`` (:func:`evaluate_networks`; ``EVALUATION_PACK``,
:mod:`bayesbach.core.packing`), reading the dataset once and running the observer once per noise level: each
job's start-up (Python, torch, the splits) costs about as much as scoring a small network. Adding a run
re-evaluates its pack and nothing else; :mod:`bayesbach.evaluation.collect` joins the tables.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch

from bayesbach.dataset.loader import load_split
from bayesbach.evaluation.key_decoding import file_key_labels, key_rows
from bayesbach.evaluation.prediction_errors import error_coding_rows
from bayesbach.networks.scoring import score_pieces
from bayesbach.networks.models import load_network
from bayesbach.core import schemas
from bayesbach.core.registry import ENCODINGS
from bayesbach.core.atomic import write_parquet
from bayesbach.core.errors_table import errors_table
from bayesbach.core.exceptions import StudyError
from bayesbach.references import counted
from bayesbach.references.observer import Observer, observer_of

log = logging.getLogger(__name__)

CELL = ("arch", "hidden", "noise", "run")


def network_errors(decoder, probe, meta: dict, pieces: dict[str, list[np.ndarray]], seed: int) -> tuple[dict, pa.Table]:
    """One network's ``{task: {piece: BCE}}`` on ``pieces`` and those rows of errors.parquet: decoding with its
    decoder state, prediction with its probe state, every file on its own with its CRN noise at the network's
    noise level (``meta`` is its meta.json)."""
    sigma = float(meta["noise"])
    bce = score_pieces(decoder, pieces, sigma, seed, ("decode",))
    bce.update(score_pieces(probe, pieces, sigma, seed, ("predict",)))
    return bce, errors_table(bce, meta["arch"], meta["arch"], meta["hidden"], sigma, meta["run"],
                             ENCODINGS[meta.get("encoding", "pc12")])


class WrongObserver(StudyError):
    """The folder given for the key decoding's observer control holds no ``bayes`` of the network's noise level
    and encoding."""


def bayes_observer(folder: Path, train: dict[str, list[np.ndarray]], sigma: float, encoding: str,
                   seed: int) -> Observer:
    """The filter of the ``bayes`` reference of ``folder`` (results/references/s{noise}/bayes/: its meta.json) at
    ``sigma``: the first-order counted model of ``train`` (the study's training split) with the smoothing that
    reference's job chose, exactly as :mod:`bayesbach.references.counted` fits it (no smoothing search)."""
    path = Path(folder) / "meta.json"
    meta = json.loads(path.read_text())
    found = (meta.get("model"), meta.get("encoding"))
    if found != ("bayes", encoding) or not math.isclose(float(meta["noise"]), sigma, rel_tol=0, abs_tol=1e-12):
        raise WrongObserver(f"{path} holds {found[0]!r} of sigma = {meta.get('noise')!r} and encoding {found[1]!r}, "
                            f"not bayes of the network's sigma = {sigma!r} and encoding {encoding!r}")
    how = counted.Fitting(sigma, seed, counted.CLASSES[encoding], smoothing=meta["smoothing"])
    fitted = counted.fit("bayes", train, {}, how).model
    return observer_of(fitted.model, fitted.smoothing, sigma, fitted.prune)


def evaluate_networks(dataset: Path, model_dirs: list[Path], out_dirs: list[Path], *, seed: int,
                      threads: int | None = None, observer_dirs: list[Path | None] | None = None) -> list[dict]:
    """:func:`evaluate_network` for each network of ``model_dirs``, writing errors.parquet, encoding.parquet and
    keys.parquet into the matching folder of ``out_dirs``, the observer control from the matching ``bayes`` folder
    of ``observer_dirs`` (None: none); the splits, key labels and observers are read once."""
    cache: dict = {}
    observer_dirs = [None] * len(model_dirs) if observer_dirs is None else observer_dirs
    return [evaluate_network(dataset, model, Path(out) / "errors.parquet", Path(out) / "encoding.parquet",
                             Path(out) / "keys.parquet", seed=seed, threads=threads, cache=cache, observer_dir=bayes)
            for model, out, bayes in zip(model_dirs, out_dirs, observer_dirs, strict=True)]


def evaluate_network(dataset: Path, model_dir: Path, errors_out: Path, coding_out: Path, keys_out: Path | None = None,
                     *, seed: int, threads: int | None = None, cache: dict | None = None,
                     observer_dir: Path | None = None) -> dict:
    """One network's test errors (decode with decoder.pt, predict with probe.pt), its encoding table and, with
    ``keys_out``, its key-decoding table (the dataset's file_keys.parquet labels the files; ``observer_dir``, the
    ``bayes`` reference of the network's noise level, gives its observer control, :func:`bayes_observer`; None: no
    ``control_observer`` rows). ``cache`` keeps the dataset's splits, labels and observers for the next network of
    the same job."""
    if threads:
        torch.set_num_threads(threads)
    cache = {} if cache is None else cache

    def read(what, split, *args):
        if (what, split, *args) not in cache:
            cache[what, split, *args] = what(dataset, split, *args)
        return cache[what, split, *args]

    decoder, meta = load_network(model_dir, "decoder")
    probe, _ = load_network(model_dir, "probe")
    encoding, sigma = meta["encoding"], float(meta["noise"])
    test = read(load_split, "test", encoding)
    bce, errors = network_errors(decoder, probe, meta, test, seed)
    cell = {k: meta[k] for k in CELL}
    write_parquet(errors_out, errors)
    train = read(load_split, "train", encoding)
    rows = error_coding_rows(probe, train, test, sigma, seed)
    write_parquet(coding_out, pa.Table.from_pylist([{**cell, **r} for r in rows], schema=schemas.ERROR_CODING))
    summary = {task: float(np.nanmean(list(v.values()))) for task, v in bce.items()}
    if keys_out is not None:  # the decoder: its state (the probe's core is the same) and its decode head
        observer = None
        if observer_dir is not None:
            if ("observer", str(observer_dir)) not in cache:
                cache["observer", str(observer_dir)] = bayes_observer(observer_dir, train, sigma, encoding, seed)
            observer = cache["observer", str(observer_dir)]
        memory, rows = key_rows(decoder, train, test, read(file_key_labels, "train"), read(file_key_labels, "test"),
                                sigma, seed, observer, memo=cache.setdefault(("means", str(observer_dir)), {}))
        table = pa.Table.from_pylist([{**cell, "memory": memory.tau, **r} for r in rows], schema=schemas.KEY_DECODING)
        write_parquet(keys_out, table)
        summary["memory"] = memory.tau
        correct, steps = {}, {}
        for r in rows:  # accuracy over every test step (no pandas in this job: its import costs each job a second)
            correct[r["decoder"]] = correct.get(r["decoder"], 0.0) + r["accuracy"] * r["steps"]
            steps[r["decoder"]] = steps.get(r["decoder"], 0) + r["steps"]
        log.info("effective memory %.2f steps; key accuracy over the test steps: %s", memory.tau,
                 ", ".join(f"{name} {correct[name] / steps[name]:.3f}" for name in correct if steps[name]))
    log.info("%s h%d sigma=%r run %d on %d test pieces: decode %.5f, predict %.5f", meta["arch"], meta["hidden"], sigma,
             meta["run"], len(test), summary["decode"], summary["predict"])
    return summary
