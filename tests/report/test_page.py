"""The results page's parts (bayesbach.report.page): captions, the per-task key tables, effective orders, families."""

from __future__ import annotations

import os
from datetime import datetime

import numpy as np
import pandas as pd

from bayesbach.core.registry import HEADLINE_COMPARISONS, KEY_DECODERS
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
    assert {t for t, _ in HEADLINE_COMPARISONS} == {"predict", "decode"}


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


def test_key_tables_count_the_label_sources_and_pair_each_state_with_its_control():
    file_keys = pd.DataFrame({"key_source": ["score", "score", "key_signature", "estimate"],
                              "key": ["C major", "A minor", "G major", "D minor"],
                              "estimate": ["C major", "C major", "G major", "D minor"]})
    sources = page.key_sources_table(file_keys)
    assert list(sources["files"]) == [2, 1, 1]
    assert list(sources["Krumhansl-Schmuckler estimate agrees"]) == ["50%", "100%", "-"]
    rng = np.random.default_rng(1)
    rows = [{"arch": "gru", "hidden": 8, "noise": s, "run": r, "memory": 2.0 + r, "decoder": d, "piece": f"bwv{i}",
             "bin_start": 0, "bin_end": None, "steps": 10,
             "accuracy": {"network": 0.6, "input_memory": 0.3}.get(d, 0.1) + rng.uniform(-0.05, 0.05)}
            for s in (0.2, 1.0) for r in (0, 1) for d in KEY_DECODERS for i in range(8)]
    table = page.key_decoding_table(pd.DataFrame(rows))
    assert list(table.index) == [("GRU, 8 units", "0.2"), ("GRU, 8 units", "1")]
    assert list(table["memory (steps)"]) == ["2.5", "2.5"]  # the runs' mean
    assert all(cell.startswith("+0.3") and "(p 0.02)" in cell for cell in table["state minus control"])
    assert list(table.columns[1:-1]) == list(KEY_DECODERS.values())


def test_the_other_composers_section_shows_each_corpus_and_its_comparisons_with_its_own_references():
    from bayesbach.evaluation.stats import generalisation_comparisons

    err = errors()
    own = err[err["model"].isin(["markov_high", "bayes"])].assign(model=lambda d: d["model"].map(
        {"markov_high": "own_markov_counts", "bayes": "own_global"}))
    gen = pd.concat([pd.concat([err, own]).assign(corpus=c) for c in ("mine", "palestrina")], ignore_index=True)
    config = {"generalisation": {"composers": ["palestrina", {"name": "mine", "paths": ["my/midi"]}],
                                 "split": {"train": 0.5, "validation": 0.2, "test": 0.3},
                                 "own_models": ["global", "markov_counts"]}}
    pieces = pd.DataFrame({"piece": ["a", "b", "c"], "split": ["train", "validation", "test"], "n_files": [1, 2, 1],
                           "n_events": [10, 20, 30]})
    html = "\n".join(page._generalisation(config, gen, generalisation_comparisons(gen),
                                          {"palestrina": pieces, "mine": pieces}))
    corpora = page.composers_table(config, {"palestrina": pieces, "mine": pieces})
    assert list(corpora["source"]) == ["music21", "my/midi"] and list(corpora["chord events"]) == [60, 60]
    assert list(corpora["test compositions"]) == [1, 1]
    assert html.index("<h3>palestrina</h3>") < html.index("<h3>mine</h3>")  # the config's order
    assert "50% training, 20% validation, 30% test" in html
    assert model_label("own_markov_counts") in html and "the Bach-trained networks against mine's own references" in html


def test_the_headline_printed_after_a_run_says_when_it_was_written(tmp_path, capsys):
    page.print_summary(tmp_path / "summary.txt")  # no study finished yet: nothing
    assert capsys.readouterr().out == ""
    text = tmp_path / "summary.txt"
    text.write_text("Mean test BCE\nbayes 0.5\n")
    os.utime(text, (0, 1_700_000_000))  # a run that built other targets leaves it as it was
    page.print_summary(text)
    out = capsys.readouterr().out
    assert f"{text} (written " in out and "Mean test BCE\nbayes 0.5\n" in out
    assert datetime.fromtimestamp(1_700_000_000).strftime("%Y-%m-%d %H:%M") in out
