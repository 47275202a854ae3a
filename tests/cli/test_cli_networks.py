"""bayesbach estimate (bayesbach.cli.networks): configs layered as its arguments and --config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bayesbach.cli import main
from cli_study import TINY, write_yaml


def test_estimate_layers_its_arguments_with_config(tmp_path: Path, capsys):
    base = write_yaml(tmp_path / "a.yaml", {**TINY, "train": {"decode_batches": 200_000, "pack": 1}})
    more = write_yaml(tmp_path / "b.yaml", {"sweep": {"runs": 4}})
    packed = write_yaml(tmp_path / "c.yaml", {"train": {"pack": "auto"}})
    assert main(["estimate", base]) == 0
    one = json.loads(capsys.readouterr().out)
    assert main(["estimate", base, "--config", more]) == 0
    four = json.loads(capsys.readouterr().out)
    assert one["networks_hours"] > 0 and four["networks_hours"] == pytest.approx(4 * one["networks_hours"], rel=0.1)
    # the tiny networks' four runs packed into one job cost about the latency of one
    assert main(["estimate", base, "--config", more, "--config", packed]) == 0
    assert json.loads(capsys.readouterr().out)["networks_hours"] < 0.5 * four["networks_hours"]
