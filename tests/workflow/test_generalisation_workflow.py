"""The folder source and the other composers in the workflow: a synthetic folder of MIDI files (with a works.csv) as
the study's corpus, another folder standing in for a composer beside five of music21's Monteverdi madrigals, run by
Snakemake to the generalisation tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from bayesbach.core import schemas
from bayesbach.dataset.loader import load_split
from bayesbach.dev.synthetic import write_midi_folder
from bayesbach.evaluation.stats import GENERALISATION_COLUMNS
from conftest import copy_workflow, planned_jobs, snakemake

TINY = "tests/configs/tiny.yaml"
TARGETS = ["results/evaluation/generalisation.csv", "results/figures/generalisation.png"]
REFERENCES = ["global", "markov_counts", "bayes", "markov_low"]  # both kinds, few jobs
# Ten BWV-numbered works, two preludes that works.csv makes one work, a fugue named by its stem (every split of
# the tiny study's ratios gets a composition at its seed).
BACH = {**{f"bwv{i:04d}.mid": None for i in range(1, 11)}, "prelude-a.mid": "Preludes", "sub/prelude-b.mid": "Preludes",
        "fugue.mid": None}
# Four compositions (piece00 and piece01 one work by works.csv), one in each split at least, at the tiny study's seed.
COMPOSER = ["piece00.mid", "piece01.mid", "piece05.mid", "piece07.mid", "piece08.mid"]


def study_config(work: Path, **override) -> str:
    config = {"corpus": {"sources": ["folder"], "folder": {"paths": ["my_bach"]}},
              "references": {"models": REFERENCES},
              "generalisation": {"composers": [{"name": "mine", "paths": ["my_composer"]}, "monteverdi"],
                                 "max_files": 5}}
    (work / "study.yaml").write_text(yaml.safe_dump({**config, **override}))
    return "study.yaml"


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    work = copy_workflow(tmp_path_factory.mktemp("folders"))
    write_midi_folder(work / "my_bach", list(BACH), seed=0, works={f: w for f, w in BACH.items() if w})
    write_midi_folder(work / "my_composer", COMPOSER, seed=1, works={"piece00.mid": "opus1", "piece01.mid": "opus1"})
    snakemake(work, *TARGETS, "--configfile", TINY, study_config(work))
    return work


def test_the_folder_corpus_takes_its_compositions_from_bwv_numbers_works_csv_and_stems(study: Path):
    manifest = pq.read_table(study / "data/raw/folder/manifest.parquet").to_pandas()
    assert dict(zip(manifest["file"], manifest["piece"])) == {
        f"my_bach/{f}": w or (f"bwv{int(f[3:7]):04d}" if f.startswith("bwv") else Path(f).stem) for f, w in BACH.items()}
    events = pq.read_table(study / "results/dataset/events.parquet").to_pandas()
    assert set(events["piece"]) == {*(f"bwv{i:04d}" for i in range(1, 11)), "Preludes", "fugue"}
    pieces = pq.read_table(study / "results/dataset/pieces.parquet").to_pandas().set_index("piece")
    assert pieces.loc["Preludes", "n_files"] == 2 and pd.isna(pieces.loc["Preludes", "bwv"])
    assert set(pieces["split"]) == {"train", "validation", "test"}


def test_every_bach_trained_model_and_the_composers_own_are_scored_on_their_test_compositions(study: Path):
    mine = pq.read_table(study / "data/raw/composers/mine/manifest.parquet").to_pandas()
    assert mine["bwv"].isna().all() and set(mine["piece"]) == {"opus1", "piece05", "piece07", "piece08"}
    madrigals = pq.read_table(study / "data/raw/composers/monteverdi/manifest.parquet").to_pandas()
    assert len(madrigals) == 5 and madrigals["file"].str.startswith("madrigal.").all()
    gen = pq.read_table(study / "results/evaluation/generalisation.parquet")
    assert gen.schema == schemas.GENERALISATION
    df = gen.to_pandas()
    assert set(df["corpus"]) == {"mine", "monteverdi"} and set(df["noise"]) == {0.5}
    for corpus, rows in df.groupby("corpus"):
        assert set(rows["model"]) == {"gru", *REFERENCES, "own_global", "own_markov_counts", "own_bayes"}  # config.yaml's own_models
        assert set(rows["piece"]) == set(load_split(study / "results/dataset/composers" / corpus, "test"))
    assert df["bce"].between(0, 5).all()
    stats = pd.read_csv(study / "results/evaluation/generalisation.csv")
    assert list(stats.columns) == GENERALISATION_COLUMNS
    assert {"own_global", "own_markov_counts", "own_bayes", "bayes", "global"} <= set(stats["versus"])
    assert (study / "results/figures/generalisation.pdf").exists()


def test_a_second_run_does_nothing(study: Path):
    assert planned_jobs(study, *TARGETS, "--configfile", TINY, "study.yaml") == {}


def test_a_changed_file_of_the_composer_reruns_its_chain_and_never_the_training(study: Path):
    path = study / "my_composer" / COMPOSER[3]
    saved = path.read_bytes()
    try:
        write_midi_folder(study / "my_composer", [COMPOSER[3]], seed=7)
        jobs = planned_jobs(study, *TARGETS, "--configfile", TINY, "study.yaml")
    finally:
        path.write_bytes(saved)
    assert jobs == {"import_composer_folder": 1, "convert_composer": 1, "split_composer": 1, "generalise": 1,
                    "collect_generalisation": 1, "generalisation_stats": 1, "figure_generalisation": 1}


def test_a_changed_file_of_the_corpus_reruns_the_study_from_the_folder_source(study: Path):
    path = study / "my_bach/fugue.mid"
    saved = path.read_bytes()
    try:
        write_midi_folder(study / "my_bach", ["fugue.mid"], seed=7)
        jobs = planned_jobs(study, *TARGETS, "--configfile", TINY, "study.yaml")
    finally:
        path.write_bytes(saved)
    assert {"import_folder", "convert", "split", "generalise"} <= set(jobs)
    assert any(rule.startswith("train") for rule in jobs) and "import_composer_folder" not in jobs


@pytest.mark.parametrize("override,message", [
    ({"corpus": {"sources": ["folder"], "folder": {"paths": ["nowhere"]}}},
     "invalid config: corpus.folder.paths: the folder nowhere does not exist"),
    ({"generalisation": {"composers": [{"name": "mine", "paths": ["empty"]}]}},
     "invalid config: generalisation.composers: mine: paths: the folder empty holds no MIDI file"),
])
def test_a_bad_folder_stops_the_workflow_before_any_job(study: Path, override, message):
    (study / "empty/deeper").mkdir(parents=True, exist_ok=True)
    proc = snakemake(study, *TARGETS, "--configfile", TINY, study_config(study, **override), check=False)
    study_config(study)  # the module's own config again
    assert proc.returncode != 0 and message in proc.stdout + proc.stderr
    assert "Job stats" not in proc.stdout + proc.stderr
