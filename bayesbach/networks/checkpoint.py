"""The state of a training run, and its checkpoint: everything needed to continue a killed job.

:class:`RunState` is where the run is (stage, batch), its running training loss,
the best state of the stage in progress and of the stages done, and the history
of validation points, each of these per network of a pack (lists indexed by the network; one entry
for a lone network). A checkpoint adds the model's weights, the optimiser's
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
from bayesbach.networks.models import cpu_copy, load_member, member_state

log = logging.getLogger(__name__)


def fingerprint(stages: list, settings: list, seed: int, identities: list[tuple], spec: dict) -> str:
    """What a run's results depend on (each network's settings and identity); the checkpoint and log cadence do
    not change them."""
    results_settings = [{k: v for k, v in asdict(s).items() if k not in ("checkpoint_every", "log_seconds")}
                        for s in settings]
    key = [[asdict(s) for s in stages], results_settings, seed, [list(map(str, i)) for i in identities], spec]
    return hashlib.sha256(json.dumps(key).encode()).hexdigest()


@dataclass
class RunState:
    loss_sum: torch.Tensor  # (K,) training losses summed since the last validation point (on the device: no sync)
    stage: int = 0  # index of the stage in progress
    batch: int = 0  # last batch done in that stage
    loss_batches: int = 0  # batches in loss_sum
    best: list[dict[str, dict]] = field(default_factory=list)  # per network: stage done -> its best state (CPU)
    best_val: list[dict[str, float]] = field(default_factory=list)
    history: list[list[dict]] = field(default_factory=list)  # per network: one row per validation point
    stage_best: list[dict | None] = field(default_factory=list)  # per network: best state of the stage in progress
    stage_best_val: list[float] = field(default_factory=list)
    optimiser: dict | None = None  # the optimiser's state, only when resuming inside a stage
    average: dict | None = None  # the running average of the weights (training.update_average), likewise

    @classmethod
    def fresh(cls, pack: int, device: torch.device) -> RunState:
        return cls(loss_sum=torch.zeros(pack, device=device), best=[{} for _ in range(pack)],
                   best_val=[{} for _ in range(pack)], history=[[] for _ in range(pack)],
                   stage_best=[None] * pack, stage_best_val=[math.inf] * pack)

    def add_loss(self, loss: torch.Tensor) -> None:
        self.loss_sum += loss
        self.loss_batches += 1

    def running_loss(self) -> list[float]:
        """Each network's mean training loss since the last validation point (one device sync)."""
        return (self.loss_sum / self.loss_batches).tolist()

    def validated(self, stage: str, batch: int, val_losses: list[float], model, keep: bool = False) -> None:
        """Record a validation point: a history row per network, the running losses restarted, each network's
        best state kept (``keep``: this state whatever its loss; without validation data, the stage's last state)."""
        for k, (train_loss, val_loss) in enumerate(zip(self.running_loss(), val_losses)):
            self.history[k].append({"stage": stage, "batch": batch, "train_loss": train_loss, "val_loss": val_loss})
            if self.stage_best[k] is None or val_loss < self.stage_best_val[k] or keep:
                self.stage_best[k], self.stage_best_val[k] = member_state(model, k), val_loss
        self.loss_sum, self.loss_batches = torch.zeros_like(self.loss_sum), 0

    def stage_vals(self, name: str) -> list[float]:
        return [best[name] for best in self.best_val]

    def finish_stage(self, name: str, model) -> None:
        """Each network's best state of the stage goes into the model (the next stage starts from it) and into
        ``best``. A stage of no batches keeps the state it got."""
        for k, state in enumerate(self.stage_best):
            state = member_state(model, k) if state is None else state
            load_member(model, k, state)
            self.best[k][name], self.best_val[k][name] = state, self.stage_best_val[k]
        pack = len(self.stage_best)
        self.stage, self.batch, self.optimiser, self.average = self.stage + 1, 0, None, None
        self.stage_best, self.stage_best_val = [None] * pack, [math.inf] * pack

    def save(self, path: Path, fingerprint: str, model, optimiser, generators: list[torch.Generator], sampler,
             average=None) -> None:
        """Write the checkpoint atomically (complete or absent); ``average``: the averaged model, if any."""
        self.optimiser = optimiser.state_dict()
        self.average = None if average is None else cpu_copy(average.state_dict())
        state = {**vars(self), "loss_sum": self.loss_sum.cpu()}
        write_torch(path, {**state, "fingerprint": fingerprint, "model": cpu_copy(model.state_dict()),
                           "rng": [g.get_state() for g in generators], "lanes": sampler.state_dict()})

    @classmethod
    def resume(cls, path: Path | None, fingerprint: str, model, generators: list[torch.Generator], sampler,
               device: torch.device) -> RunState:
        """The state saved at ``path`` when it belongs to this run (model, generators and lanes restored);
        else a fresh state."""
        fresh = cls.fresh(len(generators), device)
        if path is None or not Path(path).exists():
            return fresh
        saved = torch.load(path, map_location="cpu", weights_only=True)
        if saved.get("fingerprint") != fingerprint:
            log.warning("ignoring %s: it belongs to another configuration of this job", path)
            return fresh
        model.load_state_dict(saved["model"])
        for g, rng in zip(generators, saved["rng"]):
            g.set_state(rng)
        sampler.load_state_dict(saved["lanes"])
        state = cls(**{k: saved[k] for k in vars(fresh)})
        state.loss_sum = state.loss_sum.to(device)
        return state
