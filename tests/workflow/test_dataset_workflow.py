"""The workflow end to end on a tiny bundled corpus, its lint, and exact incremental rebuilds."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from bayesbach.core import schemas
from bayesbach.dataset.loader import load_split
from conftest import copy_workflow, planned_jobs, snakemake

TINY = "tests/configs/tiny.yaml"
# Only the stages of the foundation: later stages have their own tests.
DATASET = ["results/dataset/pieces.parquet"]


def test_lint_is_clean(workflow_copy: Path):
    proc = snakemake(workflow_copy, "--lint", check=False)
    assert proc.returncode == 0 and "Congratulations" in proc.stdout + proc.stderr, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A workflow copy in which the tiny study's dataset stages have run once."""
    work = copy_workflow(tmp_path_factory.mktemp("wf"))
    snakemake(work, *DATASET, "--configfile", TINY)
    return work


def test_tiny_study_builds_the_contracted_files(built: Path):
    manifest = pq.read_table(built / "data/raw/bundled/manifest.parquet")
    assert manifest.schema == schemas.MANIFEST
    assert manifest.num_rows >= 8 and set(manifest.column("source").to_pylist()) == {"bundled"}
    assert len(set(manifest.column("bwv").to_pylist())) == 8
    for row in manifest.to_pylist():
        assert (built / "data/raw/bundled" / row["file"]).read_bytes()[:4] == b"MThd"

    events = pq.read_table(built / "results/dataset/events.parquet")
    assert events.schema == schemas.EVENTS and events.num_rows > 300
    assert pq.read_table(built / "results/dataset/rejects.parquet").schema == schemas.REJECTS
    pieces = pq.read_table(built / "results/dataset/pieces.parquet").to_pandas()
    assert sorted(pieces["piece"]) == [f"bwv{b:04d}" for b in sorted(set(manifest.column("bwv").to_pylist()))]
    assert set(pieces["split"]) == {"train", "validation", "test"}
    assert pieces["n_events"].sum() == events.num_rows

    train = load_split(built / "results/dataset", "train", "pc12")
    assert set(train) == set(pieces.loc[pieces["split"] == "train", "piece"])
    files = [x for parts in train.values() for x in parts]
    mean_polyphony = sum(x.sum() for x in files) / sum(len(x) for x in files)
    assert 1.5 < mean_polyphony < 4.5  # four-voice chorales: a few pitch classes per chord


def test_second_run_does_nothing(built: Path):
    assert planned_jobs(built, *DATASET, "--configfile", TINY) == {}


def test_changing_the_split_ratio_reruns_only_the_split(built: Path):
    (built / "ratios.yaml").write_text("dataset:\n  split: {train: 0.6, validation: 0.2, test: 0.2}\n")
    assert planned_jobs(built, *DATASET, "--configfile", TINY, "ratios.yaml") == {"split": 1}


def test_changing_the_corpus_cap_reruns_export_and_what_follows(built: Path):
    (built / "cap.yaml").write_text("corpus:\n  max_works: 9\n")
    assert planned_jobs(built, *DATASET, "--configfile", TINY, "cap.yaml") == {"export_bundled": 1, "convert": 1, "split": 1}


@pytest.mark.parametrize(
    "module,expected",
    [
        ("dataset/split.py", {"split": 1}),
        ("dataset/families.py", {"split": 1}),
        ("dataset/midi.py", {"convert": 1, "split": 1}),
        ("corpus/bundled.py", {"export_bundled": 1, "convert": 1, "split": 1}),
        ("corpus/bwv.py", {"export_bundled": 1, "convert": 1, "split": 1}),  # all three parse BWV numbers
        ("dataset/loader.py", {}),  # the models' reader: no stage of the dataset runs it
        ("cli/dataset.py", {}),
        ("dev/bench.py", {}),
        ("dev/synthetic.py", {}),
    ],
)
def test_editing_a_library_module_reruns_exactly_the_rules_using_it(built: Path, module: str, expected: dict):
    source = built / "bayesbach" / module
    saved = source.read_text()
    try:
        source.write_text(saved + "\n# an edit\n")
        assert planned_jobs(built, *DATASET, "--configfile", TINY) == expected
    finally:
        source.write_text(saved)


def test_killed_export_resumes_without_redoing_finished_files(built: Path, tmp_path: Path):
    work = copy_workflow(tmp_path)
    shutil.copytree(built / "data", work / "data")
    (work / "data/raw/bundled/manifest.parquet").unlink()  # as if the job died before writing it
    first = sorted((work / "data/raw/bundled").glob("*.mid"))[0]
    first.unlink()
    kept = {p.name: p.stat().st_mtime_ns for p in (work / "data/raw/bundled").glob("*.mid")}
    snakemake(work, "data/raw/bundled/manifest.parquet", "--configfile", TINY)
    assert first.exists()
    assert {p: (work / "data/raw/bundled" / p).stat().st_mtime_ns for p in kept} == kept
