"""The convergence criterion (bayesbach.evaluation.convergence) on hand-made histories, and the study's table over a
tiny results tree."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa

from bayesbach.core import layout, schemas
from bayesbach.core.atomic import write_json, write_parquet
from bayesbach.evaluation.convergence import COLUMNS, stage_convergence, write_convergence


def history(*stages: tuple[str, list[float]], every: int = 10) -> pd.DataFrame:
    """A history table: each stage's validation losses at batches every, 2 * every, ..."""
    rows = [{"stage": name, "batch": every * (i + 1), "train_loss": v, "val_loss": v}
            for name, losses in stages for i, v in enumerate(losses)]
    return pd.DataFrame(rows)


def judged(*stages, **kw) -> dict:
    return stage_convergence(history(*stages, **kw)).set_index("stage").to_dict("index")


def test_a_curve_still_falling_in_its_last_quarter_has_not_converged():
    row = judged(("decode", list(np.linspace(1.0, 0.5, 20))))["decode"]
    # budget 200: best(0.75) is the loss at batch 150, the 15th of 20 evenly falling ones
    assert row["budget"] == 200 and row["validations"] == 20 and row["best"] == 0.5
    assert math.isclose(row["best_at_0_75"], 1.0 - 14 * 0.5 / 19) and math.isclose(row["tolerance"], 0.0055)
    assert not row["converged"] and row["reason"].startswith(f"still improving: gap {row['gap']:.3g} >= tolerance")


def test_a_flat_curve_has_converged():
    row = judged(("decode", [0.9, 0.6, 0.5] + [0.4] * 9 + [0.3999]))["decode"]
    assert row["converged"] and row["reason"] == "" and math.isclose(row["gap"], 0.0001)


def test_a_gap_exactly_at_the_tolerance_fails_and_just_below_passes():
    # best 0: the tolerance is exactly 0.0005 and so is the gap (budget 120: best(0.75) is the 9th loss's)
    at = judged(("probe", [1.0] * 8 + [0.0005, 0.0005, 0.0, 0.0]))["probe"]
    assert at["tolerance"] == at["gap"] == 0.0005 and not at["converged"]
    assert at["reason"] == "still improving: gap 0.0005 >= tolerance 0.0005"
    below = judged(("probe", [1.0] * 8 + [0.0004999, 0.0004999, 0.0, 0.0]))["probe"]
    assert below["converged"]


def test_too_few_validations_or_none_cannot_be_judged():
    few = judged(("decode", [0.5] * 9))["decode"]
    assert not few["converged"] and few["reason"] == "too few validations (9 < 10)"
    assert few["gap"] == 0.0  # computed, shown, but not judged
    none = stage_convergence(history(("decode", [math.nan] * 12))).iloc[0]
    assert not none["converged"] and none["reason"] == "no validation data" and none["validations"] == 0
    assert none["budget"] == 120 and math.isnan(none["best"])


def test_two_stages_are_judged_separately_each_on_its_own_budget():
    # the probe restarts its batches at 1: its budget is its own last batch, not the decode stage's
    table = stage_convergence(pd.concat([history(("decode", [0.4] * 12), every=10),
                                         history(("probe", list(np.linspace(0.8, 0.6, 12))), every=5)]))
    assert list(table["stage"]) == ["decode", "probe"]
    assert list(table["budget"]) == [120, 60] and list(table["converged"]) == [True, False]


def write_trained(folder, meta: dict, frame: pd.DataFrame) -> None:
    write_parquet(folder / "history.parquet", pa.Table.from_pandas(frame, schema=schemas.HISTORY, preserve_index=False))
    write_json(folder / "meta.json", meta)


def test_the_studys_table_has_every_network_stage_and_each_trained_reference_once(tmp_path):
    config = {"sweep": {"arch": ["gru"], "hidden": [4], "noise": [0.5, 1.0], "runs": 1},
              "references": {"models": ["global", "markov_low", "rnn_pred"]}}
    dirs = {kind: [tmp_path / d for d in folders] for kind, folders in layout.convergence_dirs(config).items()}
    assert [d.parent.name + "/" + d.name for d in dirs["references"]] == ["s0.5/markov_low", "s0.5/rnn_pred",
                                                                          "s1.0/rnn_pred"]  # sigma-free once
    for d, noise in zip(dirs["networks"], (0.5, 1.0)):
        write_trained(d, {"arch": "gru", "hidden": 4, "noise": noise, "run": 0},
                      history(("decode", [0.5] * 12), ("probe", [0.5] * (3 if noise == 1.0 else 12))))
    for d in dirs["references"]:
        name, noise = d.name, float(d.parent.name[1:])
        write_trained(d, {"model": name, "noise": noise}, history((name, list(np.linspace(1, 0.5, 12)))))
    out = tmp_path / "results/evaluation/convergence.csv"
    write_convergence(dirs["networks"], dirs["references"], out)
    table = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert list(table.columns) == COLUMNS and len(table) == 2 * 2 + 3
    nets = table[table["kind"] == "network"]
    assert set(nets["model"]) == {"gru"} and list(nets["stage"]) == ["decode", "probe"] * 2
    assert list(nets["converged"]) == [True, True, True, False]
    assert nets["reason"].iloc[3] == "too few validations (3 < 10)"
    refs = table[table["kind"] == "reference"]
    assert list(refs["model"]) == list(refs["stage"]) == ["markov_low", "rnn_pred", "rnn_pred"]
    assert refs["noise"].isna().tolist() == [True, False, False] and refs[["arch", "hidden", "run"]].isna().all().all()
    assert not refs["converged"].any() and refs["reason"].str.startswith("still improving").all()
