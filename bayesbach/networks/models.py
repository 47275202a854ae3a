"""The networks of the study: a recurrent core with two readout heads, and a feed-forward net.

Public interface (stable; the trainer, the reference models and the evaluation use it):

- ``RecurrentNet(arch, units, hidden, layers=1, pack=1)``: core an architecture of
  :data:`bayesbach.core.registry.ARCHITECTURES` (PyTorch's own class it names, e.g. ``nn.RNN``
  (tanh) for ``elman``, ``nn.LSTM``, ``nn.GRU``; batch first, state starting at zero),
  heads ``observe`` (current chord) and ``predict`` (next chord).
  With ``pack=K`` it holds K independent networks of that spec as one: every weight
  (each gate of the core, both heads) is block-diagonal, network k reading features
  ``k*units ... (k+1)*units - 1`` of the input and owning hidden units and outputs
  likewise. :meth:`RecurrentNet.mask_gradients` keeps the off-diagonal blocks at zero
  under training, so each network's forward pass, gradients and Adam updates are its
  own (Adam is elementwise): a packed network trains as it would alone, in one kernel.
- ``build_pack(spec, seeds)``: K networks packed, network k initialised as ``build(spec, seeds[k])``.
- ``member_state(model, k)`` / ``load_member(model, k, state)``: network k's state dict
  (that of a lone network of ``model.spec``) out of / into a packed model; for a model
  of ``pack`` 1 they are the model's own state dict.
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
from bayesbach.core.registry import CORES

HEADS = ("observe", "predict")


def recurrent_spec(arch: str, units: int, hidden: int, layers: int = 1) -> dict:
    """The JSON-able description of a :class:`RecurrentNet` (what ``meta.json`` stores as ``model``)."""
    return {"kind": "recurrent", "arch": arch, "units": units, "hidden": hidden, "layers": layers}


def feedforward_spec(units: int, hidden: list[int], heads: list[str]) -> dict:
    """The JSON-able description of a :class:`FeedForward` net."""
    return {"kind": "feedforward", "units": units, "hidden": hidden, "heads": heads}


class RecurrentNet(nn.Module):
    """Recurrent core + linear observation and prediction heads on the hidden state (``pack`` of them)."""

    def __init__(self, arch: str, units: int, hidden: int, layers: int = 1, pack: int = 1):
        super().__init__()
        if arch not in CORES:
            raise ValueError(f"unknown architecture {arch!r}; expected one of {sorted(CORES)}")
        if pack < 1:
            raise ValueError(f"pack must be at least 1, not {pack}")
        self.spec = recurrent_spec(arch, units, hidden, layers)  # one network's (what meta.json stores)
        self.pack = pack
        core, options = CORES[arch]
        self.core = getattr(nn, core)(pack * units, pack * hidden, num_layers=layers, batch_first=True, **dict(options))
        self.heads = nn.ModuleDict({name: nn.Linear(pack * hidden, pack * units) for name in HEADS})
        # Each parameter as (gates, K, rows, K, cols) blocks: PyTorch stacks a core's gates along the rows.
        gates = self.core.weight_ih_l0.shape[0] // (pack * hidden)
        self._blocks = {name: (1 if name.startswith("heads.") else gates) for name, _ in self.named_parameters()}
        self._masks: dict[str, torch.Tensor] = {}
        if pack > 1:
            with torch.no_grad():
                for name, p in self.named_parameters():
                    if p.dim() == 2:
                        p.mul_(self._mask(name, p))

    def _mask(self, name: str, p: torch.Tensor) -> torch.Tensor:
        """1 on the diagonal blocks of a packed weight, 0 elsewhere (made once per device)."""
        if name not in self._masks or self._masks[name].device != p.device:
            k, g = self.pack, self._blocks[name]
            eye = torch.eye(k, device=p.device, dtype=p.dtype)[None, :, None, :, None]
            shape = (g, k, p.shape[0] // (g * k), k, p.shape[1] // k)
            self._masks[name] = eye.expand(shape).reshape(p.shape).contiguous()
        return self._masks[name]

    @torch.no_grad()
    def mask_gradients(self) -> None:
        """Zero the gradients between packed networks (after ``backward``, before the optimiser's step)."""
        if self.pack == 1:
            return
        for name, p in self.named_parameters():
            if p.grad is not None and p.dim() == 2:
                p.grad.mul_(self._mask(name, p))

    def block(self, name: str, p: torch.Tensor, k: int) -> torch.Tensor:
        """Network k's part of packed parameter ``name`` (a view), shaped (gates, rows, cols) or (gates, rows)."""
        g, K = self._blocks[name], self.pack
        if p.dim() == 2:
            return p.view(g, K, p.shape[0] // (g * K), K, p.shape[1] // K)[:, k, :, k, :]
        return p.view(g, K, p.shape[0] // (g * K))[:, k]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden states h_t of the last layer, (batch, steps, hidden), from a zero initial state."""
        return self.core(x)[0]

    def logits(self, x: torch.Tensor, head: str) -> torch.Tensor:
        return self.heads[head](self.features(x))


class FeedForward(nn.Module):
    """Per-step ReLU network x_t -> logits, for the memoryless reference models."""

    pack = 1

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


def cpu_copy(state: dict) -> dict:
    """A state dict copied to the CPU (what best states and checkpoints hold)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in state.items()}


def member_state(model: nn.Module, k: int) -> dict:
    """Network k's state dict, on the CPU, as a lone network of ``model.spec`` would have it."""
    if getattr(model, "pack", 1) == 1:
        return cpu_copy(model.state_dict())
    return cpu_copy({name: model.block(name, p, k).reshape(_lone_shape(model, p)) for name, p in model.named_parameters()})


def _lone_shape(model: nn.Module, p: torch.Tensor) -> tuple[int, ...]:
    rows = p.shape[0] // model.pack
    return (rows, p.shape[1] // model.pack) if p.dim() == 2 else (rows,)


@torch.no_grad()
def load_member(model: nn.Module, k: int, state: dict) -> None:
    """Network k of ``model`` set to ``state`` (a lone network's state dict); the other networks untouched."""
    if getattr(model, "pack", 1) == 1:
        model.load_state_dict(state)
        return
    for name, p in model.named_parameters():
        block = model.block(name, p, k)
        block.copy_(state[name].to(p.device).view(block.shape))


def build_pack(spec: dict, seeds: list[int]) -> nn.Module:
    """``len(seeds)`` networks of ``spec`` packed as one (on the CPU), network k starting from the weights that
    ``build(spec, seeds[k])`` has; one seed gives that lone network itself."""
    if len(seeds) == 1:
        return build(spec, seeds[0])
    if spec["kind"] != "recurrent":
        raise ValueError("only recurrent networks are packed")
    with torch.random.fork_rng(devices=[]):  # its own random initial weights are all overwritten
        model = RecurrentNet(**{k: v for k, v in spec.items() if k != "kind"}, pack=len(seeds))
    for k, seed in enumerate(seeds):
        load_member(model, k, build(spec, seed).state_dict())
    return model


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
