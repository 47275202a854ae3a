"""A bad config stops the workflow before any job runs."""

from __future__ import annotations

from pathlib import Path

from conftest import snakemake


def test_workflow_stops_before_any_job_on_a_bad_config(workflow_copy: Path):
    (workflow_copy / "bad.yaml").write_text("corpus:\n  sources: [bundled, imslp]\n")
    proc = snakemake(workflow_copy, "--configfile", "bad.yaml", check=False)
    assert proc.returncode != 0
    assert "invalid config: corpus.sources[1]: 'imslp' is not one of ['bundled', 'web', 'folder']" in proc.stdout + proc.stderr
    assert not (workflow_copy / "results").exists() and not (workflow_copy / "data").exists()
