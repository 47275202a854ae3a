"""The network evaluation job (bayesbach.evaluation.evaluation_job) on a synthetic dataset: each task scored with its own
state on the test split, the encoding and key-decoding tables beside it, and a readable error for an untrained
folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from bayesbach.core import schemas
from bayesbach.core.atomic import write_torch
from bayesbach.dataset.loader import load_split
from bayesbach.core.registry import KEY_DECODERS
from bayesbach.dev.synthetic import write_dataset, write_file_keys
from bayesbach.dataset.noise import crn_inputs
from bayesbach.evaluation.evaluation_job import WrongObserver, bayes_observer, evaluate_network
from bayesbach.references.alphabet import count_alphabet
from bayesbach.references.contexts import count_contexts
from bayesbach.references.observer import Observer
from bayesbach.networks.models import build, load_network
from bayesbach.networks.scoring import score_pieces

torch.set_num_threads(1)


def test_the_network_job_scores_decoder_and_probe_states_on_the_test_split(tmp_path: Path):
    data = write_file_keys(write_dataset(tmp_path / "dataset", {"train": 4, "validation": 1, "test": 3}))
    spec = {"kind": "recurrent", "arch": "gru", "units": 12, "hidden": 6, "layers": 1}
    decoder, probe = build(spec, seed=1), build(spec, seed=2)  # distinct states: each task must use its own
    cell = tmp_path / "models/gru/h6/s0.4/r1"
    write_torch(cell / "decoder.pt", decoder.state_dict())
    write_torch(cell / "probe.pt", probe.state_dict())
    (cell / "meta.json").write_text(json.dumps({"model": spec, "arch": "gru", "hidden": 6, "noise": 0.4, "run": 1,
                                                "encoding": "pc12", "gap": 20}))
    evaluate_network(data, cell, tmp_path / "errors.parquet", tmp_path / "encoding.parquet", tmp_path / "keys.parquet",
                     seed=5)

    errors = pq.read_table(tmp_path / "errors.parquet")
    assert errors.schema == schemas.ERRORS
    df = errors.to_pandas()
    assert set(df["model"]) == {"gru"} and set(df["run"]) == {1} and set(df["noise"]) == {0.4}
    test = load_split(data, "test")
    for task, model in (("decode", decoder), ("predict", probe)):
        expected = score_pieces(model, test, 0.4, 5, (task,))[task]
        got = df[df["task"] == task].set_index("piece")["bce"].to_dict()
        assert got == pytest.approx(expected)
    enc = pq.read_table(tmp_path / "encoding.parquet")
    assert enc.schema == schemas.ERROR_CODING and sorted(enc.column("piece").to_pylist()) == sorted(test)
    assert load_network(cell, "probe")[1]["run"] == 1
    keys = pq.read_table(tmp_path / "keys.parquet")
    assert keys.schema == schemas.KEY_DECODING
    df = keys.to_pandas()
    assert set(df["decoder"]) == set(KEY_DECODERS) - {"control_observer"} and set(df["piece"]) == set(test)
    assert (df["arch"] == "gru").all() and (df["run"] == 1).all() and (df["memory"] >= 1).all()
    steps = sum(len(f) for files in test.values() for f in files)
    assert (df.groupby("decoder")["steps"].sum() == steps).all()  # every test step, once per decoder


def test_the_observer_control_is_the_bayes_reference_counted_again_with_its_smoothing(tmp_path: Path):
    data = write_file_keys(write_dataset(tmp_path / "dataset", {"train": 4, "validation": 1, "test": 3}))
    train, test = load_split(data, "train"), load_split(data, "test")
    smoothing = {"beta": 1.5, "a1": 0.3}
    folder = tmp_path / "references/s0.4/bayes"
    folder.mkdir(parents=True)
    (folder / "meta.json").write_text(json.dumps({"model": "bayes", "noise": 0.4, "encoding": "pc12",
                                                  "smoothing": smoothing}))
    model = count_contexts(train, count_alphabet(train), 1)
    by_hand = Observer(model.alphabet, model.automaton(smoothing), 0.4)
    xs = [x for files in crn_inputs(test, 0.4, 5).values() for x in files]
    for (got, _), (expected, _) in zip(bayes_observer(folder, train, 0.4, "pc12", 5).filter(xs), by_hand.filter(xs)):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    with pytest.raises(WrongObserver, match="not bayes of the network's sigma = 1.0"):
        bayes_observer(folder, train, 1.0, "pc12", 5)
    # the job with it: every decoder, the observer's control too
    spec = {"kind": "recurrent", "arch": "gru", "units": 12, "hidden": 6, "layers": 1}
    cell = tmp_path / "models/gru/h6/s0.4/r0"
    for stage in ("decoder", "probe"):
        write_torch(cell / f"{stage}.pt", build(spec, seed=1).state_dict())
    (cell / "meta.json").write_text(json.dumps({"model": spec, "arch": "gru", "hidden": 6, "noise": 0.4, "run": 0,
                                                "encoding": "pc12", "gap": 20}))
    evaluate_network(data, cell, tmp_path / "errors.parquet", tmp_path / "encoding.parquet", tmp_path / "keys.parquet",
                     seed=5, observer_dir=folder)
    df = pq.read_table(tmp_path / "keys.parquet").to_pandas()
    assert set(df["decoder"]) == set(KEY_DECODERS)
    assert (df.groupby("decoder")["steps"].sum() == sum(len(f) for fs in test.values() for f in fs)).all()


def test_evaluating_a_folder_without_a_trained_network_is_a_readable_error(tmp_path: Path, capsys):
    from bayesbach.cli import main

    repo = Path(__file__).resolve().parents[2]
    assert main(["evaluate", str(tmp_path / "models/gru/h4/s0.5/r0"), "--dataset", str(tmp_path),
                 "--config", str(repo / "config.yaml"), "--schema", str(repo / "workflow/schemas/config.schema.yaml")]) == 1
    assert "holds no trained network (meta.json, decoder.pt missing)" in capsys.readouterr().err
