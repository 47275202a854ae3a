"""Cluster resource estimates for training jobs."""

import pytest

from bayesbach.core import resources
from bayesbach.networks.models import RecurrentNet


@pytest.mark.parametrize("arch", ["elman", "gru", "lstm"])
@pytest.mark.parametrize("hidden,layers", [(8, 1), (64, 2), (256, 1)])
def test_batch_flops_count_every_weight_matrix_twice_forward_and_six_times_in_all(arch, hidden, layers):
    # One multiply-add per weight per step and sample forward; backward costs twice that.
    model = RecurrentNet(arch, 12, hidden, layers)
    weights = sum(p.numel() for name, p in model.named_parameters() if "weight" in name)
    assert resources.batch_flops(arch, hidden, 12, 32, 100, layers) == 3 * 2 * weights * 32 * 100


def test_estimates_grow_with_size_geometry_and_budget():
    base = dict(arch="gru", hidden=64, units=12, batch_size=64, chunk_length=256, batches=1000, device="cuda")
    t0 = resources.train_minutes(**base)
    assert resources.train_minutes(**{**base, "hidden": 256}) > t0
    assert resources.train_minutes(**{**base, "batch_size": 512}) > t0
    assert resources.train_minutes(**{**base, "batches": 2000}) == pytest.approx(2 * t0)
    assert resources.train_minutes(**{**base, "device": "cpu"}) > t0
    assert resources.train_minutes(**{**base, "device": "cpu", "threads": 4}) < resources.train_minutes(**{**base, "device": "cpu"})


def test_a_retry_gets_twice_the_time_and_memory():
    job = dict(arch="lstm", hidden=128, units=12, batch_size=512, chunk_length=512, batches=23000, device="cuda")
    first, second = resources.train_job(**job), resources.train_job(**job, attempt=2)
    assert first["runtime"] >= resources.STARTUP_MIN and first["mem_mb"] >= 2000
    assert second["runtime"] == pytest.approx(2 * first["runtime"], abs=1)
    assert second["mem_mb"] == pytest.approx(2 * first["mem_mb"], abs=100)


def test_study_hours_add_up_the_cells_of_the_sweep():
    from conftest import REPO
    from bayesbach.core.config import load_config

    schema = REPO / "workflow/schemas/config.schema.yaml"
    paper = load_config([REPO / "config.yaml", REPO / "presets/paper.yaml"], schema)
    train = paper["train"]
    assert (paper["sweep"]["runs"], len(paper["sweep"]["noise"]), train["batch_size"]) == (5, 9, 512)
    one = resources.train_minutes("gru", 256, 12, 512, 512, 23000, "cuda")
    hours = resources.study_hours(paper)
    expected = 45 * sum(resources.train_minutes("gru", h, 12, 512, 512, 23000, "cuda") for h in (8, 16, 32, 64, 128, 256))
    assert hours["networks"] == pytest.approx(expected / 60) and hours["networks"] > 45 * one / 60
    assert hours["total"] == pytest.approx(hours["networks"] + hours["rnn_pred"])
