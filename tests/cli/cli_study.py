"""What the tests of the bayesbach command share (tests/cli): a tiny study's config and how to run a command."""

from __future__ import annotations

from pathlib import Path

import yaml

from bayesbach.cli import main

# Two architectures (so the architectures figure is drawn), one size, one noise level, budgets of a few batches.
TINY = {
    "seed": 0,
    "device": "cpu",
    "sweep": {"arch": ["elman", "gru"], "hidden": [3], "noise": [0.5], "runs": 1},
    "train": {"batch_size": 4, "chunk_length": 16, "decode_batches": 4, "probe_batches": 3, "val_every": 2,
              "checkpoint_every": 2},
    "references": {"batches": 3, "ff_hidden": 4, "rnn_hidden": 3},
    "report": {"example_steps": 16, "listen_max_steps": 32},
}
NOISE = 0.5
REFERENCES = ("global", "markov_low")  # one counted, one trained


def write_yaml(path: Path, data: dict) -> str:
    path.write_text(yaml.safe_dump(data))
    return str(path)


def ok(*argv: str) -> None:
    assert main(list(argv)) == 0, argv
