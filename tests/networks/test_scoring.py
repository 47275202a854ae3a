"""Per-piece BCE on whole pieces (bayesbach.networks.scoring): padding changes nothing, every model sees the
same evaluation noise, and the long error table."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bayesbach.core import schemas
from bayesbach.dataset.noise import crn_noisy
from bayesbach.dev.synthetic import periodic_pieces
from bayesbach.networks.models import RecurrentNet, build
from bayesbach.networks.scoring import HEADS, Padded, errors_table, piece_bce, score_pieces

torch.set_num_threads(1)


def bce_reference(p: np.ndarray, y: np.ndarray) -> float:
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


def test_heads_score_the_observation_head_now_and_the_prediction_head_next():
    assert HEADS == {"decode": ("observe", "current"), "predict": ("predict", "next")}


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


def test_a_piece_of_one_step_has_no_prediction_score():
    y = {"one": np.ones((1, 12), np.float32), "two": np.ones((2, 12), np.float32)}
    got = score_pieces(RecurrentNet("gru", 12, 3), y, 0.5, seed=0)
    assert np.isnan(got["predict"]["one"]) and np.isfinite(got["predict"]["two"])
    assert np.isfinite(got["decode"]["one"])
