"""Where the networks stand: their effective order on the ladder of ideal observers (docs/science.md, "Reference models").

The ladder, per noise level and task, is the mean test BCE of the observers of
:data:`bayesbach.core.registry.OBSERVER_ORDERS`: order 0 is ``bayes_memoryless`` (the
exact observer of the current input alone, no memory), order k >= 1 the Bayesian
observer whose hidden state is the last k chords (``bayes``, ``bayes2``, ``bayes3``).
``global``, which ignores the input, is the study's floor but no rung: a decoder
without memory would stand far above it. A network cell's effective order is where
its own mean BCE falls on that ladder, linearly interpolated between neighbouring
rungs: 1.5 is halfway from the first- to the second-order observer's error. The
means are taken over the test compositions that the network and every observer
have (a network's per-piece errors first averaged over its runs). A noise level
without order 0 or order 1 has no ladder, and its cells no row.

A ladder that is not monotone (a higher order scoring worse on the test split) is
read through its running minimum, so the order is always a non-increasing
function of the BCE; ``ladder_monotone`` says where that happened. A network worse
than order 0 gets 0 and one better than the top rung gets the top order;
``position`` says so ("below the ladder", "above the top"), instead of
extrapolating beyond what was measured.

Uncertainty: ``order_lo`` and ``order_hi`` bound the 95 % percentile bootstrap
interval over compositions: ``BOOTSTRAP`` resamples of the cell's pieces with
replacement, the network and every rung resampled together (the same pieces), the
effective order recomputed on each resample's means, and NumPy's linear quantiles
2.5 % and 97.5 % of those orders. The resamples are drawn by
``numpy.random.default_rng(derive_seed(SEED, "bootstrap", task, arch, hidden,
noise)).integers(0, n, (BOOTSTRAP, n))`` over the pieces in name order: fixed by the
cell alone, so a rerun is bit-identical. Whether a network is past the top rung is
a test, not a reading of the means: ``p_top`` is the two-sided Wilcoxon signed-rank
p (:func:`bayesbach.evaluation.stats.signed_rank`) of the network against the top
rung across pieces, and ``p_top_holm`` that p Holm-corrected within ``family``
(``FAMILY``: every row of this table, which the results page shows as one table).

Public interface: ``effective_order(bce, rungs)``, ``bootstrap_orders(values, seed)``,
``effective_orders(errors)`` (one row per cell and task, ``COLUMNS``),
``write_orders(errors_path, out)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bayesbach.core.atomic import write_atomic
from bayesbach.core.registry import ARCHS, OBSERVER_ORDERS
from bayesbach.core.seeds import derive_seed
from bayesbach.evaluation.stats import correct, per_piece, signed_rank, to_csv

COLUMNS = ["task", "model", "hidden", "noise", "runs", "n_pieces", "bce", *[f"order{k}_bce" for k in
           range(len(OBSERVER_ORDERS))], "top_order", "ladder_monotone", "effective_order", "order_lo", "order_hi",
           "position", "p_top", "family", "family_size", "p_top_holm"]
BOOTSTRAP = 2000  # resamples of the compositions per cell
LEVEL = 0.95  # of the bootstrap interval
SEED = 0  # the bootstrap's, with the cell's identity (derive_seed); not the study's seed, which this stage is not given
FAMILY = "orders/top rung"


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


def bootstrap_orders(values: np.ndarray, seed: int, resamples: int = BOOTSTRAP) -> np.ndarray:
    """The effective order of each bootstrap resample of the pieces: ``values`` is (pieces, 1 + rungs), the network's
    BCE then each rung's, one row per piece; a resample takes whole rows, so the ladder moves with the network."""
    values = np.asarray(values, float)
    n = len(values)
    means = values[np.random.default_rng(seed).integers(0, n, (resamples, n))].mean(axis=1)
    return np.array([effective_order(m[0], m[1:])[0] for m in means])


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
        both = pd.concat([net["bce"], *rungs], axis=1, join="inner").dropna().sort_index()
        if not len(both):  # no piece scored by the network and every rung: nothing to place
            continue
        values = both.to_numpy()
        means = values.mean(axis=0)
        order, position = effective_order(means[0], list(means[1:]))
        seed = derive_seed(SEED, "bootstrap", task, arch, int(hidden), float(noise))
        lo, hi = np.quantile(bootstrap_orders(values, seed), [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
        rows.append({"task": task, "model": arch, "hidden": int(hidden), "noise": noise, "runs": int(net["runs"].max()),
                     "n_pieces": len(both), "bce": means[0],
                     **{f"order{k}_bce": (means[1 + k] if k < len(rungs) else np.nan) for k in range(len(OBSERVER_ORDERS))},
                     "top_order": len(rungs) - 1, "ladder_monotone": bool(np.all(np.diff(means[1:]) <= 0)),
                     "effective_order": order, "order_lo": float(lo), "order_hi": float(hi), "position": position,
                     "p_top": signed_rank(values[:, 0], values[:, -1])[1]})
    out = correct(pd.DataFrame(rows, columns=COLUMNS[:COLUMNS.index("family")]), FAMILY, "p_top")[COLUMNS]
    return out.sort_values(["task", "noise", "model", "hidden"], key=lambda c: c.map(ARCHS.index) if c.name == "model"
                           else c, ignore_index=True) if len(out) else out


def write_orders(errors_path: Path, out: Path) -> pd.DataFrame:
    """The effective-order stage: ``errors.parquet`` -> ``orders.csv``."""
    table = effective_orders(pd.read_parquet(errors_path))
    write_atomic(Path(out), to_csv(table))
    return table
