"""The workflow's files as snakefmt writes them (the format of the Snakemake workflows this one follows); its lint
is checked with a real Snakemake run in tests/workflow/test_dataset_workflow.py."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("snakefmt") is None and not Path(sys.executable).with_name("snakefmt").exists(),
                    reason="snakefmt is a test dependency: pip install -e '.[test]'")
def test_the_workflow_is_formatted_as_snakefmt_writes_it():
    snakefmt = shutil.which("snakefmt") or str(Path(sys.executable).with_name("snakefmt"))
    proc = subprocess.run([snakefmt, "--check", "--diff", "Snakefile", "workflow/rules"], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
