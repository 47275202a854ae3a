"""The trained references (bayesbach.references.trained): their specs and stages, a clean-input reference
that is one model at every noise level, and the job's files."""

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
REFS = {"batches": 6, "ff_hidden": 8, "rnn_arch": "lstm", "rnn_hidden": 5}


def tiny_splits(seed=3):
    rng = np.random.default_rng(seed)
    matrix, initial = known_chain(rng, 4)
    return [sample_chain(rng, matrix, initial, rng.integers(20, 40, n), p) for n, p in ((6, "a"), (2, "b"), (3, "c"))]


def test_specs_and_stages_follow_the_table():
    assert trained.spec("markov_low", 12, REFS) == {"kind": "feedforward", "units": 12, "hidden": [8], "heads": ["predict"]}
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


def test_clean_input_reference_is_the_same_model_at_every_noise_level():
    train, validation, _ = tiny_splits()
    states = {}
    for name in ("markov_low", "markov_high"):
        for sigma in (0.3, 0.9):
            settings = Settings(sigma=sigma, batch_size=4, chunk_length=8, val_every=3, gap=0, checkpoint_every=10**6)
            model, _ = trained.fit_reference(name, train, validation, sigma=sigma, seed=SEED, settings=settings, refs=REFS)
            states[(name, sigma)] = model.state_dict()
    for key, value in states[("markov_low", 0.3)].items():
        assert torch.equal(value, states[("markov_low", 0.9)][key])
    assert not all(torch.equal(v, states[("markov_high", 0.9)][k]) for k, v in states[("markov_high", 0.3)].items())


def test_an_unknown_network_reference_is_named():
    with pytest.raises(ValueError, match="unknown network reference 'bayes'"):
        trained.fit_reference("bayes", {"a": np.zeros((3, 4), np.float32)}, {}, sigma=0.5, seed=0,
                              settings=Settings(sigma=0.5), refs=REFS)


def test_the_network_job_writes_its_model_history_errors_and_meta(tmp_path):
    data = write_dataset(tmp_path / "dataset", {"train": 3, "validation": 1, "test": 2})
    train = {"lr": 0.02, "batch_size": 4, "chunk_length": 8, "val_every": 3, "checkpoint_every": 2, "encoding": "pc12"}
    meta = trained.network_reference(data, tmp_path / "out", name="rnn_pred", noise=0.5, seed=1, refs=REFS, train=train,
                                     device="cpu")
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
