"""One training job, start to finish: the skeleton shared by the networks of the sweep and the trained
references, and :func:`train_network` (one cell of the sweep).

A job sets its threads and device (:func:`start`), loads the splits, reads its
:class:`~bayesbach.networks.training.Settings` from the config, builds its model from a
spec (initial weights seeded by the job's identity), runs
:func:`bayesbach.networks.training.fit` with a checkpoint beside its outputs
(:func:`checkpoint_of`, removed on success, so a killed job continues), and writes
``history.parquet`` (:func:`record_fit`) and ``meta.json`` last (:func:`finish_job`).
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path

import pyarrow as pa
import torch

from bayesbach.core import schemas
from bayesbach.core.atomic import write_json, write_parquet, write_torch
from bayesbach.core.exceptions import StudyError
from bayesbach.core.registry import ENCODINGS
from bayesbach.core.seeds import derive_seed
from bayesbach.dataset.loader import load_splits
from bayesbach.networks.models import build, recurrent_spec
from bayesbach.networks.training import FitResult, Settings, fit, network_stages

log = logging.getLogger(__name__)


class DeviceError(StudyError):
    """The configured device is not available."""


def resolve_device(device: str) -> torch.device:
    """``auto`` = CUDA when available, else CPU; ``cuda`` without a GPU is an error."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError(f"device {device!r} was asked for but PyTorch sees no CUDA GPU (use device: auto or cpu)")
    return torch.device(device)


def start(device: str, threads: int | None) -> torch.device:
    """The job's device, with its CPU threads set first."""
    if threads:
        torch.set_num_threads(threads)
    return resolve_device(device)


def history_table(history: list[dict]) -> pa.Table:
    """``history.parquet``: one row per validation point (stage, batch, train_loss, val_loss)."""
    return pa.Table.from_pylist(history, schema=schemas.HISTORY)


def record_fit(out: Path, result: FitResult, settings: Settings, device: torch.device) -> dict:
    """Write ``history.parquet`` of a finished fit; returns the meta.json fields every training job records."""
    write_parquet(Path(out) / "history.parquet", history_table(result.history))
    return {"settings": asdict(settings), "device": str(device), "threads": torch.get_num_threads(),
            "torch": torch.__version__, "timings": result.timings}


def checkpoint_of(out: Path) -> Path:
    """Where a job keeps its checkpoint: beside its outputs, deliberately not one of them (a failed job's
    clean-up by Snakemake leaves it for the rerun)."""
    return Path(out) / "checkpoint.pt"


def finish_job(out: Path, meta: dict) -> None:
    """Write meta.json (the job's last output) and drop the checkpoint."""
    write_json(Path(out) / "meta.json", meta)
    checkpoint_of(out).unlink(missing_ok=True)


def train_network(dataset: Path, out: Path, *, arch: str, hidden: int, noise: float, run: int, seed: int,
                  train: dict, gap: int = 20, device: str = "auto", threads: int | None = None,
                  progress: bool = False) -> dict:
    """One cell of the sweep: decode then probe; writes decoder.pt, probe.pt, history.parquet, meta.json to ``out``.

    ``train`` holds the ``train:`` config keys (lr, batch_size, chunk_length, decode_batches,
    probe_batches, val_every, checkpoint_every, encoding, layers, log_seconds).
    """
    dev = start(device, threads)
    out = Path(out)
    encoding = train["encoding"]
    data = load_splits(dataset, ("train", "validation"), encoding)
    identity = ("network", arch, hidden, float(noise), run)
    spec = recurrent_spec(arch, ENCODINGS[encoding], hidden, train["layers"])
    settings = Settings.from_config(train, noise, gap)
    stages = network_stages(train["decode_batches"], train["probe_batches"])
    log.info("training %s h%d sigma=%r run %d on %s (%d train / %d validation pieces, %d threads)", arch, hidden,
             float(noise), run, dev, len(data["train"]), len(data["validation"]), torch.get_num_threads())
    model = build(spec, seed=derive_seed(seed, "init", *identity)).to(dev)
    result = fit(model, stages, data["train"], data["validation"], settings, seed=seed, identity=identity, device=dev,
                 checkpoint=checkpoint_of(out), progress=progress)
    write_torch(out / "decoder.pt", result.best["decode"])
    write_torch(out / "probe.pt", result.best["probe"])
    meta = {"model": spec, "arch": arch, "hidden": hidden, "noise": float(noise), "run": run, "seed": seed,
            "encoding": encoding, "gap": gap, "stages": [asdict(s) for s in stages], "best_val": result.best_val,
            **record_fit(out, result, settings, dev)}
    finish_job(out, meta)
    return meta
