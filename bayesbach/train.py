"""Training: one loop for every network of the study, resumable, with all batch work on the device.

A training run is a list of :class:`Stage` s run in order, each starting from the
previous stage's best state. A stage says which head is scored against which
target (``current`` chord y_t or ``next`` chord y_{t+1}), from which inputs
(``noisy`` x_t = y_t + sigma * eps_t, or ``clean`` y_t), and which parameters
train (name prefixes; everything else is frozen). The two-stage network of the
study is :func:`network_stages` (decode, then probe); a reference model is one stage.

The loop (:func:`fit`), per batch:

1. :class:`Sampler` cuts ``batch_size`` chunks of ``chunk_length`` (+1 for the
   next-chord target) steps from the training split, which lives on the device
   as one tensor (each composition followed by ``gap`` silent steps). Each lane
   walks on through its composition and jumps to a random one at its end; the
   chunk's indices are pure index arithmetic on the device.
2. Fresh Gaussian noise is drawn on the device; nothing crosses from the host.
3. Adam step on the stage's loss (BCE from logits, mean over steps and units).
4. Every ``val_every`` batches (and at the stage's end) the whole validation split
   is scored as one padded batch with its fixed CRN noise (bayesbach.evaluate);
   the best state is kept.
5. Every ``checkpoint_every`` batches everything needed to continue (weights,
   optimiser, generator state, lanes, best state, history) is written atomically
   to the checkpoint; :func:`fit` given an existing checkpoint of the same job
   continues from it, bit-identically on CPU.

Public interface (stable): ``Stage``, ``network_stages``, ``Settings``, ``Sampler``,
``fit`` -> ``FitResult``, ``resolve_device``, ``train_network`` (one cell of the
sweep: load data, build, fit, write ``decoder.pt``/``probe.pt``/``history.parquet``/
``meta.json``), ``save_state`` (atomic ``torch.save``), ``history_table``.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch
import torch.nn.functional as F

from . import tables
from .outputs import write_atomic, write_json, write_parquet
from .dataset import ENCODINGS, load_split
from .errors import StudyError
from .evaluate import Padded, piece_bce
from .models import build, set_trainable
from .seeds import derive_seed

log = logging.getLogger(__name__)


class DeviceError(StudyError):
    """The configured device is not available."""


class EmptyTraining(StudyError):
    """No training data to draw batches from."""


@dataclass(frozen=True)
class Stage:
    name: str  # decode, probe, or a reference model's name
    head: str  # the head whose logits are scored
    target: str  # "current" (y_t) or "next" (y_{t+1})
    trains: tuple[str, ...]  # parameter-name prefixes trained; the rest is frozen
    batches: int
    inputs: str = "noisy"  # "noisy" (x_t) or "clean" (y_t)


def network_stages(decode_batches: int, probe_batches: int) -> list[Stage]:
    """The study's two stages: decode (core + observation head), then probe (prediction head only)."""
    return [
        Stage("decode", "observe", "current", ("core", "heads.observe"), decode_batches),
        Stage("probe", "predict", "next", ("heads.predict",), probe_batches),
    ]


@dataclass(frozen=True)
class Settings:
    sigma: float
    lr: float = 0.02
    batch_size: int = 64
    chunk_length: int = 256
    val_every: int = 100
    checkpoint_every: int = 500
    gap: int = 20
    log_seconds: float = 10.0  # cadence of progress lines in the log


@dataclass
class FitResult:
    best: dict[str, dict]  # stage name -> best state dict (on CPU)
    best_val: dict[str, float]
    history: list[dict]
    timings: dict = field(default_factory=dict)


def resolve_device(device: str) -> torch.device:
    """``auto`` = CUDA when available, else CPU; ``cuda`` without a GPU is an error."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError(f"device {device!r} was asked for but PyTorch sees no CUDA GPU (use device: auto or cpu)")
    return torch.device(device)


class Sampler:
    """Chunks of the training split drawn on the device; lanes walk through random compositions."""

    def __init__(self, pieces: dict[str, np.ndarray], batch_size: int, chunk_length: int, gap: int,
                 device: torch.device, generator: torch.Generator):
        pieces = {k: v for k, v in pieces.items() if len(v)}
        if not pieces:
            raise EmptyTraining("the training split has no chord events")
        units = next(iter(pieces.values())).shape[1]
        silence = np.zeros((gap, units), np.float32)
        parts = [p for a in pieces.values() for p in (a, silence)]
        self.data = torch.from_numpy(np.concatenate(parts)).to(device)  # the whole split, once
        lengths = torch.tensor([len(a) + gap for a in pieces.values()], dtype=torch.long)
        self.seg_len = lengths.to(device)
        self.seg_start = (torch.cumsum(lengths, 0) - lengths).to(device)
        self.batch_size, self.steps, self.g = batch_size, chunk_length + 1, generator
        self.n_pieces = len(pieces)
        # Enough candidate jumps that the chunk always ends inside one of them.
        self.jumps = math.ceil(self.steps / int(lengths.min()))
        self.arange = torch.arange(self.steps, device=device).repeat(batch_size, 1)
        self.piece = torch.randint(self.n_pieces, (batch_size,), device=device, generator=generator)
        self.pos = torch.zeros(batch_size, dtype=torch.long, device=device)

    def next_chunk(self) -> torch.Tensor:
        """(batch, chunk_length + 1, units): the lanes' next steps; the lanes advance by chunk_length."""
        nxt = torch.randint(self.n_pieces, (self.batch_size, self.jumps), device=self.data.device, generator=self.g)
        piece = torch.cat([self.piece[:, None], nxt], 1)  # segment k of lane b plays piece[b, k]
        first = torch.cat([self.pos[:, None], torch.zeros_like(nxt)], 1)  # where it starts playing
        seg = self.seg_len[piece] - first
        ends = torch.cumsum(seg, 1)
        which = torch.searchsorted(ends, self.arange, right=True)  # segment of each step
        offset = self.arange - (ends - seg).gather(1, which) + first.gather(1, which)
        chunk = self.data[self.seg_start[piece].gather(1, which) + offset]
        last = which[:, -1:]  # the chunk's last step starts the next chunk
        self.piece, self.pos = piece.gather(1, last)[:, 0], offset[:, -1]
        return chunk

    def state_dict(self) -> dict:
        return {"piece": self.piece.cpu(), "pos": self.pos.cpu()}

    def load_state_dict(self, state: dict) -> None:
        self.piece, self.pos = state["piece"].to(self.data.device), state["pos"].to(self.data.device)


def batch_inputs(chunk: torch.Tensor, stage: Stage, sigma: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs (x_t or y_t, with fresh noise drawn on the device) and targets of one chunk."""
    y = chunk[:, :-1]
    x = y
    if stage.inputs == "noisy":
        x = y + sigma * torch.randn(y.shape, device=y.device, generator=generator)
    elif stage.inputs != "clean":
        raise ValueError(f"unknown input kind {stage.inputs!r}")
    return x, (y if stage.target == "current" else chunk[:, 1:])


def optimise(model, optimiser: torch.optim.Optimizer, x: torch.Tensor, target: torch.Tensor, head: str) -> torch.Tensor:
    """One Adam step on the mean BCE of ``head``'s logits; returns the (detached) loss."""
    loss = F.binary_cross_entropy_with_logits(model.logits(x, head), target)
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    optimiser.step()
    return loss.detach()


def save_state(path: Path, obj) -> None:
    """``torch.save`` written atomically (complete or absent); loadable with ``weights_only=True``."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    write_atomic(Path(path), buf.getvalue())


def _cpu(state: dict) -> dict:
    return {k: v.detach().to("cpu", copy=True) for k, v in state.items()}


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m // 60}h{m % 60:02d}m{s:02d}s" if m >= 60 else f"{m}m{s:02d}s"


def fit(model, stages: list[Stage], train: dict[str, np.ndarray], validation: dict[str, np.ndarray],
        settings: Settings, *, seed: int, identity: tuple, device: torch.device | str = "cpu",
        checkpoint: Path | None = None, progress: bool = False) -> FitResult:
    """Train ``model`` (already on ``device``) through ``stages``; see the module docstring.

    Batch draws and training noise come from ``derive_seed(seed, "batches", *identity)``;
    validation uses the study's CRN noise from ``seed``. With ``checkpoint`` the run
    saves there every ``settings.checkpoint_every`` batches and resumes from it if
    it exists and belongs to the same job (same stages, settings, seed, identity).
    """
    device = torch.device(device)
    g = torch.Generator(device=device)
    g.manual_seed(derive_seed(seed, "batches", *identity))
    sampler = Sampler(train, settings.batch_size, settings.chunk_length, settings.gap, device, g)
    val = Padded.build(validation, seed, device) if validation else None
    # What the results depend on; the checkpoint and log cadence do not change them.
    results_settings = {k: v for k, v in asdict(settings).items() if k not in ("checkpoint_every", "log_seconds")}
    fingerprint = hashlib.sha256(
        json.dumps([[asdict(s) for s in stages], results_settings, seed, list(map(str, identity)), model.spec]).encode()
    ).hexdigest()

    state = {"stage": 0, "batch": 0, "best": {}, "best_val": {}, "history": [], "current_best": None,
             "current_best_val": math.inf, "acc": torch.zeros((), device=device), "acc_n": 0, "optim": None}
    if checkpoint is not None and Path(checkpoint).exists():
        saved = torch.load(checkpoint, map_location="cpu", weights_only=True)
        if saved.get("fingerprint") == fingerprint:
            model.load_state_dict(saved["model"])
            g.set_state(saved["rng"])
            sampler.load_state_dict(saved["lanes"])
            state.update({k: saved[k] for k in state})
            state["acc"] = state["acc"].to(device)
            log.info("resumed from %s: stage %s, batch %d", checkpoint, stages[state["stage"]].name, state["batch"])
        else:
            log.warning("ignoring %s: it belongs to another configuration of this job", checkpoint)

    total = sum(s.batches for s in stages)
    done_before = sum(s.batches for s in stages[: state["stage"]]) + state["batch"]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, initial=done_before, unit="batch", dynamic_ncols=True)
    timings: dict = {"resumed_at_batch": done_before}
    t_start = time.perf_counter()
    done_here = 0

    for i, stage in enumerate(stages):
        if i < state["stage"]:
            continue
        set_trainable(model, stage.trains)
        optimiser = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=settings.lr)
        if state["optim"] is not None:
            optimiser.load_state_dict(state["optim"])
        model.train()
        t_stage, batches_here, val_seconds = time.perf_counter(), 0, 0.0
        last_log, logged = t_stage, done_here
        for b in range(state["batch"] + 1, stage.batches + 1):
            x, target = batch_inputs(sampler.next_chunk(), stage, settings.sigma, g)
            state["acc"] += optimise(model, optimiser, x, target, stage.head)
            state["acc_n"] += 1
            batches_here += 1
            done_here += 1
            if bar is not None:
                bar.update()
            if b % settings.val_every == 0 or b == stage.batches:
                tv = time.perf_counter()
                v = math.nan
                if val is not None:
                    v = float(torch.nanmean(piece_bce(model, val, stage.head, stage.target, settings.sigma, stage.inputs)))
                val_seconds += time.perf_counter() - tv
                row = {"stage": stage.name, "batch": b, "train_loss": float(state["acc"] / state["acc_n"]), "val_loss": v}
                state["history"].append(row)
                state["acc"], state["acc_n"] = torch.zeros((), device=device), 0
                if state["current_best"] is None or v < state["current_best_val"] or (val is None and b == stage.batches):
                    state["current_best"], state["current_best_val"] = _cpu(model.state_dict()), v
                if bar is not None:
                    bar.set_postfix(stage=stage.name, train=f"{row['train_loss']:.4f}", val=f"{v:.4f}")
            now = time.perf_counter()
            if now - last_log >= settings.log_seconds or b == stage.batches:
                rate = (done_here - logged) / max(now - last_log, 1e-9)  # over the last progress interval
                last = state["history"][-1] if state["history"] and state["history"][-1]["stage"] == stage.name else {}
                # Running training loss since the last validation (one device sync per progress line).
                running = float(state["acc"] / state["acc_n"]) if state["acc_n"] else last.get("train_loss", math.nan)
                log.info("%s batch %d/%d | train %.4f | val %.4f | %.1f batches/s | %s left", stage.name, b,
                         stage.batches, running, last.get("val_loss", math.nan), rate,
                         _clock((total - done_before - done_here) / rate))
                last_log, logged = now, done_here
            state["batch"] = b
            if checkpoint is not None and b % settings.checkpoint_every == 0 and b < stage.batches:
                state["optim"] = optimiser.state_dict()
                save_state(checkpoint, {**state, "fingerprint": fingerprint, "model": _cpu(model.state_dict()),
                                        "acc": state["acc"].cpu(), "rng": g.get_state(), "lanes": sampler.state_dict()})
        seconds = time.perf_counter() - t_stage
        timings[stage.name] = {"seconds": round(seconds, 3), "batches": batches_here,
                               "batches_per_s": round(batches_here / seconds, 3) if batches_here else None,
                               "validation_seconds": round(val_seconds, 3)}
        # The next stage starts from this stage's best state (a stage of no batches keeps the state it got).
        if state["current_best"] is None:
            state["current_best"] = _cpu(model.state_dict())
        model.load_state_dict(state["current_best"])
        state["best"][stage.name], state["best_val"][stage.name] = state["current_best"], state["current_best_val"]
        state.update(stage=i + 1, batch=0, current_best=None, current_best_val=math.inf, optim=None)
        log.info("%s done: best validation BCE %.5f", stage.name, state["best_val"][stage.name])
    if bar is not None:
        bar.close()
    timings["seconds"] = round(time.perf_counter() - t_start, 3)
    return FitResult(state["best"], state["best_val"], state["history"], timings)


def history_table(history: list[dict]) -> pa.Table:
    """``history.parquet``: one row per validation point (stage, batch, train_loss, val_loss)."""
    return pa.Table.from_pylist(history, schema=tables.HISTORY)


def train_network(dataset: Path, out: Path, *, arch: str, hidden: int, noise: float, run: int, seed: int,
                  train: dict, gap: int = 20, device: str = "auto", threads: int | None = None,
                  progress: bool = False) -> dict:
    """One cell of the sweep: decode then probe; writes decoder.pt, probe.pt, history.parquet, meta.json to ``out``.

    ``train`` holds the ``train:`` config keys (lr, batch_size, chunk_length, decode_batches,
    probe_batches, val_every, checkpoint_every, encoding, layers, log_seconds). A checkpoint
    (``out/checkpoint.pt``, not an output) lets a killed job continue; it is removed on success.
    """
    if threads:
        torch.set_num_threads(threads)
    dev = resolve_device(device)
    out = Path(out)
    encoding = train["encoding"]
    data = {split: load_split(dataset, split, encoding, gap) for split in ("train", "validation")}
    identity = ("network", arch, hidden, float(noise), run)
    spec = {"kind": "recurrent", "arch": arch, "units": ENCODINGS[encoding], "hidden": hidden, "layers": train["layers"]}
    model = build(spec, seed=derive_seed(seed, "init", *identity)).to(dev)
    settings = Settings(sigma=float(noise), lr=train["lr"], batch_size=train["batch_size"],
                        chunk_length=train["chunk_length"], val_every=train["val_every"],
                        checkpoint_every=train["checkpoint_every"], gap=gap,
                        log_seconds=train.get("log_seconds", 10.0))
    stages = network_stages(train["decode_batches"], train["probe_batches"])
    log.info("training %s h%d sigma=%r run %d on %s (%d train / %d validation pieces, %d threads)", arch, hidden,
             float(noise), run, dev, len(data["train"]), len(data["validation"]), torch.get_num_threads())
    checkpoint = out / "checkpoint.pt"
    result = fit(model, stages, data["train"], data["validation"], settings, seed=seed, identity=identity,
                 device=dev, checkpoint=checkpoint, progress=progress)
    save_state(out / "decoder.pt", result.best["decode"])
    save_state(out / "probe.pt", result.best["probe"])
    write_parquet(out / "history.parquet", history_table(result.history))
    meta = {
        "model": spec,
        "arch": arch, "hidden": hidden, "noise": float(noise), "run": run, "seed": seed,
        "encoding": encoding, "gap": gap,
        "settings": asdict(settings), "stages": [asdict(s) for s in stages],
        "best_val": result.best_val,
        "device": str(dev), "threads": torch.get_num_threads(), "torch": torch.__version__,
        "timings": result.timings,
    }
    write_json(out / "meta.json", meta)
    checkpoint.unlink(missing_ok=True)
    return meta
