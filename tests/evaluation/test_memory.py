"""A network's effective memory (bayesbach.evaluation.memory) against leaky integrators, whose influence decays as
lambda^k exactly, and the running average that matches it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bayesbach.evaluation.memory import MAX_LAG, decay, effective_memory
from bayesbach.networks.models import build

torch.set_num_threads(1)


class Leaky(torch.nn.Module):
    """h_t = lam * h_{t-1} + x_t W: every input's influence on the state decays as lam^k."""

    def __init__(self, lam: float, units: int = 12):
        super().__init__()
        self.lam = lam
        self.weight = torch.nn.Parameter(torch.randn(units, units, generator=torch.Generator().manual_seed(0)))
        self.spec = {"hidden": units}

    def features(self, x: torch.Tensor) -> torch.Tensor:
        h, out = torch.zeros_like(x[:, 0] @ self.weight), []
        for t in range(x.shape[1]):
            h = self.lam * h + x[:, t] @ self.weight
            out.append(h)
        return torch.stack(out, 1)


def pieces(n: int, length: int, seed: int = 0) -> dict[str, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    return {f"p{i}": [(rng.random((length, 12)) < 0.25).astype(np.float32)] for i in range(n)}


@pytest.mark.parametrize("lam", [0.0, 0.5, 0.9])
def test_the_memory_of_a_leaky_integrator_is_its_summed_decay(lam):
    memory = effective_memory(Leaky(lam), pieces(8, 4 * MAX_LAG), sigma=0.5, seed=1)
    assert memory.lags == MAX_LAG  # every file reaches the longest lag
    assert memory.tau == pytest.approx(sum(lam**k for k in range(MAX_LAG + 1)), rel=1e-6)
    assert decay(memory.tau, memory.lags) == pytest.approx(lam, abs=1e-9)


def test_short_files_sum_only_the_lags_a_quarter_of_them_reach():
    files = {**pieces(6, 40), **pieces(2, 400, seed=1)}  # short ones reach lag 29, the long two lag 128
    memory = effective_memory(Leaky(0.5), {f"q{i}": v for i, v in enumerate(files.values())}, sigma=0.5, seed=1)
    assert memory.lags == 128  # two of eight files: a quarter
    assert effective_memory(Leaky(0.5), pieces(6, 40), sigma=0.5, seed=1).lags == 40 - 1 - 40 // 4


def test_a_trained_shape_network_has_a_finite_reproducible_memory():
    net = build({"kind": "recurrent", "arch": "gru", "units": 12, "hidden": 8, "layers": 1}, seed=3)
    a, b = (effective_memory(net, pieces(5, 60), sigma=1.0, seed=2) for _ in range(2))
    assert a == b and 1.0 <= a.tau <= a.lags + 1
    assert next(net.parameters()).dtype == torch.float32  # measured on a float64 copy, the network untouched


def test_decay_inverts_the_summed_influence_and_saturates():
    for tau, lags in ((1.0, 10), (3.0, 64), (20.0, 128)):
        lam = decay(tau, lags)
        assert sum(lam**k for k in range(lags + 1)) == pytest.approx(tau, rel=1e-9)
    assert decay(200.0, 128) == 1.0 and decay(0.5, 10) == 0.0
    with pytest.raises(ValueError, match="no file of two steps"):
        effective_memory(Leaky(0.5), {"p": [np.zeros((1, 12), np.float32)]}, sigma=0.5, seed=0)
