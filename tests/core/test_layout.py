"""The layout of paths (bayesbach.core.layout): the folder and wildcard conventions by example, and the file lists of
the rules for the tiny study (config.yaml under tests/configs/tiny.yaml, as the workflow tests run it), written out by
hand."""

from __future__ import annotations

import re

import pytest

from bayesbach.core import layout
from bayesbach.core.config import load_config, merged
from bayesbach.core.layout import (NOISE_PATTERN, collect_evaluation_inputs, collect_generalisation_inputs,
                                   figure_inputs, generalise_inputs, listen_inputs, listen_outputs, model_dir,
                                   network_evaluation_dir, noise_label, reference_dir, source_manifests, study_targets,
                                   summary_inputs, under)
from conftest import CONFIGS, REPO

SCHEMA = REPO / "workflow/schemas/config.schema.yaml"
NET = "results/models/gru/h4/s0.5/r0"  # the tiny study's one network
REFS = ("global", "markov_low")


@pytest.fixture
def config() -> dict:
    """The tiny study with two references and one other composer, a music21 one."""
    base = load_config([REPO / "config.yaml", CONFIGS / "tiny.yaml"], SCHEMA)
    return merged(base, {"references": {"models": list(REFS)}, "generalisation": {"composers": ["monteverdi"]}})


def test_model_and_reference_folders_by_example():
    assert model_dir("gru", 64, 0.5, 0) == "results/models/gru/h64/s0.5/r0"
    assert model_dir("lstm", 8, 1, 3) == "results/models/lstm/h8/s1.0/r3"  # an integer noise level is a float
    assert model_dir("elman", 16, 1e-5, 2) == "results/models/elman/h16/s1e-05/r2"
    assert reference_dir("bayes", 2) == "results/references/s2.0/bayes"
    assert network_evaluation_dir("gru", 4, 0.001, 1) == "results/evaluation/networks/gru/h4/s0.001/r1"
    assert layout.MODEL_DIR.format(arch="gru", hidden=64, noise="0.5", run=0) == model_dir("gru", 64, 0.5, 0)
    assert layout.generalisation_dir("monteverdi", 1) == "results/generalisation/monteverdi/s1.0"


@pytest.mark.parametrize("sigma,label", [(0.5, "0.5"), (1, "1.0"), (2.0, "2.0"), (0.001, "0.001"), (1e-5, "1e-05"),
                                         (0.30000000000000004, "0.30000000000000004")])
def test_noise_label_is_the_float_repr(sigma, label):
    assert noise_label(sigma) == label


@pytest.mark.parametrize("text", [repr(0.5), repr(1.0), repr(0.001), repr(1e-05), repr(2.0), repr(12.25), repr(1e20)])
def test_the_noise_wildcard_matches_float_reprs(text):
    assert re.fullmatch(NOISE_PATTERN, text)


@pytest.mark.parametrize("text", ["1", "abc", "", "0.5/r0", "-0.5", "1e", ".5", "0.5.1"])
def test_the_noise_wildcard_rejects_what_repr_never_writes(text):
    assert not re.fullmatch(NOISE_PATTERN, text)


def test_every_noise_level_of_the_shipped_configs_fits_the_wildcard():
    import yaml

    for path in [REPO / "config.yaml", *sorted((REPO / "presets").glob("*.yaml"))]:
        for sigma in (yaml.safe_load(path.read_text()) or {}).get("sweep", {}).get("noise", []):
            assert re.fullmatch(NOISE_PATTERN, noise_label(sigma)), (path.name, sigma)


def test_under_moves_the_results_paths_and_nothing_else():
    paths = {"a": "results/dataset/events.parquet", "b": ["data/raw/bundled/manifest.parquet", "results/summary.html"]}
    assert under(paths) == paths
    assert under(paths, "/tmp/study") == {"a": "/tmp/study/dataset/events.parquet",
                                          "b": ["data/raw/bundled/manifest.parquet", "/tmp/study/summary.html"]}
    assert under("results_old/x", "elsewhere") == "results_old/x"  # only the folder results itself


def test_the_files_an_evaluation_and_a_generalisation_read(config):
    assert collect_evaluation_inputs(config) == {
        "errors": ["results/evaluation/networks/gru/h4/s0.5/r0/errors.parquet",
                   "results/references/s0.5/global/errors.parquet", "results/references/s0.5/markov_low/errors.parquet"],
        "encoding": ["results/evaluation/networks/gru/h4/s0.5/r0/encoding.parquet"],
        "key_decoding": ["results/evaluation/networks/gru/h4/s0.5/r0/keys.parquet"],
    }
    assert generalise_inputs(config, "monteverdi", "0.5") == {
        "networks": [f"{NET}/decoder.pt", f"{NET}/probe.pt", f"{NET}/meta.json"],
        "references": ["results/references/s0.5/global/meta.json", "results/references/s0.5/markov_low/meta.json"],
        "reference_models": ["results/references/s0.5/markov_low/model.pt"],  # the trained one
        "events": "results/dataset/events.parquet",
        "pieces": "results/dataset/pieces.parquet",
        "composer_events": "results/dataset/composers/monteverdi/events.parquet",
        "composer_pieces": "results/dataset/composers/monteverdi/pieces.parquet",
    }
    assert collect_generalisation_inputs(config) == ["results/generalisation/monteverdi/s0.5/errors.parquet"]
    assert source_manifests(config) == ["data/raw/bundled/manifest.parquet"]


def test_the_convergence_table_reads_every_trained_history(config):
    # global is counted (no history); markov_low is sigma-free: its first noise level's folder alone
    two = merged(config, {"sweep": {"noise": [0.5, 1.0]}})
    assert layout.convergence_inputs(two) == {
        "networks": [f"{NET}/history.parquet", f"{NET}/meta.json", "results/models/gru/h4/s1.0/r0/history.parquet",
                     "results/models/gru/h4/s1.0/r0/meta.json"],
        "references": ["results/references/s0.5/markov_low/history.parquet",
                       "results/references/s0.5/markov_low/meta.json"],
    }
    assert layout.CONVERGENCE in layout.evaluation_targets()
    assert summary_inputs(config)["convergence"] == layout.CONVERGENCE


def test_the_files_of_the_report(config):
    midi = [f"results/listen/s0.5/{kind}.mid" for kind in ("clean", "noisy", "decoded", "predicted")]
    assert listen_inputs(config)["models"] == [f"{NET}/decoder.pt", f"{NET}/probe.pt", f"{NET}/meta.json"]
    assert listen_outputs(config) == {"example": "results/listen/example.parquet", "midi": midi}
    assert figure_inputs("training", config) == {"model_dirs": [f"{NET}/history.parquet", f"{NET}/meta.json"]}
    assert figure_inputs("ladder", config) == {"errors": "results/evaluation/errors.parquet",
                                               "stats": "results/evaluation/stats.csv"}
    page = summary_inputs(config)
    assert page["generalisation"] == ["results/evaluation/generalisation.parquet", "results/evaluation/generalisation.csv"]
    assert page["composer_pieces"] == ["results/dataset/composers/monteverdi/pieces.parquet"]
    assert page["crawl"] == [] and page["listen"] == ["results/listen/example.parquet", *midi]
    # one GRU: no architecture comparison; one other composer: its figure
    assert [p.split("/")[-1] for p in page["figures"]] == [f"{n}.png" for n in layout.FIGURES if n != "architectures"]
    web = merged(config, {"corpus": {"sources": ["bundled", "web"]}, "generalisation": {"composers": []}})
    assert summary_inputs(web)["crawl"] == ["data/raw/web/report.parquet"]
    assert summary_inputs(web)["generalisation"] == summary_inputs(web)["composer_pieces"] == []


def test_results_moves_every_file_list_of_a_study(config, tmp_path):
    moved = summary_inputs(config, tmp_path)
    assert moved["pieces"] == str(tmp_path / "dataset/pieces.parquet")
    assert all(p.startswith(str(tmp_path)) for p in moved["figures"] + moved["listen"] + moved["composer_pieces"])
    assert figure_inputs("training", config, tmp_path)["model_dirs"][0] == str(tmp_path / "models/gru/h4/s0.5/r0"
                                                                             / "history.parquet")
    assert generalise_inputs(config, "monteverdi", 0.5, tmp_path)["networks"][0] == str(
        tmp_path / "models/gru/h4/s0.5/r0/decoder.pt")


def test_a_study_makes_every_file_once_and_each_below_results_or_data(config):
    targets = study_targets(config)
    assert len(targets) == len(set(targets))
    assert all(t.startswith(("results/", "data/raw/")) for t in targets)
    assert {f"{NET}/{f}" for f in layout.MODEL_FILES} <= set(targets)
    assert "results/summary.html" in targets and "results/evaluation/generalisation.csv" in targets
