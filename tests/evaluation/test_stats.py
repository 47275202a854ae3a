"""The statistics against hand-computed values and SciPy, and the comparison table's structure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from bayesbach.evaluation.stats import COLUMNS, cohens_d, compare, comparisons, signed_rank, to_csv, write_stats


def test_cohens_d_by_hand():
    assert cohens_d([1, 2, 3], [2, 3, 4]) == pytest.approx(-1.0)
    # means 5 and 2, variances 20/3 and 4/3: pooled sd = sqrt((20/3 + 4/3) / 2) = 2
    assert cohens_d([2, 4, 6, 8], [1, 1, 3, 3]) == pytest.approx(1.5)
    assert np.isnan(cohens_d([1, 1], [1, 1]))  # no spread: undefined, not infinite


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


def test_comparisons_average_runs_then_pair_pieces_and_correct_over_the_cells():
    errors = synthetic_errors(np.random.default_rng(1))
    table = comparisons(errors)
    assert list(table.columns) == COLUMNS
    refs = table[table["kind"] == "reference"]
    # prediction: 4 cells x (markov_high, global, bayes); decoding: 4 cells x bayes (decoder_ff absent: skipped)
    assert sorted(refs.groupby(["task", "versus"]).size().items()) == [
        (("decode", "bayes"), 4), (("predict", "bayes"), 4), (("predict", "global"), 4), (("predict", "markov_high"), 4)]
    assert (refs["bonferroni_m"] == 4).all() and (refs["runs"] == 2).all()

    row = refs[(refs["model"] == "lstm") & (refs["hidden"] == 8) & (refs["versus"] == "global")].iloc[0]
    net = errors[(errors["model"] == "lstm") & (errors["hidden"] == 8) & (errors["task"] == "predict")]
    a = net.groupby("piece")["bce"].mean()  # the composition is the unit: runs averaged first
    ref = errors[(errors["model"] == "global")].set_index("piece")["bce"].dropna()
    a = a.loc[ref.index]
    assert row["n_pieces"] == 11
    assert row["mean_diff"] == pytest.approx((a - ref).mean())
    expected = sps.wilcoxon(a.to_numpy(), ref.to_numpy())
    assert row["wilcoxon_w"] == pytest.approx(expected.statistic) and row["p"] == pytest.approx(expected.pvalue)
    assert row["p_bonferroni"] == pytest.approx(min(1.0, 4 * expected.pvalue))
    assert row["cohens_d"] == pytest.approx(cohens_d(a.to_numpy(), ref.to_numpy()))

    arch = table[table["kind"] == "architecture"]
    # lstm vs gru at each (hidden, noise) cell, both tasks; corrected over the two cells they share
    assert len(arch) == 4 and set(zip(arch["model"], arch["versus"])) == {("lstm", "gru")}
    assert (arch["bonferroni_m"] == 2).all() and (arch["n_pieces"] == 12).all()


def test_a_bonferroni_p_never_exceeds_one_and_the_csv_is_a_pure_function_of_the_errors(tmp_path):
    errors = synthetic_errors(np.random.default_rng(2))
    table = comparisons(errors)
    assert (table["p_bonferroni"] <= 1).all() and (table["p_bonferroni"] >= table["p"]).all()
    shuffled = errors.sample(frac=1, random_state=3)
    assert to_csv(comparisons(shuffled)) == to_csv(table)  # row order of the input does not matter
    errors.to_parquet(tmp_path / "errors.parquet")
    write_stats(tmp_path / "errors.parquet", tmp_path / "stats.csv")
    back = pd.read_csv(tmp_path / "stats.csv")
    np.testing.assert_array_equal(back["p"].to_numpy(), table["p"].to_numpy())  # full precision survives
