"""An architecture and two references added through the registry alone (tests/toys.py, written into a copy of the
workflow's files) run through the tiny study end to end: trained, sized, evaluated, drawn and on the page. The
toy architecture is the only one swept and ranked as no primary one, so every one-network figure and the
example network fall back to it; both recurrent references run on it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import toys
from bayesbach.core.layout import FIGURES
from bayesbach.core.registry import LISTEN_KINDS
from bayesbach.core.resources import train_job
from conftest import copy_workflow, planned_jobs, snakemake

TINY = "tests/configs/tiny.yaml"
TOYS = f"sweep: {{arch: [{toys.ARCH}]}}\nreferences: {{rnn_arch: {toys.ARCH}}}\n"
CELL = f"results/models/{toys.ARCH}/h4/s0.5/r0"


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    work = copy_workflow(tmp_path_factory.mktemp("extension"))
    toys.add_to(work)
    (work / "toys.yaml").write_text(TOYS)
    snakemake(work, "--configfile", TINY, "toys.yaml")
    return work


def test_the_architecture_trains_with_its_core_and_is_the_example_network(study: Path):
    assert json.loads((study / CELL / "meta.json").read_text())["arch"] == toys.ARCH
    load = f"from bayesbach.networks.models import load_network; print(load_network('{CELL}')[0].core.nonlinearity)"
    core = subprocess.run([sys.executable, "-c", load], cwd=study, env=dict(os.environ, PYTHONPATH=str(study)),
                          capture_output=True, text=True, check=True)  # the copy's registry knows the toy
    assert core.stdout.strip() == "relu"
    for kind in LISTEN_KINDS:
        assert (study / f"results/listen/s0.5/{kind}.mid").exists()


def test_both_references_are_scored_beside_the_network(study: Path):
    errors = pq.read_table(study / "results/evaluation/errors.parquet").to_pandas()
    tasks = errors.groupby("model")["task"].agg(lambda t: sorted(set(t)))
    assert tasks[toys.ARCH] == tasks[toys.COUNTED_REFERENCE] == ["decode", "predict"]
    assert tasks[toys.RNN_REFERENCE] == ["decode"]
    for name in ("rnn_pred", toys.RNN_REFERENCE):  # rnn_arch and rnn_hidden reached both jobs
        rows = errors[errors["model"] == name]
        assert set(rows["arch"]) == {toys.ARCH} and set(rows["hidden"]) == {4}, name
    meta = json.loads((study / f"results/references/s0.5/{toys.COUNTED_REFERENCE}/meta.json").read_text())
    assert len(meta["marginal"]) == 12  # what it fitted, recorded


def test_every_figure_and_the_page_show_them(study: Path):
    for name in FIGURES:
        if name not in ("architectures", "generalisation"):  # one architecture, no other composer
            assert (study / f"results/figures/{name}.png").stat().st_size > 0, name
    page = (study / "results/summary.html").read_text()
    assert "Elman RNN (ReLU), 4 units" in page
    assert "Elman RNN (ReLU) trained to decode (4 units)" in page and "Global frequencies, add-one" in page


def test_the_recurrent_references_jobs_are_sized_from_their_entries(study: Path):
    """As a recurrent net of rnn_arch (the toy: one gate) and rnn_hidden units for references.batches batches; a
    feed-forward one is bounded by the same size (registry.JobSize)."""
    (study / "big.yaml").write_text("references: {batches: 200000, rnn_hidden: 256}\n")
    out = snakemake(study, "-n", "--forcerun", "reference_network", "--configfile", TINY, "toys.yaml", "big.yaml").stdout
    runtime = {m[1]: int(m[2]) for m in re.finditer(r"name=(\w+)\n\s+resources: [^\n]*runtime=(\d+)", out)}
    job = dict(units=12, batch_size=4, chunk_length=16, batches=200_000, device="cpu")  # tiny.yaml's geometry
    expected = train_job("elman", 256, **job)["runtime"]  # the toy's gates are Elman's
    assert runtime[toys.RNN_REFERENCE] == runtime["rnn_pred"] == runtime["markov_high"] == expected > 6


def test_restyling_the_architecture_redraws_the_report_and_retrains_nothing(study: Path):
    registry = study / "bayesbach/core/registry.py"
    saved = registry.read_text()
    try:
        registry.write_text(saved.replace('"Elman RNN (ReLU)", "RNN", gates=1, dash="-."', '"ReLU RNN", "RNN", gates=1, dash=":"'))
        planned = planned_jobs(study, "--configfile", TINY, "toys.yaml")
    finally:
        registry.write_text(saved)
    assert "figure_training" in planned and all(r.startswith("figure_") or r in ("summary", "all") for r in planned)
