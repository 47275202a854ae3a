"""Training batches (bayesbach.networks.batches): lanes walking through compositions, noisy inputs and targets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bayesbach.networks.batches import Chunk, EmptyTraining, Sampler, batch_inputs
from bayesbach.networks.training import Stage, network_stages


def coded_pieces(lengths: list[list[int]]) -> tuple[dict, dict]:
    """Pieces of files whose rows encode (piece, file, step) uniquely in binary, and the codes."""
    codes, pieces, k = {}, {}, 1
    for i, files in enumerate(lengths):
        pieces[f"p{i}"] = []
        for f, n in enumerate(files):
            rows = []
            for t in range(n):
                rows.append([(k >> b) & 1 for b in range(8)])
                codes[k] = (i, f, t)
                k += 1
            pieces[f"p{i}"].append(np.array(rows, np.float32))
    return pieces, codes


def test_sampler_walks_lanes_through_compositions_and_jumps_at_their_ends():
    # Each row encodes (piece, step) uniquely in binary, so every sampled row can be traced back.
    lengths = [5, 9, 3, 14]
    pieces, codes = coded_pieces([[n] for n in lengths])
    g = torch.Generator().manual_seed(0)
    sampler = Sampler(pieces, batch_size=6, chunk_length=10, gap=0, device=torch.device("cpu"), generator=g)
    decode = lambda row: codes[int(sum(int(v) << b for b, v in enumerate(row)))][::2]  # noqa: E731
    previous_last = None
    for _ in range(5):
        chunk = sampler.next_chunk().y
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


def test_sampler_separates_files_with_silence():
    pieces = {"a": [np.ones((4, 12), np.float32), np.ones((3, 12), np.float32)], "b": [np.ones((6, 12), np.float32)]}
    sampler = Sampler(pieces, 3, 40, gap=2, device=torch.device("cpu"), generator=torch.Generator().manual_seed(1))
    chunk = sampler.next_chunk()
    sounding = chunk.y.sum(-1).numpy() > 0
    assert np.array_equal(sounding, chunk.music.numpy())
    for lane in sounding:
        runs = np.diff(np.flatnonzero(np.diff(lane.astype(int)))) if lane.any() else []
        assert (~lane).sum() >= 2 and all(r in (2, 3, 4, 6) for r in runs)


@pytest.mark.parametrize("gap", [0, 3])
def test_loss_weights_cover_file_steps_and_predictions_inside_a_file_only(gap):
    pieces, codes = coded_pieces([[5, 4], [9], [3, 6, 2]])
    sampler = Sampler(pieces, 5, 12, gap=gap, device=torch.device("cpu"), generator=torch.Generator().manual_seed(3))
    decode_stage = Stage("decode", "observe", "current", ("core",), 1)
    probe = Stage("probe", "predict", "next", ("heads.predict",), 1)
    for _ in range(6):
        chunk = sampler.next_chunk()
        code = lambda row: codes.get(int(sum(int(v) << b for b, v in enumerate(row))))  # noqa: E731
        trace = [[code(r) for r in lane] for lane in chunk.y.numpy()]
        _, _, w_decode = batch_inputs(chunk, decode_stage, 0.5, torch.Generator())
        _, _, w_next = batch_inputs(chunk, probe, 0.5, torch.Generator())
        for lane, wd, wn in zip(trace, w_decode.numpy(), w_next.numpy()):
            for t in range(12):
                assert wd[t] == (lane[t] is not None)  # silent gap steps carry no loss
                same_file = lane[t] is not None and lane[t + 1] is not None and lane[t + 1][:2] == lane[t][:2] \
                    and lane[t + 1][2] == lane[t][2] + 1
                assert wn[t] == same_file  # nor does a target past a file's end


def test_a_sampler_restored_from_its_state_draws_the_same_chunks():
    pieces = {f"p{i}": [np.random.default_rng(i).random((7 + 3 * i, 12)).astype(np.float32)] for i in range(4)}
    a = Sampler(pieces, 4, 6, gap=1, device=torch.device("cpu"), generator=torch.Generator().manual_seed(2))
    a.next_chunk()
    lanes, rng = a.state_dict(), a.generators[0].get_state()
    expected = [a.next_chunk() for _ in range(3)]
    b = Sampler(pieces, 4, 6, gap=1, device=torch.device("cpu"), generator=torch.Generator().manual_seed(99))
    b.load_state_dict(lanes)
    b.generators[0].set_state(rng)
    assert all(torch.equal(x.y, b.next_chunk().y) for x in expected)


def test_a_split_without_events_cannot_be_sampled():
    with pytest.raises(EmptyTraining, match="no chord events"):
        Sampler({"a": [np.zeros((0, 12), np.float32)]}, 2, 4, 0, torch.device("cpu"), torch.Generator())


def test_batch_inputs_add_noise_to_noisy_stages_and_pick_the_target():
    y = (torch.rand(3, 9, 12, generator=torch.Generator().manual_seed(0)) < 0.3).float()
    chunk = Chunk(y, torch.ones(3, 9, dtype=torch.bool), torch.ones(3, 9, dtype=torch.bool))
    decode = Stage("decode", "observe", "current", ("core",), 1)
    probe = Stage("probe", "predict", "next", ("heads.predict",), 1)
    clean = Stage("markov_low", "predict", "next", ("core",), 1, inputs="clean")
    x, target, _ = batch_inputs(chunk, decode, 0.5, torch.Generator().manual_seed(4))
    assert torch.equal(target, y[:, :-1]) and x.shape == target.shape
    noise = (x - y[:, :-1]) / 0.5
    assert torch.allclose(noise, torch.randn(y[:, :-1].shape, generator=torch.Generator().manual_seed(4)), atol=1e-5)
    x, target, _ = batch_inputs(chunk, probe, 0.5, torch.Generator().manual_seed(4))
    assert torch.equal(target, y[:, 1:]) and not torch.equal(x, y[:, :-1])
    x, target, _ = batch_inputs(chunk, clean, 0.5, torch.Generator().manual_seed(4))
    assert torch.equal(x, y[:, :-1]) and torch.equal(target, y[:, 1:])
    with pytest.raises(ValueError, match="unknown input kind"):
        batch_inputs(chunk, Stage("x", "predict", "next", ("core",), 1, inputs="blurred"), 0.5, torch.Generator())


def test_a_pack_s_lanes_and_noise_are_each_network_s_own_draws_side_by_side():
    """K generators: lane block k and its noise are bit for bit what network k's sampler alone draws; the
    streams come out side by side along the features, each at its own sigma."""
    pieces = {f"p{i}": [np.random.default_rng(i).random((9 + 4 * i, 12)).astype(np.float32)] for i in range(5)}
    cpu, seeds, sigmas = torch.device("cpu"), [5, 6, 7], [0.2, 1.0, 0.5]
    stage = network_stages(1, 1)[0]
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    pack = Sampler(pieces, 4, 6, gap=2, device=cpu, generator=gens)
    alone = [(Sampler(pieces, 4, 6, gap=2, device=cpu, generator=torch.Generator().manual_seed(s))) for s in seeds]
    for _ in range(3):
        x, target, weight = batch_inputs(pack.next_chunk(), stage, sigmas, gens)
        assert x.shape == (4, 6, 36) and weight.shape == (4, 6, 3)
        for k, (a, sigma) in enumerate(zip(alone, sigmas)):
            xa, ta, wa = batch_inputs(a.next_chunk(), stage, sigma, a.generators[0])
            assert torch.equal(x[..., 12 * k:12 * (k + 1)], xa) and torch.equal(target[..., 12 * k:12 * (k + 1)], ta)
            assert torch.equal(weight[..., k], wa)
