"""The registry of shared names (bayesbach.core.registry): consistent with the modules that define what it
names (the paths and wildcards: test_layout.py)."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import replace


from bayesbach.core import registry
from bayesbach.core.registry import (ARCHS, COMPARED, ENCODINGS, LADDER_FIGURE_MODELS, REFERENCES, TASKS,
                                     example_network, primary_arch, reference_names)


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

    refs = {"batches": 3, "ff_hidden": 5, "lr": None, "rnn_arch": "lstm", "rnn_hidden": 6, "threads": 1, "models": []}
    for name in reference_names("trained"):
        ref, params = REFERENCES[name], REFERENCES[name].params(refs)
        assert spec(name, 12, params)["kind"] in {"recurrent", "feedforward"} and stage(name, params["batches"]), name
        arch, hidden, batches = ref.job.of(refs)
        assert arch in ARCHS and hidden > 0 and batches == 3, name
    for name in reference_names("counted"):  # sized as a counted job (core.resources.counted_minutes); keys: PPM's
        ref = REFERENCES[name]
        assert ref.job is None and (ref.config == () or name.startswith("ppm_")), name
        assert set(ref.config) <= set(registry.PPM_BOTH), name


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
