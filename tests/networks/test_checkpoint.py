"""Checkpoints (bayesbach.networks.checkpoint): a killed job resumes bit-identically, a checkpoint of another
configuration is ignored, and the fingerprint ignores only what changes no result."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import torch

from bayesbach.core import schemas
from bayesbach.dev.synthetic import write_dataset
from bayesbach.networks.checkpoint import fingerprint
from bayesbach.networks.training_job import train_network, train_pack
from bayesbach.networks.training import Settings, network_stages

torch.set_num_threads(1)
REPO = Path(__file__).resolve().parents[2]
TRAIN = {"lr": 0.02, "batch_size": 8, "chunk_length": 16, "decode_batches": 30, "probe_batches": 20, "val_every": 10,
         "checkpoint_every": 10, "log_seconds": 0.0, "encoding": "pc12", "layers": 1,
         "schedule": "cosine", "final_lr_fraction": 0.1, "average": 0.9}  # resumes carry the schedule and average


def test_the_fingerprint_changes_with_what_the_results_depend_on_only():
    spec = {"kind": "recurrent", "arch": "gru", "units": 12, "hidden": 4, "layers": 1}
    stages, settings, ident = network_stages(5, 3), [Settings(sigma=0.5, batch_size=4)], [("network", "gru", 4, 0.5, 0)]
    key = fingerprint(stages, settings, 0, ident, spec)
    same = [Settings(sigma=0.5, batch_size=4, checkpoint_every=7, log_seconds=1.0)]
    other = [Settings(sigma=0.6, batch_size=4), Settings(sigma=0.5, batch_size=5), Settings(sigma=0.5, batch_size=4, lr=0.1)]
    assert all(fingerprint(stages, [s], 0, ident, spec) == key for s in same)
    assert all(fingerprint(stages, [s], 0, ident, spec) != key for s in other)
    assert fingerprint(network_stages(5, 4), settings, 0, ident, spec) != key
    assert fingerprint(stages, settings, 1, ident, spec) != key
    assert fingerprint(stages, settings, 0, [("network", "gru", 4, 0.5, 1)], spec) != key
    assert fingerprint(stages, settings, 0, ident, {**spec, "hidden": 5}) != key
    # a pack is another run than any of its networks alone
    pair = [("network", "gru", 4, 0.5, 0), ("network", "gru", 4, 0.5, 1)]
    assert fingerprint(stages, settings * 2, 0, pair, spec) not in (key, fingerprint(stages, settings, 0, pair[1:], spec))


class Interrupted(Exception):
    pass


def interrupt_after(monkeypatch, batches: int) -> None:
    """Make the training loop fail in its ``batches + 1``-th Adam step, as a killed job would stop."""
    from bayesbach.networks import training

    real, calls = training.optimise, []

    def optimise(*args):
        calls.append(1)
        if len(calls) > batches:
            raise Interrupted
        return real(*args)

    monkeypatch.setattr(training, "optimise", optimise)


def test_an_interrupted_job_resumes_from_its_checkpoint_bit_identically(tmp_path: Path, monkeypatch, caplog):
    data = write_dataset(tmp_path / "dataset", {"train": 3, "validation": 1, "test": 1})
    train = dict(TRAIN, decode_batches=6, probe_batches=4, val_every=2, checkpoint_every=2)
    job = dict(arch="gru", hidden=3, noise=0.5, run=0, seed=0, train=train)
    train_network(data, tmp_path / "whole", **job)
    with monkeypatch.context() as m:
        interrupt_after(m, 9)  # 6 decode batches, then the probe's checkpoint at its batch 2, then stopped in batch 4
        try:
            train_network(data, tmp_path / "cell", **job)
        except Interrupted:
            pass
    saved = torch.load(tmp_path / "cell/checkpoint.pt", weights_only=True)
    assert (saved["stage"], saved["batch"]) == (1, 2) and saved["best_val"][0].keys() == {"decode"}
    assert not (tmp_path / "cell/meta.json").exists()
    with caplog.at_level("INFO"):
        train_network(data, tmp_path / "cell", **job)
    assert "resumed from" in caplog.text
    for f in ("decoder.pt", "probe.pt", "history.parquet"):
        assert (tmp_path / "whole" / f).read_bytes() == (tmp_path / "cell" / f).read_bytes(), f
    assert not (tmp_path / "cell/checkpoint.pt").exists()


def test_an_interrupted_pack_resumes_from_its_checkpoint_bit_identically(tmp_path: Path, monkeypatch, caplog):
    data = write_dataset(tmp_path / "dataset", {"train": 3, "validation": 1, "test": 1})
    train = dict(TRAIN, decode_batches=6, probe_batches=4, val_every=2, checkpoint_every=2)
    job = dict(arch="lstm", hidden=3, cells=[(0.5, 0), (1.0, 0), (0.5, 1)], seed=0, train=train)
    whole, pack = [tmp_path / f"whole{k}" for k in range(3)], [tmp_path / f"pack{k}" for k in range(3)]
    train_pack(data, whole, **job)
    with monkeypatch.context() as m:
        interrupt_after(m, 7)  # stopped in the probe's batch 2; the last checkpoint was decode's batch 4
        try:
            train_pack(data, pack, **job)
        except Interrupted:
            pass
    saved = torch.load(pack[0] / "checkpoint.pt", weights_only=True)  # beside the first network's files
    assert (saved["stage"], saved["batch"]) == (0, 4) and len(saved["rng"]) == 3
    assert not any((p / "meta.json").exists() for p in pack)
    with caplog.at_level("INFO"):
        train_pack(data, pack, **job)
    assert "resumed from" in caplog.text
    for a, b in zip(whole, pack):
        for f in ("decoder.pt", "probe.pt", "history.parquet"):
            assert (a / f).read_bytes() == (b / f).read_bytes(), (b, f)
    assert not (pack[0] / "checkpoint.pt").exists()


def test_a_checkpoint_of_another_configuration_is_ignored(tmp_path: Path, monkeypatch, caplog):
    data = write_dataset(tmp_path / "dataset", {"train": 3, "validation": 1, "test": 1})
    out = tmp_path / "cell"
    train = dict(TRAIN, decode_batches=4, probe_batches=2, val_every=2, checkpoint_every=2)
    train_network(data, out, arch="gru", hidden=3, noise=0.5, run=0, seed=0, train=train)
    reference = (out / "decoder.pt").read_bytes()
    # A real checkpoint of a job with another budget, left in the same folder, must not leak into this one.
    (out / "decoder.pt").unlink()
    with monkeypatch.context() as m:
        interrupt_after(m, 5)
        try:
            train_network(data, out, arch="gru", hidden=3, noise=0.5, run=0, seed=0, train=dict(train, decode_batches=8))
        except Interrupted:
            pass
    assert torch.load(out / "checkpoint.pt", weights_only=True)["batch"] == 4
    with caplog.at_level("WARNING"):
        train_network(data, out, arch="gru", hidden=3, noise=0.5, run=0, seed=0, train=train)
    assert "another configuration" in caplog.text
    assert (out / "decoder.pt").read_bytes() == reference
    assert not (out / "checkpoint.pt").exists()


def _train_cli(data: Path, out: Path, config: Path, log: Path) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    args = [sys.executable, "-m", "bayesbach.cli", "train", "--arch", "gru", "--hidden", "8", "--noise", "0.4",
            "--run", "0", "--dataset", str(data), "--out", str(out), "--config", str(config),
            "--schema", str(REPO / "workflow/schemas/config.schema.yaml"), "--no-progress", "--device", "cpu"]
    with open(log, "a") as f:  # a file, not a pipe: nobody reads a pipe while the job runs
        return subprocess.Popen(args, env=env, stdout=f, stderr=subprocess.STDOUT)


def test_a_job_killed_with_sigkill_resumes_bit_identically(tmp_path: Path):
    """Slow (tests/conftest.py): three training subprocesses."""
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
