"""The statistics against hand-computed values, SciPy and the procedures' definitions, and the comparison table's
structure and families."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from bayesbach.evaluation.stats import (ALPHA, COLUMNS, cohens_d, compare, comparisons, encoding_comparisons, holm,
                                        paired_d, signed_rank, to_csv, underpowered, write_stats)


def test_cohens_d_by_hand():
    assert cohens_d([1, 2, 3], [2, 3, 4]) == pytest.approx(-1.0)
    # means 5 and 2, variances 20/3 and 4/3: pooled sd = sqrt((20/3 + 4/3) / 2) = 2
    assert cohens_d([2, 4, 6, 8], [1, 1, 3, 3]) == pytest.approx(1.5)
    assert np.isnan(cohens_d([1, 1], [1, 1]))  # no spread: undefined, not infinite


def test_paired_d_by_hand():
    # differences 1, 2, 3: mean 2, standard deviation (ddof 1) 1
    assert paired_d([2, 4, 6], [1, 2, 3]) == pytest.approx(2.0)
    # the pairs of test_cohens_d_by_hand: differences 1, 3, 3, 5, mean 3, sd sqrt(8 / 3); pooled d was 1.5
    assert paired_d([2, 4, 6, 8], [1, 1, 3, 3]) == pytest.approx(3 / np.sqrt(8 / 3))
    assert np.isnan(paired_d([1, 2, 3], [0, 1, 2])) and np.isnan(paired_d([1], [0]))  # constant, or one pair


def holm_by_definition(p: list[float], alpha: float) -> set[int]:
    """Holm's step-down procedure: reject the smallest p while p_(i) <= alpha / (m - i + 1), then stop."""
    rejected, m = set(), len(p)
    for i, k in enumerate(sorted(range(m), key=lambda k: p[k])):
        if p[k] > alpha / (m - i):
            break
        rejected.add(k)
    return rejected


def test_holm_by_hand_and_against_the_step_down_procedure():
    # sorted 0.005, 0.01, 0.03, 0.04: x4 = 0.02, x3 = 0.03, x2 = 0.06, x1 = 0.04 -> running maximum 0.06
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(holm([0.3, np.nan, 0.6]), [0.6, np.nan, 0.6])  # a missing p is not a test
    assert holm([]).shape == (0,)
    rng = np.random.default_rng(4)
    for _ in range(50):
        p = np.round(rng.uniform(0, 0.1, rng.integers(1, 30)) ** 2, 4)  # ties included
        adjusted = holm(p)
        for alpha in (0.001, 0.01, 0.05):
            assert set(np.flatnonzero(adjusted <= alpha)) == holm_by_definition(list(p), alpha)
        assert (adjusted >= p).all() and (adjusted <= np.minimum(1, len(p) * p) + 1e-15).all()  # never above Bonferroni


def test_signed_rank_exact_p_by_hand():
    # five positive differences: W = 0, exact two-sided p = 2 / 2^5
    assert signed_rank([2, 3, 4, 5, 6], [1, 1, 1, 1, 1]) == (0.0, pytest.approx(2 / 32))
    # differences 1, -2, 3, 4, 5: W- = 2; P(W <= 2) = |{}, {1}, {2}| / 32, doubled
    w, p = signed_rank([1, -2, 3, 4, 5], [0, 0, 0, 0, 0])
    assert w == 2.0 and p == pytest.approx(6 / 32)
    assert signed_rank([1, 2], [1, 2]) == (0.0, 1.0)  # identical errors: no difference at all


def test_compare_agrees_with_scipy_on_random_pairs():
    rng = np.random.default_rng(0)
    a = rng.gamma(2, 0.1, 40)
    b = a + rng.normal(0.02, 0.03, 40)
    got = compare(a, b)
    ref = sps.wilcoxon(a, b)
    assert got["wilcoxon_w"] == pytest.approx(ref.statistic) and got["p"] == pytest.approx(ref.pvalue)
    assert got["mean_diff"] == pytest.approx(np.mean(a - b)) and got["n_pieces"] == 40
    pooled = np.sqrt((np.var(a, ddof=1) + np.var(b, ddof=1)) / 2)
    assert got["cohens_d"] == pytest.approx((a.mean() - b.mean()) / pooled)
    assert got["d_z"] == pytest.approx(np.mean(a - b) / np.std(a - b, ddof=1))
    assert abs(got["d_z"]) > abs(got["cohens_d"])  # pieces vary more than the paired differences


def synthetic_errors(rng) -> pd.DataFrame:
    """Two architectures x two sizes at one noise level, two runs each, and three references."""
    pieces = [f"bwv{i:04d}" for i in range(12)]
    rows = []
    for arch in ("lstm", "gru"):
        for hidden in (4, 8):
            for run in (0, 1):
                for task in ("decode", "predict"):
                    for piece in pieces:
                        rows.append(("gru" if arch == "gru" else arch, arch, hidden, 0.5, run, task, piece,
                                     rng.uniform(0.2, 0.5)))
    for ref, tasks in (("markov_high", ("predict",)), ("bayes", ("decode", "predict")), ("global", ("predict",))):
        for task in tasks:
            for piece in pieces:
                rows.append((ref, None, None, 0.5, None, task, piece, rng.uniform(0.2, 0.5)))
    df = pd.DataFrame(rows, columns=["model", "arch", "hidden", "noise", "run", "task", "piece", "bce"])
    df.loc[(df["model"] == "global") & (df["piece"] == "bwv0003"), "bce"] = np.nan  # a piece with no scored step
    return df


@pytest.mark.parametrize("n,m", [(5, 1), (6, 1), (5, 12), (12, 132), (13, 132), (13, 144), (14, 300)])
def test_underpowered_exactly_when_the_most_extreme_outcome_cannot_pass_holm(n, m):
    # the most extreme outcome: n differences of one sign, distinct sizes; SciPy's exact p is the smallest possible
    best = sps.wilcoxon(np.arange(1.0, n + 1), np.zeros(n)).pvalue
    assert best == pytest.approx(2.0 ** (1 - n))
    # the best a test can do in a family of m: it has that p, all the others p = 1
    corrected = holm(np.array([best] + [1.0] * (m - 1)))[0]
    assert bool(underpowered(n, m)) == (corrected >= ALPHA)


def test_comparisons_average_runs_then_pair_pieces_and_correct_within_task_and_kind():
    errors = synthetic_errors(np.random.default_rng(1))
    table = comparisons(errors)
    assert list(table.columns) == COLUMNS
    refs = table[table["kind"] == "reference"]
    # prediction: 4 cells x (markov_high, global, bayes); decoding: 4 cells x bayes (decoder_ff absent: skipped)
    assert sorted(refs.groupby(["task", "versus"]).size().items()) == [
        (("decode", "bayes"), 4), (("predict", "bayes"), 4), (("predict", "global"), 4), (("predict", "markov_high"), 4)]
    assert (refs["runs"] == 2).all()
    # one family per task and kind, every test of it corrected together: the page's tables show parts of one
    assert table.groupby("family").size().to_dict() == {"decode/architecture": 2, "decode/reference": 4,
                                                         "predict/architecture": 2, "predict/reference": 12}
    assert (table["family"] == table["task"] + "/" + table["kind"]).all()
    assert (table["family_size"] == table.groupby("family")["p"].transform("size")).all()
    for _, family in table.groupby("family"):
        p = family["p"].to_numpy()
        for alpha in (0.01, 0.05, 0.5):
            assert set(np.flatnonzero(family["p_holm"].to_numpy() <= alpha)) == holm_by_definition(list(p), alpha)

    row = refs[(refs["model"] == "lstm") & (refs["hidden"] == 8) & (refs["versus"] == "global")].iloc[0]
    net = errors[(errors["model"] == "lstm") & (errors["hidden"] == 8) & (errors["task"] == "predict")]
    a = net.groupby("piece")["bce"].mean()  # the composition is the unit: runs averaged first
    ref = errors[(errors["model"] == "global")].set_index("piece")["bce"].dropna()
    a = a.loc[ref.index]
    assert row["n_pieces"] == 11
    assert row["mean_diff"] == pytest.approx((a - ref).mean())
    expected = sps.wilcoxon(a.to_numpy(), ref.to_numpy())
    assert row["wilcoxon_w"] == pytest.approx(expected.statistic) and row["p"] == pytest.approx(expected.pvalue)
    assert row["cohens_d"] == pytest.approx(cohens_d(a.to_numpy(), ref.to_numpy()))
    assert row["d_z"] == pytest.approx((a - ref).mean() / (a - ref).std(ddof=1))

    arch = table[table["kind"] == "architecture"]
    # lstm vs gru at each (hidden, noise) cell, both tasks; corrected over the two cells they share
    assert len(arch) == 4 and set(zip(arch["model"], arch["versus"])) == {("lstm", "gru")}
    assert (arch["family_size"] == 2).all() and (arch["n_pieces"] == 12).all()
    assert table["underpowered"].to_list() == list(underpowered(table["n_pieces"], table["family_size"]))
    assert not arch["underpowered"].any()  # 2 / 2^12 in a family of 2 could pass


def test_a_corrected_p_never_exceeds_one_and_the_csv_is_a_pure_function_of_the_errors(tmp_path):
    errors = synthetic_errors(np.random.default_rng(2))
    table = comparisons(errors)
    assert (table["p_holm"] <= 1).all() and (table["p_holm"] >= table["p"]).all()
    shuffled = errors.sample(frac=1, random_state=3)
    assert to_csv(comparisons(shuffled)) == to_csv(table)  # row order of the input does not matter
    errors.to_parquet(tmp_path / "errors.parquet")
    write_stats(tmp_path / "errors.parquet", tmp_path / "stats.csv")
    back = pd.read_csv(tmp_path / "stats.csv")
    np.testing.assert_array_equal(back["p"].to_numpy(), table["p"].to_numpy())  # full precision survives


def synthetic_encoding(rng, pieces: int = 10) -> pd.DataFrame:
    """encoding.parquet's tested columns for 2 architectures x 2 sizes x 2 noise levels x 2 runs: gru with 8 units at
    sigma 1 codes the error beyond its history (gains clearly above zero), every other cell scatters around zero;
    gain_over_input is large everywhere (memory). One piece of one run has no steps (NaN)."""
    rows = []
    for arch in ("gru", "lstm"):
        for hidden in (4, 8):
            for noise in (0.2, 1.0):
                shift = 0.05 if (arch, hidden, noise) == ("gru", 8, 1.0) else 0.0
                for run in (0, 1):
                    for k in range(pieces):
                        rows.append({"arch": arch, "hidden": hidden, "noise": noise, "run": run, "piece": f"bwv{k:03d}",
                                     "steps": 40, "gain_over_input": 0.8 + 0.05 * rng.standard_normal(),
                                     "gain_over_history": shift + 0.01 * rng.standard_normal()})
    out = pd.DataFrame(rows)
    out.loc[(out["arch"] == "lstm") & (out["run"] == 1) & (out["piece"] == "bwv003"), "gain_over_history"] = np.nan
    return out


def test_encoding_gains_are_tested_against_zero_piece_by_piece_and_corrected_within_their_measure():
    enc = synthetic_encoding(np.random.default_rng(4))
    table = encoding_comparisons(enc)
    assert list(table.columns) == COLUMNS and len(table) == 16
    assert table.groupby("family").size().to_dict() == {"encoding/gain_over_history": 8, "encoding/gain_over_input": 8}
    assert (table["task"] == "encoding").all() and (table["versus"] == "zero").all() and (table["runs"] == 2).all()
    assert (table["family"] == "encoding/" + table["kind"]).all() and (table["family_size"] == 8).all()
    for _, family in table.groupby("family"):
        np.testing.assert_allclose(family["p_holm"], holm(family["p"].to_numpy()))
    history = table[table["kind"] == "gain_over_history"]
    for row in history.itertuples():
        cell = enc[(enc["arch"] == row.model) & (enc["hidden"] == row.hidden) & (enc["noise"] == row.noise)]
        gain = cell.groupby("piece")["gain_over_history"].mean().dropna()  # runs averaged first
        expected = sps.wilcoxon(gain.to_numpy())  # SciPy's one-sample signed-rank test against zero
        assert row.n_pieces == 10 and row.wilcoxon_w == pytest.approx(expected.statistic)
        assert row.p == pytest.approx(expected.pvalue)
        assert row.mean_model == pytest.approx(gain.mean()) and row.mean_versus == 0
        assert row.d_z == pytest.approx(gain.mean() / gain.std(ddof=1)) and np.isnan(row.cohens_d)
    coding = history[history["p_holm"] < 0.05]
    assert list(zip(coding["model"], coding["hidden"], coding["noise"])) == [("gru", 8, 1.0)]
    assert (coding["mean_model"] > 0).all()
    assert (table.loc[table["kind"] == "gain_over_input", "p_holm"] < 0.05).all()  # what memory alone passes


def test_the_stats_stage_appends_the_encoding_tests_as_a_pure_function_of_the_tables(tmp_path):
    errors, enc = synthetic_errors(np.random.default_rng(2)), synthetic_encoding(np.random.default_rng(5))
    errors.to_parquet(tmp_path / "errors.parquet")
    enc.sample(frac=1, random_state=6).to_parquet(tmp_path / "encoding.parquet")  # row order does not matter
    table = write_stats(tmp_path / "errors.parquet", tmp_path / "stats.csv", tmp_path / "encoding.parquet")
    back = pd.read_csv(tmp_path / "stats.csv")
    assert list(back.columns) == COLUMNS and len(back) == len(comparisons(errors)) + 16
    assert to_csv(table) == to_csv(pd.concat([comparisons(errors), encoding_comparisons(enc)], ignore_index=True))
    assert set(back.loc[back["task"] == "encoding", "family"]) == {"encoding/gain_over_input", "encoding/gain_over_history"}
    assert encoding_comparisons(enc.iloc[:0]).columns.tolist() == COLUMNS and not len(encoding_comparisons(enc.iloc[:0]))
