"""Config validation: every bad value is named before anything runs."""

from __future__ import annotations

import copy

import pytest
import yaml

from bayesbach.core.config import ConfigError, check_config
from conftest import REPO

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


def default_config() -> dict:
    return yaml.safe_load((REPO / "config.yaml").read_text())


def with_value(path: str, value) -> dict:
    config = copy.deepcopy(default_config())
    node = config
    *parents, last = path.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return config


@pytest.mark.parametrize("config_file", [REPO / "config.yaml", *sorted((REPO / "presets").glob("*.yaml")),
                                         *sorted((REPO / "tests" / "configs").glob("*.yaml"))], ids=lambda p: p.name)
def test_shipped_configs_are_valid(config_file):
    check_config(yaml.safe_load(config_file.read_text()) or {}, SCHEMA)


def test_defaults_are_filled_in():
    config = check_config({}, SCHEMA)
    assert config["corpus"]["sources"] == ["bundled"]
    assert config["dataset"]["split"] == {"train": 0.7, "validation": 0.1, "test": 0.2}
    assert config["dataset"]["gap"] == 20


@pytest.mark.parametrize(
    "path,value,message",
    [
        ("dataset.gap", "twenty", r"dataset\.gap: 'twenty' is not of type 'integer'"),
        ("dataset.gap", -1, r"dataset\.gap: -1 is less than the minimum of 0"),
        ("seed", 1.5, r"seed: 1\.5 is not of type 'integer'"),
        ("corpus.sources", ["bundled", "imslp"], r"corpus\.sources\[1\]: 'imslp' is not one of"),
        ("corpus.sources", [], r"corpus\.sources: \[\] should be non-empty"),
        ("corpus.max_works", 0, r"corpus\.max_works: 0 is less than the minimum of 1"),
        ("dataset.split", {"train": 0.7, "validation": 0.2, "test": 0.2}, r"dataset\.split: .* sum to 1\.1, not 1"),
        ("dataset.split", {"train": 0.8, "validation": 0.3, "test": -0.1}, r"dataset\.split\.test: -0\.1 is less than"),
        ("dataset.splits", {"train": 1.0}, r"unknown key 'dataset\.splits'"),
        ("corpus.sourcse", ["bundled"], r"unknown key 'corpus\.sourcse'"),
        ("corpus.folder.path", ["midi"], r"unknown key 'corpus\.folder\.path'"),
        ("generalisation.split", {"train": 0.5, "validation": 0.2, "test": 0.2}, r"generalisation\.split: .* sum to 0\.9"),
        ("generalisation.split", {"train": 0.8, "validation": 0.0, "test": 0.2}, r"generalisation\.split\.validation"),
        ("generalisation.composers", ["bach"], r"generalisation\.composers: music21's Bach is the bundled corpus"),
        ("generalisation.composers", ["palestrina", {"name": "palestrina", "paths": ["x"]}], r"share a name"),
        ("generalisation.composers", [{"name": "mine"}], r"generalisation\.composers\[0\]"),
        ("generalisation.composers", ["two words"], r"generalisation\.composers\[0\]"),
        ("generalisation.own_models", ["markov_high"], r"generalisation\.own_models\[0\]: 'markov_high' is not one of"),
    ],
)
def test_bad_values_are_named(path, value, message):
    with pytest.raises(ConfigError, match=message):
        check_config(with_value(path, value), SCHEMA)


def test_config_files_layer_like_snakemake(tmp_path):
    from bayesbach.core.config import load_config

    (tmp_path / "over.yaml").write_text("dataset:\n  gap: 5\ncorpus:\n  sources: [web]\n")
    config = load_config([REPO / "config.yaml", tmp_path / "over.yaml"], SCHEMA)
    assert config["dataset"]["gap"] == 5 and config["corpus"]["sources"] == ["web"]
    assert config["dataset"]["split"] == default_config()["dataset"]["split"]  # untouched keys stay
