"""The results page's tables of tests (``stats.csv``, ``orders.csv``) and the sentences that say how to read them:
which family each table's p-values were corrected in, whether the inference covers other seeds, where the ladder of
observers is not monotone, which networks' states code prediction errors beyond their memory (the encoding tests of
stats.csv, :func:`coding_table`). Used by :mod:`bayesbach.report.page`.
"""

from __future__ import annotations

import html

import pandas as pd

from bayesbach.core.registry import ARCHS, HEADLINE_COMPARISONS, TASKS
from bayesbach.evaluation.effective_order import BOOTSTRAP, LEVEL
from bayesbach.evaluation.stats import ALPHA, ENCODING_TASK
from bayesbach.report.labels import model_label, network_label

TASK_NAMES = {"predict": "prediction", "decode": "decoding"}
NOT_MONOTONE = "\u2020"  # marks a cell whose ladder is read through its running minimum


def key_comparisons(stats: pd.DataFrame, task: str, errors: pd.DataFrame | None = None,
                    versus: tuple[str, ...] | None = None) -> pd.DataFrame:
    """The comparisons that carry the argument for one task, one row per network cell, one column per
    reference (``versus``, by default those of ``HEADLINE_COMPARISONS``): "mean BCE difference (d_z, Holm p)", or
    "low n" in place of the p of a test that could not be significant on its pieces (``stats.underpowered``; short,
    so the table fits the page: :func:`underpowered_note` says what it means)."""
    versus = tuple(v for t, v in HEADLINE_COMPARISONS if t == task) if versus is None else versus
    s = shown_comparisons(stats, task, versus)
    weak = s["underpowered"] if "underpowered" in s else [False] * len(s)
    cell = [f"{diff:+.4f} (d_z {d:+.2f}, {'low n' if w else f'p {p:.1g}'})"
            for diff, d, p, w in zip(s["mean_diff"], s["d_z"], s["p_holm"], weak)]
    table = pd.DataFrame({
        "network": [network_label(a, h) for a, h in zip(s["model"], s["hidden"])],
        "sigma": s["noise"].map("{:g}".format),
        "versus": s["versus"].map(lambda m: model_label(m, errors)), "cell": cell,
    })
    if not len(table):
        return table
    wide = table.pivot_table(index=["network", "sigma"], columns="versus", values="cell",
                             aggfunc="first", sort=False)
    wide.columns.name = None
    return wide.fillna("-")


def shown_comparisons(stats: pd.DataFrame, task: str, versus: tuple[str, ...] | None = None) -> pd.DataFrame:
    """The rows of ``stats`` that :func:`key_comparisons` shows for ``task``."""
    versus = tuple(v for t, v in HEADLINE_COMPARISONS if t == task) if versus is None else versus
    return stats[(stats["task"] == task) & stats["versus"].isin(versus) & (stats["kind"] == "reference")]


def family_note(shown: pd.DataFrame, where: str, p: str = "p") -> str:
    """How the p-values (column ``p``) of a table's rows of stats.csv or orders.csv (``shown``; ``where``: the file)
    were corrected: Holm within their family, the family's size, and how many of its tests the table shows."""
    parts = []
    for family, rows in shown.groupby("family", sort=False):
        size, here = int(rows["family_size"].iloc[0]), int(rows[p].notna().sum())
        parts.append(f"family {html.escape(str(family))}: {size} tests in {where}, "
                     f"{'all' if here == size else here} of them in this table")
    return (" The p-values are Holm-corrected (step-down, for the family-wise error rate) within their family ("
            + "; ".join(parts) + ").") if parts else ""


def seeds_note(runs: pd.Series) -> str:
    """Where a cell of a table has fewer than three runs: a sentence that its inference is conditional on the seeds."""
    runs = sorted({int(r) for r in pd.Series(runs).dropna()})
    if not runs or runs[0] >= 3:
        return ""
    counts = f"{runs[0]}" if len(runs) == 1 else f"{runs[0]} to {runs[-1]}"
    return (f" Each network cell has {counts} trained run{'s' if runs[-1] > 1 else ''} (seeds), fewer than three: the "
            "runs are averaged and the tests vary only the compositions, so the inference is conditional on these "
            "seeds and does not say how networks trained from other seeds would compare.")


def order_text(row) -> str:
    """One cell of the orders table (a row of orders.csv): the order with its interval, or where the ladder ends."""
    top = int(row.top_order)
    if row.position == "above the top":  # past the top rung only by the corrected test
        text = f"> {top}" if row.p_top_holm < ALPHA else f"\u2265 {top} (n.s.)"
    elif row.position == "below the ladder":
        text = "< 0"
    else:
        text = f"{row.effective_order:.2f} [{row.order_lo:.2f}, {row.order_hi:.2f}]"
    return text if row.ladder_monotone else f"{text} {NOT_MONOTONE}"


def orders_table(orders: pd.DataFrame) -> pd.DataFrame:
    """Effective order per network (rows) and (task, noise) (columns), from orders.csv (:func:`order_text`)."""
    if not len(orders):
        return pd.DataFrame()
    df = orders.assign(network=[network_label(a, h) for a, h in zip(orders["model"], orders["hidden"])],
                       text=[order_text(r) for r in orders.itertuples()], sigma=orders["noise"].map("{:g}".format))
    df["order"] = [(ARCHS.index(a), h) for a, h in zip(df["model"], df["hidden"])]
    wide = df.sort_values("order").pivot_table(index="network", columns=["task", "sigma"], values="text",
                                               aggfunc="first", sort=False)
    return wide.reindex(columns=sorted(wide.columns, key=lambda c: (TASKS.index(c[0]), float(c[1])))).fillna("-")


def ladder_note(orders: pd.DataFrame) -> str:
    """The ladders that are not monotone on the test mean (a higher order worse than a lower one), named."""
    bad = []
    for (task, noise), rows in orders[~orders["ladder_monotone"].astype(bool)].groupby(["task", "noise"], sort=True):
        rungs = [rows[f"order{k}_bce"].iloc[0] for k in range(int(rows["top_order"].iloc[0]) + 1)]
        worse = [f"order {k} scores worse than order {min(range(k), key=lambda j: rungs[j])}"
                 for k in range(1, len(rungs)) if rungs[k] > min(rungs[:k])]
        bad.append(f"{TASK_NAMES.get(task, task)} at sigma {noise:g} ({', '.join(worse)})")
    if not bad:
        return ""
    return (f" {NOT_MONOTONE} The ladder is not monotone on the test compositions for {'; '.join(bad)}: there the "
            "effective order is read through the ladder's running minimum, so it never places a network at a rung "
            "that a lower one beats.")


def orders_section(orders: pd.DataFrame, order0: str) -> str:
    """The text above the orders table (``order0``: the name of the observer of order 0, spelled out)."""
    top = int(orders["top_order"].max()) if len(orders) else 3
    return (f"<p>Where each network's mean test BCE falls between the observers of order 0 ({html.escape(order0)}, "
            f"the current input alone) and {top}, linearly interpolated; higher is better. In brackets the "
            f"{LEVEL:.0%} bootstrap interval over the test compositions ({BOOTSTRAP:,} resamples, the observers "
            f"resampled with the network). \u201c> {top}\u201d: the network beats the top observer, two-sided "
            f"Wilcoxon signed-rank test across compositions, Holm-corrected p < {ALPHA:g}; \u201c\u2265 {top} "
            "(n.s.)\u201d: its mean BCE is lower than the top observer's, but the test does not separate them."
            + family_note(orders, "orders.csv", "p_top") + seeds_note(orders["runs"] if len(orders) else []) + ladder_note(orders)
            + " Every value, the ladder's BCEs and the tests are in results/evaluation/orders.csv.</p>")


def _mean_per_cell(errors: pd.DataFrame) -> pd.Series:
    """Mean test BCE per (task, noise, hidden, arch) of the networks, runs averaged per composition first."""
    nets = errors[errors["model"].isin(ARCHS)]
    per_piece = nets.groupby(["task", "noise", "hidden", "model", "piece"])["bce"].mean()
    return per_piece.groupby(level=["task", "noise", "hidden", "model"]).mean()


def transfer_table(errors: pd.DataFrame, composer: pd.DataFrame, task: str = "predict", own: str = "own_bayes",
                   bach: str = "bayes") -> pd.DataFrame:
    """Per network cell: its gap (mean test BCE minus the observer's) to the composer's own observer ``own`` on the
    composer's test compositions, beside its gap to the Bach-fitted observer ``bach`` on Bach's, and the difference
    (the transfer cost: how much further from an ideal observer of the music the network is off Bach). Empty
    without both observers."""
    def observer(table: pd.DataFrame, name: str) -> pd.Series:
        rows = table[(table["model"] == name) & (table["task"] == task)]
        return rows.groupby("noise")["bce"].mean()

    theirs, ours = observer(composer, own), observer(errors, bach)
    if theirs.empty or ours.empty:
        return pd.DataFrame()
    there, here = _mean_per_cell(composer).loc[task], _mean_per_cell(errors).loc[task]
    rows = []
    for (noise, hidden, arch), value in there.items():
        if noise in theirs.index and noise in ours.index and (noise, hidden, arch) in here.index:
            gap, home = value - theirs[noise], here[noise, hidden, arch] - ours[noise]
            rows.append({"network": network_label(arch, hidden), "sigma": f"{noise:g}",
                         "gap to its own observer": f"{gap:+.4f}", "gap on Bach": f"{home:+.4f}",
                         "transfer cost": f"{gap - home:+.4f}", "_order": (ARCHS.index(arch), hidden, noise)})
    table = pd.DataFrame(rows)
    return table.sort_values("_order").drop(columns="_order").set_index(["network", "sigma"]) if rows else table


def underpowered_note(comparisons: pd.DataFrame) -> str:
    """How many of a table's tests could never be significant on their pieces after the correction, and why."""
    if "underpowered" not in comparisons or not comparisons["underpowered"].any():
        return ""
    weak = comparisons[comparisons["underpowered"]]
    n, m = int(weak["n_pieces"].max()), int(weak["family_size"].max())
    return (f" {len(weak)} of these {len(comparisons)} tests are underpowered, marked \u201clow n\u201d: with {n} compositions the "
            f"smallest two-sided Wilcoxon p is 2/2^{n} = {2.0 ** (1 - n):.2g}, and Holm's correction over {m} tests "
            f"cannot bring it below {ALPHA:g}, so whatever the networks do there is no result.")


def span(values: pd.Series, digits: int = 4) -> str:
    """The range of ``values`` with their signs, or one value where the range rounds to nothing."""
    lo, hi = values.min(), values.max()
    return f"{lo:+.{digits}f}" if abs(hi - lo) < 0.5 * 10 ** -digits else f"{lo:+.{digits}f} to {hi:+.{digits}f}"


def memoryless_note(errors: pd.DataFrame, stats: pd.DataFrame, bound: str = "bayes_memoryless") -> str:
    """Where probed networks predict worse than the ideal memoryless observer: by how much per size of state, with
    the corrected tests of stats.csv, how well the same networks decode, and what the trend with size says."""
    if bound not in set(errors["model"]) or not errors["model"].isin(ARCHS).any():
        return ""
    cells, ref = _mean_per_cell(errors), errors[errors["model"] == bound].groupby(["task", "noise"])["bce"].mean()
    label, out = html.escape(model_label(bound)), []
    label = label[0].lower() + label[1:]  # mid-sentence
    for noise in sorted(set(cells.loc["predict"].index.get_level_values("noise"))):
        gap = cells.loc["predict", noise] - ref["predict", noise]  # index: (hidden, arch)
        if (gap <= 0).all():
            out.append(f"At sigma {noise:g} every probed network predicts at least as well as the {label} "
                       f"({span(gap)} BCE).")
            continue
        rows = stats[(stats["task"] == "predict") & (stats["versus"] == bound) & (stats["noise"] == noise)]
        worse = int(((rows["mean_diff"] > 0) & (rows["p_holm"] < ALPHA)).sum())
        by_size = gap.groupby(level="hidden")
        sizes = "; ".join(f"{int(h)} units {span(g)}" for h, g in by_size)
        text = (f"At sigma {noise:g}, {worse} of {len(rows)} probed network cells predict significantly worse than "
                f"the {label} (test BCE {ref['predict', noise]:.4f}; Holm p < {ALPHA:g}): network minus observer "
                f"{sizes}.")
        if ("decode", noise) in ref.index and "decode" in cells.index.get_level_values("task"):
            dec = cells.loc["decode", noise] - ref["decode", noise]
            text += (f" The same networks decode the current chord at {span(dec)} BCE from the observer's "
                     f"{ref['decode', noise]:.4f}, so their state holds the current chord; what the probe, a linear "
                     "sigmoid read-out of that state, lacks is the chord's first-order transitions, which the "
                     "observer takes from its counts.")
        means = by_size.mean()
        if len(means) > 1:
            # shrinking: falling with every size, and by a tenth at least over the sweep (not within noise)
            shrinks = bool((means.diff().dropna() < 0).all() and means.iloc[-1] < 0.9 * means.iloc[0])
            text += (f" The mean shortfall {'shrinks' if shrinks else 'does not shrink'} with the state's size "
                     f"({', '.join(f'{v:+.4f} at {int(h)}' for h, v in means.items())} units)"
                     + (", as a limit of the state's capacity under a linear read-out would."
                        if shrinks else ": the state's size alone does not explain it."))
        out.append(text)
    return " ".join(out)


CODING = "prediction-error coding"  # the verdict of a cell whose gain over the history control survives correction
MEMORY = "explained by memory of the input"  # the verdict where it does not, but the gain over the input alone does
NO_GAIN = "no gain over the input"  # where neither does


def _coding_rows(stats: pd.DataFrame) -> pd.DataFrame:
    """The encoding tests of stats.csv, one row per network cell: each gain's mean and Holm p, and the verdict."""
    tests = stats[stats["task"] == ENCODING_TASK]
    cells = ["model", "hidden", "noise"]
    wide = tests.pivot_table(index=cells, columns="kind", values=["mean_model", "p_holm", "n_pieces", "runs"],
                             aggfunc="first", sort=False)
    out = pd.DataFrame(index=wide.index)
    for kind in ("gain_over_input", "gain_over_history"):
        out[f"{kind}_mean"] = wide["mean_model", kind] if ("mean_model", kind) in wide else float("nan")
        out[f"{kind}_p"] = wide["p_holm", kind] if ("p_holm", kind) in wide else float("nan")
    above = {k: (out[f"{k}_mean"] > 0) & (out[f"{k}_p"] < ALPHA) for k in ("gain_over_input", "gain_over_history")}
    out["verdict"] = [CODING if h else MEMORY if i else NO_GAIN
                      for h, i in zip(above["gain_over_history"], above["gain_over_input"])]
    out = out.reset_index()
    order = out["model"].map({a: i for i, a in enumerate(ARCHS)})
    return out.assign(_o=order).sort_values(["_o", "hidden", "noise"]).drop(columns="_o").reset_index(drop=True)


def coding_table(stats: pd.DataFrame) -> pd.DataFrame:
    """Per network cell: what the state h_{t+1} adds to the input alone and to the input with the previous state, as
    "mean gain (Holm p)", and the verdict: prediction-error coding only where the gain over the history control is
    above zero after correction."""
    rows = _coding_rows(stats)
    if not len(rows):
        return pd.DataFrame()
    cell = lambda m, p: "-" if m != m else f"{m:+.3f} (p {p:.1g})"  # noqa: E731
    out = pd.DataFrame({
        "network": [network_label(a, h) for a, h in zip(rows["model"], rows["hidden"])],
        "sigma": rows["noise"].map("{:g}".format),
        "h_{t+1} beyond x_{t+1}": [cell(m, p) for m, p in zip(rows["gain_over_input_mean"], rows["gain_over_input_p"])],
        "h_{t+1} beyond [x_{t+1}, h_t]": [cell(m, p) for m, p in zip(rows["gain_over_history_mean"],
                                                                      rows["gain_over_history_p"])],
        "reading": rows["verdict"]})
    return out.set_index(["network", "sigma"])


def coding_note(stats: pd.DataFrame) -> str:
    """The sentence under the coding table: in which cells the state codes the prediction error beyond its memory
    (the corrected test), and what the gain over the input alone is elsewhere."""
    rows = _coding_rows(stats)
    if not len(rows):
        return ""
    tests = stats[(stats["task"] == ENCODING_TASK) & (stats["kind"] == "gain_over_history")]
    coding = rows[rows["verdict"] == CODING]
    names = [f"{html.escape(network_label(a, h))} at sigma {s:g}" for a, h, s in
             zip(coding["model"], coding["hidden"], coding["noise"])]
    text = (f"In {len(coding)} of {len(rows)} network cells the state adds to the input and the previous state "
            f"(gain_over_history above zero, two-sided Wilcoxon signed-rank test over the "
            f"{int(tests['n_pieces'].max()) if len(tests) else 0} test compositions, Holm-corrected p < {ALPHA:g})"
            + (f": {'; '.join(names)}. Only there is the state said to code prediction errors." if names else
               ": no network's state is shown to code its prediction error."))
    memory = rows[rows["verdict"] == MEMORY]
    if len(memory):
        lo, hi = memory["gain_over_input_mean"].min(), memory["gain_over_input_mean"].max()
        span = f"{lo:.3f}" if abs(hi - lo) < 5e-4 else f"{lo:.3f} to {hi:.3f}"
        text += (f" In {len(memory)} cell{'s' if len(memory) > 1 else ''} the state adds to the input alone "
                 f"(gain_over_input {span}, significant) but not to the input with the previous state: that gain is "
                 "explained by memory of the input, which the prediction is read from, not by coding the error.")
    return text + family_note(stats[stats["task"] == ENCODING_TASK], "stats.csv") + seeds_note(tests["runs"])
