"""The networks of the study: a recurrent core with two readout heads, and a feed-forward net.

Public interface (stable; the trainer, the reference models and the evaluation use it):

- ``RecurrentNet(arch, units, hidden, layers=1)``: core ``elman`` | ``lstm`` | ``gru``
  (PyTorch's own ``nn.RNN`` (tanh) / ``nn.LSTM`` / ``nn.GRU``, batch first, state
  starting at zero), heads ``observe`` (current chord) and ``predict`` (next chord).
- ``FeedForward(units, hidden=(256,), heads=("predict",))``: memoryless, per step,
  ReLU hidden layers, one linear head per name.
- Both expose ``features(x) -> (batch, steps, features)`` and ``heads`` (an
  ``nn.ModuleDict`` of linear layers giving **logits**; the sigmoid is applied by
  the loss, ``BCEWithLogits``, or by :func:`probabilities`), and ``logits(x, head)``.
- ``build(spec, seed=None)`` makes a model from the JSON-able ``spec`` that ``model.spec``
  returns (stored in ``meta.json``; ``recurrent_spec`` / ``feedforward_spec`` write one), so a saved
  state dict can be loaded again.
- ``load_network(model_dir, which)``: a trained network from its folder (``meta.json`` and
  ``decoder.pt`` or ``probe.pt``), on the CPU, in eval mode.
- ``set_trainable(model, prefixes)``: freeze every parameter whose name does not
  start with one of ``prefixes`` (e.g. ``("core", "heads.observe")``).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from bayesbach.core.exceptions import StudyError

ARCHS = {"elman": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
HEADS = ("observe", "predict")


def recurrent_spec(arch: str, units: int, hidden: int, layers: int = 1) -> dict:
    """The JSON-able description of a :class:`RecurrentNet` (what ``meta.json`` stores as ``model``)."""
    return {"kind": "recurrent", "arch": arch, "units": units, "hidden": hidden, "layers": layers}


def feedforward_spec(units: int, hidden: list[int], heads: list[str]) -> dict:
    """The JSON-able description of a :class:`FeedForward` net."""
    return {"kind": "feedforward", "units": units, "hidden": hidden, "heads": heads}


class RecurrentNet(nn.Module):
    """Recurrent core + linear observation and prediction heads on the hidden state."""

    def __init__(self, arch: str, units: int, hidden: int, layers: int = 1):
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(f"unknown architecture {arch!r}; expected one of {sorted(ARCHS)}")
        self.spec = recurrent_spec(arch, units, hidden, layers)
        self.core = ARCHS[arch](units, hidden, num_layers=layers, batch_first=True)
        self.heads = nn.ModuleDict({name: nn.Linear(hidden, units) for name in HEADS})

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden states h_t of the last layer, (batch, steps, hidden), from a zero initial state."""
        return self.core(x)[0]

    def logits(self, x: torch.Tensor, head: str) -> torch.Tensor:
        return self.heads[head](self.features(x))


class FeedForward(nn.Module):
    """Per-step ReLU network x_t -> logits, for the memoryless reference models."""

    def __init__(self, units: int, hidden: tuple[int, ...] | list[int] = (256,), heads: tuple[str, ...] | list[str] = ("predict",)):
        super().__init__()
        hidden, heads = [int(h) for h in hidden], list(heads)
        self.spec = feedforward_spec(units, hidden, heads)
        layers, width = [], units
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        self.core = nn.Sequential(*layers)
        self.heads = nn.ModuleDict({name: nn.Linear(width, units) for name in heads})

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.core(x)

    def logits(self, x: torch.Tensor, head: str) -> torch.Tensor:
        return self.heads[head](self.features(x))


def build(spec: dict, seed: int | None = None) -> nn.Module:
    """A fresh model (on the CPU) from its ``spec`` (the dict ``model.spec`` returns).

    With ``seed`` the initial weights are a function of the seed alone (the global
    RNG is left untouched), identical whichever device the model then moves to.
    """
    spec = dict(spec)
    kind = spec.pop("kind")
    if kind not in ("recurrent", "feedforward"):
        raise ValueError(f"unknown model kind {kind!r}")
    cls = RecurrentNet if kind == "recurrent" else FeedForward
    if seed is None:
        return cls(**spec)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return cls(**spec)


def set_trainable(model: nn.Module, prefixes: tuple[str, ...] | list[str]) -> list[str]:
    """Train exactly the parameters whose names start with one of ``prefixes``; return their names."""
    names = []
    for name, p in model.named_parameters():
        p.requires_grad_(any(name == q or name.startswith(q + ".") for q in prefixes))
        if p.requires_grad:
            names.append(name)
    if not names:
        raise ValueError(f"no parameter of the model matches {list(prefixes)}")
    return names


def probabilities(model: nn.Module, x: torch.Tensor, head: str) -> torch.Tensor:
    """Bernoulli probabilities of a head (the sigmoid of its logits)."""
    return torch.sigmoid(model.logits(x, head))


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
