"""Shared test machinery: Snakemake runs in throw-away working copies, the fixture archive site, and the
one place that decides which tests are slow.

The folders mirror the package (tests/core for bayesbach/core, ...); tests/workflow holds every test
that runs real Snakemake. Synthetic data (MIDI files, tiny corpora) comes from
:mod:`bayesbach.dev.synthetic`. ``pythonpath = ["tests"]`` (pyproject.toml) lets any test module
``from conftest import copy_workflow, snakemake, planned_jobs``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
CONFIGS = TESTS / "configs"

# Tests outside tests/workflow that are slow all the same: each spawns a long-running subprocess.
SLOW = {
    # trains one network in a CLI subprocess twice over (a whole run, then a killed and resumed one):
    # about 20 s on 2 cores, and a torch import per process
    "networks/test_checkpoint.py::test_a_job_killed_with_sigkill_resumes_bit_identically",
}


def pytest_collection_modifyitems(config, items):
    """Mark as ``slow`` every test under tests/workflow (real Snakemake runs) and the few listed in SLOW.

    ``pytest -m "not slow"`` is the fast lane (under two minutes on 2 cores)."""
    workflow = TESTS / "workflow"
    for item in items:
        path = Path(str(item.path))
        node = path.relative_to(TESTS).as_posix() + "::" + item.name.split("[")[0] if path.is_relative_to(TESTS) else ""
        if path.is_relative_to(workflow) or node in SLOW:
            item.add_marker(pytest.mark.slow)


def copy_workflow(dest: Path) -> Path:
    """A throw-away copy of the workflow and the library, so tests can edit either."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("Snakefile", "config.yaml"):
        shutil.copy(REPO / name, dest / name)
    for name in ("workflow", "bayesbach", "presets", "tests/configs"):
        if (REPO / name).exists():
            shutil.copytree(REPO / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def snakemake(workdir: Path, *args: str, check: bool = True, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run snakemake in ``workdir`` (importing the library of that copy) and return the finished process."""
    env = dict(os.environ, PYTHONPATH=str(workdir), OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", *args],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def planned_jobs(workdir: Path, *args: str) -> dict[str, int]:
    """Rules a dry run would execute, with their job counts (from Snakemake's job-stats table)."""
    out = snakemake(workdir, "-n", *args).stdout
    if "Nothing to be done" in out:
        return {}
    table = out.split("Job stats:")[1].split("total")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


@pytest.fixture
def workflow_copy(tmp_path: Path) -> Path:
    return copy_workflow(tmp_path)


# The archive-like site of bayesbach.dev.fixture_site (the crawler's tests and the web-source workflow test).
@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from bayesbach.dev.fixture_site import build_site

    return build_site(tmp_path_factory.mktemp("site"))


@pytest.fixture
def server(site):
    from bayesbach.dev.fixture_site import serve

    with serve(site) as s:
        yield s
