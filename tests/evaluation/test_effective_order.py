"""Effective order of the networks on the ladder of ideal observers (bayesbach.evaluation.effective_order)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from scipy.stats import wilcoxon

from bayesbach.core.registry import OBSERVER_ORDERS
from bayesbach.core.seeds import derive_seed
from bayesbach.evaluation.effective_order import (BOOTSTRAP, COLUMNS, FAMILY, SEED, bootstrap_orders, effective_order,
                                                  effective_orders, write_orders)
from bayesbach.evaluation.stats import holm, to_csv


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
    ladder = {"bayes_memoryless": [0.6, 0.5, 0.4], "bayes": [0.4, 0.4, 0.4], "bayes2": [0.3, 0.3, 0.3],
              "bayes3": [0.2, 0.2, 0.2], "global": [0.9, 0.9, 0.9]}  # global: the study's floor, no rung
    errors = [r for name, v in ladder.items() for r in rows(name, 1.0, "predict", v)]
    errors += rows("bayes", 0.2, "predict", [0.1, 0.1, 0.1]) + rows("bayes_memoryless", 0.2, "predict", [0.5, 0.5, 0.5])
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
    assert OBSERVER_ORDERS == ("bayes_memoryless", "bayes", "bayes2", "bayes3")
    assert table["ladder_monotone"].all()


def test_a_noise_level_without_the_memoryless_observer_has_no_ladder():
    # global, the input-blind floor, does not stand in for order 0
    errors = rows("global", 1.0, "predict", [0.6, 0.6]) + rows("bayes", 1.0, "predict", [0.4, 0.4])
    errors += rows("bayes2", 1.0, "predict", [0.3, 0.3]) + rows("gru", 1.0, "predict", [0.5, 0.5], 8, 0)
    errors += rows("bayes_memoryless", 0.2, "predict", [0.6, 0.6]) + rows("bayes", 0.2, "predict", [0.4, 0.4])
    errors += rows("gru", 0.2, "predict", [0.5, 0.5], 8, 0)
    # a cell that shares no piece with its ladder has nothing to be placed on
    errors += [r | {"piece": "other" + r["piece"]} for r in rows("lstm", 0.2, "predict", [0.5, 0.5], 8, 0)]
    table = effective_orders(pd.DataFrame(errors))
    assert table["noise"].tolist() == [0.2] and table["effective_order"].tolist() == [pytest.approx(0.5)]
    assert table["model"].tolist() == ["gru"]


def ladder_errors(seed: int, n: int, net_shift: float, rungs=(0.6, 0.45, 0.4, 0.38), task="predict") -> list[dict]:
    """A ladder of mean BCEs ``rungs`` and a GRU ``net_shift`` below the top rung on ``n`` pieces, with a per-piece
    difficulty shared by every model (as on real music) and each model's own noise of mean 0."""
    rng = np.random.default_rng(seed)
    piece = rng.normal(0, 0.05, n)
    noise = lambda: (e := rng.normal(0, 0.005, n)) - e.mean()  # noqa: E731 - the means are exactly as asked
    out = [r for name, m in zip(OBSERVER_ORDERS, rungs) for r in rows(name, 1.0, task, m + piece + noise())]
    return out + rows("gru", 1.0, task, rungs[-1] - net_shift + piece + noise(), 16, 0)


def test_the_bootstrap_interval_is_the_direct_loop_over_resampled_compositions():
    errors = pd.DataFrame(ladder_errors(0, 12, -0.03))  # between orders 1 and 3
    row = effective_orders(errors).iloc[0]
    # directly: pieces in name order, one value per model; each resample draws whole pieces for every model
    pieces = sorted(errors["piece"].unique())
    table = {m: errors[errors["model"] == m].set_index("piece")["bce"] for m in ("gru", *OBSERVER_ORDERS)}
    draws = np.random.default_rng(derive_seed(SEED, "bootstrap", "predict", "gru", 16, 1.0)).integers(
        0, len(pieces), (BOOTSTRAP, len(pieces)))
    orders = []
    for draw in draws:
        means = [sum(table[m][pieces[i]] for i in draw) / len(draw) for m in ("gru", *OBSERVER_ORDERS)]
        orders.append(effective_order(means[0], means[1:])[0])
    assert row["order_lo"] == pytest.approx(np.percentile(orders, 2.5))
    assert row["order_hi"] == pytest.approx(np.percentile(orders, 97.5))
    assert row["order_lo"] < row["effective_order"] < row["order_hi"]
    values = np.column_stack([table[m].loc[pieces] for m in ("gru", *OBSERVER_ORDERS)])
    assert bootstrap_orders(values, 1).tolist() == bootstrap_orders(values, 1).tolist()  # the seed fixes it
    assert to_csv(effective_orders(errors)) == to_csv(effective_orders(errors.sample(frac=1, random_state=2)))


def test_beyond_the_top_rung_is_a_corrected_test_not_a_reading_of_the_means():
    errors = pd.DataFrame(ladder_errors(1, 30, 0.0005) + ladder_errors(2, 30, 0.02, task="decode"))
    table = effective_orders(errors).set_index("task")
    for task in ("predict", "decode"):
        assert table.loc[task, "position"] == "above the top" and table.loc[task, "effective_order"] == 3
        net, top = (errors[(errors["task"] == task) & (errors["model"] == m)]["bce"].to_numpy() for m in ("gru", "bayes3"))
        assert table.loc[task, "p_top"] == pytest.approx(wilcoxon(net, top).pvalue)
    assert table.loc["predict", "order_lo"] < 3 == table.loc["predict", "order_hi"]  # the interval reaches past it
    assert (table["family"] == FAMILY).all() and (table["family_size"] == 2).all()
    np.testing.assert_allclose(table["p_top_holm"], holm(table["p_top"].to_numpy()))
    assert table.loc["predict", "p_top_holm"] > 0.05 > table.loc["decode", "p_top_holm"]


def test_a_ladder_that_is_not_monotone_on_the_test_mean_is_flagged():
    errors = pd.DataFrame(ladder_errors(3, 10, -0.05, rungs=(0.6, 0.45, 0.40, 0.41)))
    row = effective_orders(errors).iloc[0]
    assert not row["ladder_monotone"] and row["order3_bce"] > row["order2_bce"]
    assert effective_orders(pd.DataFrame(ladder_errors(3, 10, -0.05))).iloc[0]["ladder_monotone"]


def test_orders_csv_reads_back_with_plain_noise_levels(tmp_path):
    errors = rows("bayes_memoryless", 0.2, "predict", [0.5, 0.5]) + rows("bayes", 0.2, "predict", [0.3, 0.3])
    errors += rows("gru", 0.2, "predict", [0.4, 0.4], 8, 0)
    pd.DataFrame(errors).to_parquet(tmp_path / "errors.parquet")
    write_orders(tmp_path / "errors.parquet", tmp_path / "orders.csv")
    text = (tmp_path / "orders.csv").read_text()
    assert ",0.2," in text and "0.20000000000000001" not in text
    back = pd.read_csv(io.StringIO(text))
    assert back["effective_order"].tolist() == [pytest.approx(0.5)]
