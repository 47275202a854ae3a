"""The results page's parts (bayesbach.report.page): captions, the per-task key tables, effective orders, families."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayesbach.core.registry import KEY_COMPARISONS
from bayesbach.evaluation.stats import comparisons
from bayesbach.report import page
from bayesbach.report.labels import model_label


def errors() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for model, hidden, run, tasks in [("gru", 8, 0, ("decode", "predict")), ("gru", 8, 1, ("decode", "predict")),
                                      ("markov_high", None, None, ("predict",)), ("bayes", None, None, ("decode", "predict")),
                                      ("decoder_ff", None, None, ("decode",))]:
        for task in tasks:
            rows += [{"model": model, "arch": model if hidden else None, "hidden": hidden, "noise": 0.2, "run": run,
                      "task": task, "piece": f"bwv{i}", "bce": rng.uniform(0.1, 0.5)} for i in range(6)]
    return pd.DataFrame(rows)


def test_a_caption_keeps_escaped_stars_literal_and_bolds_the_lead_in():
    rst = "**Prediction ladder.** Stars (\\* p < 0.05, \\*\\* p < 0.01, \\*\\*\\* p < 0.001)."
    assert page._caption(rst) == ("<strong>Prediction ladder.</strong> Stars (* p &lt; 0.05, ** p &lt; 0.01, "
                                  "*** p &lt; 0.001).")


def test_key_comparisons_are_one_narrow_table_per_task():
    err = errors()
    stats = comparisons(err)
    predict, decode = (page.key_comparisons(stats, task, err) for task in ("predict", "decode"))
    assert set(predict.columns) == {model_label("markov_high"), model_label("bayes")}
    assert set(decode.columns) == {model_label("decoder_ff"), model_label("bayes")}
    assert predict.index.names == ["network", "sigma"] and len(predict) == len(decode) == 1
    row = stats.query("task == 'predict' and versus == 'markov_high'").iloc[0]
    assert predict.iloc[0][model_label("markov_high")].startswith(f"{row['mean_diff']:+.4f}")
    assert {t for t, _ in KEY_COMPARISONS} == {"predict", "decode"}


def test_orders_table_shows_each_cell_and_marks_the_ends_of_the_ladder():
    orders = pd.DataFrame([
        {"task": "predict", "model": "gru", "hidden": 8, "noise": 0.2, "effective_order": 1.234, "position": "within",
         "top_order": 3},
        {"task": "predict", "model": "gru", "hidden": 8, "noise": 1.0, "effective_order": 3.0, "position": "above the top",
         "top_order": 3},
        {"task": "decode", "model": "elman", "hidden": 16, "noise": 1.0, "effective_order": 0.0,
         "position": "below the ladder", "top_order": 2},
    ])
    table = page.orders_table(orders)
    assert list(table.columns) == [("decode", "1"), ("predict", "0.2"), ("predict", "1")]
    assert list(table.index) == ["Elman RNN, 16 units", "GRU, 8 units"]  # architectures in the study's order
    assert table.loc["GRU, 8 units", ("predict", "0.2")] == "1.23"
    assert table.loc["GRU, 8 units", ("predict", "1")] == "> 3"
    assert table.loc["Elman RNN, 16 units", ("decode", "1")] == "< 0"
    assert table.loc["Elman RNN, 16 units", ("predict", "1")] == "-"


def test_the_families_paragraph_counts_the_joined_compositions():
    pieces = pd.DataFrame({"piece": ["bwv0059", "bwv0175", "bwv0062", "bwv0274", "bwv0001"],
                           "family": ["bwv0059", "bwv0059", "bwv0062", "bwv0062", "bwv0001"],
                           "split": ["train", "train", "test", "test", "validation"]})
    text = page._families(pieces)
    assert "5 compositions form 3 families: 4 compositions" in text and "2 families of two or more" in text
    assert "bwv0059, bwv0175 (train)" in text and "bwv0062, bwv0274 (test)" in text
    assert page._families(pieces.drop(columns="family")) == ""
