"""The convergence section of the results page and of ``summary.txt``: how many trained stages of
``convergence.csv`` met the criterion (:mod:`bayesbach.evaluation.convergence`), and each one that did not. Every
count and value is read from the table. Used by :mod:`bayesbach.report.page`.
"""

from __future__ import annotations

import html

import pandas as pd

from bayesbach.evaluation.convergence import criterion_text
from bayesbach.report.labels import model_label, network_label


def read_convergence(path) -> pd.DataFrame:
    """``convergence.csv`` as written: an empty reason is "", not NaN."""
    table = pd.read_csv(path, keep_default_na=False, na_values={c: [""] for c in ("hidden", "noise", "run")})
    return table.astype({"converged": bool})


def cell(row, errors: pd.DataFrame | None = None) -> tuple[str, str]:
    """(model, cell) of a stage's row in words: a network's size, noise and run; a reference's noise level, or every
    level for a sigma-free one (no noise in the table)."""
    sigma = "every sigma" if pd.isna(row["noise"]) else f"sigma {row['noise']:g}"
    if row["kind"] == "network":
        return network_label(row["arch"], row["hidden"]), f"{sigma}, run {int(row['run'])}"
    return model_label(row["model"], errors), sigma


def failing(table: pd.DataFrame, errors: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per stage that did not converge: model, cell, stage and why (gap vs tolerance, or the reason)."""
    rows = [dict(zip(("model", "cell"), cell(row, errors)), stage=row["stage"], why=row["reason"])
            for _, row in table[~table["converged"]].iterrows()]
    return pd.DataFrame(rows, columns=["model", "cell", "stage", "why"])


def convergence_sentence(table: pd.DataFrame) -> str:
    """How many stages met the criterion, and the criterion, from the table and the criterion's constants."""
    n, met = len(table), int(table["converged"].sum())
    rule = f"The criterion: {criterion_text()}."
    if not n:
        return f"No trained stage to judge. {rule}"
    if met == n:
        return f"All {n} trained stages met the convergence criterion. {rule}"
    return f"{met} of {n} trained stages met the convergence criterion; {n - met} did not (listed below). {rule}"


def convergence_html(table: pd.DataFrame, errors: pd.DataFrame | None = None) -> str:
    """The page's section: the sentence and the table of the stages that failed."""
    text = (f"<h2>Convergence</h2><p>{html.escape(convergence_sentence(table))} Every stage, with its budget, "
            "validations and best losses, is in results/evaluation/convergence.csv.</p>")
    bad = failing(table, errors)
    return text + (bad.to_html(index=False) if len(bad) else "")


def convergence_text(table: pd.DataFrame, errors: pd.DataFrame | None = None) -> str:
    """The same for summary.txt: the sentence, then a line per failing stage."""
    lines = ["Convergence", convergence_sentence(table)]
    lines += [f"  {r.model} ({r.cell}), {r.stage}: {r.why}" for r in failing(table, errors).itertuples()]
    return "\n".join(lines) + "\n"
