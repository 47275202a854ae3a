"""Per-piece BCE, every file on its own (bayesbach.networks.scoring): padding changes nothing, the state
restarts at each file, nothing between files is scored, every model sees the same evaluation noise, and the
long error table."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bayesbach.core import schemas
from bayesbach.core.errors_table import errors_table
from bayesbach.dataset.noise import crn_noisy
from bayesbach.dev.synthetic import periodic_pieces
from bayesbach.networks.models import RecurrentNet, build
from bayesbach.networks.scoring import HEADS, Padded, piece_bce, score_pieces

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


def test_padded_per_piece_bce_matches_a_file_by_file_reference():
    """Padding and masking change nothing: each file run alone from a zero state, the losses of a piece's
    files pooled over their steps, give the same BCE."""
    y = periodic_pieces(4, np.random.default_rng(2), lo=5, hi=30, files=3)
    model = build(RecurrentNet("gru", 12, 5).spec, seed=0)
    got = score_pieces(model, y, 0.7, seed=11)
    joint = {}
    for piece, files in y.items():
        decode, predict = [], []
        for k, clean in enumerate(files):
            x = torch.from_numpy(crn_noisy(clean, 0.7, 11, piece, k))[None]
            with torch.no_grad():
                p_obs = torch.sigmoid(model.logits(x, "observe"))[0].double().numpy()
                p_pred = torch.sigmoid(model.logits(x, "predict"))[0].double().numpy()
            decode.append(-(clean * np.log(p_obs) + (1 - clean) * np.log(1 - p_obs)))
            predict.append(-(clean[1:] * np.log(p_pred[:-1]) + (1 - clean[1:]) * np.log(1 - p_pred[:-1])))
        assert got["decode"][piece] == pytest.approx(np.concatenate(decode).mean(), rel=1e-5)
        assert got["predict"][piece] == pytest.approx(np.concatenate(predict).mean(), rel=1e-5)
        # bits: -log2 of the product of the units' probabilities of the actual chord, per step, averaged
        joint[piece] = {t: -np.log2(np.exp(-np.concatenate(v)).prod(1)).mean() for t, v in
                        (("decode", decode), ("predict", predict))}
    table = errors_table(got, "gru", "gru", 5, 0.7, 0)
    assert table.schema == schemas.ERRORS and table.num_rows == 8
    assert set(table.column("task").to_pylist()) == {"decode", "predict"}
    for row in table.to_pylist():
        assert row["bits"] == pytest.approx(joint[row["piece"]][row["task"]], rel=1e-5)
        assert row["bits"] == pytest.approx(12 * row["bce"] / np.log(2))


def test_clean_inputs_ignore_sigma():
    y = periodic_pieces(2, np.random.default_rng(3))
    padded = Padded.build(y, 0, "cpu")
    model = RecurrentNet("gru", 12, 3)
    a = piece_bce(model, padded, "predict", "next", 0.1, inputs="clean")
    b = piece_bce(model, padded, "predict", "next", 5.0, inputs="clean")
    assert torch.equal(a, b)


def test_a_piece_of_one_step_has_no_prediction_score():
    y = {"one": [np.ones((1, 12), np.float32)], "two": [np.ones((2, 12), np.float32)],
         "ones": [np.ones((1, 12), np.float32)] * 2}  # no prediction target inside either of its files
    got = score_pieces(RecurrentNet("gru", 12, 3), y, 0.5, seed=0)
    assert np.isnan(got["predict"]["one"]) and np.isnan(got["predict"]["ones"]) and np.isfinite(got["predict"]["two"])
    assert np.isfinite(got["decode"]["one"])


class GapCounter(torch.nn.Module):
    """A predictor that knows the filler: after ``gap`` silent input steps it predicts the next file's first chord,
    and silence while it counts them; otherwise a constant guess. It could only gain on joined files."""

    def __init__(self, gap: int, first: np.ndarray):
        super().__init__()
        self.gap, self.first = gap, torch.from_numpy(first)

    def logits(self, x, head):
        silent = (x.abs().sum(-1) < 1e-6).float()
        run = torch.zeros_like(silent)
        for t in range(x.shape[1]):  # length of the silent run ending at t
            run[:, t] = (run[:, t - 1] + 1) * silent[:, t] if t else silent[:, t]
        p = torch.full(x.shape, 0.25)
        p[run > 0] = 0.01
        p[run == self.gap] = self.first.clamp(0.01, 0.99)
        return torch.logit(p)


def test_scores_do_not_depend_on_a_gap_and_a_gap_counter_gains_nothing():
    y = periodic_pieces(3, np.random.default_rng(5), lo=6, hi=20, files=2)
    first = y["p0"][1][0]
    counter, constant = GapCounter(4, first), GapCounter(10**6, first)
    # clean inputs: the counter sees no silent step, because none is scored or even shown
    a = score_pieces(counter, y, 0.0, seed=0, inputs="clean")
    b = score_pieces(constant, y, 0.0, seed=0, inputs="clean")
    assert a == b
    # a joined sequence would have let it gain: the same files with a 4-step gap, scored as one file
    joined = {p: [np.concatenate([f[0], np.zeros((4, 12), np.float32), f[1]])] for p, f in y.items()}
    assert score_pieces(counter, joined, 0.0, seed=0, inputs="clean")["predict"]["p0"] < \
        score_pieces(constant, joined, 0.0, seed=0, inputs="clean")["predict"]["p0"]
