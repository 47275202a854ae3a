"""Where the networks stand: their effective order on the ladder of ideal observers (docs/science.md, "Reference models").

The ladder, per noise level and task, is the mean test BCE of the observers of
:data:`bayesbach.core.registry.OBSERVER_ORDERS`: order 0 is ``global`` (no context),
order k >= 1 the Bayesian observer whose hidden state is the last k chords
(``bayes``, ``bayes2``, ``bayes3``). A network cell's effective order is where its
own mean BCE falls on that ladder, linearly interpolated between neighbouring
rungs: 1.5 is halfway from the first- to the second-order observer's error. The
means are taken over the test compositions that the network and every observer
have (a network's per-piece errors first averaged over its runs).

A ladder that is not monotone (a higher order scoring worse on the test split) is
read through its running minimum, so the order is always a non-increasing
function of the BCE. A network worse than order 0 gets 0 and one better than the
top rung gets the top order; ``position`` says so ("below the ladder", "above the
top"), instead of extrapolating beyond what was measured.

Public interface: ``effective_order(bce, rungs)``, ``effective_orders(errors)``
(one row per cell and task, ``COLUMNS``), ``write_orders(errors_path, out)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bayesbach.core.atomic import write_atomic
from bayesbach.core.registry import ARCHS, OBSERVER_ORDERS
from bayesbach.evaluation.stats import per_piece, to_csv

COLUMNS = ["task", "model", "hidden", "noise", "runs", "n_pieces", "bce", *[f"order{k}_bce" for k in
           range(len(OBSERVER_ORDERS))], "top_order", "effective_order", "position"]


def effective_order(bce: float, rungs: list[float]) -> tuple[float, str]:
    """(order, position) of a BCE on a ladder of mean BCEs, rung k = order k (see the module text)."""
    ladder = np.minimum.accumulate(np.asarray(rungs, float))
    if bce >= ladder[0]:
        return 0.0, "below the ladder" if bce > ladder[0] else "within"
    if bce <= ladder[-1]:
        return float(len(ladder) - 1), "above the top" if bce < ladder[-1] else "within"
    k = int(np.flatnonzero(ladder <= bce)[0])  # the lowest order that does as well: ladder[k - 1] > bce >= ladder[k]
    if ladder[k] == bce:
        return float(k), "within"
    return k - 1 + float((ladder[k - 1] - bce) / (ladder[k - 1] - ladder[k])), "within"


def effective_orders(errors: pd.DataFrame) -> pd.DataFrame:
    """One row per (task, network cell) whose noise level has at least orders 0 and 1 (``COLUMNS``)."""
    table = per_piece(errors)
    keys = set(table.index.droplevel("piece"))
    rows = []
    for arch, hidden, noise, task in sorted(k for k in keys if k[0] in ARCHS):
        rungs = []
        for name in OBSERVER_ORDERS:  # the contiguous ladder from order 0 that this study has
            if (name, -1, noise, task) not in keys:
                break
            rungs.append(table.loc[(name, -1, noise, task), "bce"])
        if len(rungs) < 2:
            continue
        net = table.loc[(arch, hidden, noise, task)]
        both = pd.concat([net["bce"], *rungs], axis=1, join="inner").dropna()
        means = both.mean().to_numpy()
        order, position = effective_order(means[0], list(means[1:]))
        rows.append({"task": task, "model": arch, "hidden": int(hidden), "noise": noise, "runs": int(net["runs"].max()),
                     "n_pieces": len(both), "bce": means[0],
                     **{f"order{k}_bce": (means[1 + k] if k < len(rungs) else np.nan) for k in range(len(OBSERVER_ORDERS))},
                     "top_order": len(rungs) - 1, "effective_order": order, "position": position})
    out = pd.DataFrame(rows, columns=COLUMNS)
    return out.sort_values(["task", "noise", "model", "hidden"], key=lambda c: c.map(ARCHS.index) if c.name == "model"
                           else c, ignore_index=True) if len(out) else out


def write_orders(errors_path: Path, out: Path) -> pd.DataFrame:
    """The effective-order stage: ``errors.parquet`` -> ``orders.csv``."""
    table = effective_orders(pd.read_parquet(errors_path))
    write_atomic(Path(out), to_csv(table))
    return table
