"""The networks (bayesbach.networks.models): shapes for both encodings, seeded initialisation, freezing, loading."""

from __future__ import annotations

import pytest
import torch

from bayesbach.networks.models import (FeedForward, NotTrained, RecurrentNet, build, build_pack, load_member, load_network,
                                       member_state, probabilities, recurrent_spec, set_trainable)

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


def test_load_network_reads_a_trained_folder_on_the_cpu_in_eval_mode(tmp_path):
    import json

    from bayesbach.core.atomic import write_torch

    model = build(RecurrentNet("lstm", 12, 3).spec, seed=4)
    write_torch(tmp_path / "probe.pt", model.state_dict())
    (tmp_path / "meta.json").write_text(json.dumps({"model": model.spec, "run": 2}))
    loaded, meta = load_network(tmp_path, "probe")
    assert meta["run"] == 2 and not loaded.training
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in loaded.state_dict().items())
    with pytest.raises(NotTrained, match=r"holds no trained network \(decoder.pt missing\)"):
        load_network(tmp_path, "decoder")


def test_unknown_architectures_and_kinds_are_named():
    with pytest.raises(ValueError, match="unknown architecture 'transformer'"):
        RecurrentNet("transformer", 12, 4)
    with pytest.raises(ValueError, match="unknown model kind 'tree'"):
        build({"kind": "tree"})


@pytest.mark.parametrize("arch", ["elman", "lstm", "gru"])
def test_a_pack_computes_what_its_networks_compute_alone(arch):
    """Network k of a pack reads its own block of the input, starts from build(spec, seed_k)'s weights, and its
    outputs match that network's alone (the zero blocks add exact zeros; only the summation order differs)."""
    spec = recurrent_spec(arch, 12, 5, layers=2)
    seeds = [3, 1, 4]
    pack = build_pack(spec, seeds)
    assert pack.pack == 3 and pack.spec == spec
    x = torch.rand(2, 9, 3 * 12)
    for head in ("observe", "predict"):
        out = pack.logits(x, head)
        assert out.shape == (2, 9, 3 * 12)
        for k, seed in enumerate(seeds):
            alone = build(spec, seed)
            state = member_state(pack, k)
            assert all(torch.equal(state[n], v) for n, v in alone.state_dict().items())
            torch.testing.assert_close(out[..., 12 * k:12 * (k + 1)], alone.logits(x[..., 12 * k:12 * (k + 1)], head),
                                       rtol=0, atol=1e-6)


def test_a_pack_keeps_its_networks_apart_under_training():
    pack = build_pack(recurrent_spec("gru", 4, 3), [0, 1])
    zero = {n: (p == 0) for n, p in pack.named_parameters()}
    pack.logits(torch.rand(2, 5, 8), "observe").square().sum().backward()
    trained = [(n, p) for n, p in pack.named_parameters() if p.grad is not None]
    assert any(p.grad[zero[n]].any() for n, p in trained)  # backward alone reaches across networks
    pack.mask_gradients()
    for name, p in trained:
        assert not p.grad[zero[name]].any(), name  # no gradient across networks after masking
    # a network's state goes in and out of its block alone
    other = build(recurrent_spec("gru", 4, 3), 7).state_dict()
    before = member_state(pack, 0)
    load_member(pack, 1, other)
    assert all(torch.equal(member_state(pack, 1)[n], other[n]) for n in other)
    assert all(torch.equal(member_state(pack, 0)[n], before[n]) for n in before)
    with pytest.raises(ValueError, match="recurrent"):
        build_pack(FeedForward(4, [3]).spec, [0, 1])


def test_an_architecture_added_to_the_registry_builds_with_its_core_options_and_packs(monkeypatch):
    """The toy of tests/toys.py: PyTorch's RNN with ReLU, from its registry entry alone."""
    import toys

    toys.patch_architecture(monkeypatch)
    model = RecurrentNet(toys.ARCH, 12, hidden=5)
    assert isinstance(model.core, torch.nn.RNN) and model.core.nonlinearity == "relu"
    spec = recurrent_spec(toys.ARCH, 12, 5)
    pack, alone = build_pack(spec, [3, 1]), build(spec, 1)
    x = torch.rand(2, 9, 2 * 12)
    torch.testing.assert_close(pack.logits(x, "predict")[..., 12:], alone.logits(x[..., 12:], "predict"), rtol=0, atol=1e-6)
