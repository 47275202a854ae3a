"""Evaluation noise by common random numbers (bayesbach.dataset.noise)."""

from __future__ import annotations

import numpy as np

from bayesbach.dataset.noise import crn_eps, crn_inputs, crn_noisy
from bayesbach.dev.synthetic import periodic_pieces


def test_crn_noise_is_one_draw_per_file_scaled_by_sigma():
    y = {p: f[0] for p, f in periodic_pieces(3, np.random.default_rng(0)).items()}
    eps = {p: crn_eps(7, p, a.shape) for p, a in y.items()}
    assert all(e.dtype == np.float32 for e in eps.values())
    assert np.array_equal(crn_eps(7, "p0", y["p0"].shape), eps["p0"])  # a function of (seed, piece) alone
    assert not np.allclose(eps["p0"][:5], eps["p1"][:5])
    assert not np.allclose(crn_eps(8, "p0", y["p0"].shape), eps["p0"])
    assert not np.allclose(crn_eps(7, "p0", y["p0"].shape, file=1), eps["p0"])  # another file, another draw
    low, high = crn_inputs({p: [a] for p, a in y.items()}, 0.2, 7), crn_inputs({p: [a] for p, a in y.items()}, 1.6, 7)
    for p in y:
        np.testing.assert_allclose((high[p][0] - y[p]) / 1.6, (low[p][0] - y[p]) / 0.2, atol=1e-5)
        np.testing.assert_allclose(crn_noisy(y[p], 0.5, 7, p), y[p] + 0.5 * eps[p], atol=1e-6)
    all_eps = np.concatenate(list(eps.values())).ravel()
    assert abs(all_eps.mean()) < 0.1 and abs(all_eps.std() - 1) < 0.1
