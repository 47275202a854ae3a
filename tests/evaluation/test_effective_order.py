"""Effective order of the networks on the ladder of ideal observers (bayesbach.evaluation.effective_order)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from bayesbach.core.registry import OBSERVER_ORDERS
from bayesbach.evaluation.effective_order import COLUMNS, effective_order, effective_orders, write_orders


@pytest.mark.parametrize("bce, rungs, expected", [
    (0.50, [0.50, 0.40, 0.30, 0.20], (0.0, "within")),
    (0.45, [0.50, 0.40, 0.30, 0.20], (0.5, "within")),
    (0.40, [0.50, 0.40, 0.30, 0.20], (1.0, "within")),
    (0.27, [0.50, 0.40, 0.30, 0.20], (2.3, "within")),
    (0.20, [0.50, 0.40, 0.30, 0.20], (3.0, "within")),
    (0.10, [0.50, 0.40, 0.30, 0.20], (3.0, "above the top")),
    (0.60, [0.50, 0.40, 0.30, 0.20], (0.0, "below the ladder")),
    (0.35, [0.50, 0.30], (0.75, "within")),  # a shorter ladder: orders 0 and 1 only
    # a higher order worse than a lower one is read through the running minimum: order 2 is no better than 1
    (0.28, [0.50, 0.30, 0.32, 0.25], (2.4, "within")),
    (0.30, [0.50, 0.30, 0.30, 0.20], (1.0, "within")),  # a flat step: the lowest order that reaches it
])
def test_effective_order_interpolates_between_rungs(bce, rungs, expected):
    order, position = effective_order(bce, rungs)
    assert order == pytest.approx(expected[0]) and position == expected[1]


def rows(model, noise, task, values, hidden=None, run=None):
    return [{"model": model, "arch": model if hidden else None, "hidden": hidden, "noise": noise, "run": run,
             "task": task, "piece": f"bwv{i}", "bce": v} for i, v in enumerate(values)]


def test_cells_are_placed_on_their_noise_levels_ladder_over_shared_pieces():
    ladder = {"global": [0.6, 0.5, 0.4], "bayes": [0.4, 0.4, 0.4], "bayes2": [0.3, 0.3, 0.3], "bayes3": [0.2, 0.2, 0.2]}
    errors = [r for name, v in ladder.items() for r in rows(name, 1.0, "predict", v)]
    errors += rows("bayes", 0.2, "predict", [0.1, 0.1, 0.1]) + rows("global", 0.2, "predict", [0.5, 0.5, 0.5])
    # two runs of a GRU whose run mean is 0.35 on every piece: halfway between orders 1 and 2
    errors += rows("gru", 1.0, "predict", [0.3, 0.3, 0.3], 8, 0) + rows("gru", 1.0, "predict", [0.4, 0.4, 0.4], 8, 1)
    # at sigma 0.2 the ladder stops at order 1 (no bayes2): 0.3 is halfway from 0.5 to 0.1
    errors += rows("gru", 0.2, "predict", [0.3, 0.3, 0.3], 8, 0)
    # a decoding cell without a decoding ladder is skipped; a piece only the network has is left out
    errors += rows("gru", 1.0, "decode", [0.1, 0.1], 8, 0) + rows("lstm", 1.0, "predict", [0.3, 0.3, 0.3, 9.0], 16, 0)
    table = effective_orders(pd.DataFrame(errors))
    assert list(table.columns) == COLUMNS and len(table) == 3
    got = {(r.model, r.noise): r for r in table.itertuples()}
    gru = got[("gru", 1.0)]
    assert gru.effective_order == pytest.approx(1.5) and gru.runs == 2 and gru.n_pieces == 3 and gru.top_order == 3
    assert gru.order0_bce == pytest.approx(0.5) and gru.bce == pytest.approx(0.35)
    low = got[("gru", 0.2)]
    assert low.effective_order == pytest.approx(0.5) and low.top_order == 1 and np.isnan(low.order2_bce)
    lstm = got[("lstm", 1.0)]
    assert lstm.n_pieces == 3 and lstm.effective_order == pytest.approx(2.0)
    assert len(OBSERVER_ORDERS) == 4 and OBSERVER_ORDERS[0] == "global"


def test_orders_csv_reads_back_with_plain_noise_levels(tmp_path):
    errors = rows("global", 0.2, "predict", [0.5, 0.5]) + rows("bayes", 0.2, "predict", [0.3, 0.3])
    errors += rows("gru", 0.2, "predict", [0.4, 0.4], 8, 0)
    pd.DataFrame(errors).to_parquet(tmp_path / "errors.parquet")
    write_orders(tmp_path / "errors.parquet", tmp_path / "orders.csv")
    text = (tmp_path / "orders.csv").read_text()
    assert ",0.2," in text and "0.20000000000000001" not in text
    back = pd.read_csv(io.StringIO(text))
    assert back["effective_order"].tolist() == [pytest.approx(0.5)]
