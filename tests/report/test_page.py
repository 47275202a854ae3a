"""The results page's parts (bayesbach.report.page): captions, the per-task key tables, effective orders, families."""

from __future__ import annotations

import html
import os
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from bayesbach.core.errors_table import errors_table
from bayesbach.core.registry import HEADLINE_COMPARISONS, KEY_DECODERS
from bayesbach.evaluation.stats import comparisons
from bayesbach.report import key_section, mean_tables, page
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
    # 6 compositions: the smallest p, 2 / 2^6 corrected over the family, cannot pass 0.05
    assert row["underpowered"]
    assert predict.iloc[0][model_label("markov_high")] == f"{row['mean_diff']:+.4f} (d_z {row['d_z']:+.2f}, low n)"
    powered = page.key_comparisons(stats.assign(underpowered=False), "predict", err)
    assert powered.iloc[0][model_label("markov_high")] == (f"{row['mean_diff']:+.4f} (d_z {row['d_z']:+.2f}, "
                                                           f"p {row['p_holm']:.1g})")
    assert {t for t, _ in HEADLINE_COMPARISONS} == {"predict", "decode"}


def order_row(**kw) -> dict:
    row = {"task": "predict", "model": "gru", "hidden": 8, "noise": 0.2, "effective_order": 1.234, "order_lo": 1.1,
           "order_hi": 1.4, "position": "within", "top_order": 3, "ladder_monotone": True, "p_top": 1e-6,
           "p_top_holm": 4e-6, "runs": 2, "family": "orders/top rung", "family_size": 4,
           **{f"order{k}_bce": 0.5 - 0.05 * k for k in range(4)}}
    return row | kw


def test_orders_table_shows_each_cell_with_its_interval_and_past_the_top_only_by_the_corrected_test():
    orders = pd.DataFrame([
        order_row(),
        # above the top rung's mean, but the corrected test does not separate them (p 0.9): not "> 3"
        order_row(noise=1.0, effective_order=3.0, order_lo=2.1, order_hi=3.0, position="above the top", p_top=0.45,
                  p_top_holm=0.9),
        order_row(hidden=16, noise=1.0, effective_order=3.0, order_lo=3.0, order_hi=3.0, position="above the top",
                  p_top=1e-4, p_top_holm=0.004),
        order_row(task="decode", model="elman", hidden=16, noise=1.0, effective_order=0.0, order_lo=0.0, order_hi=0.2,
                  position="below the ladder", top_order=2, ladder_monotone=False, order2_bce=0.47, order3_bce=np.nan),
    ])
    table = page.orders_table(orders)
    assert list(table.columns) == [("decode", "1"), ("predict", "0.2"), ("predict", "1")]
    assert list(table.index) == ["Elman RNN, 16 units", "GRU, 8 units", "GRU, 16 units"]  # the study's order
    assert table.loc["GRU, 8 units", ("predict", "0.2")] == "1.23 [1.10, 1.40]"
    assert table.loc["GRU, 8 units", ("predict", "1")] == "\u2265 3 (n.s.)"
    assert table.loc["GRU, 16 units", ("predict", "1")] == "> 3"
    assert table.loc["Elman RNN, 16 units", ("decode", "1")] == "< 0 \u2020"  # its ladder is not monotone
    assert table.loc["Elman RNN, 16 units", ("predict", "1")] == "-"
    text = page.orders_section(orders, "Memoryless observer")
    # the non-monotone ladder named: order 2 (0.47) scores worse than order 1 (0.45)
    assert "decoding at sigma 1 (order 2 scores worse than order 1)" in text
    assert "family orders/top rung: 4 tests in orders.csv, all of them in this table" in text
    assert "conditional on these seeds" in text and "2 trained runs" in text
    assert "prediction at" not in text  # the monotone ladders are not listed


def test_the_seeds_sentence_appears_only_below_three_runs():
    assert page.seeds_note(pd.Series([3, 5])) == ""
    assert "2 to 4 trained runs" in page.seeds_note(pd.Series([2, 4])) and "conditional" in page.seeds_note([1])
    assert "1 trained run (seeds)" in page.seeds_note([1])


def test_each_key_table_shows_tests_corrected_within_one_family_at_least_as_large_as_the_table():
    err = errors()
    stats = comparisons(err)
    for task in ("predict", "decode"):
        shown = page.shown_comparisons(stats, task)
        assert shown["family"].nunique() == 1 and (shown["family_size"] >= len(shown)).all()
        family = stats[stats["family"] == shown["family"].iloc[0]]
        assert len(family) == shown["family_size"].iloc[0]  # the whole family is in stats.csv
        assert f"family {task}/reference: {len(family)} tests in stats.csv" in page.family_note(shown, "stats.csv")
    html = page.family_note(page.shown_comparisons(stats, "decode"), "stats.csv")
    assert "all of them in this table" in html  # decoding: decoder_ff and bayes, both shown


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
    sources = key_section.key_sources_table(file_keys)
    assert list(sources["files"]) == [2, 1, 1]
    assert list(sources["Krumhansl-Schmuckler estimate agrees"]) == ["50%", "100%", "-"]
    rng = np.random.default_rng(1)
    rows = [{"arch": "gru", "hidden": 8, "noise": s, "run": r, "memory": 2.0 + r, "decoder": d, "piece": f"bwv{i}",
             "bin_start": 0, "bin_end": None, "steps": 10,
             "accuracy": {"network": 0.6, "input_memory": 0.3, "control_decoded": 0.6 if s == 0.2 else 0.5,
                          "control_observer": 0.45}.get(d, 0.1) + rng.uniform(-0.05, 0.05)}
            for s in (0.2, 1.0) for r in (0, 1) for d in KEY_DECODERS for i in range(8)]
    table = key_section.key_decoding_table(pd.DataFrame(rows))
    assert list(table.index) == [("GRU, 8 units", "0.2"), ("GRU, 8 units", "1")]
    assert list(table["memory (steps)"]) == ["2.5", "2.5"]  # the runs' mean
    assert list(table.columns[1:-3]) == [key_section.KEY_COLUMNS[d] for d in KEY_DECODERS if d != "chance"]
    # the state against the strongest control of its cell (the decoded chords' average) and the noisy input's
    assert list(table["strongest"]) == ["decoded chords"] * 2
    assert all(cell.startswith("+0.3") and "(p 0.02)" in cell for cell in table["state minus noisy input"])
    level, ahead = table["state minus strongest"]
    assert abs(float(level.split()[0])) < 0.03 and "(p 0.02)" not in level  # level with it at sigma 0.2
    assert float(ahead.split()[0]) > 0.07 and "(p 0.02)" in ahead  # ahead of it at sigma 1
    # the sentence says so, with the test and its correction, from the same table
    found = key_section.key_findings(pd.DataFrame(rows))
    assert "better in 1 of the 2 network cells (GRU, 8 units at sigma 1: " in found
    assert "not significantly different in 1 (two-sided Wilcoxon signed-rank test over 8 test compositions, " \
           "Bonferroni-corrected over the 2 cells, p &lt; 0.05)" in found
    assert "Against the noisy-input control alone it decodes it better in 2 of the 2 network cells" in found
    assert "the strongest control was the decoded-chord average in 2 cells" in found and "underpowered" not in found
    few = key_section.key_findings(pd.DataFrame([r for r in rows if r["piece"] in ("bwv0", "bwv1", "bwv2")]))
    assert "underpowered: with 3 compositions the exact test's smallest corrected p is 0.5" in few  # 2 * 2 / 2^3
    # without the observer's rows (a study without bayes): the same, its column empty
    table = key_section.key_decoding_table(pd.DataFrame([r for r in rows if r["decoder"] != "control_observer"]))
    assert list(table[key_section.KEY_COLUMNS["control_observer"]]) == ["-", "-"]


def test_the_other_composers_section_shows_each_corpus_and_its_comparisons_with_its_own_references():
    from bayesbach.evaluation.stats import generalisation_comparisons

    err = errors()
    own = err[err["model"].isin(["markov_high", "bayes"])].assign(model=lambda d: d["model"].map(
        {"markov_high": "own_markov_counts", "bayes": "own_global"}))
    own_bayes = err[err["model"] == "bayes"].assign(model="own_bayes", bce=lambda d: d["bce"] - 0.01)
    gen = pd.concat([pd.concat([err, own, own_bayes]).assign(corpus=c) for c in ("mine", "palestrina")],
                    ignore_index=True)
    config = {"generalisation": {"composers": ["palestrina", {"name": "mine", "paths": ["my/midi"]}],
                                 "split": {"train": 0.5, "validation": 0.2, "test": 0.3},
                                 "own_models": ["global", "markov_counts", "bayes"]}}
    pieces = pd.DataFrame({"piece": ["a", "b", "c"], "split": ["train", "validation", "test"], "n_files": [1, 2, 1],
                           "n_events": [10, 20, 30]})
    html = "\n".join(page._generalisation(config, gen, generalisation_comparisons(gen),
                                          {"palestrina": pieces, "mine": pieces}, err))
    corpora = page.composers_table(config, {"palestrina": pieces, "mine": pieces})
    assert list(corpora["source"]) == ["music21", "my/midi"] and list(corpora["chord events"]) == [60, 60]
    assert list(corpora["test compositions"]) == [1, 1]
    assert html.index("<h3>palestrina</h3>") < html.index("<h3>mine</h3>")  # the config's order
    assert "50% training, 20% validation, 30% test" in html
    assert model_label("own_markov_counts") in html and "the Bach-trained networks against mine's own references" in html
    # 6 compositions: every test underpowered, and the page says so instead of reporting a p
    assert "underpowered" in html and "2/2^6 = 0.031" in html
    # the transfer cost: the gap to the composer's own observer (0.01 better than bayes here) minus the gap on Bach
    transfer = page.transfer_table(err, gen[gen["corpus"] == "mine"])
    net = err[(err["model"] == "gru") & (err["task"] == "predict")].groupby("piece")["bce"].mean().mean()
    bayes = err[(err["model"] == "bayes") & (err["task"] == "predict")]["bce"].mean()
    cell = transfer.loc[("GRU, 8 units", "0.2")]
    assert cell["gap on Bach"] == f"{net - bayes:+.4f}" and cell["gap to its own observer"] == f"{net - bayes + 0.01:+.4f}"
    assert cell["transfer cost"] == "+0.0100"
    assert "Transfer cost against mine's own observer" in html


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


def shortfall_errors(gaps: dict[int, float], decode_gap: float = 0.001) -> pd.DataFrame:
    """Two GRU sizes, two runs each, and the memoryless observer, over 8 compositions; each network's probe worse
    than the observer by its size's gap (plus noise), its decoding by ``decode_gap``."""
    rng = np.random.default_rng(1)
    base = {"predict": rng.uniform(0.40, 0.45, 8), "decode": rng.uniform(0.005, 0.01, 8)}
    rows = [{"model": "bayes_memoryless", "arch": None, "hidden": None, "noise": 0.2, "run": None, "task": task,
             "piece": f"bwv{i}", "bce": b} for task, v in base.items() for i, b in enumerate(v)]
    for hidden, gap in gaps.items():
        for run in (0, 1):
            for task, v in base.items():
                shift = gap if task == "predict" else decode_gap
                rows += [{"model": "gru", "arch": "gru", "hidden": hidden, "noise": 0.2, "run": run, "task": task,
                          "piece": f"bwv{i}", "bce": b + shift + rng.normal(0, 1e-4)} for i, b in enumerate(v)]
    return pd.DataFrame(rows)


def test_the_page_says_by_how_much_probes_fall_short_of_the_memoryless_observer_and_the_trend_with_size():
    err = shortfall_errors({16: 0.04, 32: 0.02})
    note = page.memoryless_note(err, comparisons(err))
    assert "At sigma 0.2, 2 of 2 probed network cells predict significantly worse" in note
    assert "16 units +0.040" in note and "32 units +0.020" in note
    assert "decode the current chord at +0.0010 BCE" in note
    assert "shrinks with the state's size" in note and "does not shrink" not in note
    flat = page.memoryless_note(shortfall_errors({16: 0.03, 32: 0.03}), comparisons(shortfall_errors({16: 0.03, 32: 0.03})))
    assert "does not shrink" in flat and "size alone does not explain it" in flat
    better = shortfall_errors({16: -0.01, 32: -0.02})
    assert "at least as well as the ideal memoryless observer" in page.memoryless_note(better, comparisons(better))
    assert page.memoryless_note(err[err["model"] != "bayes_memoryless"], comparisons(err)) == ""


def convergence_rows(tmp_path, **failing) -> pd.DataFrame:
    """convergence.csv of one network's two stages and a sigma-free reference's one, written and read back; the
    stages named in ``failing`` fail with that reason."""
    from bayesbach.evaluation.convergence import COLUMNS
    from bayesbach.report.convergence_section import read_convergence

    rows = [{"model": "gru", "kind": "network", "arch": "gru", "hidden": 8, "noise": 0.2, "run": 1, "stage": s}
            for s in ("decode", "probe")] + [{"model": "markov_low", "kind": "reference", "stage": "markov_low"}]
    for row in rows:
        row |= {"validations": 12, "budget": 120, "best": 0.4, "best_at_0_75": 0.4, "gap": 0.0, "tolerance": 0.0045,
                "converged": row["stage"] not in failing, "reason": failing.get(row["stage"], "")}
    path = tmp_path / "convergence.csv"
    pd.DataFrame(rows, columns=COLUMNS).to_csv(path, index=False)
    return read_convergence(path)


def test_the_page_and_summary_flag_each_stage_that_did_not_converge(tmp_path):
    why = "still improving: gap 0.0123 >= tolerance 0.0045"
    table = convergence_rows(tmp_path, probe=why, markov_low="too few validations (3 < 10)")
    section = page.convergence_html(table)
    assert "<h2>Convergence</h2>" in section
    assert "1 of 3 trained stages met the convergence criterion; 2 did not (listed below)." in section
    assert "75% of its budget" in section and "at least 10 validations" in section  # the criterion, in one sentence
    assert section.count("</tr>") == 3  # the header and the two failing stages
    row = ["GRU, 8 units", "sigma 0.2, run 1", "probe", html.escape(why)]
    assert "\n      ".join(f"<td>{c}</td>" for c in row) in section
    assert f"<td>{model_label('markov_low')}</td>\n      <td>every sigma</td>" in section
    text = page.headline_text(errors(), tmp_path / "summary.html", table)
    assert "Convergence\n1 of 3 trained stages met the convergence criterion" in text
    assert f"  GRU, 8 units (sigma 0.2, run 1), probe: {why}\n" in text
    assert f"  {model_label('markov_low')} (every sigma), markov_low: too few validations (3 < 10)\n" in text
    assert text.rstrip().endswith(f"Results page: {(tmp_path / 'summary.html').resolve()}")


def test_when_every_stage_converged_one_sentence_says_so(tmp_path):
    table = convergence_rows(tmp_path)
    section = page.convergence_html(table)
    assert "All 3 trained stages met the convergence criterion." in section and "<table" not in section
    text = page.headline_text(errors(), tmp_path / "summary.html", table)
    assert "Convergence\nAll 3 trained stages met the convergence criterion. The criterion: " in text
    assert "(sigma" not in text  # no stage listed


def coding_stats(coding_cells: set, memory: bool = True, pieces: int = 12) -> pd.DataFrame:
    """The encoding tests of stats.csv for GRU-8 and GRU-16 at sigma 0.2 and 1: the cells of ``coding_cells`` add
    to the history control; every cell adds to the input alone where ``memory``."""
    from bayesbach.evaluation.stats import encoding_comparisons

    rng = np.random.default_rng(11)
    rows = [{"arch": "gru", "hidden": h, "noise": s, "run": r, "piece": f"bwv{i}", "steps": 40,
             "gain_over_input": (0.8 if memory else 0.0) + rng.uniform(-0.02, 0.02),
             "gain_over_history": (0.1 if (h, s) in coding_cells else 0.0) + rng.uniform(-0.02, 0.02)}
            for h in (8, 16) for s in (0.2, 1.0) for r in (0, 1) for i in range(pieces)]
    return pd.concat([comparisons(errors()), encoding_comparisons(pd.DataFrame(rows))], ignore_index=True)


def test_the_page_calls_coding_only_where_the_gain_over_the_history_survives_correction():
    stats = coding_stats({(16, 1.0)})
    table = page.coding_table(stats)
    assert list(table.index) == [("GRU, 8 units", "0.2"), ("GRU, 8 units", "1"), ("GRU, 16 units", "0.2"),
                                 ("GRU, 16 units", "1")]
    assert list(table["reading"]) == ["explained by memory of the input"] * 3 + ["prediction-error coding"]
    row = stats.query("task == 'encoding' and kind == 'gain_over_history' and hidden == 16 and noise == 1.0").iloc[0]
    assert table.loc[("GRU, 16 units", "1"), "h_{t+1} beyond [x_{t+1}, h_t]"] == (f"{row['mean_model']:+.3f} "
                                                                                  f"(p {row['p_holm']:.1g})")
    assert row["p_holm"] < 0.05 and row["family_size"] == 4
    section = "\n".join(page._coding(stats))
    assert "<h3>Prediction-error coding</h3>" in section
    assert "In 1 of 4 network cells the state adds to the input and the previous state" in section
    assert "GRU, 16 units at sigma 1. Only there is the state said to code prediction errors." in section
    assert "In 3 cells the state adds to the input alone" in section and "explained by memory of the input" in section
    assert "family encoding/gain_over_history: 4 tests in stats.csv, all of them in this table" in section


def test_without_a_corrected_gain_over_the_history_the_page_claims_no_coding():
    section = "\n".join(page._coding(coding_stats(set())))
    assert "In 0 of 4 network cells" in section and "no network's state is shown to code its prediction error" in section
    assert "prediction-error coding</td>" not in section and section.count("explained by memory of the input</td>") == 4
    # too few compositions for the corrected test: a real gain is still not called coding
    few = page.coding_table(coding_stats({(16, 1.0)}, pieces=4))
    assert "prediction-error coding" not in set(few["reading"])
    assert set(page.coding_table(coding_stats(set(), memory=False))["reading"]) == {"no gain over the input"}
    assert page._coding(comparisons(errors())) == [] and page.coding_note(comparisons(errors())) == ""


def test_the_bits_table_is_the_mean_table_of_the_bits_column():
    mean_table, _bits_section = mean_tables.mean_table, mean_tables.bits_section
    errors = errors_table({"decode": {"bwv0001": 0.1, "bwv0002": 0.3}}, "global", None, None, 0.5, None).to_pandas()
    bits = mean_table(errors, "bits")
    assert bits.equals(mean_table(errors.assign(bce=errors["bits"])))
    assert bits.iloc[0, 0] == pytest.approx(12 * 0.2 / np.log(2))
    html = "".join(_bits_section(errors))
    assert "Bits per chord" in html and mean_tables.bits_note() in html and _bits_section(errors.drop(columns="bits")) == []
    assert "Every model here is scored as independent units: its bits are 12 x BCE / ln 2." in html


def test_the_bits_sentence_counts_the_cells_where_the_categorical_is_below_the_product_of_marginals():
    """The note claims nothing about the numbers (the observers' joint need not be tighter on the actual chords);
    the sentence after it says from the table where it is, and by how much."""
    factorised = lambda bce: 12 * bce / np.log(2)  # noqa: E731
    bce = {"decode": {"a": 0.1, "b": 0.3}, "predict": {"a": 0.2, "b": 0.2}}
    bits = {"decode": {"a": 0.9 * factorised(0.1), "b": 0.9 * factorised(0.3)},  # 10 % below
            "predict": {"a": 1.1 * factorised(0.2), "b": 1.3 * factorised(0.2)}}  # 20 % above on average
    errors = pd.concat([errors_table(bce, "bayes", None, None, 0.5, None, bits=bits).to_pandas(),
                        errors_table(bce, "global", None, None, 0.5, None).to_pandas()])
    text = mean_tables.bits_relation(errors)
    assert model_label("bayes") in text and model_label("global") not in text
    assert "below 12 x BCE / ln 2 in 1 of 2 cells (model, task, noise)" in text
    assert "ranges from -20.0 % to 10.0 %" in text
    assert "tighter" not in mean_tables.bits_note() and "never worse" in mean_tables.bits_note()
    assert "128 x BCE / ln 2" in mean_tables.bits_note(128) and "4,096" not in mean_tables.bits_note(128)
