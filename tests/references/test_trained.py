"""The trained references (bayesbach.references.trained): their specs and stages, a clean-input reference
that is one model at every noise level (one job writes it for each), and the job's files."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from bayesbach.core import schemas
from bayesbach.core.registry import REFERENCES
from bayesbach.dev.synthetic import known_chain, sample_chain, write_dataset
from bayesbach.networks.models import build
from bayesbach.networks.training import Settings
from bayesbach.references import trained

torch.set_num_threads(1)
SEED = 11
REFS = {"batches": 6, "ff_hidden": 8, "lr": None, "rnn_arch": "lstm", "rnn_hidden": 5}


def tiny_splits(seed=3):
    rng = np.random.default_rng(seed)
    matrix, initial = known_chain(rng, 4)
    return [sample_chain(rng, matrix, initial, rng.integers(20, 40, n), p) for n, p in ((6, "a"), (2, "b"), (3, "c"))]


def test_specs_and_stages_follow_the_table():
    assert trained.spec("markov_low", 12, REFS) == {"kind": "feedforward", "units": 12, "hidden": [8, 8],
                                                    "heads": ["predict"]}
    assert trained.spec("decoder_ff", 12, REFS) == {"kind": "feedforward", "units": 12, "hidden": [8, 8, 8],
                                                    "heads": ["observe"]}
    assert trained.spec("rnn_pred", 12, REFS) == {"kind": "recurrent", "arch": "lstm", "units": 12, "hidden": 5, "layers": 1}
    for name, (task, inputs, _) in trained.NETWORKS.items():
        stage = trained.stage(name, 9)
        assert REFERENCES[name].tasks == (task,) and stage.inputs == inputs and stage.batches == 9
        assert stage.target == ("current" if task == "decode" else "next")
        assert stage.trains == ("core", f"heads.{stage.head}")
    assert trained.identity("markov_low", 0.3) == trained.identity("markov_low", 0.9) == ("reference", "markov_low")
    assert trained.identity("markov_high", 0.3) != trained.identity("markov_high", 0.9)


def test_the_sigma_free_network_references_are_those_with_clean_input():
    for name, (_, inputs, _) in trained.NETWORKS.items():
        assert REFERENCES[name].sigma_free == (inputs == "clean"), name


def test_clean_input_reference_is_the_same_model_at_every_noise_level():
    train, validation, _ = tiny_splits()
    states = {}
    for name in ("markov_low", "markov_high"):
        for sigma in (0.3, 0.9):
            settings = Settings(sigma=sigma, batch_size=4, chunk_length=8, val_every=3, gap=0, checkpoint_every=10**6)
            fitted = trained.fit(name, train, validation, sigma=sigma, seed=SEED, settings=settings, refs=REFS)
            states[(name, sigma)] = fitted.model.state_dict()
    for key, value in states[("markov_low", 0.3)].items():
        assert torch.equal(value, states[("markov_low", 0.9)][key])
    assert not all(torch.equal(v, states[("markov_high", 0.9)][k]) for k, v in states[("markov_high", 0.3)].items())


def test_an_unknown_network_reference_is_named():
    with pytest.raises(ValueError, match="unknown network reference 'bayes'"):
        trained.fit("bayes", {"a": np.zeros((3, 4), np.float32)}, {}, sigma=0.5, seed=0, settings=Settings(sigma=0.5),
                    refs=REFS)


def test_the_network_job_writes_its_model_history_errors_and_meta(tmp_path):
    data = write_dataset(tmp_path / "dataset", {"train": 3, "validation": 1, "test": 2})
    train = {"lr": 0.02, "batch_size": 4, "chunk_length": 8, "val_every": 3, "checkpoint_every": 2, "encoding": "pc12"}
    [meta] = trained.network_reference(data, [tmp_path / "out"], name="rnn_pred", noises=[0.5], seed=1, refs=REFS,
                                       train=train, device="cpu")
    out = tmp_path / "out"
    df = pq.read_table(out / "errors.parquet").to_pandas()
    assert pq.read_table(out / "errors.parquet").schema == schemas.ERRORS
    assert set(df["model"]) == {"rnn_pred"} and set(df["arch"]) == {"lstm"} and set(df["hidden"]) == {5}
    assert set(df["task"]) == {"predict"} and len(df) == 2
    assert [(r["stage"], r["batch"]) for r in pq.read_table(out / "history.parquet").to_pylist()] == [
        ("rnn_pred", 3), ("rnn_pred", 6)]
    model = build(meta["spec"])
    model.load_state_dict(torch.load(out / "model.pt", weights_only=True))
    assert json.loads((out / "meta.json").read_text())["best_val"] == meta["best_val"]
    assert not (out / "checkpoint.pt").exists()


def test_the_trained_references_take_their_own_learning_rate(tmp_path):
    data = write_dataset(tmp_path / "dataset", {"train": 3, "validation": 1, "test": 1})
    train = {"lr": 0.02, "batch_size": 4, "chunk_length": 8, "val_every": 3, "checkpoint_every": 2, "encoding": "pc12"}
    refs = {**REFS, "batches": 3, "lr": 0.005}
    job = {"noises": [0.5], "seed": 1, "refs": refs, "train": train, "device": "cpu"}
    [ff] = trained.network_reference(data, [tmp_path / "ff"], name="decoder_ff", **job)
    [rnn] = trained.network_reference(data, [tmp_path / "rnn"], name="rnn_pred", **job)
    [same] = trained.network_reference(data, [tmp_path / "same"], name="rnn_pred", **{**job, "refs": {**refs, "lr": None}})
    assert (ff["settings"]["lr"], rnn["settings"]["lr"], same["settings"]["lr"]) == (0.005, 0.005, 0.02)


def test_one_network_job_trains_a_sigma_free_reference_once_for_every_noise_level(tmp_path):
    data = write_dataset(tmp_path / "dataset", {"train": 3, "validation": 1, "test": 2})
    train = {"lr": 0.02, "batch_size": 4, "chunk_length": 8, "val_every": 3, "checkpoint_every": 2, "encoding": "pc12"}
    job = {"name": "markov_low", "seed": 1, "refs": REFS, "train": train, "device": "cpu"}
    outs = [tmp_path / "s0.3", tmp_path / "s0.9"]
    metas = trained.network_reference(data, outs, noises=[0.3, 0.9], **job)
    trained.network_reference(data, [tmp_path / "alone"], noises=[0.9], **job)
    for out in (outs[1], tmp_path / "alone"):  # each folder as its own job would have written it
        for name in ("model.pt", "history.parquet"):
            assert (out / name).read_bytes() == (outs[0] / name).read_bytes(), name
    assert pq.read_table(outs[1] / "errors.parquet").equals(pq.read_table(tmp_path / "alone/errors.parquet"))
    assert set(pq.read_table(outs[0] / "errors.parquet").column("noise").to_pylist()) == {0.3}
    untimed = lambda out: {k: v for k, v in json.loads((out / "meta.json").read_text()).items()  # noqa: E731
                           if k not in ("seconds", "timings")}
    assert untimed(outs[1]) == untimed(tmp_path / "alone")
    assert metas[0]["noise"] == metas[0]["settings"]["sigma"] == 0.3 and metas[1]["settings"]["sigma"] == 0.9
    assert not any((out / "checkpoint.pt").exists() for out in outs)


def test_a_network_reference_that_depends_on_the_noise_is_one_job_per_level(tmp_path):
    with pytest.raises(ValueError, match="'markov_high' depends on the noise level"):
        trained.network_reference(tmp_path, [tmp_path / "a", tmp_path / "b"], name="markov_high", noises=[0.3, 0.9],
                                  seed=1, refs=REFS, train={}, device="cpu")


def test_a_second_recurrent_reference_added_to_the_registry_trains_from_the_keys_its_entry_names(monkeypatch, tmp_path):
    """The toy of tests/toys.py: its job gets the references: keys its entry names (what reference_params in
    common.smk passes), rnn_arch and rnn_hidden among them, and trains and scores a recurrent decoder."""
    import toys

    toys.patch_references(monkeypatch)
    data = write_dataset(tmp_path / "dataset", {"train": 3, "validation": 1, "test": 2})
    train = {"lr": 0.02, "batch_size": 4, "chunk_length": 8, "val_every": 3, "checkpoint_every": 2, "encoding": "pc12"}
    refs = REFERENCES[toys.RNN_REFERENCE].params({**REFS, "threads": 1, "models": []})
    assert refs == {"batches": 6, "lr": None, "rnn_arch": "lstm", "rnn_hidden": 5}
    [meta] = trained.network_reference(data, [tmp_path / "out"], name=toys.RNN_REFERENCE, noises=[0.5], seed=1,
                                       refs=refs, train=train, device="cpu")
    df = pq.read_table(tmp_path / "out/errors.parquet").to_pandas()
    assert set(df["task"]) == {"decode"} and set(df["arch"]) == {"lstm"} and set(df["hidden"]) == {5}
    assert meta["spec"]["kind"] == "recurrent" and meta["stage"]["head"] == "observe"
