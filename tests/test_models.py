"""The networks: shapes for both encodings, seeded initialisation, which parameters each stage trains."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bayesbach.networks.models import FeedForward, RecurrentNet, build, probabilities, set_trainable
from bayesbach.networks.training import Settings, Stage, fit, network_stages
from synthetic_data import periodic_pieces

torch.set_num_threads(1)


@pytest.mark.parametrize("arch", ["elman", "lstm", "gru"])
@pytest.mark.parametrize("units", [12, 128])  # pc12 and pitch encodings
def test_recurrent_shapes(arch, units):
    model = RecurrentNet(arch, units, hidden=5, layers=2)
    x = torch.randn(3, 7, units)
    assert model.features(x).shape == (3, 7, 5)
    for head in ("observe", "predict"):
        assert model.logits(x, head).shape == (3, 7, units)
    p = probabilities(model, x, "observe")
    assert torch.all((p > 0) & (p < 1))
    assert isinstance(model.core, {"elman": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[arch])


def test_recurrent_state_starts_at_zero_and_is_causal():
    model = RecurrentNet("gru", 12, hidden=6)
    x = torch.randn(2, 10, 12)
    full = model.features(x)
    assert torch.allclose(model.features(x[:, :4]), full[:, :4], atol=1e-6)  # the future does not leak back
    assert torch.allclose(full[0], model.features(x[:1])[0], atol=1e-6)  # lanes are independent


def test_feedforward_is_per_step_with_relu_layers():
    model = FeedForward(12, hidden=[16, 8, 4], heads=["observe"])
    assert [m.out_features for m in model.core if isinstance(m, torch.nn.Linear)] == [16, 8, 4]
    assert sum(isinstance(m, torch.nn.ReLU) for m in model.core) == 3
    x = torch.randn(2, 9, 12)
    out = model.logits(x, "observe")
    assert out.shape == (2, 9, 12)
    assert torch.allclose(model.logits(x[:, 4:5], "observe"), out[:, 4:5])  # memoryless


def test_build_from_spec_is_seeded_and_leaves_the_global_rng_alone():
    spec = RecurrentNet("lstm", 12, 7).spec
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    a, b, c = build(spec, seed=5), build(spec, seed=5), build(spec, seed=6)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())
    assert not torch.equal(a.state_dict()["heads.observe.weight"], c.state_dict()["heads.observe.weight"])
    ff = build(FeedForward(12, [3]).spec, seed=1)
    assert ff.spec == {"kind": "feedforward", "units": 12, "hidden": [3], "heads": ["predict"]}
    b.load_state_dict(a.state_dict())  # a saved state dict fits a model rebuilt from the spec


def test_set_trainable_freezes_everything_else():
    model = RecurrentNet("gru", 12, 4)
    names = set_trainable(model, ("heads.predict",))
    assert names == ["heads.predict.weight", "heads.predict.bias"]
    assert [n for n, p in model.named_parameters() if p.requires_grad] == names
    with pytest.raises(ValueError):
        set_trainable(model, ("nothing",))


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
