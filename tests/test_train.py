"""The trainer on tiny synthetic corpora: sampling, learning, CRN noise, evaluation, determinism, resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from bayesbach.core import schemas
from bayesbach.networks.scoring import Padded, errors_table, score_pieces, piece_bce
from bayesbach.networks.models import RecurrentNet, build
from bayesbach.dataset.noise import crn_eps, crn_inputs, crn_noisy
from bayesbach.networks.training import Sampler, Settings, fit, network_stages, resolve_device, train_network
from synthetic_data import periodic_pieces, write_dataset

torch.set_num_threads(1)
REPO = Path(__file__).resolve().parents[1]
TRAIN = {"lr": 0.02, "batch_size": 8, "chunk_length": 16, "decode_batches": 30, "probe_batches": 20, "val_every": 10,
         "checkpoint_every": 10, "log_seconds": 0.0, "encoding": "pc12", "layers": 1}


def bce_reference(p: np.ndarray, y: np.ndarray) -> float:
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


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


def test_crn_noise_is_one_draw_per_piece_scaled_by_sigma():
    y = periodic_pieces(3, np.random.default_rng(0))
    eps = {p: crn_eps(7, p, a.shape) for p, a in y.items()}
    assert all(e.dtype == np.float32 for e in eps.values())
    assert np.array_equal(crn_eps(7, "p0", y["p0"].shape), eps["p0"])  # a function of (seed, piece) alone
    assert not np.allclose(eps["p0"][:5], eps["p1"][:5])
    assert not np.allclose(crn_eps(8, "p0", y["p0"].shape), eps["p0"])
    low, high = crn_inputs(y, 0.2, 7), crn_inputs(y, 1.6, 7)
    for p in y:
        np.testing.assert_allclose((high[p] - y[p]) / 1.6, (low[p] - y[p]) / 0.2, atol=1e-5)
        np.testing.assert_allclose(crn_noisy(y[p], 0.5, 7, p), y[p] + 0.5 * eps[p], atol=1e-6)
    all_eps = np.concatenate(list(eps.values())).ravel()
    assert abs(all_eps.mean()) < 0.1 and abs(all_eps.std() - 1) < 0.1


def test_every_model_sees_the_same_evaluation_noise():
    y = periodic_pieces(3, np.random.default_rng(0))
    seen = []

    class Spy(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def logits(self, x, head):
            seen.append(x.clone())
            return self.inner.logits(x, head)

    for arch, hidden in [("gru", 4), ("lstm", 9)]:
        score_pieces(Spy(RecurrentNet(arch, 12, hidden)), y, 0.8, seed=3, tasks=["decode"])
    assert torch.equal(seen[0], seen[1])


def test_padded_per_piece_bce_matches_a_piece_by_piece_reference():
    """Padding and masking change nothing: each piece scored alone with numpy gives the same BCE."""
    y = periodic_pieces(4, np.random.default_rng(2), lo=5, hi=30)
    model = build(RecurrentNet("gru", 12, 5).spec, seed=0)
    got = score_pieces(model, y, 0.7, seed=11)
    for piece, clean in y.items():
        x = torch.from_numpy(crn_noisy(clean, 0.7, 11, piece))[None]
        with torch.no_grad():
            p_obs = torch.sigmoid(model.logits(x, "observe"))[0].double().numpy()
            p_pred = torch.sigmoid(model.logits(x, "predict"))[0].double().numpy()
        assert got["decode"][piece] == pytest.approx(bce_reference(p_obs, clean), rel=1e-5)
        assert got["predict"][piece] == pytest.approx(bce_reference(p_pred[:-1], clean[1:]), rel=1e-5)
    table = errors_table(got, "gru", "gru", 5, 0.7, 0)
    assert table.schema == schemas.ERRORS and table.num_rows == 8
    assert set(table.column("task").to_pylist()) == {"decode", "predict"}


def test_clean_inputs_ignore_sigma():
    y = periodic_pieces(2, np.random.default_rng(3))
    padded = Padded.build(y, 0, "cpu")
    model = RecurrentNet("gru", 12, 3)
    a = piece_bce(model, padded, "predict", "next", 0.1, inputs="clean")
    b = piece_bce(model, padded, "predict", "next", 5.0, inputs="clean")
    assert torch.equal(a, b)


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
        assert rows[-1]["train_loss"] < 0.5 * rows[0]["train_loss"]
        assert result.best_val[stage] == min(r["val_loss"] for r in rows)  # the best state is kept


def test_decoding_is_almost_perfect_at_sigma_near_zero(learned):
    result, _ = learned
    assert result.best_val["decode"] < 0.02


def test_the_probe_predicts_a_periodic_sequence_far_better_than_the_marginal(learned):
    result, val = learned
    y = np.concatenate(list(val.values()))
    marginal = bce_reference(np.clip(y.mean(0), 1e-6, 1 - 1e-6)[None].repeat(len(y) - 1, 0), y[1:])
    assert marginal > 0.3
    assert result.best_val["probe"] < 0.25 * marginal


def test_a_training_job_is_deterministic_on_cpu(tmp_path: Path):
    data = write_dataset(tmp_path / "dataset", {"train": 4, "validation": 2, "test": 1})
    train = dict(TRAIN, decode_batches=6, probe_batches=4, val_every=3)
    for name in ("a", "b"):
        train_network(data, tmp_path / name, arch="lstm", hidden=4, noise=0.5, run=1, seed=3, train=train)
    for f in ("decoder.pt", "probe.pt", "history.parquet"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    train_network(data, tmp_path / "c", arch="lstm", hidden=4, noise=0.5, run=2, seed=3, train=train)
    assert (tmp_path / "a/decoder.pt").read_bytes() != (tmp_path / "c/decoder.pt").read_bytes()  # another run
    meta = json.loads((tmp_path / "a/meta.json").read_text())
    assert not (tmp_path / "a/checkpoint.pt").exists()  # removed after success
    model = build(meta["model"])
    model.load_state_dict(torch.load(tmp_path / "a/probe.pt", weights_only=True))


def _train_cli(data: Path, out: Path, config: Path, log: Path) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    args = [sys.executable, "-m", "bayesbach.cli", "train", "--arch", "gru", "--hidden", "8", "--noise", "0.4",
            "--run", "0", "--dataset", str(data), "--out", str(out), "--config", str(config),
            "--schema", str(REPO / "workflow/schemas/config.schema.yaml"), "--no-progress", "--device", "cpu"]
    with open(log, "a") as f:  # a file, not a pipe: nobody reads a pipe while the job runs
        return subprocess.Popen(args, env=env, stdout=f, stderr=subprocess.STDOUT)


@pytest.mark.slow
def test_a_job_killed_with_sigkill_resumes_bit_identically(tmp_path: Path):
    data = write_dataset(tmp_path / "dataset", {"train": 4, "validation": 2, "test": 1})
    train = dict(TRAIN, decode_batches=400, probe_batches=200, val_every=25, checkpoint_every=25, threads=1)
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({"seed": 5, "train": train}))  # JSON is YAML
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    log = tmp_path / "log"
    assert _train_cli(data, whole, config, log).wait(timeout=300) == 0, log.read_text()

    proc = _train_cli(data, killed, config, log)
    checkpoint = killed / "checkpoint.pt"
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)  # let it run past the first checkpoint
    assert proc.poll() is None, "the job finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert checkpoint.exists() and not (killed / "meta.json").exists()
    saved = torch.load(checkpoint, weights_only=True)
    assert 0 < saved["stage"] * 400 + saved["batch"] < 600

    log.write_text("")
    assert _train_cli(data, killed, config, log).wait(timeout=300) == 0, log.read_text()
    assert "resumed from" in log.read_text()
    for f in ("decoder.pt", "probe.pt", "history.parquet"):
        assert (whole / f).read_bytes() == (killed / f).read_bytes(), f
    history = pq.read_table(killed / "history.parquet")
    assert history.schema == schemas.HISTORY and history.num_rows == 400 // 25 + 200 // 25
    assert not checkpoint.exists()


def test_a_checkpoint_of_another_configuration_is_ignored(tmp_path: Path, caplog):
    data = write_dataset(tmp_path / "dataset", {"train": 3, "validation": 1, "test": 1})
    out = tmp_path / "cell"
    train = dict(TRAIN, decode_batches=4, probe_batches=2, val_every=2, checkpoint_every=2)
    train_network(data, out, arch="gru", hidden=3, noise=0.5, run=0, seed=0, train=train)
    reference = (out / "decoder.pt").read_bytes()
    # A stale checkpoint from a job with another budget must not leak into this one.
    stale = tmp_path / "stale"
    train_network(data, stale, arch="gru", hidden=3, noise=0.5, run=0, seed=0, train=dict(train, decode_batches=8))
    import shutil

    from bayesbach.networks.training import save_state
    save_state(out / "checkpoint.pt", {"fingerprint": "another job", "stage": 1, "batch": 1})
    (out / "decoder.pt").unlink()
    with caplog.at_level("WARNING"):
        train_network(data, out, arch="gru", hidden=3, noise=0.5, run=0, seed=0, train=train)
    assert "another configuration" in caplog.text
    assert (out / "decoder.pt").read_bytes() == reference
    shutil.rmtree(stale)


def test_asking_for_cuda_without_a_gpu_is_a_readable_error():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    from bayesbach.core.exceptions import StudyError

    with pytest.raises(StudyError, match="no CUDA"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_training_on_cuda_matches_the_cpu_run_closely(tmp_path: Path):
    data = write_dataset(tmp_path / "dataset", {"train": 4, "validation": 2, "test": 1})
    train = dict(TRAIN, decode_batches=6, probe_batches=4, val_every=3)
    meta = {d: train_network(data, tmp_path / d, arch="gru", hidden=4, noise=0.5, run=0, seed=0, train=train, device=d)
            for d in ("cpu", "cuda")}
    assert meta["cuda"]["device"].startswith("cuda")
    state = torch.load(tmp_path / "cuda/decoder.pt", weights_only=True)
    assert all(v.device.type == "cpu" for v in state.values())


def test_the_pitch_encoding_trains_a_128_unit_model(tmp_path: Path):
    data = write_dataset(tmp_path / "dataset", {"train": 3, "validation": 1, "test": 1})
    meta = train_network(data, tmp_path / "cell", arch="elman", hidden=3, noise=0.2, run=0, seed=0,
                         train=dict(TRAIN, encoding="pitch", decode_batches=2, probe_batches=2, val_every=1))
    assert meta["model"]["units"] == 128 and meta["encoding"] == "pitch"
    state = torch.load(tmp_path / "cell/probe.pt", weights_only=True)
    assert state["heads.predict.weight"].shape == (128, 3)


def test_by_hand_training_shows_a_progress_bar(capsys):
    rng = np.random.default_rng(5)
    fit(RecurrentNet("gru", 12, 3), network_stages(5, 3), periodic_pieces(3, rng), {},
        Settings(sigma=0.5, batch_size=2, chunk_length=4, val_every=2), seed=0, identity=("bar",), progress=True)
    err = capsys.readouterr().err
    assert "8/8" in err and "batch" in err


def test_an_empty_training_split_is_a_readable_error():
    from bayesbach.core.exceptions import StudyError

    with pytest.raises(StudyError, match="no chord events"):
        fit(RecurrentNet("gru", 12, 3), network_stages(1, 1), {}, {}, Settings(sigma=0.5), seed=0, identity=())
