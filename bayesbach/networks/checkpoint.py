"""The state of a training run, and its checkpoint: everything needed to continue a killed job.

:class:`RunState` is where the run is (stage, batch), its running training loss,
the best state of the stage in progress and of the stages done, and the history
of validation points. A checkpoint adds the model's weights, the optimiser's
state, the batch generator's state and the sampler's lanes, and a fingerprint of
what the results depend on: a checkpoint of another configuration of the same job
is ignored, so a resumed run is bit-identical (on CPU) to one never interrupted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from bayesbach.core.atomic import write_torch

log = logging.getLogger(__name__)


def cpu_copy(state: dict) -> dict:
    """A state dict copied to the CPU (what best states and checkpoints hold)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in state.items()}


def fingerprint(stages: list, settings, seed: int, identity: tuple, spec: dict) -> str:
    """What a run's results depend on; the checkpoint and log cadence do not change them."""
    results_settings = {k: v for k, v in asdict(settings).items() if k not in ("checkpoint_every", "log_seconds")}
    key = [[asdict(s) for s in stages], results_settings, seed, list(map(str, identity)), spec]
    return hashlib.sha256(json.dumps(key).encode()).hexdigest()


@dataclass
class RunState:
    loss_sum: torch.Tensor  # training loss summed since the last validation point (on the device: no sync per batch)
    stage: int = 0  # index of the stage in progress
    batch: int = 0  # last batch done in that stage
    loss_batches: int = 0  # batches in loss_sum
    best: dict[str, dict] = field(default_factory=dict)  # stage done -> its best state dict (CPU)
    best_val: dict[str, float] = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)  # one row per validation point
    stage_best: dict | None = None  # best state of the stage in progress
    stage_best_val: float = math.inf
    optimiser: dict | None = None  # the optimiser's state, only when resuming inside a stage

    def add_loss(self, loss: torch.Tensor) -> None:
        self.loss_sum += loss
        self.loss_batches += 1

    def running_loss(self) -> float:
        """Mean training loss since the last validation point (one device sync)."""
        return float(self.loss_sum / self.loss_batches)

    def validated(self, stage: str, batch: int, val_loss: float, model, keep: bool = False) -> None:
        """Record a validation point: a history row, the running loss restarted, the best state kept
        (``keep``: this state whatever its loss; without validation data, the stage's last state)."""
        self.history.append({"stage": stage, "batch": batch, "train_loss": self.running_loss(), "val_loss": val_loss})
        self.loss_sum, self.loss_batches = torch.zeros((), device=self.loss_sum.device), 0
        if self.stage_best is None or val_loss < self.stage_best_val or keep:
            self.stage_best, self.stage_best_val = cpu_copy(model.state_dict()), val_loss

    def finish_stage(self, name: str, model) -> None:
        """The stage's best state goes into the model (the next stage starts from it) and into ``best``.

        A stage of no batches keeps the state it got."""
        if self.stage_best is None:
            self.stage_best = cpu_copy(model.state_dict())
        model.load_state_dict(self.stage_best)
        self.best[name], self.best_val[name] = self.stage_best, self.stage_best_val
        self.stage, self.batch, self.stage_best, self.stage_best_val, self.optimiser = self.stage + 1, 0, None, math.inf, None

    def save(self, path: Path, fingerprint: str, model, optimiser, generator: torch.Generator, sampler) -> None:
        """Write the checkpoint atomically (complete or absent)."""
        self.optimiser = optimiser.state_dict()
        state = {**vars(self), "loss_sum": self.loss_sum.cpu()}
        write_torch(path, {**state, "fingerprint": fingerprint, "model": cpu_copy(model.state_dict()),
                           "rng": generator.get_state(), "lanes": sampler.state_dict()})

    @classmethod
    def resume(cls, path: Path | None, fingerprint: str, model, generator: torch.Generator, sampler,
               device: torch.device) -> RunState:
        """The state saved at ``path`` when it belongs to this run (model, generator and lanes restored);
        else a fresh state."""
        fresh = cls(loss_sum=torch.zeros((), device=device))
        if path is None or not Path(path).exists():
            return fresh
        saved = torch.load(path, map_location="cpu", weights_only=True)
        if saved.get("fingerprint") != fingerprint:
            log.warning("ignoring %s: it belongs to another configuration of this job", path)
            return fresh
        model.load_state_dict(saved["model"])
        generator.set_state(saved["rng"])
        sampler.load_state_dict(saved["lanes"])
        state = cls(**{k: saved[k] for k in vars(fresh)})
        state.loss_sum = state.loss_sum.to(device)
        return state
