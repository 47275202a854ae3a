"""Did each trained stage converge within its budget? (``convergence.csv``; docs/science.md, "Training".)

The criterion: with ``best(f)`` the lowest validation loss at batches <= f * the stage's budget (its last batch in
``history.parquet``), a stage converged when ``best(0.75) - best(1.0) < 0.01 * best(1.0) + 0.0005``: its last
quarter improved it by less than 1 % plus 0.0005 nats. It is judged only with at least 10 validations (rows with
a val_loss); fewer, or none (no validation data: val_loss all NaN), and it did not converge, with the reason.

The study's table has one row per stage of every network of the sweep (decode, probe) and of every trained
reference (one stage, named after it). A sigma-free reference writes the same history in the folder of every
noise level, so it is judged once, with no noise. Public interface: ``COLUMNS``, ``stage_convergence(history)``,
``convergence_table(network_dirs, reference_dirs)``, ``write_convergence(network_dirs, reference_dirs, out)``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from bayesbach.core.atomic import write_atomic
from bayesbach.core.registry import SIGMA_FREE
from bayesbach.evaluation.stats import to_csv

FRACTION = 0.75  # of the budget: the last quarter must not improve the best by more than the tolerance
RELATIVE = 0.01  # tolerance = RELATIVE * best + ABSOLUTE
ABSOLUTE = 0.0005
MIN_VALIDATIONS = 10
STAGE_COLUMNS = ["stage", "validations", "budget", "best", "best_at_0_75", "gap", "tolerance", "converged", "reason"]
CELL_COLUMNS = ["model", "kind", "arch", "hidden", "noise", "run"]
COLUMNS = CELL_COLUMNS + STAGE_COLUMNS


def criterion_text() -> str:
    """The criterion in one sentence, from the constants above (for the page and summary.txt)."""
    return (f"a stage converged when its best validation loss by {FRACTION:.0%} of its budget exceeds its best over "
            f"the whole budget by less than {RELATIVE:.0%} of that best plus {ABSOLUTE:g}, judged only with at least "
            f"{MIN_VALIDATIONS} validations")


def judge(rows: pd.DataFrame) -> dict:
    """One stage's row of ``STAGE_COLUMNS`` but its name (the criterion of the module text)."""
    valid = rows.dropna(subset=["val_loss"])
    budget = int(rows["batch"].max())
    out = {"validations": len(valid), "budget": budget, "best": float("nan"), "best_at_0_75": float("nan"),
           "gap": float("nan"), "tolerance": float("nan"), "converged": False}
    if not len(valid):
        return out | {"reason": "no validation data"}
    best = float(valid["val_loss"].min())
    early = valid.loc[valid["batch"] <= FRACTION * budget, "val_loss"]
    out |= {"best": best, "tolerance": RELATIVE * best + ABSOLUTE}
    if len(early):  # else no validation by that fraction: nothing to compare the end with
        out |= {"best_at_0_75": float(early.min()), "gap": float(early.min()) - best}
    if len(valid) < MIN_VALIDATIONS:
        return out | {"reason": f"too few validations ({len(valid)} < {MIN_VALIDATIONS})"}
    if not len(early):
        return out | {"reason": f"no validation by {FRACTION:.0%} of the budget"}
    if out["gap"] >= out["tolerance"]:
        return out | {"reason": f"still improving: gap {out['gap']:.3g} >= tolerance {out['tolerance']:.3g}"}
    return out | {"converged": True, "reason": ""}


def stage_convergence(history: pd.DataFrame) -> pd.DataFrame:
    """One row per stage of a ``history.parquet`` table (``STAGE_COLUMNS``), in the order the stages trained."""
    rows = [{"stage": stage, **judge(g)} for stage, g in history.groupby("stage", sort=False)]
    return pd.DataFrame(rows, columns=STAGE_COLUMNS).astype({"converged": bool})


def _folder(folder: Path, kind: str) -> pd.DataFrame:
    """The stages of one trained model's folder (history.parquet and meta.json), with its cell."""
    meta = json.loads((folder / "meta.json").read_text())
    stages = stage_convergence(pd.read_parquet(folder / "history.parquet"))
    if kind == "network":
        cell = {"model": meta["arch"], "arch": meta["arch"], "hidden": meta["hidden"], "noise": meta["noise"],
                "run": meta["run"]}
    else:  # a sigma-free reference is judged once: its history is the same at every noise level
        cell = {"model": meta["model"], "noise": None if meta["model"] in SIGMA_FREE else meta["noise"]}
    return stages.assign(kind=kind, **{c: cell.get(c) for c in CELL_COLUMNS if c != "kind"})


def convergence_table(network_dirs, reference_dirs) -> pd.DataFrame:
    """Every stage of the networks' folders and of the trained references' (``COLUMNS``), in the order given."""
    frames = [_folder(Path(d), "network") for d in network_dirs] + [_folder(Path(d), "reference")
                                                                     for d in reference_dirs]
    frames = [f for f in frames if len(f)]  # an empty history has no stage
    table = pd.concat(frames, ignore_index=True)[COLUMNS] if frames else pd.DataFrame(columns=COLUMNS)
    return table.astype({"hidden": "Int64", "run": "Int64", "noise": "float64", "converged": bool})


def write_convergence(network_dirs, reference_dirs, out: Path) -> pd.DataFrame:
    """The convergence stage: the trained folders' history.parquet and meta.json -> ``convergence.csv``."""
    table = convergence_table(network_dirs, reference_dirs)
    write_atomic(Path(out), to_csv(table))
    return table
