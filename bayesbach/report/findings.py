"""The page's opening "Findings": a few sentences that answer the study's question, each generated from the run's
tables (``stats.csv``, ``orders.csv``, the key-decoding and generalisation tables) with its numbers, its test and its
correction, so that none can go stale or claim more than its test. Used by :mod:`bayesbach.report.page`.

Each function returns one sentence, or "" when its table is absent or empty:

- :func:`prediction_finding`: do the probed networks (trained only to decode) predict better than the input-blind
  global frequencies, and than the ideal memoryless and first-order observers;
- :func:`ladder_finding`: where they sit on the ladder of ideal observers (effective order, ``orders.csv``);
- :func:`coding_finding`: where their states code prediction errors beyond their memory (the encoding tests);
- :func:`key_finding`: where their states hold the key beyond the memory-matched control;
- :func:`composer_finding`: how they fare on other composers against each composer's own observer.
"""

from __future__ import annotations

import html

import pandas as pd

from bayesbach.core.registry import ARCHS, OWN_PREFIX
from bayesbach.evaluation.stats import ALPHA, ENCODING_TASK
from bayesbach.report.labels import model_label, network_label
from bayesbach.report.stat_tables import span

TEST = "two-sided Wilcoxon signed-rank tests over the test compositions"


def _significant(rows: pd.DataFrame, better: bool) -> pd.DataFrame:
    """The rows whose corrected test rejects, with the network better (lower BCE) or worse."""
    sig = rows[(rows["p_holm"] < ALPHA) & ~rows.get("underpowered", pd.Series(False, index=rows.index)).astype(bool)]
    return sig[sig["mean_diff"] < 0] if better else sig[sig["mean_diff"] > 0]


def _versus(stats: pd.DataFrame, versus: str, errors: pd.DataFrame | None) -> str:
    rows = stats[(stats["task"] == "predict") & (stats["kind"] == "reference") & (stats["versus"] == versus)]
    if not len(rows):
        return ""
    levels = []
    for noise, g in rows.groupby("noise", sort=True):
        better, worse = len(_significant(g, True)), len(_significant(g, False))
        levels.append(f"at sigma {noise:g} better in {better} and worse in {worse} of {len(g)} "
                      f"({span(g['mean_diff'])} BCE)")
    return f"against {html.escape(model_label(versus, errors))} {', '.join(levels)}"


def prediction_finding(stats: pd.DataFrame, errors: pd.DataFrame | None = None) -> str:
    """Does perceiving teach predicting: the probed networks against the global frequencies, the memoryless and the
    first-order observer, counted over the network cells where the corrected test rejects."""
    parts = [p for p in (_versus(stats, m, errors) for m in ("global", "bayes_memoryless", "bayes")) if p]
    if not parts:
        return ""
    family = stats.loc[(stats["task"] == "predict") & (stats["kind"] == "reference"), "family"].iloc[0]
    return ("<strong>Does perceiving teach predicting?</strong> Trained only to decode the current chord, with a "
            "linear read-out of their state fitted afterwards, the networks predict the next chord (counting network "
            "cells where the difference is significant, "
            f"{TEST}, Holm-corrected within {html.escape(family)}, p &lt; {ALPHA:g}; in brackets the mean "
            "differences, network minus reference): " + "; ".join(parts) + ".")


def ladder_finding(orders: pd.DataFrame) -> str:
    """Where the probed networks sit on the ladder of ideal observers, per noise level (prediction)."""
    rows = orders[orders["task"] == "predict"] if len(orders) else orders
    if not len(rows):
        return ""
    parts = []
    for noise, g in rows.groupby("noise", sort=True):
        below, above = (g["position"] == "below the ladder").sum(), (g["position"] == "above the top").sum()
        beats = ((g["position"] == "above the top") & (g["p_top_holm"] < ALPHA)).sum()
        on = g[~g["position"].isin(["below the ladder", "above the top"])]
        text = [f"{below} of {len(g)} below order 0"] if below else []
        if len(on):
            lo, hi = on["effective_order"].min(), on["effective_order"].max()
            text.append(f"{len(on)} at order {lo:.2f}" + ("" if hi - lo < 0.005 else f" to {hi:.2f}"))
        if above:
            text.append(f"{above} past the top rung, {beats} of them significantly")
        parts.append(f"at sigma {noise:g}, {', '.join(text)}")
    top = int(rows["top_order"].max())
    return (f"<strong>Between the memoryless and the best observers.</strong> On the ladder of ideal observers "
            f"(order 0: the current input alone; 1 to {top}: the last 1 to {top} chords), the probed networks' "
            f"effective order for prediction is: {'; '.join(parts)} (\u201csignificantly\u201d: better than the order-"
            f"{top} observer, {TEST}, Holm-corrected over orders.csv).")


def coding_finding(stats: pd.DataFrame) -> str:
    """In how many network cells the state codes the prediction error beyond the history control."""
    tests = stats[(stats["task"] == ENCODING_TASK) & (stats["kind"] == "gain_over_history")]
    if not len(tests):
        return ""
    coding = tests[(tests["p_holm"] < ALPHA) & (tests["mean_model"] > 0)]
    names = "; ".join(f"{network_label(a, h)} at sigma {s:g}" for a, h, s in
                      zip(coding["model"], coding["hidden"], coding["noise"]))
    where = f"all {len(tests)}" if len(coding) == len(tests) else f"{len(coding)} of {len(tests)}"
    gains = f", explaining {span(coding['mean_model'], 3)} of what those two leave unexplained" if len(coding) else ""
    return ("<strong>Prediction-error coding.</strong> The state adds to a read-out of the prediction error from "
            f"the input and the previous state in {where} network cells{gains} ({TEST}, Holm-corrected within "
            f"{html.escape(tests['family'].iloc[0])}, p &lt; {ALPHA:g})"
            + (f": {html.escape(names)}." if 0 < len(coding) < len(tests) else "." if len(coding) else
               "; elsewhere what the state adds over the input alone is explained by its memory of the input."))


def key_finding(cells: pd.DataFrame) -> str:
    """Where the state decodes the key better than the memory-matched control (``cells``: key_summary.cell_table)."""
    if not len(cells) or "p_bonferroni" not in cells:
        return ""
    better = cells[(cells["p_bonferroni"] < ALPHA) & (cells["mean_diff"] > 0)]
    noisy = ""
    if "input_diff" in cells:
        beats = cells[(cells["input_p_bonferroni"] < ALPHA) & (cells["input_diff"] > 0)]
        noisy = (f"; it beats the average of the noisy input alone in {len(beats)} (state minus it "
                 f"{span(cells['input_diff'], 3)}), which a denoiser can do without holding any context")
    return ("<strong>Key context.</strong> A linear read-out of the key from the state beats the same read-out from "
            "the strongest memory-matched control (running averages, with the network's memory, of its noisy input, "
            f"its decoded chords or the observer's posterior means) in {len(better)} of {len(cells)} network cells "
            f"(state minus control {span(cells['mean_diff'], 3)} accuracy; {TEST}, Bonferroni-corrected over the "
            f"cells, p &lt; {ALPHA:g}){noisy}.")


def composer_finding(generalisation_stats: pd.DataFrame, errors: pd.DataFrame | None = None) -> str:
    """Per other composer: the probed networks against the composer's own first-order observer."""
    own = OWN_PREFIX + "bayes"
    if generalisation_stats is None or not len(generalisation_stats):
        return ""
    parts = []
    for corpus, g in generalisation_stats.groupby("corpus", sort=True):
        rows = g[(g["task"] == "predict") & (g["versus"] == own) & g["model"].isin(ARCHS)]
        if not len(rows):
            continue
        n = int(rows["n_pieces"].max())
        if rows["underpowered"].astype(bool).all():
            parts.append(f"{html.escape(corpus)} ({n} test compositions): underpowered, no result")
            continue
        better, worse = len(_significant(rows, True)), len(_significant(rows, False))
        parts.append(f"{html.escape(corpus)} ({n} test compositions): better in {better} and worse in {worse} of "
                     f"{len(rows)} cells (mean differences {span(rows['mean_diff'])} BCE)")
    if not parts:
        return ""
    return ("<strong>Other composers.</strong> Against each composer's own first-order ideal observer "
            f"({html.escape(model_label(own, errors))}, seeing the same noise), the Bach-trained networks predict "
            f"{'; '.join(parts)} ({TEST}, Holm-corrected within each composer's predict/reference family, p &lt; "
            f"{ALPHA:g}). The page's transfer-cost tables set these gaps beside the same gaps on Bach.")


def findings_html(stats: pd.DataFrame, orders: pd.DataFrame, errors: pd.DataFrame | None = None,
                  key_cells: pd.DataFrame | None = None, generalisation_stats: pd.DataFrame | None = None) -> list[str]:
    """The Findings section: its sentences, each a paragraph; empty when no table gives one."""
    sentences = [prediction_finding(stats, errors), ladder_finding(orders), coding_finding(stats),
                 key_finding(key_cells if key_cells is not None else pd.DataFrame()),
                 composer_finding(generalisation_stats, errors)]
    sentences = [s for s in sentences if s]
    if not sentences:
        return []
    return ["<h2>Findings</h2><p>Each sentence is computed from this run's tables (results/evaluation/); the "
            "sections below give every number it counts.</p>", *(f"<p>{s}</p>" for s in sentences)]
