"""One training job (bayesbach.networks.training_job): the files it writes, determinism on CPU, the device it runs on,
and the same job on CUDA against CPU."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from bayesbach.core import schemas
from bayesbach.core.seeds import derive_seed
from bayesbach.dev.synthetic import write_dataset
from bayesbach.networks.training_job import DeviceError, resolve_device, train_network, train_pack
from bayesbach.networks.models import build

torch.set_num_threads(1)
TRAIN = {"lr": 0.02, "batch_size": 8, "chunk_length": 16, "decode_batches": 30, "probe_batches": 20, "val_every": 10,
         "checkpoint_every": 10, "log_seconds": 0.0, "encoding": "pc12", "layers": 1}


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
    assert (meta["arch"], meta["hidden"], meta["noise"], meta["run"], meta["seed"], meta["device"]) == (
        "lstm", 4, 0.5, 1, 3, "cpu")
    assert not (tmp_path / "a/checkpoint.pt").exists()  # removed after success
    history = pq.read_table(tmp_path / "a/history.parquet")
    assert history.schema == schemas.HISTORY
    assert [(r["stage"], r["batch"]) for r in history.to_pylist()] == [("decode", 3), ("decode", 6), ("probe", 3), ("probe", 4)]
    model = build(meta["model"])
    model.load_state_dict(torch.load(tmp_path / "a/probe.pt", weights_only=True))


def test_asking_for_cuda_without_a_gpu_is_a_readable_error():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(DeviceError, match="no CUDA"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu" and resolve_device("cpu").type == "cpu"


@contextmanager
def ieee_float32():
    """cuDNN (convolutions and RNNs) and cuBLAS in IEEE float32 instead of TF32, restored afterwards."""
    flags = [torch.backends.cudnn.conv, torch.backends.cudnn.rnn, torch.backends.cuda.matmul]
    saved = [f.fp32_precision for f in flags]
    try:
        for f in flags:
            f.fp32_precision = "ieee"
        yield
    finally:
        for f, value in zip(flags, saved):
            f.fp32_precision = value


def test_ieee_float32_switches_tf32_off_and_back():
    flags = [torch.backends.cudnn.conv, torch.backends.cudnn.rnn, torch.backends.cuda.matmul]
    before = [f.fp32_precision for f in flags], torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    with ieee_float32():
        assert [f.fp32_precision for f in flags] == ["ieee"] * 3
    assert ([f.fp32_precision for f in flags], torch.backends.cudnn.allow_tf32,
            torch.backends.cuda.matmul.allow_tf32) == before  # the legacy flags read as before, without complaint


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_training_on_cuda_matches_the_cpu_run_closely(tmp_path: Path):
    """The same job on both devices. One training composition and sigma = 0 make the batches and their
    noise independent of the random streams (a CUDA generator draws other numbers than a CPU one), so
    the runs differ only by floating-point arithmetic: their weights and validation losses must agree.
    TF32 is switched off (cuDNN runs its RNNs in TF32 by default) so that the GPU computes in IEEE float32
    like the CPU."""
    data = write_dataset(tmp_path / "dataset", {"train": 1, "validation": 2, "test": 1})
    train = dict(TRAIN, decode_batches=12, probe_batches=8, val_every=4)
    with ieee_float32():
        meta = {d: train_network(data, tmp_path / d, arch="gru", hidden=6, noise=0.0, run=0, seed=0, train=train,
                                 device=d) for d in ("cpu", "cuda")}
    assert meta["cpu"]["device"] == "cpu" and meta["cuda"]["device"].startswith("cuda")

    histories = {d: pq.read_table(tmp_path / d / "history.parquet").to_pylist() for d in meta}
    assert [(r["stage"], r["batch"]) for r in histories["cpu"]] == [(r["stage"], r["batch"]) for r in histories["cuda"]]
    np.testing.assert_allclose([r["val_loss"] for r in histories["cuda"]], [r["val_loss"] for r in histories["cpu"]],
                               rtol=1e-3, atol=1e-5)
    for stage in ("decode", "probe"):
        assert meta["cuda"]["best_val"][stage] == pytest.approx(meta["cpu"]["best_val"][stage], rel=1e-3, abs=1e-5)

    initial = build(meta["cpu"]["model"], seed=derive_seed(0, "init", "network", "gru", 6, 0.0, 0)).state_dict()
    for f in ("decoder.pt", "probe.pt"):
        cpu, cuda = (torch.load(tmp_path / d / f, weights_only=True) for d in ("cpu", "cuda"))
        assert all(v.device.type == "cpu" for v in cuda.values())  # saved for any machine to load
        assert cpu.keys() == cuda.keys()
        for k in cpu:
            torch.testing.assert_close(cuda[k], cpu[k], rtol=1e-3, atol=2e-3, msg=f"{f} {k}")
    moved = max(float((v - initial[k]).abs().max()) for k, v in cpu.items())
    assert moved > 0.05  # the runs trained: the comparison is not between two copies of the initial weights


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_pack_on_cuda_matches_its_networks_trained_alone_on_the_cpu(tmp_path: Path):
    """Two runs (sigma = 0, one training composition: no random numbers reach the batches) packed on the GPU
    against each trained alone on the CPU; the job itself puts the GPU in IEEE float32."""
    data = write_dataset(tmp_path / "dataset", {"train": 1, "validation": 2, "test": 1})
    train = dict(TRAIN, decode_batches=12, probe_batches=8, val_every=4)
    cells = [(0.0, 0), (0.0, 1)]
    packed = train_pack(data, [tmp_path / f"cuda{r}" for _, r in cells], arch="lstm", hidden=5, cells=cells, seed=0,
                        train=train, device="cuda")
    assert torch.backends.cudnn.rnn.fp32_precision == "ieee"
    for (noise, run), meta in zip(cells, packed):
        alone = train_network(data, tmp_path / f"cpu{run}", arch="lstm", hidden=5, noise=noise, run=run, seed=0,
                              train=train, device="cpu")
        for stage in ("decode", "probe"):
            assert meta["best_val"][stage] == pytest.approx(alone["best_val"][stage], rel=1e-3, abs=1e-5)
        for f in ("decoder.pt", "probe.pt"):
            cpu, cuda = (torch.load(tmp_path / f"{d}{run}" / f, weights_only=True) for d in ("cpu", "cuda"))
            for k in cpu:
                torch.testing.assert_close(cuda[k], cpu[k], rtol=1e-3, atol=2e-3, msg=f"run {run} {f} {k}")


def test_the_pitch_encoding_trains_a_128_unit_model(tmp_path: Path):
    data = write_dataset(tmp_path / "dataset", {"train": 3, "validation": 1, "test": 1})
    meta = train_network(data, tmp_path / "cell", arch="elman", hidden=3, noise=0.2, run=0, seed=0,
                         train=dict(TRAIN, encoding="pitch", decode_batches=2, probe_batches=2, val_every=1))
    assert meta["model"]["units"] == 128 and meta["encoding"] == "pitch"
    state = torch.load(tmp_path / "cell/probe.pt", weights_only=True)
    assert state["heads.predict.weight"].shape == (128, 3)
