"""The commands' default files are the layout's (bayesbach.core.layout), the lists the workflow's rules read
(tests/workflow/test_layout_workflow.py), and --results DIR moves every one of them below DIR: a command in an empty
study names the first file it misses and how many more, exactly as the layout lists them."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bayesbach.cli import main
from bayesbach.cli.common import study_config
from bayesbach.core import layout
from bayesbach.dev.synthetic import write_dataset
from cli_study import REFERENCES, TINY, write_yaml


@pytest.fixture
def study(tmp_path: Path, monkeypatch) -> tuple[dict, Path]:
    """An empty study folder with its config (another composer, mine) and a results folder elsewhere."""
    monkeypatch.chdir(tmp_path)
    config = {**TINY, "references": {**TINY["references"], "models": list(REFERENCES)},
              "generalisation": {"composers": [{"name": "mine", "paths": ["mine"]}]}}
    write_yaml(tmp_path / "config.yaml", config)
    return study_config(argparse.Namespace(config=None, schema=None)), tmp_path / "elsewhere"


def missing(capsys, *argv: str) -> str:
    """The one line a command that misses an input ends with."""
    assert main(list(argv)) == 1
    return capsys.readouterr().err.strip()


def first_of(files: list[str]) -> str:
    return f"missing input: {files[0]} (and {len(files) - 1} more)"


def test_collect_evaluation_with_sweep_reads_the_rules_inputs(study, capsys):
    config, results = study
    files = [p for group in layout.collect_evaluation_inputs(config, results).values() for p in group]
    assert files[0] == str(results / "evaluation/networks/elman/h3/s0.5/r0/errors.parquet")
    assert first_of(files) in missing(capsys, "collect_evaluation", "--sweep", "--results", str(results))


def test_convergence_reads_the_rules_inputs(study, capsys):
    config, results = study
    files = [p for group in layout.convergence_inputs(config, results).values() for p in group]
    assert files[0] == str(results / "models/elman/h3/s0.5/r0/history.parquet")
    assert first_of(files) in missing(capsys, "convergence", "--results", str(results))


def test_collect_generalisation_with_sweep_reads_the_rules_inputs(study, capsys):
    config, results = study
    files = layout.collect_generalisation_inputs(config, results)
    assert files == [str(results / "generalisation/mine/s0.5/errors.parquet")]
    assert f"missing input: {files[0]};" in missing(capsys, "collect_generalisation", "--sweep", "--results", str(results))


def test_generalise_reads_every_model_of_its_noise_level(study, capsys):
    config, results = study
    write_dataset(results / "dataset", {"train": 2, "validation": 1, "test": 1})
    write_dataset(results / "dataset/composers/mine", {"train": 2, "validation": 1, "test": 1})
    inputs = layout.generalise_inputs(config, "mine", 0.5, results)
    files = inputs["networks"] + inputs["references"] + inputs["reference_models"]
    assert len(files) == 2 * 3 + 2 + 1  # two networks' decoder, probe, meta; two references; markov_low's model
    assert first_of(files) in missing(capsys, "generalise", "mine", "--noise", "0.5", "--results", str(results))


def test_the_report_commands_read_the_rules_inputs(study, capsys):
    config, results = study
    files = layout.figure_inputs("training", config, results)["model_dirs"]
    assert first_of(files) in missing(capsys, "figures", "training", "--results", str(results))
    inputs = layout.summary_inputs(config, results)
    assert f"missing input: {inputs['pieces']} (and" in missing(capsys, "summary", "--results", str(results))
    write_dataset(results / "dataset", {"train": 2, "validation": 1, "test": 1})
    files = layout.listen_inputs(config, results)["models"]
    assert files[0] == str(results / "models/gru/h3/s0.5/r0/decoder.pt")  # the example network: GRU, the largest
    assert first_of(files) in missing(capsys, "listen", "--results", str(results))
