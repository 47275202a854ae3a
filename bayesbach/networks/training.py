"""Training: one loop for every network of the study, resumable, with all batch work on the device.

A training run is a list of :class:`Stage` s run in order, each starting from the
previous stage's best state. A stage says which head is scored against which
target (``current`` chord y_t or ``next`` chord y_{t+1}), from which inputs
(``noisy`` x_t = y_t + sigma * eps_t, or ``clean`` y_t), and which parameters
train (name prefixes; everything else is frozen). The two-stage network of the
study is :func:`network_stages` (decode, then probe); a reference model is one stage.

The loop (:func:`fit`), per batch:

1. a chunk of the training split, cut on the device (:mod:`bayesbach.networks.batches`),
   with fresh Gaussian noise drawn on the device;
2. an Adam step on the stage's loss (BCE from logits, mean over units and the scored
   steps: silent gap steps and targets past a file's end carry no loss), at the learning
   rate of the stage's schedule (:func:`learning_rate`: constant, or a cosine from ``lr``
   down to ``final_lr_fraction * lr`` at the stage's last batch);
3. the running average of the weights is updated (``average``: an exponential moving
   average with that decay, a plain mean over a stage's first batches; 0 = none). SGD
   noise makes single iterates fluctuate around the optimum, most at high noise, where one
   state can score lucky on the validation split and badly on the test; the average of the
   iterates is the estimate that converges (Polyak averaging);
4. every ``val_every`` batches (and at the stage's end) the whole validation split
   is scored with its fixed CRN noise (:func:`validate`), with the averaged weights when
   there are any, and the best state is kept;
5. every ``checkpoint_every`` batches the run's state is saved
   (:mod:`bayesbach.networks.checkpoint`); given the checkpoint of the same job,
   :func:`fit` continues from it, bit-identically on CPU.

One job around the loop (data, model, outputs) is :mod:`bayesbach.networks.training_job`.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from bayesbach.core.seeds import derive_seed
from bayesbach.networks.batches import Sampler, batch_inputs
from bayesbach.networks.checkpoint import RunState, fingerprint
from bayesbach.networks.models import set_trainable
from bayesbach.networks.progress import Progress
from bayesbach.networks.scoring import Padded, pack_piece_bce

log = logging.getLogger(__name__)


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
    schedule: str = "constant"  # the learning rate over a stage: "constant" or "cosine" (learning_rate)
    final_lr_fraction: float = 1.0  # cosine: the last batch's rate as a fraction of lr
    average: float = 0.0  # decay of the weights' running average (0: none; step)

    @classmethod
    def from_config(cls, train: dict, sigma: float, gap: int) -> Settings:
        """The settings of one job from the ``train:`` section of the config (the only place they are read)."""
        return cls(sigma=float(sigma), lr=train["lr"], batch_size=train["batch_size"],
                   chunk_length=train["chunk_length"], val_every=train["val_every"],
                   checkpoint_every=train["checkpoint_every"], gap=gap, log_seconds=train.get("log_seconds", 10.0),
                   schedule=train.get("schedule", "constant"), final_lr_fraction=train.get("final_lr_fraction", 1.0),
                   average=train.get("average", 0.0))


def learning_rate(settings: Settings, batch: int, batches: int) -> float:
    """The learning rate of batch ``batch`` (1-based) of a stage of ``batches``: ``lr``, or on the cosine schedule
    from ``lr`` at the first batch to ``final_lr_fraction * lr`` at the last."""
    if settings.schedule == "constant":
        return settings.lr
    if settings.schedule != "cosine":
        raise ValueError(f"unknown learning-rate schedule {settings.schedule!r}; expected constant or cosine")
    f = (batch - 1) / max(batches - 1, 1)
    floor = settings.final_lr_fraction
    return settings.lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * f)))


@torch.no_grad()
def update_average(average, model, decay: float, batch: int) -> None:
    """The running average of the trainable weights after batch ``batch`` (1-based) of a stage: the mean of the
    iterates while 1 - 1/batch < decay, then an exponential average with that decay (elementwise, so a packed
    network's average is its own and the zero blocks stay zero)."""
    keep = min(decay, 1.0 - 1.0 / batch)
    for a, p in zip(average.parameters(), model.parameters()):
        if p.requires_grad:
            a.lerp_(p, 1.0 - keep)


@dataclass
class FitResult:
    best: dict[str, dict]  # stage name -> best state dict (on CPU)
    best_val: dict[str, float]
    history: list[dict]
    timings: dict = field(default_factory=dict)


def optimise(model, optimiser: torch.optim.Optimizer, x: torch.Tensor, target: torch.Tensor, weight: torch.Tensor,
             head: str) -> torch.Tensor:
    """One Adam step on the mean BCE of ``head``'s logits over the steps of weight 1; returns the (detached) loss,
    one per packed network (their sum is minimised: each network's gradient is its own loss's)."""
    pack = getattr(model, "pack", 1)
    logits = model.logits(x, head).unflatten(-1, (pack, -1))  # (batch, steps, K, units)
    bce = F.binary_cross_entropy_with_logits(logits, target.unflatten(-1, (pack, -1)), reduction="none").mean(-1)
    weight = weight.view(bce.shape)
    losses = (bce * weight).sum((0, 1)) / weight.sum((0, 1)).clamp(min=1)
    optimiser.zero_grad(set_to_none=True)
    losses.sum().backward()
    if pack > 1:
        model.mask_gradients()
    optimiser.step()
    return losses.detach()


def validate(model, val: Padded | None, stage: Stage, sigmas: list[float]) -> list[float]:
    """Each packed network's mean validation BCE over the pieces (each piece's mean over its steps; the
    networks' inputs side by side, each at its own sigma); NaN without validation data."""
    if val is None:
        return [math.nan] * len(sigmas)
    return torch.nanmean(pack_piece_bce(model, val, stage.head, stage.target, sigmas, stage.inputs), 1).tolist()


def fit(model, stages: list[Stage], train: dict[str, list[np.ndarray]], validation: dict[str, list[np.ndarray]],
        settings: Settings, *, seed: int, identity: tuple, device: torch.device | str = "cpu",
        checkpoint: Path | None = None, progress: bool = False) -> FitResult:
    """Train one ``model`` (already on ``device``) through ``stages``: :func:`fit_pack` of one network."""
    return fit_pack(model, stages, train, validation, [settings], [identity], seed=seed, device=device,
                    checkpoint=checkpoint, progress=progress)[0]


def fit_pack(model, stages: list[Stage], train: dict[str, list[np.ndarray]], validation: dict[str, list[np.ndarray]],
             settings: list[Settings], identities: list[tuple], *, seed: int, device: torch.device | str = "cpu",
             checkpoint: Path | None = None, progress: bool = False) -> list[FitResult]:
    """Train the ``model.pack`` networks of ``model`` (already on ``device``) through ``stages``; see the module
    docstring. Network k has ``settings[k]`` (they may differ in sigma alone) and ``identities[k]``.

    Network k's batch draws and training noise come from ``derive_seed(seed, "batches", *identities[k])``, its
    best state per stage from its own validation loss: it trains exactly as it would alone. Validation uses
    the study's CRN noise from ``seed``. With ``checkpoint`` the run saves there every
    ``checkpoint_every`` batches and resumes from it if it exists and belongs to the same job (same stages,
    settings, seed, identities).
    """
    pack = getattr(model, "pack", 1)
    if not len(settings) == len(identities) == pack:
        raise ValueError(f"a pack of {pack} needs as many settings and identities, not {len(settings)} and {len(identities)}")
    shared = {replace(s, sigma=0.0) for s in settings}
    if len(shared) > 1:
        raise ValueError("the networks of a pack may differ in sigma alone")
    common, sigmas = settings[0], [s.sigma for s in settings]
    device = torch.device(device)
    gens = [torch.Generator(device=device).manual_seed(derive_seed(seed, "batches", *i)) for i in identities]
    sampler = Sampler(train, common.batch_size, common.chunk_length, common.gap, device, gens)
    val = Padded.build(validation, seed, device) if validation else None
    key = fingerprint(stages, settings, seed, identities, model.spec)
    run = RunState.resume(checkpoint, key, model, gens, sampler, device)
    if run.stage or run.batch:
        log.info("resumed from %s: stage %s, batch %d", checkpoint, stages[run.stage].name, run.batch)

    done_before = sum(s.batches for s in stages[: run.stage]) + run.batch
    bar = Progress(sum(s.batches for s in stages), done_before, common.log_seconds, bar=progress)
    timings: dict = {"resumed_at_batch": done_before}
    t_start = time.perf_counter()
    for stage in stages[run.stage:]:
        set_trainable(model, stage.trains)
        optimiser = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=common.lr)
        if run.optimiser is not None:
            optimiser.load_state_dict(run.optimiser)
        average = copy.deepcopy(model) if common.average else None  # what is validated and kept, when averaging
        if average is not None and run.average is not None:
            average.load_state_dict(run.average)
        model.train()
        t_stage, first, val_seconds = time.perf_counter(), run.batch + 1, 0.0
        bar.start_stage()
        for b in range(first, stage.batches + 1):
            for group in optimiser.param_groups:
                group["lr"] = learning_rate(common, b, stage.batches)
            x, target, weight = batch_inputs(sampler.next_chunk(), stage, sigmas, gens)
            run.add_loss(optimise(model, optimiser, x, target, weight, stage.head))
            if average is not None:
                update_average(average, model, common.average, b)
            if b % common.val_every == 0 or b == stage.batches:
                tv = time.perf_counter()
                scored = model if average is None else average
                v = validate(scored, val, stage, sigmas)
                val_seconds += time.perf_counter() - tv
                run.validated(stage.name, b, v, scored, keep=val is None and b == stage.batches)
            bar.batch_done(stage, b, run)
            run.batch = b
            if checkpoint is not None and b % common.checkpoint_every == 0 and b < stage.batches:
                run.save(checkpoint, key, model, optimiser, gens, sampler, average)
        seconds, batches = time.perf_counter() - t_stage, stage.batches + 1 - first
        timings[stage.name] = {"seconds": round(seconds, 3), "batches": batches,
                               "batches_per_s": round(batches / seconds, 3) if batches else None,
                               "validation_seconds": round(val_seconds, 3)}
        run.finish_stage(stage.name, model)
        log.info("%s done: best validation BCE %s", stage.name, ", ".join(f"{v:.5f}" for v in run.stage_vals(stage.name)))
    bar.close()
    timings["seconds"] = round(time.perf_counter() - t_start, 3)
    if pack > 1:
        timings["pack"] = pack
    return [FitResult(run.best[k], run.best_val[k], run.history[k], timings) for k in range(pack)]
