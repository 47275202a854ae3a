"""What a training job asks a cluster for: runtime and memory estimated from its config.

The estimate counts the floating-point work of a batch (a recurrent layer does
``gates`` matrix products of the input and the hidden state per step, forward and
twice that backward) and adds a per-step latency (a recurrent step cannot start
before the previous one ends, which is what bounds small networks on a GPU). A
pack of K networks (``train.pack``) is one network K times as wide, its weights dense
block-diagonal matrices: K^2 times the work of one network per step, for one
step's latency. The CPU rates below are fitted to ``bayesbach bench train``
(docs/performance.md, "The cost model"); the CUDA rates are assumed until measured
(docs/performance.md, "Never measured"). The cluster profile retries a job that hits a limit with
twice the time and memory.
"""

from __future__ import annotations

import math

from bayesbach.core.registry import ARCHITECTURES, ENCODINGS, REFERENCES

# Sustained throughput of a recurrent training step (flop/s; on a CPU per thread) and the latency of
# one time step (seconds, forward + backward), by device. CPU: fitted to the real step of
# `bayesbach bench train` on one thread (GRU, LSTM and Elman at 64 x 64 and 512 x 512 batches);
# SAFETY covers how far an estimate falls from the measured step (the fit and its residuals:
# docs/performance.md, "The cost model"). CUDA: an assumed, conservative figure for one data-centre
# GPU (cuDNN's fused RNN kernels) until `bayesbach bench train --device cuda` is recorded
# (docs/performance.md, "Never measured").
FLOPS = {"cpu": 3e10, "cuda": 5e12}
STEP_LATENCY_S = {"cpu": 2.5e-4, "cuda": 1.2e-4}
SAFETY = 2.0  # margin over the estimate, so that a normal job never hits the limit
STARTUP_MIN = 5  # Python, torch, data loading, evaluation
# A counted reference job's first attempt, in minutes (counted_minutes: four times more on each retry). An
# observer's smoothing search at the paper's scale is some 40 validation passes, whose time grows with the
# order, the noise and the states the real corpus gives, known only once it is counted (the passes measured
# on a corpus of the paper's size: docs/performance.md, "Ideal observers"). A retry resumes the search
# (references.smoothing.SearchProgress), so the attempts add up.
COUNTED_MINUTES = 60


def batch_flops(arch: str, hidden: int, units: int, batch_size: int, chunk_length: int, layers: int = 1) -> float:
    """Floating-point operations of one training batch (forward and backward)."""
    step = 0.0
    for layer in range(layers):
        n_in = units if layer == 0 else hidden
        step += 2 * ARCHITECTURES[arch].gates * hidden * (n_in + hidden)
    step += 2 * 2 * hidden * units  # the two readout heads
    return 3.0 * step * batch_size * chunk_length


def train_minutes(arch: str, hidden: int, units: int, batch_size: int, chunk_length: int, batches: int,
                  device: str = "cuda", layers: int = 1, threads: int = 1, pack: int = 1) -> float:
    """Estimated wall-clock minutes of ``batches`` training batches (validation included) of a pack of
    ``pack`` networks, without margin."""
    rate = FLOPS[device] * (threads if device == "cpu" else 1)
    per_batch = batch_flops(arch, pack * hidden, pack * units, batch_size, chunk_length, layers) / rate
    per_batch += STEP_LATENCY_S[device] * chunk_length * layers
    return batches * per_batch * 1.05 / 60  # validation costs at most 5 % at the study's cadence


def train_job(arch: str, hidden: int, units: int, batch_size: int, chunk_length: int, batches: int, device: str,
              layers: int = 1, threads: int = 1, attempt: int = 1, pack: int = 1) -> dict[str, int]:
    """``runtime`` (minutes) and ``mem_mb`` for a training job of ``pack`` networks, doubled on every retry."""
    grow = 2 ** (attempt - 1)
    minutes = train_minutes(arch, hidden, units, batch_size, chunk_length, batches, device, layers, threads, pack)
    runtime = STARTUP_MIN + SAFETY * minutes
    # Host memory: Python, torch and a CUDA context (~3 GB), the corpus as float32
    # arrays (<= 1 GB), and on the CPU the activations kept for the backward pass.
    activations = 4 * batch_size * (chunk_length + 1) * pack * hidden * (ARCHITECTURES[arch].gates + 2) * layers * 2
    mem = 4000 + (activations / 2**20 if device == "cpu" else 0)
    return {"runtime": int(math.ceil(runtime * grow)), "mem_mb": int(math.ceil(mem * grow / 100) * 100)}


def counted_minutes(attempt: int = 1) -> int:
    """Runtime (minutes) of a counted reference job: ``COUNTED_MINUTES``, four times more on every retry (with the
    cluster profile's two retries: 60, 240 and 960 minutes, 21 hours in all)."""
    return COUNTED_MINUTES * 4 ** (attempt - 1)


def study_hours(config: dict, device: str = "cuda") -> dict[str, float]:
    """Estimated device-hours of a validated study config: its networks (in the packs of ``train.pack``), each
    trained reference the estimate counts (``registry.JobSize.estimated``) by name, and their total.

    The feed-forward references are left out: a batch of theirs costs a
    fraction of a recurrent one's and has no step-by-step latency.
    """
    from bayesbach.core.packing import packs

    sweep, train, refs = config["sweep"], config["train"], config["references"]
    units = ENCODINGS[train["encoding"]]
    geometry = dict(units=units, batch_size=train["batch_size"], chunk_length=train["chunk_length"], device=device,
                    layers=train["layers"], threads=train["threads"])
    networks = sum(
        train_minutes(p.arch, p.hidden, batches=train["decode_batches"] + train["probe_batches"], pack=len(p.cells),
                      **geometry)
        for p in packs(sweep, train.get("pack", 1), device)
    )
    references = {}
    for name in refs["models"]:
        ref = REFERENCES[name]
        if ref.job is not None and ref.job.estimated:
            arch, hidden, batches = ref.job.of(refs)
            jobs = 1 if ref.sigma_free else len(sweep["noise"])
            references[name] = jobs * train_minutes(arch, hidden, batches=batches, **{**geometry, "layers": 1})
    total = networks + sum(references.values())
    return {"networks": networks / 60, **{name: m / 60 for name, m in references.items()}, "total": total / 60}
