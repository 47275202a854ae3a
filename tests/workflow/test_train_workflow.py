"""The training rules: one job per pack of cells writing each cell's contracted files, exact reruns, presets that
plan."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch

from bayesbach.core import schemas
from bayesbach.networks.models import build
from conftest import copy_workflow, planned_jobs, snakemake

TINY = "tests/configs/tiny.yaml"
CELL = "results/models/gru/h4/s0.5/r0"
FILES = ["decoder.pt", "probe.pt", "history.parquet", "meta.json"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    work = copy_workflow(tmp_path_factory.mktemp("wf"))
    snakemake(work, *(f"{CELL}/{f}" for f in FILES), "--configfile", TINY)
    return work


def test_the_cell_rule_writes_the_contracted_files(trained: Path):
    cell = trained / CELL
    meta = json.loads((cell / "meta.json").read_text())
    assert (meta["arch"], meta["hidden"], meta["noise"], meta["run"], meta["device"]) == ("gru", 4, 0.5, 0, "cpu")
    assert meta["settings"]["batch_size"] == 4 and meta["seed"] == 0
    assert set(meta["timings"]) >= {"decode", "probe", "seconds"}
    for f in ("decoder.pt", "probe.pt"):
        model = build(meta["model"])
        model.load_state_dict(torch.load(cell / f, weights_only=True))
    history = pq.read_table(cell / "history.parquet")
    assert history.schema == schemas.HISTORY
    assert [(r["stage"], r["batch"]) for r in history.to_pylist()] == [("decode", 3), ("decode", 6), ("probe", 3), ("probe", 4)]
    assert not (cell / "checkpoint.pt").exists()
    log = (trained / "results/logs/models/gru/h4/p0.log").read_text()
    assert "decode batch 6/6" in log and "batches/s" in log and "left" in log


def test_second_run_does_nothing(trained: Path):
    assert planned_jobs(trained, CELL + "/meta.json", "--configfile", TINY) == {}


def test_a_changed_training_budget_reruns_only_training(trained: Path):
    (trained / "budget.yaml").write_text("train: {probe_batches: 5}\n")
    assert planned_jobs(trained, CELL + "/meta.json", "--configfile", TINY, "budget.yaml") == {"train_gru_h4_p0": 1}
    (trained / "cadence.yaml").write_text("train: {checkpoint_every: 1, log_seconds: 1}\n")  # changes no result
    assert planned_jobs(trained, CELL + "/meta.json", "--configfile", TINY, "cadence.yaml") == {}


@pytest.mark.parametrize("module", ["networks/training.py", "networks/training_job.py", "dataset/noise.py"])  # the loop, the job, a deep import
def test_editing_the_training_code_reruns_only_training(trained: Path, module: str):
    source = trained / "bayesbach" / module
    saved = source.read_text()
    try:
        source.write_text(saved + "\n# an edit\n")
        assert planned_jobs(trained, CELL + "/meta.json", "--configfile", TINY) == {"train_gru_h4_p0": 1}
    finally:
        source.write_text(saved)


def test_a_figure_colour_in_the_registry_reruns_no_training(trained: Path):
    registry = trained / "bayesbach/core/registry.py"
    saved = registry.read_text()
    try:
        assert '"Ideal Bayesian observer, 1st order", "#000000"' in saved
        registry.write_text(saved.replace('1st order", "#000000"', '1st order", "#111111"'))
        assert planned_jobs(trained, CELL + "/meta.json", "--configfile", TINY) == {}
    finally:
        registry.write_text(saved)


def test_noise_paths_are_python_float_reprs(trained: Path):
    (trained / "sweep.yaml").write_text("sweep: {arch: [lstm], hidden: [3], noise: [0.001, 2], runs: 1}\n")
    out = snakemake(trained, "-n", "--configfile", TINY, "sweep.yaml").stdout
    assert "results/models/lstm/h3/s0.001/r0/meta.json" in out and "results/models/lstm/h3/s2.0/r0/meta.json" in out


@pytest.mark.parametrize(
    "override,key",
    [
        ("sweep: {arch: [transformer]}", "sweep.arch[0]"),
        ("sweep: {noise: [-0.1]}", "sweep.noise[0]"),
        ("train: {encoding: midi}", "train.encoding"),
        ("device: tpu", "device"),
    ],
)
def test_invalid_training_config_is_named_before_anything_runs(trained: Path, override: str, key: str):
    (trained / "bad.yaml").write_text(override + "\n")
    proc = snakemake(trained, "-n", "--configfile", TINY, "bad.yaml", check=False)
    assert proc.returncode != 0 and key in proc.stdout + proc.stderr


def test_the_paper_preset_plans_270_gpu_networks_in_packs_in_seconds(workflow_copy: Path):
    start = time.monotonic()
    out = snakemake(workflow_copy, "-n", "--configfile", "presets/paper.yaml").stdout
    assert time.monotonic() - start < 60
    blocks = [b for b in out.split("rule ")[1:] if b.startswith("train_gru_h")]
    # pack: auto on a GPU (256 packed units): 45 cells per size in 2 + 3 + 6 + 12 + 23 + 45 jobs
    assert len(blocks) == 91
    metas = {m for b in blocks for m in re.findall(r"results/models/gru/h\d+/s[\d.]+/r\d/meta.json", b.split("log:")[0])}
    assert len(metas) == 9 * 6 * 5
    assert all("gpu=1" in b for b in blocks)  # device: auto declares the standard gpu resource
    jobs = planned_jobs(workflow_copy, "--configfile", "presets/architectures.yaml")
    assert sum(n for rule, n in jobs.items() if rule.startswith("train_")) == 3 * 7  # 27 cells of 64 units: 7 packs of <= 4


def test_cpu_training_jobs_declare_no_gpu(trained: Path):
    out = snakemake(trained, "-n", "-f", CELL + "/meta.json", "--configfile", TINY).stdout  # device: cpu
    assert "rule train_gru_h4_p0:" in out and "gpu=0" in out.split("rule train_gru_h4_p0:")[1]


def test_a_pack_trains_its_cells_as_they_train_alone(trained: Path):
    """pack: auto puts both runs of the tiny sweep in one job; pack: 1 trains each alone: same networks."""
    (trained / "two.yaml").write_text("sweep: {runs: 2, noise: [0.5, 1.0]}\n")
    (trained / "alone.yaml").write_text("train: {pack: 1}\n")
    cells = [f"results/models/gru/h4/s{s}/r{r}/meta.json" for s in (0.5, 1.0) for r in (0, 1)]
    assert planned_jobs(trained, *cells, "--configfile", TINY, "two.yaml") == {"train_gru_h4_p0": 1}
    snakemake(trained, *cells, "--configfile", TINY, "two.yaml")
    packed = {c: torch.load(trained / c.replace("meta.json", "probe.pt"), weights_only=True) for c in cells}
    assert all(len(json.loads((trained / c).read_text())["pack"]) == 4 for c in cells)
    jobs = planned_jobs(trained, *cells, "--configfile", TINY, "two.yaml", "alone.yaml")
    assert jobs == {f"train_gru_h4_p{i}": 1 for i in range(4)}
    snakemake(trained, *cells, "--configfile", TINY, "two.yaml", "alone.yaml")
    for c in cells:
        alone = torch.load(trained / c.replace("meta.json", "probe.pt"), weights_only=True)
        for k, v in alone.items():
            torch.testing.assert_close(packed[c][k], v, rtol=1e-3, atol=1e-4)
