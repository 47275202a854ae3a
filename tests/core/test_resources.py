"""Cluster resource estimates for training jobs (bayesbach.core.resources), against numbers worked out by hand.

The rates the estimates use: CPU 3e10 flop/s per thread and 2.5e-4 s per recurrent step; CUDA 5e12 flop/s
and 1.2e-4 s per step; validation adds 5 %; a job asks for 5 min of start-up plus twice the estimate,
at least 4000 MB, both doubled on every retry.
"""

import pytest

from bayesbach.core import resources
from bayesbach.networks.models import RecurrentNet


@pytest.mark.parametrize(
    "arch,hidden,units,batch,chunk,layers,flops",
    [
        # GRU, 3 gates: 2 * 3 * 2 * (3 + 2) = 60 per step for the core, 2 * 2 * 2 * 3 = 24 for the two heads;
        # 84 forward, times 3 with the backward pass: 252
        ("gru", 2, 3, 1, 1, 1, 252),
        # LSTM, 4 gates, two layers: 2 * 4 * 3 * (2 + 3) = 120, 2 * 4 * 3 * (3 + 3) = 144, heads 2 * 2 * 3 * 2 = 24;
        # 288 per step and sample, times 3, 2 samples and 5 steps: 8640
        ("lstm", 3, 2, 2, 5, 2, 8640),
        # Elman, 1 gate: 2 * 4 * (12 + 4) = 128, heads 2 * 2 * 4 * 12 = 192; 320 * 3 = 960
        ("elman", 4, 12, 1, 1, 1, 960),
    ],
)
def test_batch_flops_by_hand(arch, hidden, units, batch, chunk, layers, flops):
    assert resources.batch_flops(arch, hidden, units, batch, chunk, layers) == flops


@pytest.mark.parametrize("arch", ["elman", "gru", "lstm"])
@pytest.mark.parametrize("hidden,layers", [(8, 1), (64, 2), (256, 1)])
def test_batch_flops_count_every_weight_matrix_twice_forward_and_six_times_in_all(arch, hidden, layers):
    # One multiply-add per weight per step and sample forward; backward costs twice that. The weights are
    # counted on the real PyTorch model, not by the formula.
    model = RecurrentNet(arch, 12, hidden, layers)
    weights = sum(p.numel() for name, p in model.named_parameters() if "weight" in name)
    assert resources.batch_flops(arch, hidden, 12, 32, 100, layers) == 3 * 2 * weights * 32 * 100


# GRU, 100 units, pc12, 64 x 100 steps per batch, 10,000 batches, on a GPU:
# a batch is 3 * (2 * 3 * 100 * 112 + 2 * 2 * 100 * 12) * 64 * 100 = 1.3824e9 flop -> 2.7648e-4 s,
# plus 100 steps * 1.2e-4 s = 0.012 s: 0.01227648 s; 10,000 batches with 5 % validation: 128.90304 s = 2.148384 min.
GPU_JOB = dict(arch="gru", hidden=100, units=12, batch_size=64, chunk_length=100, batches=10_000, device="cuda")
GPU_MINUTES = 2.148384


def test_train_minutes_of_a_gpu_job_by_hand():
    assert resources.train_minutes(**GPU_JOB) == pytest.approx(GPU_MINUTES, rel=1e-12)
    assert resources.train_minutes(**{**GPU_JOB, "batches": 20_000}) == pytest.approx(2 * GPU_MINUTES, rel=1e-12)


def test_a_gpu_job_asks_for_the_memory_floor_and_twice_the_estimate_plus_start_up():
    # runtime 5 + 2 * 2.148384 = 9.296768 -> 10 min; a GPU job keeps no activations in host memory: 4000 MB
    assert resources.train_job(**GPU_JOB) == {"runtime": 10, "mem_mb": 4000}
    # each retry doubles both: 18.59 -> 19 min, then 37.19 -> 38 min
    assert resources.train_job(**GPU_JOB, attempt=2) == {"runtime": 19, "mem_mb": 8000}
    assert resources.train_job(**GPU_JOB, attempt=3) == {"runtime": 38, "mem_mb": 16000}


def test_a_cpu_job_adds_its_activations_and_uses_its_threads():
    # GRU, 128 units, 64 x 255 steps, 100 batches on 2 threads (6e10 flop/s):
    # 3 * (2 * 3 * 128 * 140 + 2 * 2 * 128 * 12) * 64 * 255 = 5.56498944e9 flop -> 0.092749824 s, plus
    # 255 * 2.5e-4 s; 100 batches * 1.05 = 16.43248152 s = 0.273874692 min; runtime 5 + 0.548 -> 6 min.
    # Activations: 4 bytes * 64 * 256 steps * 128 * (3 + 2) * 1 layer * 2 = 80 MiB: 4080 MB -> 4100 MB.
    job = dict(arch="gru", hidden=128, units=12, batch_size=64, chunk_length=255, batches=100, device="cpu", threads=2)
    assert resources.train_minutes(**job) == pytest.approx(0.273874692, rel=1e-9)
    assert resources.train_job(**job) == {"runtime": 6, "mem_mb": 4100}
    assert resources.train_job(**job, attempt=2) == {"runtime": 12, "mem_mb": 8200}  # 11.10 -> 12; 8160 -> 8200
    assert resources.train_minutes(**{**job, "threads": 1}) > resources.train_minutes(**job)


def test_study_hours_add_up_the_cells_of_the_sweep_and_the_recurrent_reference():
    # 2 noise levels x 3 runs of the GPU job above (6,000 + 4,000 batches), and rnn_pred (the same size,
    # 10,000 batches) once per noise level.
    config = {"sweep": {"arch": ["gru"], "hidden": [100], "noise": [0.5, 1.0], "runs": 3},
              "train": {"encoding": "pc12", "batch_size": 64, "chunk_length": 100, "layers": 1, "threads": 1,
                        "decode_batches": 6000, "probe_batches": 4000},
              "references": {"models": ["global", "rnn_pred"], "rnn_arch": "gru", "rnn_hidden": 100, "batches": 10_000}}
    hours = resources.study_hours(config)
    assert hours["networks"] == pytest.approx(6 * GPU_MINUTES / 60, rel=1e-12)
    assert hours["rnn_pred"] == pytest.approx(2 * GPU_MINUTES / 60, rel=1e-12)
    assert hours["total"] == pytest.approx(8 * GPU_MINUTES / 60, rel=1e-12)
    config["references"]["models"] = ["global", "bayes"]
    assert set(resources.study_hours(config)) == {"networks", "total"}
    config["references"]["models"] = ["global", "markov_high", "rnn_pred"]  # a feed-forward one is left out
    assert resources.study_hours(config) == hours


def test_the_paper_preset_is_the_sweep_the_estimate_describes():
    from bayesbach.core.config import load_config
    from conftest import REPO

    paper = load_config([REPO / "config.yaml", REPO / "presets/paper.yaml"], REPO / "workflow/schemas/config.schema.yaml")
    sweep, train = paper["sweep"], paper["train"]
    assert (sweep["runs"], len(sweep["noise"]), sweep["hidden"], train["batch_size"]) == (5, 9, [8, 16, 32, 64, 128, 256], 512)
    assert train["pack"] == "auto"
    hours = resources.study_hours(paper)
    # Packed under auto (bayesbach.core.packing: up to 256 packed units on a GPU): 45 networks (9 noise levels
    # x 5 runs) of each size, 20,000 + 3,000 batches each, in packs of 32 (8 units: 32 + 13), 16 (16 + 16 + 13),
    # 8 (5 x 8 + 5), 4 (11 x 4 + 1), 2 (22 x 2 + 1) and 1 (256 units: 45 jobs).
    sizes = {8: [32, 13], 16: [16, 16, 13], 32: [8] * 5 + [5], 64: [4] * 11 + [1], 128: [2] * 22 + [1], 256: [1] * 45}
    packed = sum(resources.train_minutes("gru", h, 12, 512, 512, 23000, "cuda", pack=k) for h, ks in sizes.items() for k in ks)
    assert hours["networks"] == pytest.approx(packed / 60)
    alone = {h: resources.train_minutes("gru", h, 12, 512, 512, 23000, "cuda") for h in sweep["hidden"]}
    assert hours["networks"] < 45 * sum(alone.values()) / 60
    assert hours["total"] == pytest.approx(hours["networks"] + hours["rnn_pred"])


def test_a_pack_costs_one_network_as_wide_with_one_step_latency():
    # Four GRUs of 100 units packed: one GRU of 400 units reading 48 inputs, block-diagonal but dense.
    assert resources.batch_flops("gru", 400, 48, 64, 100) == 3 * (2 * 3 * 400 * 448 + 2 * 2 * 400 * 48) * 64 * 100
    flops = resources.batch_flops("gru", 400, 48, 64, 100)
    minutes = 10_000 * (flops / 5e12 + 100 * 1.2e-4) * 1.05 / 60
    assert resources.train_minutes(**GPU_JOB, pack=4) == pytest.approx(minutes, rel=1e-12)
    assert resources.train_minutes(**GPU_JOB, pack=4) < 4 * GPU_MINUTES


def test_estimates_grow_with_size_geometry_and_budget():
    base = dict(arch="gru", hidden=64, units=12, batch_size=64, chunk_length=256, batches=1000, device="cuda")
    t0 = resources.train_minutes(**base)
    assert resources.train_minutes(**{**base, "hidden": 256}) > t0
    assert resources.train_minutes(**{**base, "batch_size": 512}) > t0
    assert resources.train_minutes(**{**base, "layers": 2}) > t0
    assert resources.train_minutes(**{**base, "arch": "lstm"}) > t0 > resources.train_minutes(**{**base, "arch": "elman"})
    assert resources.train_minutes(**{**base, "device": "cpu"}) > t0
    assert resources.train_minutes(**{**base, "device": "cpu", "threads": 4}) < resources.train_minutes(**{**base, "device": "cpu"})


def test_a_counted_reference_job_asks_for_an_hour_and_four_times_more_on_every_retry():
    # its smoothing search resumes on a retry, so the profile's three attempts add up to 21 hours
    assert [resources.counted_minutes(a) for a in (1, 2, 3)] == [60, 240, 960]


def test_an_architecture_and_a_recurrent_reference_added_to_the_registry_are_sized_from_their_entries(monkeypatch):
    """The toys of tests/toys.py: the cost model reads the architecture's gates, and the estimate the second
    recurrent reference's job size (rnn_arch, rnn_hidden, batches) as it reads rnn_pred's."""
    import toys

    toys.patch_architecture(monkeypatch)
    toys.patch_references(monkeypatch)
    job = dict(hidden=128, units=12, batch_size=64, chunk_length=255, batches=100, device="cpu", threads=2)
    assert resources.train_job(toys.ARCH, **job) == resources.train_job("elman", **job)  # one gate, as Elman's
    config = {"sweep": {"arch": [toys.ARCH], "hidden": [100], "noise": [0.5, 1.0], "runs": 1},
              "train": {"encoding": "pc12", "batch_size": 64, "chunk_length": 100, "layers": 1, "threads": 1,
                        "decode_batches": 6000, "probe_batches": 4000},
              "references": {"models": ["rnn_pred", toys.RNN_REFERENCE, toys.COUNTED_REFERENCE], "rnn_arch": toys.ARCH,
                             "rnn_hidden": 100, "batches": 10_000}}
    hours = resources.study_hours(config)
    assert set(hours) == {"networks", "rnn_pred", toys.RNN_REFERENCE, "total"}
    assert hours[toys.RNN_REFERENCE] == hours["rnn_pred"] > 0
