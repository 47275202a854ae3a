"""The bayesbach command (bayesbach.cli), in-process: every stage by hand on a tiny synthetic study (the workflow's
paths as defaults), configs layered like snakemake --configfile, and one readable line when an input is missing.
One stage's commands alone: test_cli_<stage>.py."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from bayesbach.cli import main
from bayesbach.cli.common import study_config
from bayesbach.core import schemas
from bayesbach.core.layout import FIGURES, LISTEN_DIR, figure_names, model_dir, network_evaluation_dir, reference_dir
from bayesbach.core.registry import LISTEN_KINDS, example_network
from bayesbach.corpus.manifest import write_manifest
from bayesbach.dev.synthetic import write_dataset, write_midi_folder
from bayesbach.evaluation.stats import COLUMNS
from cli_study import NOISE, REFERENCES, TINY, ok, write_yaml

@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    """Every stage run by hand in a study folder of its own, with the commands' default paths (results/...)."""
    root = tmp_path_factory.mktemp("study")
    write_dataset(root / "results/dataset", {"train": 4, "validation": 2, "test": 3})
    write_manifest(root / "data/raw/bundled", [], [])  # the synthetic files are in no source: keys from chord steps
    config = write_yaml(root / "tiny.yaml", TINY)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)  # no workflow/ here: the schema and the captions come from this checkout
        ok("file_keys", "--config", config, "--workers", "1")
        for arch in TINY["sweep"]["arch"]:
            ok("train", "--arch", arch, "--hidden", "3", "--noise", str(NOISE), "--config", config, "--no-progress")
            ok("evaluate", model_dir(arch, 3, NOISE, 0), "--config", config)
        for name in REFERENCES:
            ok("reference", name, "--noise", str(NOISE), "--config", config)
        ok("collect_evaluation")
        ok("stats")
        ok("orders")
        ok("listen", "--config", config)
        # another composer, a folder of MIDI files with a works.csv, scored by the Bach-trained models
        gen = write_yaml(root / "gen.yaml", {"generalisation": {"composers": [{"name": "mine", "paths": [
            str(composer_folder(root / "mine"))]}]}, "references": {"models": list(REFERENCES)}})
        ok("import_composer_folder", "mine", "--config", config, "--config", gen)
        ok("convert", "--composer", "mine", "--workers", "1")
        ok("split", "--composer", "mine", "--config", config, "--config", gen)
        ok("generalise", "mine", "--noise", str(NOISE), "--config", config, "--config", gen)
        ok("collect_generalisation", "--sweep", "--config", config, "--config", gen)
        ok("generalisation_stats")
        ok("annotate", "--config", config, "--config", gen)  # the test split, as the rule does
        ok("figures", "--config", config, "--config", gen)
        ok("convergence", "--config", config, "--config", gen)  # gen.yaml names the references trained here
        ok("summary", "--config", config, "--config", gen)
    return root


def composer_folder(folder: Path) -> Path:
    """Eleven files of random chords, the first two one work by works.csv, the others one each."""
    return write_midi_folder(folder, [f"piece{i:02d}.mid" for i in range(11)], seed=1,
                             works={"piece00.mid": "opus1", "piece01.mid": "opus1"})


def test_train_and_evaluate_write_the_workflow_files_at_the_workflow_paths(study: Path):
    for arch in TINY["sweep"]["arch"]:
        cell = study / model_dir(arch, 3, NOISE, 0)
        meta = json.loads((cell / "meta.json").read_text())
        assert (meta["arch"], meta["hidden"], meta["noise"], meta["seed"]) == (arch, 3, NOISE, 0)
        assert [s["batches"] for s in meta["stages"]] == [4, 3]  # the config's budgets
        assert (cell / "decoder.pt").exists() and (cell / "probe.pt").exists()
        assert pq.read_schema(cell / "history.parquet") == schemas.HISTORY
        evaluation = study / network_evaluation_dir(arch, 3, NOISE, 0)
        assert pq.read_schema(evaluation / "errors.parquet") == schemas.ERRORS
        assert pq.read_schema(evaluation / "encoding.parquet") == schemas.ERROR_CODING
        assert pq.read_schema(evaluation / "keys.parquet") == schemas.KEY_DECODING
    assert pq.read_schema(study / "results/dataset/file_keys.parquet") == schemas.FILE_KEYS


def test_references_of_both_kinds_write_their_errors(study: Path):
    for name in REFERENCES:
        folder = study / reference_dir(name, NOISE)
        errors = pq.read_table(folder / "errors.parquet")
        assert errors.schema == schemas.ERRORS and set(errors.column("model").to_pylist()) == {name}
        assert json.loads((folder / "meta.json").read_text())["model"] == name
    assert (study / reference_dir("markov_low", NOISE) / "model.pt").exists()  # trained, not counted


def test_collect_and_stats_write_the_evaluation_tables(study: Path):
    errors = pq.read_table(study / "results/evaluation/errors.parquet")
    assert errors.schema == schemas.ERRORS
    assert set(errors.column("model").to_pylist()) == {"elman", "gru", *REFERENCES}
    encoding = pq.read_table(study / "results/evaluation/encoding.parquet")
    assert encoding.schema == schemas.ERROR_CODING and set(encoding.column("arch").to_pylist()) == {"elman", "gru"}
    stats = pd.read_csv(study / "results/evaluation/stats.csv")
    assert list(stats.columns) == COLUMNS and len(stats)
    assert {"global", "markov_low"} <= set(stats["versus"])
    coding = stats[stats["task"] == "encoding"]  # the prediction-error coding tests, from encoding.parquet
    assert set(coding["family"]) == {"encoding/gain_over_input", "encoding/gain_over_history"}
    assert set(coding["model"]) == {"elman", "gru"} and (coding["versus"] == "zero").all()


def test_listen_figures_and_summary_write_the_report(study: Path):
    assert example_network(TINY["sweep"]) == ("gru", 3, 0)  # its files are the ones listened to
    listen = study / LISTEN_DIR
    assert pq.read_schema(listen / "example.parquet") == schemas.EXAMPLE
    assert all((listen / f"s{NOISE!r}" / f"{kind}.mid").stat().st_size for kind in LISTEN_KINDS)
    # two architectures and another composer: the comparison and the composer's figure are drawn too
    assert figure_names(TINY["sweep"], ["mine"]) == list(FIGURES)
    for name in FIGURES:
        assert (study / f"results/figures/{name}.png").stat().st_size and (study / f"results/figures/{name}.pdf").exists()
    page = (study / "results/summary.html").read_text()
    assert all(f"<figure id='{name}'>" in page for name in FIGURES) and "Listening" in page
    assert "Mean test BCE" in (study / "results/summary.txt").read_text()
    # two networks' two stages and markov_low's one, 2 validations each: none judged
    flag = "0 of 5 trained stages met the convergence criterion"
    assert flag in page and flag in (study / "results/summary.txt").read_text()


def test_the_other_composer_is_exported_converted_split_and_scored_by_every_model(study: Path):
    manifest = pq.read_table(study / "data/raw/composers/mine/manifest.parquet").to_pandas()
    assert manifest["file"].str.startswith("mine/").all() and manifest["bwv"].isna().all()
    assert dict(zip(manifest["file"], manifest["piece"]))["mine/piece01.mid"] == "opus1"  # works.csv
    pieces = pq.read_table(study / "results/dataset/composers/mine/pieces.parquet").to_pandas()
    assert len(pieces) == 10 and set(pieces["split"]) == {"train", "validation", "test"}
    gen = pq.read_table(study / "results/evaluation/generalisation.parquet")
    assert gen.schema == schemas.GENERALISATION and set(gen.column("corpus").to_pylist()) == {"mine"}
    df = gen.to_pandas()
    assert set(df["model"]) == {"elman", "gru", *REFERENCES, "own_global", "own_markov_counts"}
    assert set(df["piece"]) == set(pieces.loc[pieces["split"] == "test", "piece"])
    stats = pd.read_csv(study / "results/evaluation/generalisation.csv")
    assert list(stats.columns) == ["corpus", *COLUMNS] and {"own_global", "own_markov_counts"} <= set(stats["versus"])
    page = (study / "results/summary.html").read_text()
    assert "Other composers" in page and "mine" in page


def test_the_old_generalisation_command_still_writes_both_tables(study: Path, tmp_path: Path, capsys):
    assert main(["generalisation", "--results", str(study / "results"), "--out", str(tmp_path)]) == 0
    assert "'generalisation' is now 'collect_generalisation and generalisation_stats'" in capsys.readouterr().err
    for name in ("generalisation.parquet", "generalisation.csv"):
        assert (tmp_path / name).read_bytes() == (study / "results/evaluation" / name).read_bytes()


def test_results_moves_the_default_paths_and_collect_globs_what_exists(study: Path, tmp_path: Path, capsys):
    assert main(["collect_evaluation", "--results", str(study / "results"), "--out", str(tmp_path)]) == 0
    assert "2 network and 2 reference error tables" in capsys.readouterr().out
    for table in ("errors.parquet", "encoding.parquet", "keys.parquet"):
        assert pq.read_table(tmp_path / table).equals(pq.read_table(study / "results/evaluation" / table))


def test_config_files_are_layered_in_order(study: Path, tmp_path: Path, monkeypatch):
    base = write_yaml(tmp_path / "a.yaml", TINY)
    refs = write_yaml(tmp_path / "b.yaml", {"references": {"models": list(REFERENCES)}, "sweep": {"arch": ["gru"]}})
    config = study_config(argparse.Namespace(config=[Path(base), Path(refs)], schema=None))
    assert config["references"]["models"] == list(REFERENCES) and config["references"]["batches"] == 3  # merged
    assert config["sweep"] == {**TINY["sweep"], "arch": ["gru"]}
    assert figure_names(config["sweep"]) == [n for n in FIGURES if n not in ("architectures", "generalisation")]

    monkeypatch.chdir(study)
    # collect --sweep takes exactly the config's cells and references: with all seven references it lacks some ...
    assert main(["collect_evaluation", "--sweep", "--config", base, "--out", str(tmp_path / "all")]) == 1
    # ... and with the layered config it finds them all (b's single arch leaves out the elman network)
    assert main(["collect_evaluation", "--sweep", "--config", base, "--config", refs, "--out", str(tmp_path)]) == 0
    models = set(pq.read_table(tmp_path / "errors.parquet").column("model").to_pylist())
    assert models == {"gru", *REFERENCES}

    seed = write_yaml(tmp_path / "seed.yaml", {"seed": 7})
    out = tmp_path / "net"
    ok("train", "--hidden", "3", "--noise", str(NOISE), "--config", base, "--config", seed, "--out", str(out),
       "--no-progress")
    meta = json.loads((out / "meta.json").read_text())
    assert meta["seed"] == 7 and [s["batches"] for s in meta["stages"]] == [4, 3]
    # several noise levels and runs: one pack, each network in its own folder of RESULTS/models
    ok("train", "--hidden", "3", "--noise", str(NOISE), "0.9", "--run", "0", "1", "--config", base, "--config", seed,
       "--dataset", str(study / "results/dataset"), "--results", str(tmp_path / "packed"), "--no-progress")
    metas = [json.loads(p.read_text()) for p in sorted((tmp_path / "packed/models/gru/h3").glob("s*/r*/meta.json"))]
    assert sorted((m["noise"], m["run"]) for m in metas) == [(NOISE, 0), (NOISE, 1), (0.9, 0), (0.9, 1)]
    assert all(len(m["pack"]) == 4 for m in metas)


@pytest.mark.parametrize(
    "argv,with_dataset,message",
    [
        (["train", "--hidden", "3", "--noise", "0.5"], False, "missing input: results/dataset/events.parquet"),
        (["reference", "bayes", "--noise", "0.5"], False, "missing input: results/dataset/events.parquet"),
        (["reference", "bayes", "--noise", "0.2", "1"], True, "'bayes' depends on the noise level: one noise level per job, not 2"),
        (["reference", "global", "--noise", "0.2", "1", "--out", "x"], True, "--out names one noise level's folder"),
        (["split"], False, "missing input: results/dataset/events.parquet"),
        (["file_keys"], False, "missing input: results/dataset/events.parquet"),
        (["convert"], False, "missing input: data/raw/bundled/manifest.parquet"),
        (["convert", "some.mid"], False, "convert PATH... needs --out"),
        (["evaluate", "results/models/gru/h3/s0.5/r0"], True, "holds no trained network"),
        (["listen"], True, "missing input: results/models/gru/h3/s0.5/r0/decoder.pt"),
        (["collect_evaluation"], True, "no evaluation tables under results"),
        (["collect_evaluation", "--sweep"], True, "missing input: results/evaluation/networks/elman/h3/s0.5/r0/errors.parquet"),
        (["stats"], True, "missing input: results/evaluation/errors.parquet"),
        (["orders"], True, "missing input: results/evaluation/errors.parquet"),
        (["figures", "sweep"], True, "missing input: results/evaluation/stats.csv"),
        (["figures", "training"], True, "missing input: results/models/elman/h3/s0.5/r0/history.parquet"),
        (["summary"], True, "missing input: results/evaluation/errors.parquet"),
        (["import_folder"], False, "the folder source: no folder given"),
        (["import_folder", "nowhere"], False, "the folder source: the folder nowhere does not exist"),
        (["convert", "--composer", "mine"], False, "missing input: data/raw/composers/mine/manifest.parquet"),
        (["generalise", "mine", "--noise", "0.5"], True, "missing input: results/dataset/composers/mine/events.parquet"),
        (["collect_generalisation"], True, "no generalisation tables under results"),
        (["generalisation_stats"], True, "missing input: results/evaluation/generalisation.parquet"),
        (["estimate", "--config", "nowhere.yaml"], True, "config file not found: nowhere.yaml"),
        (["estimate", "--config", "typo.yaml"], True, "invalid config: unknown key 'sweeep'"),
    ],
)
def test_a_missing_input_ends_the_command_with_one_line(tmp_path: Path, monkeypatch, capsys, argv, with_dataset,
                                                        message):
    monkeypatch.chdir(tmp_path)
    write_yaml(tmp_path / "config.yaml", TINY)  # the default config
    write_yaml(tmp_path / "typo.yaml", {"sweeep": {}})
    if with_dataset:
        write_dataset(tmp_path / "results/dataset", {"train": 2, "validation": 1, "test": 1})
    assert main(argv) == 1
    out = capsys.readouterr()
    assert out.out == "" and len(out.err.strip().splitlines()) == 1, out.err
    assert message in out.err and "Traceback" not in out.err


@pytest.mark.parametrize("preset", [None, "3"])
def test_a_command_run_by_hand_has_the_threads_of_a_workflow_job_unless_the_user_set_them(preset):
    # Snakemake runs every job with OMP_NUM_THREADS etc. at the job's threads (1 for the evaluation and the
    # counted references); the command does the same where the environment says nothing, so that a job rerun by
    # hand gives its results to the last bit. The observer's bench reports the variable it ran under.
    # numba's pool (the observers' kernel) likewise, from the job's --threads.
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")}
    if preset:
        env["OMP_NUM_THREADS"] = preset
    for threads in ([], ["--threads", "2"]):
        out = subprocess.run([sys.executable, "-m", "bayesbach.cli", "bench", "bayes", "--pieces", "1", "--repeats", "1",
                              "--single", "0", "--sigma", "0.2", *threads], env=env, capture_output=True, text=True,
                             check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        assert result["omp_num_threads"] == (preset or ("2" if threads else "1"))
        assert result["threads"] == (2 if threads else 1)
