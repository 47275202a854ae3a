"""The network references of the ladder, trained with the study's own models and trainer.

=============  ===================================================  ==========  ======
name           model (bayesbach.networks.models)                     task        input
=============  ===================================================  ==========  ======
markov_low     FeedForward, 2 hidden layers: y_t -> y_{t+1}           predict     clean
markov_high    FeedForward, 2 hidden layers: x_t -> y_{t+1}           predict     noisy
decoder_ff     FeedForward, 3 hidden layers: x_t -> y_t               decode      noisy
rnn_pred       RecurrentNet (config arch/size) trained on prediction  predict     noisy
=============  ===================================================  ==========  ======

Each is one :class:`bayesbach.networks.training.Stage` of the generic trainer (same
optimiser, batch geometry, on-device noise, validation with best state and
checkpoints as the networks), once per noise level, scored on the test pieces
with the common-random-numbers noise by :func:`bayesbach.networks.scoring.score_pieces`.
``markov_low`` never sees noise (``registry.SIGMA_FREE``): its seed leaves sigma out, and
one job trains and scores it once and writes the same model to the folder of every
noise level (:func:`network_reference`).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from bayesbach.core.registry import ENCODINGS, SIGMA_FREE, SPLITS
from bayesbach.dataset.loader import load_splits
from bayesbach.networks.scoring import HEADS, score_pieces
from bayesbach.networks.models import NotTrained, build, feedforward_spec, recurrent_spec
from bayesbach.core.atomic import write_json, write_parquet, write_torch
from bayesbach.core.errors_table import errors_table
from bayesbach.core.seeds import derive_seed
from bayesbach.networks.training_job import checkpoint_of, finish_job, record_fit, start
from bayesbach.networks.training import FitResult, Settings, Stage
from bayesbach.networks.training import fit as fit_stages
from bayesbach.references import check_noise_levels

log = logging.getLogger(__name__)


class Network(NamedTuple):
    """A trained reference's definition: the rest (trainer, checkpoints, scoring) every one shares."""

    task: str  # the task it is trained and scored on
    inputs: str  # "clean" (y) or "noisy" (x = y + sigma * eps)
    layers: int | None  # hidden layers of a feed-forward net (references.ff_hidden units each); None: recurrent


NETWORKS = {  # two hidden layers for the Markov nets: one of 128 units stays 0.013 BCE above its exact bound
    "markov_low": Network("predict", "clean", 2),
    "markov_high": Network("predict", "noisy", 2),
    "decoder_ff": Network("decode", "noisy", 3),
    "rnn_pred": Network("predict", "noisy", None),  # references.rnn_arch, rnn_hidden
}


def spec(name: str, units: int, refs: dict) -> dict:
    """The model spec of a reference; ``refs`` holds ``ff_hidden``, ``rnn_arch``, ``rnn_hidden``."""
    task, _, layers = NETWORKS[name]
    if layers is None:
        return recurrent_spec(refs["rnn_arch"], units, refs["rnn_hidden"])
    return feedforward_spec(units, [refs["ff_hidden"]] * layers, [HEADS[task][0]])


def stage(name: str, batches: int) -> Stage:
    task, inputs, _ = NETWORKS[name]
    head, target = HEADS[task]
    return Stage(name, head, target, ("core", f"heads.{head}"), batches, inputs)


def identity(name: str, sigma: float) -> tuple:
    """The job identity seeds derive from; a sigma-free (clean-input) reference's leaves sigma out."""
    return ("reference", name) if name in SIGMA_FREE else ("reference", name, float(sigma))


@dataclass
class Trained:
    """A trained reference (:class:`bayesbach.references.Fitted`): its network (best validation state loaded), what
    was fitted (spec, stage, best validation BCE; a loaded one's: its whole meta.json) and, when fitted here, the fit
    (best states, history, timings)."""

    name: str
    model: torch.nn.Module
    meta: dict
    result: FitResult | None = None

    @property
    def cell(self) -> tuple[str | None, int]:
        return table_cell(self.meta["spec"])

    def scores(self, test: dict[str, list[np.ndarray]], sigma: float, seed: int) -> dict[str, dict[str, float]]:
        """``{task: {piece: bce}}`` on the test pieces, every file on its own, with their CRN noise, on the model's
        device."""
        task, inputs, _ = NETWORKS[self.name]
        return score_pieces(self.model, test, sigma, seed, (task,), inputs, next(self.model.parameters()).device)


def fit(name: str, train: dict[str, list[np.ndarray]], validation: dict[str, list[np.ndarray]], *, sigma: float,
        seed: int, settings: Settings, refs: dict, device: torch.device | str = "cpu",
        checkpoint: Path | None = None) -> Trained:
    """Train reference ``name``; ``refs`` as for :func:`spec` plus ``batches``; ``checkpoint`` lets a killed job
    continue."""
    if name not in NETWORKS:
        raise ValueError(f"unknown network reference {name!r}; expected one of {sorted(NETWORKS)}")
    units = next(iter(train.values()))[0].shape[1]
    ident = identity(name, sigma)
    model = build(spec(name, units, refs), seed=derive_seed(seed, "init", *ident)).to(device)
    st = stage(name, refs["batches"])
    result = fit_stages(model, [st], train, validation, settings, seed=seed, identity=ident, device=device,
                        checkpoint=checkpoint)
    return Trained(name, model, {"spec": model.spec, "stage": asdict(st), "best_val": result.best_val[name]}, result)


def table_cell(model_spec: dict) -> tuple[str | None, int]:
    """The reference's (arch, hidden) in errors.parquet: a recurrent one's core and size, a feed-forward one's
    hidden-layer width and no arch."""
    if model_spec["kind"] == "recurrent":
        return model_spec["arch"], model_spec["hidden"]
    return None, model_spec["hidden"][0]


def load_reference(out: Path) -> Trained:
    """A fitted reference from its folder (``model.pt`` and ``meta.json``), on the CPU, in eval mode."""
    out = Path(out)
    missing = [f for f in ("meta.json", "model.pt") if not (out / f).exists()]
    if missing:
        raise NotTrained(f"{out} holds no trained reference ({', '.join(missing)} missing); run its reference job first")
    meta = json.loads((out / "meta.json").read_text())
    model = build(meta["spec"])
    model.load_state_dict(torch.load(out / "model.pt", map_location="cpu", weights_only=True))
    return Trained(meta["model"], model.eval(), meta)


def network_reference(dataset: Path, outs: list[Path], *, name: str, noises: list[float], seed: int, refs: dict,
                      train: dict, gap: int = 20, device: str = "auto", threads: int | None = None) -> list[dict]:
    """One job: train and score ``name`` at each noise level of ``noises``; writes model.pt, history.parquet,
    errors.parquet and meta.json of level k to ``outs[k]`` and returns their meta.json. Several levels only for
    a sigma-free reference (:func:`bayesbach.references.check_noise_levels`), trained and scored once.

    ``refs`` holds the ``references:`` config keys (batches, ff_hidden, lr, rnn_arch, rnn_hidden);
    ``train`` the shared ``train:`` keys (lr, batch_size, chunk_length, val_every,
    checkpoint_every, log_seconds, encoding). ``outs[0]/checkpoint.pt`` lets a killed job continue.
    """
    outs, noises = [Path(o) for o in outs], [float(s) for s in noises]
    check_noise_levels(name, outs, noises)
    dev = start(device, threads)
    t0 = time.perf_counter()
    data = load_splits(dataset, SPLITS, train["encoding"])
    if refs.get("lr") is not None:  # the references' own rate: wide nets want less than the small recurrent ones
        train = {**train, "lr": refs["lr"]}
    settings = [Settings.from_config(train, noise, gap) for noise in noises]
    sigmas = ", ".join(map(repr, noises))
    log.info("reference %s sigma=%s on %s (%d train / %d validation / %d test pieces)", name, sigmas, dev,
             *(len(d) for d in data.values()))
    fitted = fit(name, data["train"], data["validation"], sigma=noises[0], seed=seed, settings=settings[0], refs=refs,
                 device=dev, checkpoint=checkpoint_of(outs[0]))
    bce = fitted.scores(data["test"], noises[0], seed)
    metas = []
    for out, noise, s in zip(outs, noises, settings):
        write_torch(out / "model.pt", fitted.result.best[name])
        table = errors_table(bce, name, *fitted.cell, noise, None, ENCODINGS[train["encoding"]])
        write_parquet(out / "errors.parquet", table)
        metas.append({
            "model": name, "spec": fitted.meta["spec"], "noise": noise, "seed": seed,
            "identity": list(map(str, identity(name, noise))), "encoding": train["encoding"],
            "units": ENCODINGS[train["encoding"]], "gap": gap, "stage": fitted.meta["stage"],
            "best_val": fitted.meta["best_val"], **record_fit(out, fitted.result, s, dev),
        })
    seconds = round(time.perf_counter() - t0, 3)
    for meta in metas:
        meta["seconds"] = seconds
    for out, meta in zip(outs[1:], metas[1:]):
        write_json(out / "meta.json", meta)
    finish_job(outs[0], metas[0])  # the first folder's meta.json last: the checkpoint beside it goes with it
    for task, values in bce.items():
        log.info("%s sigma=%s %s: mean test BCE %.5f over %d pieces", name, sigmas, task,
                 np.nanmean(list(values.values())), len(values))
    return metas
