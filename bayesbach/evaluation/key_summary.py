"""What the key-decoding table (``results/evaluation/keys.parquet``, :mod:`bayesbach.evaluation.key_decoding`)
says, for the page and the figure: pandas alone (no torch), so the report can import it.

The unit is the test composition, as everywhere in the study: a piece's accuracy pools the steps of its files
(in a bin of steps into the file, or all of them), a network cell's runs are then averaged per piece, and a
cell's accuracy is the mean over its pieces. The comparison that carries the argument pairs, piece by piece,
the read-out of the state (``network``) with the same read-out of the strongest of the memory-matched controls
(``registry.KEY_CONTROLS``: the running average, with the network's own memory, of the noisy input, of the
network's decoded chords and of the ideal observer's posterior means): SciPy's two-sided Wilcoxon signed-rank
test (:func:`bayesbach.evaluation.stats.compare`), Bonferroni-corrected over the cells of the sweep.

The strongest control is chosen per network cell, as the control of the highest mean accuracy over the cell's
test compositions, and then paired with the state on every composition: one named control per cell, so the test
compares two fixed read-outs. A choice per composition (the better control on each) would pick, composition by
composition, whichever control's errors happened to fall luckily, a maximum of noisy measurements that biases the
control upwards by chance rather than by what it reads; the choice per cell leaves that bias to one choice among
three over all the compositions. Either way the choice can only favour the control, so a state that beats it
beats each of them. The state minus the noisy-input control alone (the study's earlier comparison) is kept
beside it (``input_*``).

Public interface: ``CELL``, ``pooled_accuracy``, ``piece_accuracy``, ``strongest_control``, ``cell_table``.
"""

from __future__ import annotations

import pandas as pd

from bayesbach.core.registry import ARCHS, KEY_CONTROLS, KEY_DECODERS
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


def strongest_control(acc: pd.DataFrame) -> str | None:
    """The memory-matched control (``KEY_CONTROLS``, in that order on a tie) of the highest mean accuracy over
    the compositions where both it and the state have one; ``acc`` holds one row per composition, a column per
    decoder (None: no control)."""
    best, top = None, -1.0
    for name in KEY_CONTROLS:
        if name in acc and "network" in acc:
            both = acc[["network", name]].dropna()
            if len(both) and both[name].mean() > top:
                best, top = name, both[name].mean()
    return best


def cell_table(keys: pd.DataFrame) -> pd.DataFrame:
    """One row per network cell (architectures in the study's order, then size and noise): ``memory`` (mean over
    runs, steps), ``runs``, ``n_pieces``, the mean accuracy of each decoder (columns named as in
    ``KEY_DECODERS``, NaN for one the table lacks), ``control`` (the strongest control's name,
    :func:`strongest_control`) and network minus that control: ``mean_diff``, ``p``, ``p_bonferroni``; network
    minus the noisy-input control alone: ``input_diff``, ``input_p``, ``input_p_bonferroni``."""
    columns = [*CELL, "memory", "runs", "n_pieces", *KEY_DECODERS, "control", "mean_diff", "p", "p_bonferroni",
               "input_diff", "input_p", "input_p_bonferroni"]
    if not len(keys):
        return pd.DataFrame(columns=columns)
    acc = piece_accuracy(keys).pivot_table(index=CELL + ["piece"], columns="decoder", values="accuracy")
    rows = []
    for cell, g in acc.groupby(level=CELL):
        runs = keys[(keys["arch"] == cell[0]) & (keys["hidden"] == cell[1]) & (keys["noise"] == cell[2])]
        control = strongest_control(g)
        tests = {}
        for diff, p, name in (("mean_diff", "p", control), ("input_diff", "input_p", "input_memory")):
            both = g[["network", name]].dropna() if name is not None and {"network", name} <= set(g) else None
            versus = compare(both["network"].to_numpy(), both[name].to_numpy()) if both is not None else {}
            tests.update({diff: versus.get("mean_diff", float("nan")), p: versus.get("p", float("nan"))})
        rows.append({**dict(zip(CELL, cell)), "memory": runs.groupby("run")["memory"].first().mean(),
                     "runs": runs["run"].nunique(), "n_pieces": len(g),
                     **{name: g[name].mean() if name in g else float("nan") for name in KEY_DECODERS},
                     "control": control, **tests})
    out = pd.DataFrame(rows)
    for prefix in ("", "input_"):
        out[f"{prefix}p_bonferroni"] = (out[f"{prefix}p"] * len(out)).clip(upper=1.0)
    order = out["arch"].map({a: i for i, a in enumerate(ARCHS)})
    return out.assign(_order=order).sort_values(["_order", "hidden", "noise"]).drop(columns="_order")[columns] \
        .reset_index(drop=True)
