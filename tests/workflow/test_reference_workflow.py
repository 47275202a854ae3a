"""The reference jobs in the workflow: outputs in the errors.parquet format, config, exact rebuilds, one job for
every noise level of a sigma-free reference."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bayesbach.references.counted import score_counted
from bayesbach.core import schemas
from bayesbach.core.registry import REFERENCES
from bayesbach.cli import main as cli
from bayesbach.dataset.loader import load_split
from conftest import copy_workflow, planned_jobs, snakemake

TINY = "tests/configs/tiny.yaml"
NAMES = list(REFERENCES)  # the default study runs every reference of the registry
TARGETS = [f"results/references/s0.5/{name}/errors.parquet" for name in NAMES]
TASKS = {name: set(ref.tasks) for name, ref in REFERENCES.items()}
CATEGORICAL = {name for name, ref in REFERENCES.items() if ref.kind == "counted" and name != "global"}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    work = copy_workflow(tmp_path_factory.mktemp("refs"))
    snakemake(work, *TARGETS, "--configfile", TINY)
    return work


def test_every_reference_writes_per_piece_test_errors_in_the_long_format(built: Path):
    test_pieces = set(load_split(built / "results/dataset", "test"))
    parts = []
    for name in NAMES:
        table = pq.read_table(built / f"results/references/s0.5/{name}/errors.parquet")
        assert table.schema == schemas.ERRORS
        df = table.to_pandas()
        assert set(df["model"]) == {name} and set(df["noise"]) == {0.5}
        assert set(df["task"]) == TASKS[name]
        for task in TASKS[name]:
            assert sorted(df.loc[df["task"] == task, "piece"]) == sorted(test_pieces)
        assert np.isfinite(df["bce"]).all() and (df["bce"] > 0).all()
        assert np.isfinite(df["bits"]).all() and (df["bits"] > 0).all()  # unseen chords back off: finite
        factorised = np.allclose(df["bits"], 12 * df["bce"] / np.log(2), rtol=1e-9)
        assert factorised == (name not in CATEGORICAL), name  # the counted models' categorical over chords
        meta = json.loads((built / f"results/references/s0.5/{name}/meta.json").read_text())
        assert meta["model"] == name and meta["noise"] == 0.5
        parts.append(table)
    rnn = pq.read_table(built / "results/references/s0.5/rnn_pred/errors.parquet").to_pandas()
    assert set(rnn["arch"]) == {"gru"} and set(rnn["hidden"]) == {4}  # tiny.yaml's rnn_hidden
    errors = pa.concat_tables(parts).to_pandas()  # the evaluation stage only concatenates
    mean = errors.groupby(["model", "task"])["bce"].mean()
    assert mean["bayes", "decode"] < mean["global", "decode"]
    assert mean["bayes", "predict"] < mean["global", "predict"]
    bayes_meta = json.loads((built / "results/references/s0.5/bayes/meta.json").read_text())
    assert bayes_meta["rest_state"] and all(v > 0 for v in bayes_meta["smoothing"].values())
    assert 20 < bayes_meta["seen_chords"] < 4096
    assert bayes_meta["observer_smoothing"]["objective"].startswith("noisy validation")  # chosen where it matters
    assert mean["bayes3", "predict"] < mean["global", "predict"]


def test_counted_job_equals_the_library_on_the_same_splits(built: Path):
    data = {s: load_split(built / "results/dataset", s) for s in ("train", "validation", "test")}
    scores, _ = score_counted("bayes", data["train"], data["validation"], data["test"], 0.5, seed=0)  # tiny.yaml's seed
    df = pq.read_table(built / "results/references/s0.5/bayes/errors.parquet").to_pandas()
    for task, values in scores.items():
        got = df[df["task"] == task].set_index("piece")["bce"]
        assert got.to_dict() == values


def test_cli_rerun_of_a_network_reference_is_bit_identical(built: Path, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(built)
    out = tmp_path / "rnn_pred"
    # the files the workflow read: config.yaml (the Snakefile's configfile) with tiny.yaml over it
    assert cli(["reference", "rnn_pred", "--noise", "0.5", "--config", "config.yaml", "--config", TINY,
                "--out", str(out), "--threads", "1"]) == 0
    job = built / "results/references/s0.5/rnn_pred"
    assert pq.read_table(out / "errors.parquet").equals(pq.read_table(job / "errors.parquet"))
    assert (out / "model.pt").read_bytes() == (job / "model.pt").read_bytes()
    assert not (out / "checkpoint.pt").exists()


@pytest.mark.parametrize(
    "module,expected",
    [
        # the counted jobs (seconds each) share one code digest, sigma-free (global, markov_counts*, ppm_*) or not
        # (bayes*, bayes_memoryless)
        ("references/observer.py", {"reference_counted": 4, "reference_counted_sigma_free": 8}),
        ("references/alphabet.py", {"reference_counted": 4, "reference_counted_sigma_free": 8}),
        ("references/ppm.py", {"reference_counted": 4, "reference_counted_sigma_free": 8}),
        ("references/trained.py", {"reference_network": 3, "reference_network_sigma_free": 1}),
        ("networks/training.py", {"reference_network": 3, "reference_network_sigma_free": 1}),  # they train with it
        ("networks/scoring.py", {"reference_network": 3, "reference_network_sigma_free": 1}),  # not the counted ones
        ("core/errors_table.py", {"reference_counted": 4, "reference_counted_sigma_free": 8, "reference_network": 3,
                            "reference_network_sigma_free": 1}),  # every one writes the errors table
    ],
)
def test_editing_a_module_reruns_exactly_the_references_using_it(built: Path, module: str, expected: dict):
    source = built / "bayesbach" / module
    saved = source.read_text()
    try:
        source.write_text(saved + "\n# an edit\n")
        assert planned_jobs(built, *TARGETS, "--configfile", TINY) == expected
    finally:
        source.write_text(saved)


@pytest.mark.parametrize(
    "override,expected",
    [
        ("references: {rnn_hidden: 5}", {"reference_network": 1}),
        ("references: {ff_hidden: 5}", {"reference_network": 2, "reference_network_sigma_free": 1}),
        ("train: {decode_batches: 7}", {}),  # the networks' own budget is not the references'
        ("train: {lr: 0.01}", {"reference_network": 3, "reference_network_sigma_free": 1}),
        # the PPM models with a short-term model, those with a long-term model, those that combine them
        ("references: {ppm_stm_escape: c}", {"reference_counted_sigma_free": 3}),
        ("references: {ppm_ltm_order_bound: 3}", {"reference_counted_sigma_free": 3}),
        ("references: {ppm_bias: 2}", {"reference_counted_sigma_free": 2}),
    ],
)
def test_config_changes_rerun_only_the_references_they_touch(built: Path, override: str, expected: dict):
    (built / "override.yaml").write_text(override + "\n")
    assert planned_jobs(built, *TARGETS, "--configfile", TINY, "override.yaml") == expected


def test_a_sigma_free_reference_is_one_job_for_every_noise_level(built: Path, tmp_path: Path):
    work = tmp_path / "work"
    shutil.copytree(built, work, symlinks=True)  # with its results
    (work / "two.yaml").write_text("sweep: {noise: [0.5, 1.0]}\n")
    free = [name for name in NAMES if REFERENCES[name].sigma_free]
    assert free == ["global", "markov_counts", "markov_low", "markov_counts2", "markov_counts3", "ppm_ltm", "ppm_stm",
                    "ppm_both", "ppm_both_plus"]
    targets = [f"results/references/s{s}/{name}/errors.parquet" for s in ("0.5", "1.0") for name in NAMES]
    # the new noise level's jobs of the others, and one job per sigma-free reference writing both levels
    assert planned_jobs(work, *targets, "--configfile", TINY, "two.yaml") == {
        "reference_counted": 4, "reference_network": 3, "reference_counted_sigma_free": 8,
        "reference_network_sigma_free": 1}
    snakemake(work, *[t for t in targets if t.split("/")[3] in free], "--configfile", TINY, "two.yaml")
    for name in free:
        files = sorted(p.name for p in (built / f"results/references/s0.5/{name}").iterdir())
        for sigma in ("0.5", "1.0"):
            folder = work / f"results/references/s{sigma}/{name}"
            assert sorted(p.name for p in folder.iterdir()) == files  # no checkpoint left behind
            assert json.loads((folder / "meta.json").read_text())["noise"] == float(sigma)
        low, high = (pq.read_table(work / f"results/references/s{s}/{name}/errors.parquet") for s in ("0.5", "1.0"))
        assert low.equals(pq.read_table(built / f"results/references/s0.5/{name}/errors.parquet"))  # as before
        assert set(high.column("noise").to_pylist()) == {1.0}
        assert low.drop_columns(["noise"]).equals(high.drop_columns(["noise"]))
        if "model.pt" in files:  # trained: the same model in both folders, as the one-level job trained it
            model = (built / f"results/references/s0.5/{name}/model.pt").read_bytes()
            for sigma in ("0.5", "1.0"):
                assert (work / f"results/references/s{sigma}/{name}/model.pt").read_bytes() == model


def test_which_references_run_is_a_config_list(built: Path):
    (built / "some.yaml").write_text("references: {models: [bayes, global]}\n")
    out = snakemake(built, "-n", "--configfile", TINY, "some.yaml").stdout
    assert "results/references/s0.5/bayes/errors.parquet" in out
    assert "results/references/s0.5/rnn_pred/" not in out


def test_an_unknown_reference_is_named_before_anything_runs(tmp_path: Path):
    work = copy_workflow(tmp_path)
    (work / "bad.yaml").write_text("references: {models: [bayes, hmm]}\n")
    proc = snakemake(work, "-n", "--configfile", TINY, "bad.yaml", check=False)
    assert proc.returncode != 0 and "references.models[1]" in proc.stdout + proc.stderr
