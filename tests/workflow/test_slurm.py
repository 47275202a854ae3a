"""The study on a real Slurm cluster (the single-node one that .ci/slurm-up starts).

Skipped where no Slurm answers (a laptop); with CI=true they must run, so a
missing cluster fails instead.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch

from conftest import copy_workflow, snakemake

# The tiny study with device auto, so that its training jobs ask for the `gpu`
# resource (the CI node has one fake GPU; the jobs themselves run on the CPU), and
# three references (two counted, one trained) to keep the number of queued jobs small.
CONFIG = "corpus: {max_works: 8}\ndevice: auto\nreferences: {models: [global, bayes, markov_high]}\n"
# Quick status checks, and no job wider than the CI node's 2 CPUs.
FAST = ["--seconds-between-status-checks", "2", "--slurm-init-seconds-before-status-checks", "2", "--latency-wait", "5",
        "--max-threads", "2"]


def slurm_answers() -> str | None:
    """None when a Slurm node is ready for jobs, else why not."""
    if shutil.which("sbatch") is None or shutil.which("sinfo") is None:
        return "Slurm is not installed (run .ci/slurm-up as root)"
    try:
        out = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired:
        return "sinfo did not answer within 10 s"
    if out.returncode != 0 or not re.search(r"idle|mixed|allocated", out.stdout):
        return f"no Slurm node is ready ({(out.stdout + out.stderr).strip() or 'no answer'}; run .ci/slurm-up)"
    return None


@pytest.fixture(scope="module")
def slurm():
    reason = slurm_answers()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the Slurm tests: {reason}")
        pytest.skip(reason)


def run_on_slurm(work: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """snakemake through the slurm profile, interrupted (SIGINT, the signal it obeys) if it runs too long."""
    env = dict(os.environ, PYTHONPATH=str(work), OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "snakemake", "--workflow-profile", "workflow/profiles/slurm", *FAST, *args]
    proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        pytest.fail(f"snakemake on Slurm did not finish within {timeout} s:\n{out[-4000:]}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, "")


def model_files(work: Path) -> dict[str, Path]:
    return {str(p.relative_to(work)): p for p in sorted((work / "results" / "models").rglob("*.pt"))}


ARGS = ["--configfile", "tests/configs/tiny.yaml", "slurm.yaml"]


@pytest.fixture(scope="module")
def local(slurm, tmp_path_factory) -> Path:
    """The same tiny study, run locally."""
    work = copy_workflow(tmp_path_factory.mktemp("local"))
    (work / "slurm.yaml").write_text(CONFIG)
    snakemake(work, *ARGS)
    return work


def test_slurm_study_runs_as_slurm_jobs_and_matches_a_local_run(local, tmp_path):
    cluster = copy_workflow(tmp_path)
    (cluster / "slurm.yaml").write_text(CONFIG)
    proc = run_on_slurm(cluster, *ARGS)
    assert proc.returncode == 0, proc.stdout[-4000:]

    # Every queued job's own log says which Slurm job ran it; the light local rules
    # (collecting tables, statistics, figures, the page) ran beside Snakemake.
    logs = sorted((cluster / "results" / "logs").rglob("*.log"))
    light = {"collect.log", "stats.log", "orders.log", "convergence.log"}
    queued = [p for p in logs if "report" not in p.parts and p.name not in light]
    # export, convert, file_keys, split, 3 references (global's sigma-free job writes its one noise level), train,
    # evaluate, annotate
    assert len(queued) == 10, [p.name for p in queued]
    for p in logs:
        assert bool(re.search(r"Slurm job \d+", p.read_text())) == (p in queued), p
    assert not any("Slurm job" in p.read_text() for p in (local / "results" / "logs").rglob("*.log"))
    assert re.search(r"rule train_gru_h\d+_p0:.*?resources:[^\n]*gpu=1", proc.stdout, re.S)
    assert re.search(r"submitted with SLURM jobid \d+", proc.stdout)

    # Same outputs as the local run: tables equal, weights bit-identical (CPU).
    for table in ("dataset/events.parquet", "dataset/pieces.parquet", "evaluation/errors.parquet"):
        assert pq.read_table(cluster / "results" / table).equals(pq.read_table(local / "results" / table)), table
    stats = "results/evaluation/stats.csv"
    assert (cluster / stats).read_bytes() == (local / stats).read_bytes()
    models = model_files(cluster)
    assert models and set(models) == set(model_files(local))
    for name, path in models.items():
        a, b = torch.load(path, weights_only=True), torch.load(local / name, weights_only=True)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name
    for hist in (cluster / "results" / "models").rglob("history.parquet"):
        assert pq.read_table(hist).equals(pq.read_table(local / hist.relative_to(cluster)))


def test_slurm_failing_job_is_reported_and_the_workflow_exits_nonzero(local, tmp_path):
    work = tmp_path / "work"
    shutil.copytree(local, work, symlinks=True)  # with its results: only the split reruns
    # With these ratios no work of the eight lands in validation: the split job fails.
    (work / "fail.yaml").write_text("dataset: {split: {train: 0.8, validation: 0.05, test: 0.15}}\n")
    proc = run_on_slurm(work, "results/dataset/pieces.parquet", *ARGS, "fail.yaml", "--retries", "0", timeout=240)
    assert proc.returncode != 0
    assert re.search(r"Error in rule split", proc.stdout), proc.stdout[-3000:]
    assert "split is empty" in (work / "results/logs/dataset/split.log").read_text()
