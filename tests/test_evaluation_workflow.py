"""The evaluation and report stages in the tiny study, run once for the whole module."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from bayesbach import tables
from bayesbach.dataset import load_split
from bayesbach.stats import COLUMNS
from conftest import copy_workflow, planned_jobs, snakemake

TINY = "tests/configs/tiny.yaml"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    """A workflow copy in which the whole tiny study has run once."""
    work = copy_workflow(tmp_path_factory.mktemp("study"))
    proc = snakemake(work, "--configfile", TINY)
    (work / "run.log").write_text(proc.stdout + proc.stderr)
    return work


def test_errors_hold_every_network_and_reference_on_every_test_piece(study: Path):
    errors = pq.read_table(study / "results/evaluation/errors.parquet")
    assert errors.schema == tables.ERRORS
    df = errors.to_pandas()
    test = set(load_split(study / "results/dataset", "test"))
    expected = {"gru": {"decode", "predict"}, "global": {"decode", "predict"}, "bayes": {"decode", "predict"},
                "markov_counts": {"predict"}, "markov_low": {"predict"}, "markov_high": {"predict"},
                "rnn_pred": {"predict"}, "decoder_ff": {"decode"}}
    assert set(df["model"]) == set(expected)
    for model, tasks in expected.items():
        rows = df[df["model"] == model]
        assert set(rows["task"]) == tasks
        for task in tasks:
            assert set(rows.loc[rows["task"] == task, "piece"]) == test, (model, task)
    assert df["bce"].between(0, 5).all() and (df["noise"] == 0.5).all()
    net = df[df["model"] == "gru"]
    assert set(net["hidden"]) == {4} and set(net["run"]) == {0}
    enc = pq.read_table(study / "results/evaluation/encoding.parquet").to_pandas()
    assert set(enc["piece"]) == test and (enc["mse_baseline"] > 0).all()


def test_stats_compare_the_network_with_the_ladder_and_the_decoders(study: Path):
    stats = pd.read_csv(study / "results/evaluation/stats.csv")
    assert list(stats.columns) == COLUMNS
    pairs = set(zip(stats["task"], stats["versus"]))
    assert pairs == {("predict", r) for r in ("markov_high", "global", "markov_low", "markov_counts", "bayes", "rnn_pred")} | {
        ("decode", "decoder_ff"), ("decode", "bayes")}
    assert (stats["n_pieces"] == 2).all() and (stats["model"] == "gru").all()


def test_adding_a_run_evaluates_that_run_alone(study: Path):
    (study / "runs.yaml").write_text("sweep: {runs: 2}\n")
    jobs = planned_jobs(study, "--configfile", TINY, "runs.yaml")
    assert jobs["train_network"] == 1 and jobs["evaluate_network"] == 1
    assert "reference_counted" not in jobs and "reference_network" not in jobs


def test_second_run_does_nothing(study: Path):
    assert planned_jobs(study, "--configfile", TINY) == {}
