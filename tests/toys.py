"""A toy architecture and two toy references, added the way docs/architecture.md ("How to add") says: registry
entries, plus a reference's definition in the module of its kind. the unit tests (networks, references, report, core) add them in-process
(monkeypatched), tests/workflow/test_extension_workflow.py to a copy of the workflow's files (:func:`add_to`).

- ``elman_relu``: PyTorch's RNN with ReLU instead of tanh, ranked as no primary architecture.
- ``rnn_decode``: a second recurrent trained reference, trained to decode (it reads rnn_arch and rnn_hidden).
- ``laplace``: a counted reference, the training marginal with add-one smoothing, written to the protocol.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np

ARCH = "elman_relu"
ARCH_ENTRY = 'Architecture("Elman RNN (ReLU)", "RNN", gates=1, dash="-.", marker="D", options=(("nonlinearity", "relu"),))'
RNN_REFERENCE = "rnn_decode"
RNN_ENTRY = ('Reference("trained", ("decode",), "Recurrent net trained to decode", "#56B4E9", '
             'sized_label="{arch} trained to decode ({hidden} units)", **RECURRENT)')
RNN_NETWORK = 'Network("decode", "noisy", None)'
COUNTED_REFERENCE = "laplace"
COUNTED_ENTRY = 'Reference("counted", ("decode", "predict"), "Global frequencies, add-one", "#F0E442", sigma_free=True)'


class Laplace:
    """Every unit's training frequency with one step on and one off added: a constant, never 0 or 1."""

    def __init__(self, train: dict, validation: dict, how):
        files = [y for ys in train.values() for y in ys]
        on = sum(y.sum(0, dtype=np.float64) for y in files)
        self.marginal = (on + 1) / (sum(len(y) for y in files) + 2)
        self.meta = {"marginal": self.marginal.tolist()}

    def probabilities(self, test: dict, sigma: float, seed: int):
        m = self.marginal
        for piece, ys in test.items():
            yield (piece, [np.broadcast_to(m, y.shape) for y in ys],
                   [np.broadcast_to(m, (max(len(y) - 1, 0), len(m))) for y in ys], None, None)  # bits: factorised


def _insert(path: Path, opening: str, line: str) -> None:
    """``line`` as the first entry of the dict literal that starts on the line beginning with ``opening``."""
    text = path.read_text()
    start = text.index("\n" + opening) + 1
    end = text.index("\n", start) + 1
    path.write_text(text[:end] + line + "\n" + text[end:])


def add_to(root: Path) -> None:
    """The toys added to the files of a copy of the workflow at ``root`` (its bayesbach/)."""
    package = Path(root) / "bayesbach"
    registry = package / "core/registry.py"
    _insert(registry, "ARCHITECTURES = {", f'    "{ARCH}": {ARCH_ENTRY},')
    _insert(registry, "REFERENCES = {", f'    "{RNN_REFERENCE}": {RNN_ENTRY},\n    "{COUNTED_REFERENCE}": {COUNTED_ENTRY},')
    _insert(package / "references/trained.py", "NETWORKS = {", f'    "{RNN_REFERENCE}": {RNN_NETWORK},')
    counted = package / "references/counted.py"
    counted.write_text(counted.read_text() + "\n\n" + inspect.getsource(Laplace)
                       + f'\n\nMODELS["{COUNTED_REFERENCE}"] = Laplace\n')


def patch_architecture(monkeypatch):
    """The toy architecture in the registry of this process (as tests/workflow adds it to the registry's file)."""
    from bayesbach.core import registry

    entry = eval(ARCH_ENTRY, vars(registry))
    monkeypatch.setitem(registry.ARCHITECTURES, ARCH, entry)
    monkeypatch.setitem(registry.CORES, ARCH, (entry.core, entry.options))  # derived when the registry loads
    return entry


def patch_references(monkeypatch) -> None:
    """The toy references in the registry and the definitions of this process."""
    from bayesbach.core import registry
    from bayesbach.references import counted, trained

    monkeypatch.setitem(registry.REFERENCES, RNN_REFERENCE, eval(RNN_ENTRY, vars(registry)))
    monkeypatch.setitem(registry.REFERENCES, COUNTED_REFERENCE, eval(COUNTED_ENTRY, vars(registry)))
    monkeypatch.setitem(trained.NETWORKS, RNN_REFERENCE, eval(RNN_NETWORK, vars(trained)))
    monkeypatch.setitem(counted.MODELS, COUNTED_REFERENCE, Laplace)
