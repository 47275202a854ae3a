"""The counted references (bayesbach.references.counted): the networks' noise, the tasks of the registry,
smoothing without validation data, readable errors, and the job's files."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from bayesbach.core import schemas
from bayesbach.core.exceptions import StudyError
from bayesbach.core.registry import REFERENCES, references
from bayesbach.dev.synthetic import known_chain, sample_chain, write_dataset
from bayesbach.networks.scoring import Padded
from bayesbach.references.chord_counts import count_chords, global_marginal, select_smoothing
from bayesbach.references.counted import PROBABILITIES, counted_reference, mean_bce, score_counted
from bayesbach.references.observer import Observer

UNITS = 4
SEED = 11


def tiny_splits(seed=3):
    rng = np.random.default_rng(seed)
    matrix, initial = known_chain(rng, UNITS)
    return [sample_chain(rng, matrix, initial, rng.integers(20, 40, n), p) for n, p in ((6, "a"), (2, "b"), (3, "c"))]


def test_mean_bce_by_hand_and_nan_without_steps():
    p, y = np.array([[0.5, 0.25]]), np.array([[1.0, 0.0]])
    assert mean_bce(p, y) == pytest.approx((np.log(2) + np.log(4 / 3)) / 2)
    assert np.isnan(mean_bce(None, y)) and np.isnan(mean_bce(np.zeros((0, 2)), np.zeros((0, 2))))


@pytest.mark.parametrize("name", references("counted"))
def test_each_counted_reference_is_scored_on_its_registry_tasks_for_every_test_piece(name):
    train, validation, test = tiny_splits()
    scores, meta = score_counted(name, train, validation, test, 0.6, SEED)
    assert set(scores) == set(REFERENCES[name].tasks)
    for values in scores.values():
        assert list(values) == sorted(test) and all(np.isfinite(list(values.values())))


def test_global_scores_the_training_marginal_on_every_step():
    train, validation, test = tiny_splits()
    scores, meta = score_counted("global", train, validation, test, 0.6, SEED)
    m = global_marginal(train)
    assert meta["marginal"] == pytest.approx(m.tolist())
    for piece, y in test.items():
        assert scores["decode"][piece] == pytest.approx(mean_bce(np.broadcast_to(m, y.shape), y))
        assert scores["predict"][piece] == pytest.approx(mean_bce(np.broadcast_to(m, (len(y) - 1, UNITS)), y[1:]))


def test_observer_sees_the_networks_noise_realisation():
    """The counted references use the same common-random-numbers inputs as the networks' evaluation."""
    train, validation, test = tiny_splits()
    scores, _ = score_counted("bayes", train, validation, test, 0.7, SEED)
    padded = Padded.build(test, SEED)
    noisy = padded.inputs(0.7).numpy()
    inputs = {name: noisy[i, : len(test[name])] for i, name in enumerate(padded.names)}
    model = count_chords(train)
    select_smoothing(model, validation)
    for piece, dec, _ in Observer.from_model(model, 0.7).run(inputs):
        assert mean_bce(dec, test[piece]) == pytest.approx(scores["decode"][piece], rel=1e-6)


def test_no_validation_split_keeps_default_smoothing_and_scores_every_piece():
    train, _, test = tiny_splits()
    scores, meta = score_counted("bayes", train, {}, test, 0.5, SEED)
    assert meta["smoothing_grid"] == [] and meta["alpha"] == 1.0 and meta["beta"] == 1.0
    assert set(scores["predict"]) == set(test) and all(np.isfinite(list(scores["predict"].values())))


def test_an_empty_training_split_is_a_readable_error():
    with pytest.raises(StudyError, match="training"):
        score_counted("markov_counts", {}, {}, {"c": np.zeros((3, UNITS), np.float32)}, 0.5, SEED)


def test_an_unknown_counted_reference_is_named():
    assert "markov_high" not in PROBABILITIES
    with pytest.raises(ValueError, match="unknown counted reference 'markov_high'"):
        score_counted("markov_high", {}, {}, {}, 0.5, SEED)


def test_the_counted_job_writes_its_errors_and_meta(tmp_path):
    data = write_dataset(tmp_path / "dataset", {"train": 3, "validation": 1, "test": 2})
    meta = counted_reference(data, tmp_path / "out", name="markov_counts", noise=0.5, seed=1)
    errors = pq.read_table(tmp_path / "out/errors.parquet")
    assert errors.schema == schemas.ERRORS
    df = errors.to_pandas()
    assert set(df["model"]) == {"markov_counts"} and set(df["task"]) == {"predict"} and set(df["noise"]) == {0.5}
    assert df["arch"].isna().all() and df["run"].isna().all() and len(df) == 2
    assert json.loads((tmp_path / "out/meta.json").read_text()) == meta
    assert meta["pieces"] == {"train": 3, "validation": 1, "test": 2} and meta["model"] == "markov_counts"
