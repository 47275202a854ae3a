"""What the key-decoding table (``results/evaluation/keys.parquet``, :mod:`bayesbach.evaluation.key_decoding`)
says, for the page and the figure: pandas alone (no torch), so the report can import it.

The unit is the test composition, as everywhere in the study: a piece's accuracy pools the steps of its files
(in a bin of steps into the file, or all of them), a network cell's runs are then averaged per piece, and a
cell's accuracy is the mean over its pieces. The comparison that carries the argument pairs, piece by piece,
the read-out of the state (``network``) with the same read-out of the input averaged with the network's own
memory (``input_memory``): SciPy's two-sided Wilcoxon signed-rank test (:func:`bayesbach.evaluation.stats.compare`),
Bonferroni-corrected over the cells of the sweep.

Public interface: ``CELL``, ``pooled_accuracy``, ``piece_accuracy``, ``cell_table``.
"""

from __future__ import annotations

import pandas as pd

from bayesbach.core.registry import ARCHS, KEY_DECODERS
from bayesbach.evaluation.stats import compare

CELL = ["arch", "hidden", "noise"]


def pooled_accuracy(table) -> dict[str, float]:
    """{decoder: accuracy over every test step} of a key-decoding table (pyarrow or pandas)."""
    df = table if isinstance(table, pd.DataFrame) else table.select(["decoder", "steps", "accuracy"]).to_pandas()
    correct = (df["accuracy"] * df["steps"]).groupby(df["decoder"]).sum()
    steps = df["steps"].groupby(df["decoder"]).sum()
    return {name: float(correct[name] / steps[name]) for name in KEY_DECODERS if name in steps and steps[name] > 0}


def piece_accuracy(keys: pd.DataFrame, per_bin: bool = False) -> pd.DataFrame:
    """Accuracy per (cell, decoder, piece[, bin_start, bin_end]), runs averaged per piece (module text)."""
    bins = ["bin_start", "bin_end"] if per_bin else []
    per_run = CELL + ["run", "decoder", "piece"] + bins
    df = keys.assign(correct=keys["accuracy"] * keys["steps"])
    df = df.groupby(per_run, as_index=False, dropna=False)[["correct", "steps"]].sum()
    df["accuracy"] = df["correct"] / df["steps"]
    return df.groupby([c for c in per_run if c != "run"], as_index=False, dropna=False)["accuracy"].mean()


def cell_table(keys: pd.DataFrame) -> pd.DataFrame:
    """One row per network cell (architectures in the study's order, then size and noise): ``memory`` (mean over
    runs, steps), ``runs``, ``n_pieces``, the mean accuracy of each decoder (columns named as in
    ``KEY_DECODERS``), and network minus input_memory: ``mean_diff``, ``p``, ``p_bonferroni``."""
    columns = [*CELL, "memory", "runs", "n_pieces", *KEY_DECODERS, "mean_diff", "p", "p_bonferroni"]
    if not len(keys):
        return pd.DataFrame(columns=columns)
    acc = piece_accuracy(keys).pivot_table(index=CELL + ["piece"], columns="decoder", values="accuracy")
    rows = []
    for cell, g in acc.groupby(level=CELL):
        runs = keys[(keys["arch"] == cell[0]) & (keys["hidden"] == cell[1]) & (keys["noise"] == cell[2])]
        both = g[["network", "input_memory"]].dropna() if {"network", "input_memory"} <= set(g) else g.iloc[:0]
        versus = compare(both["network"].to_numpy(), both["input_memory"].to_numpy())
        rows.append({**dict(zip(CELL, cell)), "memory": runs.groupby("run")["memory"].first().mean(),
                     "runs": runs["run"].nunique(), "n_pieces": len(g),
                     **{name: g[name].mean() if name in g else float("nan") for name in KEY_DECODERS},
                     "mean_diff": versus["mean_diff"], "p": versus["p"]})
    out = pd.DataFrame(rows)
    out["p_bonferroni"] = (out["p"] * len(out)).clip(upper=1.0)
    order = out["arch"].map({a: i for i, a in enumerate(ARCHS)})
    return out.assign(_order=order).sort_values(["_order", "hidden", "noise"]).drop(columns="_order")[columns] \
        .reset_index(drop=True)
