"""Training batches (bayesbach.networks.batches): lanes walking through compositions, noisy inputs and targets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bayesbach.networks.batches import EmptyTraining, Sampler, batch_inputs
from bayesbach.networks.training import Stage


def test_sampler_walks_lanes_through_compositions_and_jumps_at_their_ends():
    # Each row encodes (piece, step) uniquely in binary, so every sampled row can be traced back.
    lengths = [5, 9, 3, 14]
    codes, pieces, k = {}, {}, 1
    for i, n in enumerate(lengths):
        rows = []
        for t in range(n):
            rows.append([(k >> b) & 1 for b in range(8)])
            codes[k] = (i, t)
            k += 1
        pieces[f"p{i}"] = np.array(rows, np.float32)
    g = torch.Generator().manual_seed(0)
    sampler = Sampler(pieces, batch_size=6, chunk_length=10, gap=0, device=torch.device("cpu"), generator=g)
    decode = lambda row: codes[int(sum(int(v) << b for b, v in enumerate(row)))]  # noqa: E731
    previous_last = None
    for _ in range(5):
        chunk = sampler.next_chunk()
        assert chunk.shape == (6, 11, 8)
        trace = [[decode(r) for r in lane] for lane in chunk.numpy()]
        for lane in trace:
            for (pa_, ta), (pb, tb) in zip(lane, lane[1:]):
                # either the next step of the same piece, or a jump from a piece's end to a piece's start
                assert (pb == pa_ and tb == ta + 1) or (ta == lengths[pa_] - 1 and tb == 0)
        if previous_last is not None:
            assert [lane[0] for lane in trace] == previous_last  # a lane continues where it stopped
        previous_last = [lane[-1] for lane in trace]
    assert len({lane[0][0] for lane in trace}) > 1  # lanes play different pieces


def test_sampler_separates_compositions_with_silence():
    pieces = {"a": np.ones((4, 12), np.float32), "b": np.ones((6, 12), np.float32)}
    sampler = Sampler(pieces, 3, 40, gap=2, device=torch.device("cpu"), generator=torch.Generator().manual_seed(1))
    sounding = sampler.next_chunk().sum(-1).numpy() > 0
    for lane in sounding:
        runs = np.diff(np.flatnonzero(np.diff(lane.astype(int)))) if lane.any() else []
        assert (~lane).sum() >= 2 and all(r in (2, 4, 6) for r in runs)


def test_a_sampler_restored_from_its_state_draws_the_same_chunks():
    pieces = {f"p{i}": np.random.default_rng(i).random((7 + 3 * i, 12)).astype(np.float32) for i in range(4)}
    a = Sampler(pieces, 4, 6, gap=1, device=torch.device("cpu"), generator=torch.Generator().manual_seed(2))
    a.next_chunk()
    lanes, rng = a.state_dict(), a.g.get_state()
    expected = [a.next_chunk() for _ in range(3)]
    b = Sampler(pieces, 4, 6, gap=1, device=torch.device("cpu"), generator=torch.Generator().manual_seed(99))
    b.load_state_dict(lanes)
    b.g.set_state(rng)
    assert all(torch.equal(x, b.next_chunk()) for x in expected)


def test_a_split_without_events_cannot_be_sampled():
    with pytest.raises(EmptyTraining, match="no chord events"):
        Sampler({"a": np.zeros((0, 12), np.float32)}, 2, 4, 0, torch.device("cpu"), torch.Generator())


def test_batch_inputs_add_noise_to_noisy_stages_and_pick_the_target():
    chunk = (torch.rand(3, 9, 12, generator=torch.Generator().manual_seed(0)) < 0.3).float()
    decode = Stage("decode", "observe", "current", ("core",), 1)
    probe = Stage("probe", "predict", "next", ("heads.predict",), 1)
    clean = Stage("markov_low", "predict", "next", ("core",), 1, inputs="clean")
    x, target = batch_inputs(chunk, decode, 0.5, torch.Generator().manual_seed(4))
    assert torch.equal(target, chunk[:, :-1]) and x.shape == target.shape
    noise = (x - chunk[:, :-1]) / 0.5
    assert torch.allclose(noise, torch.randn(chunk[:, :-1].shape, generator=torch.Generator().manual_seed(4)), atol=1e-5)
    x, target = batch_inputs(chunk, probe, 0.5, torch.Generator().manual_seed(4))
    assert torch.equal(target, chunk[:, 1:]) and not torch.equal(x, chunk[:, :-1])
    x, target = batch_inputs(chunk, clean, 0.5, torch.Generator().manual_seed(4))
    assert torch.equal(x, chunk[:, :-1]) and torch.equal(target, chunk[:, 1:])
    with pytest.raises(ValueError, match="unknown input kind"):
        batch_inputs(chunk, Stage("x", "predict", "next", ("core",), 1, inputs="blurred"), 0.5, torch.Generator())
