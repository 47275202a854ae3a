"""The training loop (bayesbach.networks.training) on tiny synthetic corpora: stages train exactly their
parameters, the loss falls on a learnable sequence, the best state is kept, progress is shown."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bayesbach.core.exceptions import StudyError
from bayesbach.dev.synthetic import periodic_pieces
from bayesbach.networks.models import FeedForward, RecurrentNet, build, build_pack, recurrent_spec
from bayesbach.networks.training import (Settings, Stage, fit, fit_pack, learning_rate, network_stages,
                                         update_average)

torch.set_num_threads(1)


def bce_reference(p: np.ndarray, y: np.ndarray) -> float:
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


def test_the_study_trains_decode_then_probe():
    decode, probe = network_stages(7, 3)
    assert (decode.name, decode.head, decode.target, decode.trains, decode.batches, decode.inputs) == (
        "decode", "observe", "current", ("core", "heads.observe"), 7, "noisy")
    assert (probe.name, probe.head, probe.target, probe.trains, probe.batches, probe.inputs) == (
        "probe", "predict", "next", ("heads.predict",), 3, "noisy")


def test_settings_read_the_train_section_of_the_config():
    train = {"lr": 0.01, "batch_size": 5, "chunk_length": 7, "val_every": 3, "checkpoint_every": 9,
             "decode_batches": 100, "encoding": "pc12"}
    s = Settings.from_config(train, 1, gap=4)
    assert s == Settings(sigma=1.0, lr=0.01, batch_size=5, chunk_length=7, val_every=3, checkpoint_every=9, gap=4)
    assert isinstance(s.sigma, float)
    tuned = Settings.from_config({**train, "schedule": "cosine", "final_lr_fraction": 0.1, "average": 0.99}, 1, gap=4)
    assert (tuned.schedule, tuned.final_lr_fraction, tuned.average) == ("cosine", 0.1, 0.99)


def test_the_cosine_schedule_falls_from_lr_to_its_floor():
    s = Settings(sigma=1.0, lr=0.04, schedule="cosine", final_lr_fraction=0.25)
    rates = [learning_rate(s, b, 101) for b in range(1, 102)]
    assert rates[0] == pytest.approx(0.04) and rates[-1] == pytest.approx(0.01)
    assert rates[50] == pytest.approx(0.025)  # half way: the mean of the two ends
    assert all(a > b for a, b in zip(rates, rates[1:]))
    assert learning_rate(s, 1, 1) == pytest.approx(0.04)  # a one-batch stage runs at lr
    assert {learning_rate(Settings(sigma=1.0, lr=0.04), b, 101) for b in (1, 50, 101)} == {0.04}
    with pytest.raises(ValueError, match="schedule 'step'"):
        learning_rate(Settings(sigma=1.0, schedule="step"), 1, 10)


def test_the_running_average_is_the_mean_of_the_first_iterates_then_exponential():
    torch.manual_seed(0)
    model, iterates = torch.nn.Linear(3, 2), []
    frozen = model.bias.detach().clone()
    model.bias.requires_grad_(False)
    average = None
    for b in range(1, 9):
        with torch.no_grad():
            model.weight.copy_(torch.randn(2, 3))
        iterates.append(model.weight.detach().clone())
        if average is None:
            average = torch.nn.Linear(3, 2)
            average.load_state_dict(model.state_dict())
        update_average(average, model, decay=0.75, batch=b)
    expected = torch.stack(iterates[:4]).mean(0)  # 1 - 1/b < 0.75 for b < 4: the plain mean
    for w in iterates[4:]:
        expected = 0.75 * expected + 0.25 * w
    torch.testing.assert_close(average.weight, expected)
    assert torch.equal(average.bias, frozen)  # what a stage does not train is not averaged


def test_each_stage_trains_exactly_its_parameters():
    """Decode moves the core and the observation head only; probe moves the prediction head only."""
    rng = np.random.default_rng(0)
    model = build(RecurrentNet("gru", 12, 6).spec, seed=0)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    result = fit(model, network_stages(4, 4), periodic_pieces(4, rng), periodic_pieces(2, rng, prefix="v"),
                 Settings(sigma=0.3, batch_size=4, chunk_length=8, val_every=1, gap=0), seed=0, identity=("t",))
    decoder, probe = result.best["decode"], result.best["probe"]
    moved = lambda a, b: {k for k in a if not torch.equal(a[k], b[k])}  # noqa: E731
    assert moved(start, decoder) == {k for k in start if k.startswith(("core.", "heads.observe."))}
    assert moved(decoder, probe) == {"heads.predict.weight", "heads.predict.bias"}
    assert [r["stage"] for r in result.history] == ["decode"] * 4 + ["probe"] * 4


def test_a_reference_stage_trains_a_feedforward_net_on_clean_inputs():
    rng = np.random.default_rng(1)
    model = build(FeedForward(12, [16]).spec, seed=0)
    stage = Stage("markov_low", "predict", "next", ("core", "heads.predict"), 60, inputs="clean")
    result = fit(model, [stage], periodic_pieces(6, rng), periodic_pieces(2, rng, prefix="v"),
                 Settings(sigma=1.0, batch_size=8, chunk_length=16, val_every=20, gap=0), seed=0, identity=("ff",))
    # With clean inputs the period-3 sequence is deterministic one step ahead.
    assert result.best_val["markov_low"] < 0.05


@pytest.fixture(scope="module")
def learned():
    """A GRU trained on a period-3 chord sequence at almost no noise."""
    rng = np.random.default_rng(4)
    train, val = periodic_pieces(8, rng), periodic_pieces(3, rng, prefix="v")
    model = build(RecurrentNet("gru", 12, 16).spec, seed=0)
    result = fit(model, network_stages(120, 120), train, val,
                 Settings(sigma=0.001, batch_size=16, chunk_length=24, val_every=20, gap=0), seed=0, identity=("l",))
    return result, val


def test_loss_falls_on_a_learnable_sequence(learned):
    result, _ = learned
    for stage in ("decode", "probe"):
        rows = [r for r in result.history if r["stage"] == stage]
        assert [r["batch"] for r in rows] == list(range(20, 121, 20))
        assert rows[-1]["train_loss"] < 0.5 * rows[0]["train_loss"]
        assert result.best_val[stage] == min(r["val_loss"] for r in rows)  # the best state is kept


def test_decoding_is_almost_perfect_at_sigma_near_zero(learned):
    result, _ = learned
    assert result.best_val["decode"] < 0.02


def test_the_probe_predicts_a_periodic_sequence_far_better_than_the_marginal(learned):
    result, val = learned
    y = np.concatenate([f for files in val.values() for f in files])
    marginal = bce_reference(np.clip(y.mean(0), 1e-6, 1 - 1e-6)[None].repeat(len(y) - 1, 0), y[1:])
    assert marginal > 0.3
    assert result.best_val["probe"] < 0.25 * marginal


def test_without_validation_data_the_last_state_is_kept():
    rng = np.random.default_rng(6)
    model = build(RecurrentNet("gru", 12, 3).spec, seed=0)
    result = fit(model, network_stages(3, 2), periodic_pieces(3, rng), {},
                 Settings(sigma=0.5, batch_size=2, chunk_length=4, val_every=1, gap=0), seed=0, identity=("nv",))
    assert all(np.isnan(r["val_loss"]) for r in result.history) and len(result.history) == 5
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in result.best["probe"].items())


def test_a_stage_of_no_batches_passes_its_state_on():
    rng = np.random.default_rng(7)
    model = build(RecurrentNet("gru", 12, 3).spec, seed=0)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    result = fit(model, network_stages(0, 2), periodic_pieces(3, rng), periodic_pieces(1, rng, prefix="v"),
                 Settings(sigma=0.5, batch_size=2, chunk_length=4, val_every=1, gap=0), seed=0, identity=("z",))
    assert all(torch.equal(v, start[k]) for k, v in result.best["decode"].items())
    assert [r["stage"] for r in result.history] == ["probe", "probe"]


def test_by_hand_training_shows_a_progress_bar(capsys):
    rng = np.random.default_rng(5)
    fit(RecurrentNet("gru", 12, 3), network_stages(5, 3), periodic_pieces(3, rng), {},
        Settings(sigma=0.5, batch_size=2, chunk_length=4, val_every=2), seed=0, identity=("bar",), progress=True)
    err = capsys.readouterr().err
    assert "8/8" in err and "batch" in err


def test_an_empty_training_split_is_a_readable_error():
    with pytest.raises(StudyError, match="no chord events"):
        fit(RecurrentNet("gru", 12, 3), network_stages(1, 1), {}, {}, Settings(sigma=0.5), seed=0, identity=())


def test_packed_and_solo_training_give_the_same_networks():
    """Three networks of different noise levels and runs trained as one pack: each ends with the weights it has
    when trained alone (within float tolerance, after 240 batches) and the same best batch in each stage."""
    rng = np.random.default_rng(0)
    train, val = periodic_pieces(8, rng), periodic_pieces(3, rng, prefix="v")
    spec, stages = recurrent_spec("gru", 12, 6), network_stages(160, 80)
    cells = [(0.2, ("network", "gru", 6, 0.2, 0)), (1.0, ("network", "gru", 6, 1.0, 0)), (0.5, ("network", "gru", 6, 0.5, 1))]
    settings = [Settings(sigma=s, batch_size=8, chunk_length=16, val_every=10, gap=2, schedule="cosine",
                         final_lr_fraction=0.1, average=0.9) for s, _ in cells]  # each network averaged on its own
    packed = fit_pack(build_pack(spec, [1, 2, 3]), stages, train, val, settings, [i for _, i in cells], seed=0)

    def best_batch(result, stage):
        rows = [r for r in result.history if r["stage"] == stage]
        return min(rows, key=lambda r: r["val_loss"])["batch"]

    for k, ((_, ident), s) in enumerate(zip(cells, settings)):
        alone = fit(build(spec, k + 1), stages, train, val, s, seed=0, identity=ident)
        assert len(alone.history) == len(packed[k].history)
        for stage in ("decode", "probe"):
            for name, v in alone.best[stage].items():
                torch.testing.assert_close(packed[k].best[stage][name], v, rtol=1e-3, atol=1e-4)
            assert best_batch(packed[k], stage) == best_batch(alone, stage)
            assert packed[k].best_val[stage] == pytest.approx(alone.best_val[stage], rel=1e-5)
        # a network's training differs from its neighbours' (its own noise and batches)
        assert packed[k].best_val["decode"] != packed[(k + 1) % 3].best_val["decode"]


def test_a_pack_takes_one_setting_and_identity_per_network_differing_in_sigma_alone():
    rng = np.random.default_rng(0)
    model = build_pack(recurrent_spec("gru", 12, 3), [0, 1])
    args = (model, network_stages(2, 1), periodic_pieces(3, rng), {})
    with pytest.raises(ValueError, match="pack of 2"):
        fit_pack(*args, [Settings(sigma=0.1)], [("a",)], seed=0)
    with pytest.raises(ValueError, match="sigma alone"):
        fit_pack(*args, [Settings(sigma=0.1), Settings(sigma=0.1, lr=0.5)], [("a",), ("b",)], seed=0)
