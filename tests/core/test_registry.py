"""The registry of shared names (bayesbach.core.registry): consistent with the modules that define what it
names, and the path and wildcard conventions by example."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import replace

import pytest

from bayesbach.core import registry
from bayesbach.core.registry import (ARCHS, COMPARED, ENCODINGS, LADDER_FIGURE_MODELS, NOISE_PATTERN, REFERENCES, TASKS,
                                     example_network, model_dir, network_evaluation_dir, noise_label, primary_arch,
                                     reference_dir, reference_names)


def test_every_reference_has_a_kind_tasks_a_label_and_a_colour():
    for name, ref in REFERENCES.items():
        assert ref.kind in {"counted", "trained"}, name
        assert ref.tasks and set(ref.tasks) <= set(TASKS), name
        assert ref.label and re.fullmatch(r"#[0-9A-F]{6}", ref.colour), name


def test_references_of_a_kind_are_the_models_its_module_defines():
    from bayesbach.references.counted import MODELS
    from bayesbach.references.trained import NETWORKS

    assert set(reference_names("counted")) == set(MODELS)
    assert set(reference_names("trained")) == set(NETWORKS)
    assert set(reference_names("counted")) | set(reference_names("trained")) == set(REFERENCES)
    assert list(reference_names("counted")) == [n for n in REFERENCES if REFERENCES[n].kind == "counted"]  # registry order
    assert reference_names("imagined") == ()


def test_a_trained_reference_is_scored_on_the_task_its_module_trains_it_for():
    from bayesbach.references.trained import NETWORKS

    for name, (task, _, _) in NETWORKS.items():
        assert REFERENCES[name].tasks == (task,), name


def test_a_trained_reference_needs_only_the_config_keys_its_entry_names():
    """Its rule passes those alone (reference_params in common.smk) and sizes its job as the entry says."""
    from bayesbach.references.trained import spec, stage

    refs = {"batches": 3, "ff_hidden": 5, "rnn_arch": "lstm", "rnn_hidden": 6, "threads": 1, "models": []}
    for name in reference_names("trained"):
        ref, params = REFERENCES[name], REFERENCES[name].params(refs)
        assert spec(name, 12, params)["kind"] in {"recurrent", "feedforward"} and stage(name, params["batches"]), name
        arch, hidden, batches = ref.job.of(refs)
        assert arch in ARCHS and hidden > 0 and batches == 3, name
    for name in reference_names("counted"):  # sized as a counted job (core.resources.counted_minutes), no keys
        assert REFERENCES[name].config == () and REFERENCES[name].job is None, name


def test_every_compared_reference_is_scored_on_that_task():
    assert set(COMPARED) == set(TASKS)
    for task, names in COMPARED.items():
        assert len(set(names)) == len(names)
        for name in names:
            assert name in REFERENCES and task in REFERENCES[name].tasks, (task, name)
    assert all("predict" in REFERENCES[name].tasks for name in LADDER_FIGURE_MODELS)


def test_architectures_and_encodings_are_the_models_and_the_loaders():
    import numpy as np
    import pyarrow as pa

    from bayesbach.core import schemas
    from bayesbach.dataset.loader import encode
    from bayesbach.networks import models

    assert ARCHS == tuple(registry.ARCHITECTURES) and set(registry.CORES) == set(ARCHS)
    for arch, entry in registry.ARCHITECTURES.items():  # its core builds, with the gates the cost model counts
        net = models.RecurrentNet(arch, units=3, hidden=5)
        assert type(net.core).__name__ == entry.core, arch
        assert net.core.weight_ih_l0.shape[0] == entry.gates * 5, arch
    events = pa.Table.from_pylist([{"piece": "bwv0001", "file": "a.mid", "step": 0, "pitches": [60, 64], "pcs": 17}],
                                  schema=schemas.EVENTS)
    for encoding, units in ENCODINGS.items():
        x = encode(events, encoding)
        assert x.shape == (1, units) and x.dtype == np.float32


def test_model_and_reference_folders_by_example():
    assert model_dir("gru", 64, 0.5, 0) == "results/models/gru/h64/s0.5/r0"
    assert model_dir("lstm", 8, 1, 3) == "results/models/lstm/h8/s1.0/r3"  # an integer noise level is a float
    assert model_dir("elman", 16, 1e-5, 2) == "results/models/elman/h16/s1e-05/r2"
    assert reference_dir("bayes", 2) == "results/references/s2.0/bayes"
    assert network_evaluation_dir("gru", 4, 0.001, 1) == "results/evaluation/networks/gru/h4/s0.001/r1"
    assert registry.MODEL_DIR.format(arch="gru", hidden=64, noise="0.5", run=0) == model_dir("gru", 64, 0.5, 0)


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

    from conftest import REPO

    for path in [REPO / "config.yaml", *sorted((REPO / "presets").glob("*.yaml"))]:
        for sigma in (yaml.safe_load(path.read_text()) or {}).get("sweep", {}).get("noise", []):
            assert re.fullmatch(NOISE_PATTERN, noise_label(sigma)), (path.name, sigma)


def test_the_example_network_is_the_largest_gru_when_swept():
    assert example_network({"arch": ["elman", "gru", "lstm"], "hidden": [16, 4, 64]}) == ("gru", 64, 0)
    assert example_network({"arch": ["elman", "lstm"], "hidden": [8]}) == ("lstm", 8, 0)  # as the figures show


def test_the_primary_architecture_is_the_best_ranked_else_the_first(monkeypatch):
    assert primary_arch(["elman", "lstm", "gru"]) == "gru" and primary_arch(["elman", "lstm"]) == "lstm"
    assert primary_arch([]) is None and primary_arch(["not_an_arch"]) is None
    monkeypatch.setattr(registry, "ARCHITECTURES", {"a": replace(registry.ARCHITECTURES["gru"], primary=None),
                                                    "b": replace(registry.ARCHITECTURES["gru"], primary=None)})
    assert primary_arch(["b", "a"]) == "b"  # none ranked: the first, never StopIteration


def test_the_core_imports_neither_torch_nor_matplotlib():
    """Snakemake imports the core when it plans a study: it must stay light."""
    code = ("import pkgutil, importlib, sys, bayesbach.core as c\n"
            "for m in pkgutil.iter_modules(c.__path__): importlib.import_module('bayesbach.core.' + m.name)\n"
            "print(sorted(n for n in ('torch', 'matplotlib') if n in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_key_comparisons_of_the_page_are_compared_in_the_stats():
    for task, name in registry.HEADLINE_COMPARISONS:
        assert name in COMPARED[task], (task, name)
