"""The evaluation and report stages in the tiny study, run once for the whole module; the page in headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from bayesbach.core import schemas
from bayesbach.core.config import load_config
from bayesbach.core.layout import annotation_models
from bayesbach.core.registry import COMPARED, KEY_DECODERS, REFERENCES
from bayesbach.dataset.loader import load_split, split_files
from bayesbach.evaluation import convergence
from bayesbach.evaluation.stats import COLUMNS
from conftest import copy_workflow, planned_jobs, snakemake

TINY = "tests/configs/tiny.yaml"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    """A workflow copy in which the whole tiny study has run once."""
    work = copy_workflow(tmp_path_factory.mktemp("study"))
    proc = snakemake(work, "--configfile", TINY)
    (work / "run.log").write_text(proc.stdout + proc.stderr)
    return work


def test_errors_hold_every_network_and_reference_on_every_test_piece(study: Path):
    errors = pq.read_table(study / "results/evaluation/errors.parquet")
    assert errors.schema == schemas.ERRORS
    df = errors.to_pandas()
    test = set(load_split(study / "results/dataset", "test"))
    expected = {"gru": {"decode", "predict"}, **{name: set(ref.tasks) for name, ref in REFERENCES.items()}}
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
    assert enc["gain_over_history"].notna().all() and enc["pcorr_state"].dropna().between(-1, 1).all()


def test_every_file_has_a_key_and_every_network_its_key_decoding(study: Path):
    file_keys = pq.read_table(study / "results/dataset/file_keys.parquet")
    assert file_keys.schema == schemas.FILE_KEYS
    events = pq.read_table(study / "results/dataset/events.parquet", columns=["file"])
    assert file_keys.column("file").to_pylist() == sorted(set(events.column("file").to_pylist()))
    assert set(file_keys.column("key_source").to_pylist()) == {"score"}  # music21's analysis of every bundled score
    keys = pq.read_table(study / "results/evaluation/keys.parquet")
    assert keys.schema == schemas.KEY_DECODING
    df = keys.to_pandas()
    test = load_split(study / "results/dataset", "test")
    assert set(df["decoder"]) == set(KEY_DECODERS) and set(df["piece"]) == set(test)
    assert set(zip(df["arch"], df["hidden"], df["noise"], df["run"])) == {("gru", 4, 0.5, 0)}  # the sweep's network
    steps = sum(len(f) for files in test.values() for f in files)
    assert (df.groupby("decoder")["steps"].sum() == steps).all() and df["accuracy"].between(0, 1).all()


def test_stats_compare_the_network_with_the_ladder_and_the_decoders(study: Path):
    stats = pd.read_csv(study / "results/evaluation/stats.csv")
    assert list(stats.columns) == COLUMNS
    coding, stats = stats[stats["task"] == "encoding"], stats[stats["task"] != "encoding"]
    pairs = set(zip(stats["task"], stats["versus"]))
    assert pairs == {(task, r) for task, refs in COMPARED.items() for r in refs}
    # the prediction-error coding tests of encoding.parquet: the sweep's network, each gain against zero
    assert sorted(coding["kind"]) == ["gain_over_history", "gain_over_input"] and (coding["n_pieces"] == 2).all()
    assert {("predict", "bayes3"), ("decode", "bayes2")} <= pairs  # every order of the ladder of observers
    assert (stats["n_pieces"] == 2).all() and (stats["model"] == "gru").all()
    orders = pd.read_csv(study / "results/evaluation/orders.csv")
    assert set(orders["task"]) == {"decode", "predict"} and (orders["top_order"] == 3).all()
    assert orders["effective_order"].between(0, 3).all()


def test_every_trained_stage_is_judged_and_the_page_flags_those_that_did_not_converge(study: Path):
    table = pd.read_csv(study / "results/evaluation/convergence.csv")
    assert list(table.columns) == convergence.COLUMNS
    trained = [name for name, ref in REFERENCES.items() if ref.kind == "trained"]
    assert list(table["stage"]) == ["decode", "probe", *trained] and list(table["model"]) == ["gru", "gru", *trained]
    assert not table["converged"].any()  # the tiny budgets: 2 validations a stage
    assert set(table["reason"]) == {f"too few validations (2 < {convergence.MIN_VALIDATIONS})"}
    flag = f"0 of {len(table)} trained stages met the convergence criterion; {len(table)} did not (listed below)."
    assert flag in (study / "results/summary.html").read_text() and flag in (study / "results/summary.txt").read_text()


def test_adding_a_run_trains_and_evaluates_its_pack_alone(study: Path):
    # one network per job: the new run trains and is evaluated alone (the old run's job is the same pack of one)
    (study / "runs.yaml").write_text("sweep: {runs: 2}\ntrain: {pack: 1}\n")
    jobs = planned_jobs(study, "--configfile", TINY, "runs.yaml")
    assert jobs["train_gru_h4_p1"] == 1 and jobs["evaluate_gru_h4_p1"] == 1
    assert "train_gru_h4_p0" not in jobs and "evaluate_gru_h4_p0" not in jobs
    assert not any(name.startswith("reference_") for name in jobs)
    # packed (auto): the new run joins the first run's pack, which retrains both (README: the trade-off)
    (study / "auto.yaml").write_text("sweep: {runs: 2}\n")
    jobs = planned_jobs(study, "--configfile", TINY, "auto.yaml")
    assert jobs["train_gru_h4_p0"] == 1 and jobs["evaluate_gru_h4_p0"] == 1  # one job evaluates the pack
    assert not any(name.endswith("_p1") for name in jobs)


def test_two_runs_from_clean_copies_give_byte_identical_errors_and_stats(study: Path, tmp_path: Path):
    again = copy_workflow(tmp_path / "again")  # no data/, no results/: everything is redone
    snakemake(again, "results/evaluation/stats.csv", "results/evaluation/orders.csv", "--configfile", TINY)
    for name in ("results/evaluation/errors.parquet", "results/evaluation/stats.csv", "results/evaluation/orders.csv",
                 "results/evaluation/keys.parquet", "results/dataset/file_keys.parquet"):
        assert (again / name).read_bytes() == (study / name).read_bytes(), name


def test_relabelling_the_keys_reruns_the_key_decoding_never_the_conversion_or_the_training(study: Path):
    source = study / "bayesbach/dataset/keys.py"
    saved = source.read_text()
    try:
        source.write_text(saved + "\n# an edit\n")
        jobs = planned_jobs(study, "--configfile", TINY)
    finally:
        source.write_text(saved)
    assert jobs["file_keys"] == 1 and jobs["evaluate_gru_h4_p0"] == 1 and jobs["summary"] == 1
    assert not {"export_bundled", "convert", "split"} & set(jobs)
    assert not any(name.startswith("reference_") for name in jobs)
    assert not any(name.startswith("train") for name in jobs)


def test_a_report_setting_redraws_only_its_figure_and_the_processes_rerun_nothing_but_the_page(study: Path):
    # the page shows the whole config, so it follows every change; nothing else reads these two keys
    (study / "steps.yaml").write_text("report: {example_steps: 24}\n")
    assert planned_jobs(study, "--configfile", TINY, "steps.yaml") == {"figure_example": 1, "summary": 1, "all": 1}
    (study / "workers.yaml").write_text("workers: 3\n")
    assert planned_jobs(study, "--configfile", TINY, "workers.yaml") == {"summary": 1, "all": 1}


def test_the_commands_on_the_studys_files_write_the_rules_tables_and_figures(study: Path, tmp_path: Path, monkeypatch):
    # the CLI takes its inputs from the layout the rules read (tests/workflow/test_layout_workflow.py)
    from bayesbach.cli import main

    monkeypatch.chdir(study)
    config = ["--config", "config.yaml", "--config", TINY]
    assert main(["collect_evaluation", "--sweep", *config, "--out", str(tmp_path)]) == 0
    assert main(["stats", "--errors", str(tmp_path / "errors.parquet"), "--out", str(tmp_path / "stats.csv")]) == 0
    assert main(["figures", *config, "--out", str(tmp_path / "figures")]) == 0
    assert main(["convergence", *config, "--out", str(tmp_path / "convergence.csv")]) == 0
    for name in ("errors.parquet", "encoding.parquet", "keys.parquet", "stats.csv", "convergence.csv"):
        assert (tmp_path / name).read_bytes() == (study / "results/evaluation" / name).read_bytes(), name
    for png in (study / "results/figures").glob("*.png"):
        assert (tmp_path / "figures" / png.name).read_bytes() == png.read_bytes(), png.name


def test_the_test_split_is_annotated_by_every_model_of_the_study(study: Path):
    ann = pq.read_table(study / "results/annotations/annotations.parquet").to_pandas()
    files = {f for names in split_files(study / "results/dataset", "test").values() for f in names}
    assert set(ann["file"]) == files and not len(pq.read_table(study / "results/annotations/rejects.parquet"))
    config = load_config([study / "config.yaml", study / TINY], study / "workflow/schemas/config.schema.yaml")
    chosen = annotation_models(config)
    assert set(ann["model"]) == set(chosen["models"]) | set(chosen["networks"]) and "ppm_both" in set(ann["model"])
    later = ann[ann["step"] > 0]
    assert later["ic_bits"].between(0, 200).all() and later["entropy_bits"].gt(0).all()
    events = pd.read_parquet(study / "results/dataset/events.parquet")
    first = sorted(files)[0]
    tsv = pd.read_csv(study / f"results/annotations/{first.removesuffix('.mid').replace('/', '_')}_events.tsv", sep="\t")
    assert list(tsv.columns[:2]) == ["onset", "duration"]
    assert tsv["onset"].to_numpy() == pytest.approx(events.loc[events["file"] == first, "onset"].to_numpy(), abs=1e-7)


def test_second_run_does_nothing(study: Path):
    assert planned_jobs(study, "--configfile", TINY) == {}


def test_figures_are_drawn_as_png_and_pdf_and_the_single_architecture_sweep_skips_the_comparison(study: Path):
    from PIL import Image

    figures = study / "results/figures"
    names = {"ladder", "orders", "decoding", "sweep", "training", "example", "surprisal", "encoding", "keys"}
    assert {p.stem for p in figures.glob("*.png")} == names == {p.stem for p in figures.glob("*.pdf")}
    for png in figures.glob("*.png"):
        assert Image.open(png).size[0] >= 900, png  # a page width at 150 dpi


def test_listening_files_sound_the_example_chords(study: Path):
    import numpy as np
    import pretty_midi

    from bayesbach.core.registry import LISTEN_KINDS
    from bayesbach.report.listening import LOWEST

    example = pd.read_parquet(study / "results/listen/example.parquet")
    assert set(example["kind"]) == set(LISTEN_KINDS) and example["piece"].nunique() == 1
    clean = np.array(example[example["kind"] == "clean"].sort_values("step")["values"].tolist())
    for kind in LISTEN_KINDS:
        pm = pretty_midi.PrettyMIDI(str(study / "results/listen/s0.5" / f"{kind}.mid"))
        assert all(LOWEST <= n.pitch < LOWEST + 12 for n in pm.instruments[0].notes)
    # the clean file sounds exactly the clean chords: every pitch class at its steps
    heard = np.zeros_like(clean)
    for n in pretty_midi.PrettyMIDI(str(study / "results/listen/s0.5/clean.mid")).instruments[0].notes:
        heard[round(n.start / 0.3):round(n.end / 0.3), n.pitch % 12] = 1  # 0.3 s per chord step (the default)
    np.testing.assert_array_equal(heard, clean)


def test_the_run_ends_with_the_headline_table_and_the_page_path(study: Path):
    log = (study / "run.log").read_text()
    assert "Mean test BCE" in log and f"Results page: {(study / 'results/summary.html').resolve()}" in log
    assert "Ideal Bayesian observer" in log and "GRU, 4 units" in log


def test_the_page_is_self_contained_and_says_what_ran(study: Path):
    page = (study / "results/summary.html").read_text()
    # nothing loaded from elsewhere (the config's crawler URLs appear as text only)
    assert not re.search(r"(src|href)=['\"]?(https?:|//|file:)", page) and "url(" not in page and "<script" not in page
    assert page.count("<img ") == 9 and page.count("src='data:image/png;base64,") == 9
    for text in ("Corpus and splits", "Software", "torch", "Mean test BCE per model and noise level",
                 "How the comparison is kept fair", "compositions form", "Effective order on the ladder",
                 "Key comparisons", "<h4>Prediction (probed networks)</h4>", "<h4>Decoding</h4>", "Prediction ladder.",
                 "Networks on the ladder of ideal observers.", "Listening", "data:audio/midi;base64,", "Key labels",
                 "Key decoding", "Key decoding, with memory-matched controls.",
                 "What the key decoding found.", "What the key label is."):
        assert text in page, text


def test_snakemake_report_bundles_figures_and_captions(study: Path):
    import zipfile

    snakemake(study, "--configfile", TINY, "--report", "results/report.zip")
    with zipfile.ZipFile(study / "results/report.zip") as z:
        names = z.namelist()
    assert any(n.endswith("ladder.png") for n in names) and any(n.endswith("summary.html") for n in names)


# Appended to a copy of the page: after loading, record which images decoded and are laid out visibly.
PROBE = """<script>window.addEventListener('load', () => {
  const imgs = [...document.images];
  const ok = imgs.filter(i => i.complete && i.naturalWidth > 0 && i.getBoundingClientRect().width > 100);
  document.body.setAttribute('data-images', imgs.length);
  document.body.setAttribute('data-visible', ok.length);
  const wide = [...document.querySelectorAll('table')].filter(t => t.getBoundingClientRect().width > document.body.clientWidth + 1);
  document.body.setAttribute('data-wide', wide.length);
});</script>"""


@pytest.mark.skipif(CHROMIUM is None and os.environ.get("CI") != "true",
                    reason="chromium is not installed (apt-get install -y --no-install-recommends chromium)")
def test_every_figure_of_the_page_loads_and_is_visible_in_chromium(study: Path, tmp_path: Path):
    assert CHROMIUM, "CI=true: chromium must be installed"
    page = (study / "results/summary.html").read_text()
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", PROBE + "</body>"))
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,2000", "--virtual-time-budget=10000"]
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", probe.as_uri()], capture_output=True, text=True,
                         timeout=120).stdout
    images = re.search(r'data-images="(\d+)"', dom)
    visible = re.search(r'data-visible="(\d+)"', dom)
    assert images and visible, dom[:500]
    assert int(images[1]) == 9 and int(visible[1]) == 9
    assert re.search(r'data-wide="(\d+)"', dom)[1] == "0"  # every table fits the page's width
    shot = tmp_path / "page.png"
    subprocess.run([CHROMIUM, *flags, f"--screenshot={shot}", (study / "results/summary.html").as_uri()],
                   capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 10_000  # the page itself (no probe) renders too
