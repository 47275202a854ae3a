"""The page's Findings: every count and number in a sentence is the one its table gives, and a test that cannot or
did not reject is never counted as a result."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayesbach.evaluation.stats import comparisons, generalisation_comparisons
from bayesbach.report import findings
from bayesbach.report.page import summary_html


def errors(shift: dict[str, float], pieces: int = 14, rng=None) -> pd.DataFrame:
    """GRU-8 and GRU-16 (two runs) at sigma 0.2 and 1, predicting; each reference's per-piece error is the network's
    plus ``shift[ref]`` (plus a little noise): positive shifts make the network better."""
    rng = rng or np.random.default_rng(3)
    base = rng.uniform(0.4, 0.5, pieces)
    rows = []
    for noise in (0.2, 1.0):
        for hidden in (8, 16):
            for run in (0, 1):
                rows += [{"model": "gru", "arch": "gru", "hidden": hidden, "noise": noise, "run": run, "task": "predict",
                          "piece": f"bwv{i}", "bce": b} for i, b in enumerate(base)]
        for ref, d in shift.items():
            rows += [{"model": ref, "arch": None, "hidden": None, "noise": noise, "run": None, "task": "predict",
                      "piece": f"bwv{i}", "bce": b + d + rng.uniform(-1e-4, 1e-4)} for i, b in enumerate(base)]
    return pd.DataFrame(rows)


def test_the_prediction_finding_counts_the_cells_each_corrected_test_rejects():
    err = errors({"global": 0.1, "bayes_memoryless": -0.02, "bayes": 0.0})
    stats = comparisons(err)
    text = findings.prediction_finding(stats, err)
    # every network beats the global frequencies, loses to the memoryless observer; bayes: no consistent difference
    assert ("against Global pitch-class frequencies at sigma 0.2 better in 2 and worse in 0 of 2 (-0.1000 BCE), "
            "at sigma 1 better in 2 and worse in 0 of 2 (-0.1000 BCE)") in text
    assert "against Ideal memoryless observer at sigma 0.2 better in 0 and worse in 2 of 2 (+0.0200 BCE)" in text
    for noise in (0.2, 1.0):
        rows = stats[(stats["versus"] == "bayes") & (stats["noise"] == noise)]
        worse = ((rows["p_holm"] < 0.05) & (rows["mean_diff"] > 0)).sum()
        better = ((rows["p_holm"] < 0.05) & (rows["mean_diff"] < 0)).sum()
        assert f"at sigma {noise:g} better in {better} and worse in {worse} of 2" in text.split("1st order")[1]
    assert "Holm-corrected within predict/reference, p &lt; 0.05" in text
    # too few compositions: no test can reject, so nothing is counted either way
    few = comparisons(errors({"global": 0.1}, pieces=5))
    assert "at sigma 0.2 better in 0 and worse in 0 of 2" in findings.prediction_finding(few)
    assert findings.prediction_finding(stats.iloc[:0]) == ""


def order_row(**kw) -> dict:
    row = {"task": "predict", "model": "gru", "hidden": 8, "noise": 0.2, "effective_order": 1.2, "order_lo": 1.1,
           "order_hi": 1.4, "position": "within", "top_order": 3, "p_top": 1.0, "p_top_holm": 1.0, "runs": 2,
           "ladder_monotone": True, "family": "orders/top rung", "family_size": 1,
           **{f"order{k}_bce": 0.5 - 0.05 * k for k in range(4)}}
    return row | kw


def test_the_ladder_finding_places_each_noise_level_and_counts_only_significant_excess_past_the_top():
    orders = pd.DataFrame([
        order_row(position="below the ladder", effective_order=0.0), order_row(hidden=16, effective_order=0.0,
                                                                               position="below the ladder"),
        order_row(noise=1.0, effective_order=0.83), order_row(noise=1.0, hidden=16, effective_order=0.94),
        order_row(noise=1.0, hidden=32, position="above the top", effective_order=3.0, p_top_holm=0.01),
        order_row(noise=1.0, hidden=64, position="above the top", effective_order=3.0, p_top_holm=0.4),
        order_row(task="decode", noise=1.0, effective_order=2.5),  # prediction only
    ])
    text = findings.ladder_finding(orders)
    assert "at sigma 0.2, 2 of 2 below order 0" in text
    assert "at sigma 1, 2 at order 0.83 to 0.94, 2 past the top rung, 1 of them significantly" in text
    assert findings.ladder_finding(orders.iloc[:0]) == ""


def test_the_coding_finding_names_only_cells_whose_gain_over_the_history_survives_correction():
    stats = pd.DataFrame([
        {"task": "encoding", "kind": "gain_over_history", "model": "gru", "hidden": 16, "noise": 1.0, "mean_model": 0.1,
         "p_holm": 0.01, "family": "encoding/gain_over_history"},
        {"task": "encoding", "kind": "gain_over_history", "model": "gru", "hidden": 8, "noise": 1.0, "mean_model": 0.1,
         "p_holm": 0.2, "family": "encoding/gain_over_history"},
        {"task": "encoding", "kind": "gain_over_input", "model": "gru", "hidden": 8, "noise": 1.0, "mean_model": 0.9,
         "p_holm": 1e-5, "family": "encoding/gain_over_input"},
    ])
    text = findings.coding_finding(stats)
    assert "in 1 of 2 network cells, explaining +0.100 of" in text and "GRU, 16 units at sigma 1." in text
    assert "8 units" not in text
    every = findings.coding_finding(stats.assign(p_holm=0.001))
    assert "in all 2 network cells" in every and "GRU, 16 units" not in every
    none = findings.coding_finding(stats.assign(p_holm=0.5))
    assert "in 0 of 2 network cells" in none and "explained by its memory of the input" in none


def test_the_composer_finding_says_underpowered_instead_of_a_result():
    err = errors({"global": 0.1})
    strong = err.assign(model=err["model"].replace({"global": "own_bayes"}), corpus="palestrina")
    weak = errors({"global": -0.05}, pieces=5)
    weak = weak.assign(model=weak["model"].replace({"global": "own_bayes"}), corpus="monteverdi")
    gen = generalisation_comparisons(pd.concat([strong, weak], ignore_index=True))
    text = findings.composer_finding(gen)
    assert "monteverdi (5 test compositions): underpowered, no result" in text
    assert "palestrina (14 test compositions): better in 4 and worse in 0 of 4 cells" in text


def test_the_page_opens_with_its_findings(tmp_path):
    err = errors({"global": 0.1, "bayes_memoryless": -0.02})
    stats = comparisons(err)
    orders = pd.DataFrame([order_row(position="below the ladder", effective_order=0.0)])
    config = {"sweep": {"arch": ["gru"], "hidden": [8, 16], "noise": [0.2, 1.0], "runs": 2},
              "references": {"models": ["global", "bayes_memoryless"]}, "dataset": {}}
    pieces = pd.DataFrame({"piece": ["a", "b"], "split": ["train", "test"], "n_files": [1, 1], "n_events": [5, 5]})
    html = summary_html(config, pieces, err, stats, orders, [], [], None)
    assert html.index("<h2>Findings</h2>") < html.index("<h2>What was run</h2>")
    assert findings.prediction_finding(stats, err) in html and findings.ladder_finding(orders) in html


def test_the_key_finding_counts_only_cells_beating_the_strongest_control_after_correction():
    cells = pd.DataFrame({"mean_diff": [0.05, 0.04, -0.01], "p_bonferroni": [0.01, 0.3, 0.5],
                          "input_diff": [0.2, 0.19, 0.18], "input_p_bonferroni": [1e-4, 1e-4, 1e-4]})
    text = findings.key_finding(cells)
    assert "in 1 of 3 network cells (state minus control -0.010 to +0.050 accuracy" in text
    assert "it beats the average of the noisy input alone in 3 (state minus it +0.180 to +0.200)" in text
    assert findings.key_finding(cells.iloc[:0]) == ""
