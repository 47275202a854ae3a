"""One training job, start to finish: the skeleton shared by the networks of the sweep and the trained
references, and :func:`train_pack` (K cells of the sweep of one architecture and size, packed into one
model: :mod:`bayesbach.networks.models`) with :func:`train_network` (one cell).

A job sets its threads and device (:func:`start`), loads the splits, reads its
:class:`~bayesbach.networks.training.Settings` from the config, builds its model from a
spec (initial weights seeded by the job's identity), runs
:func:`bayesbach.networks.training.fit` with a checkpoint beside its outputs
(:func:`checkpoint_of`, removed on success, so a killed job continues), and writes
``history.parquet`` (:func:`record_fit`) and ``meta.json`` last (:func:`finish_job`). A pack writes each
network's usual files to its own folder and keeps its checkpoint beside its first network's.
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
from bayesbach.networks.models import build_pack, recurrent_spec
from bayesbach.networks.training import FitResult, Settings, fit_pack, network_stages

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


def start(device: str, threads: int | None, tf32: bool = False) -> torch.device:
    """The job's device, with its CPU threads set first; on a GPU, float32 arithmetic in IEEE float32 as on
    the CPU (cuDNN would run the recurrent cores in TF32 by default, and the study's losses must not depend
    on the device's shortcuts; small latency-bound networks lose nothing by it). ``tf32`` (benchmarks only:
    ``bayesbach bench gpu`` measures what the shortcut would save) lets cuDNN and cuBLAS use TF32."""
    if threads:
        torch.set_num_threads(threads)
    dev = resolve_device(device)
    if dev.type == "cuda":
        torch.backends.cudnn.rnn.fp32_precision = "tf32" if tf32 else "ieee"
        torch.backends.cuda.matmul.fp32_precision = "tf32" if tf32 else "ieee"
    return dev


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
    """One cell of the sweep (a pack of one): decode then probe; writes decoder.pt, probe.pt,
    history.parquet, meta.json to ``out``; returns its meta.json."""
    return train_pack(dataset, [out], arch=arch, hidden=hidden, cells=[(noise, run)], seed=seed, train=train,
                      gap=gap, device=device, threads=threads, progress=progress)[0]


def train_pack(dataset: Path, outs: list[Path], *, arch: str, hidden: int, cells: list[tuple[float, int]], seed: int,
               train: dict, gap: int = 20, device: str = "auto", threads: int | None = None,
               progress: bool = False) -> list[dict]:
    """Cells ``(noise, run)`` of one architecture and size trained as one packed model (each exactly as it
    would train alone: its own initial weights, batches, noise and best states); cell k's files go to
    ``outs[k]`` as :func:`train_network` writes them. Returns their meta.json.

    ``train`` holds the ``train:`` config keys (lr, batch_size, chunk_length, decode_batches,
    probe_batches, val_every, checkpoint_every, encoding, layers, log_seconds).
    """
    if len(outs) != len(cells) or not cells:
        raise ValueError(f"{len(cells)} cells for {len(outs)} output folders")
    dev = start(device, threads)
    outs = [Path(o) for o in outs]
    encoding = train["encoding"]
    data = load_splits(dataset, ("train", "validation"), encoding)
    identities = [("network", arch, hidden, float(noise), run) for noise, run in cells]
    spec = recurrent_spec(arch, ENCODINGS[encoding], hidden, train["layers"])
    settings = [Settings.from_config(train, noise, gap) for noise, _ in cells]
    stages = network_stages(train["decode_batches"], train["probe_batches"])
    log.info("training %s h%d, %s, on %s (%d train / %d validation pieces, %d threads)", arch, hidden,
             ", ".join(f"sigma={float(n)!r} run {r}" for n, r in cells), dev, len(data["train"]),
             len(data["validation"]), torch.get_num_threads())
    model = build_pack(spec, [derive_seed(seed, "init", *i) for i in identities]).to(dev)
    results = fit_pack(model, stages, data["train"], data["validation"], settings, identities, seed=seed, device=dev,
                       checkpoint=checkpoint_of(outs[0]), progress=progress)
    pack = [{"noise": float(n), "run": r} for n, r in cells]
    metas = []
    for out, (noise, run), result, s in zip(outs, cells, results, settings):
        write_torch(out / "decoder.pt", result.best["decode"])
        write_torch(out / "probe.pt", result.best["probe"])
        metas.append({"model": spec, "arch": arch, "hidden": hidden, "noise": float(noise), "run": run, "seed": seed,
                      "encoding": encoding, "gap": gap, "stages": [asdict(st) for st in stages],
                      "best_val": result.best_val, "pack": pack, **record_fit(out, result, s, dev)})
    for out, meta in zip(outs[1:], metas[1:]):
        write_json(out / "meta.json", meta)
    finish_job(outs[0], metas[0])  # the first network's meta.json last: the checkpoint beside it goes with it
    return metas