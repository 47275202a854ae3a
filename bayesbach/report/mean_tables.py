"""The page's tables of mean test errors per model, task and noise level: BCE (nats per unit and step) and bits per
chord, with the sentences that say how the two relate. Used by :mod:`bayesbach.report.page`."""

from __future__ import annotations

import html
import math

import pandas as pd

from bayesbach.core.registry import ARCHITECTURES, REFERENCES
from bayesbach.report.labels import model_label, network_label


def mean_table(errors: pd.DataFrame, column: str = "bce") -> pd.DataFrame:
    """Mean test ``column`` (BCE, or bits per chord) per model (rows; networks per arch and size, runs averaged per
    piece first) and (task, noise)."""
    df = errors.copy()
    archs = list(ARCHITECTURES)
    nets = df["model"].isin(archs)
    df["label"] = df["model"].map(lambda m: model_label(m, errors))
    df.loc[nets, "label"] = [network_label(a, h) for a, h in zip(df.loc[nets, "model"], df.loc[nets, "hidden"])]
    order = {m: i for i, m in enumerate(REFERENCES)}
    df["order"] = [(1, archs.index(m), h) if n else (0, order.get(m, 99), 0)
                   for m, h, n in zip(df["model"], df["hidden"], nets)]
    per_piece = df.groupby(["order", "label", "task", "noise", "piece"])[column].mean()
    table = per_piece.groupby(level=["order", "label", "task", "noise"]).mean().unstack(["task", "noise"])
    table = table.droplevel("order").sort_index(axis=1)
    table.columns = table.columns.set_names(["task", "noise sigma"]).set_levels(
        [f"{s:g}" for s in table.columns.levels[1]], level=1)
    table.index.name = "model"
    return table


def bits_note(units: int = 12) -> str:
    """What the bits table holds and how it relates to the BCE table: what holds in general, never a claim about
    these numbers (:func:`bits_relation` states those)."""
    sets = "4,096 pitch-class sets" if units == 12 else "chords"
    return ("Information content of the actual chord (the current one for decoding, the next for prediction), "
            f"-log2 p under the model's distribution over the {sets}, averaged over steps and compositions. For "
            "independent units (the networks, the trained references, global) the joint is the product of the "
            f"units, so bits = {units} x BCE / ln 2. The counted models and ideal observers are scored on their "
            f"categorical distribution over chords, where {units} x BCE / ln 2 would be the information content "
            "under the product of their marginals: in the model's own expectation its joint is never worse (the "
            "entropy of a joint is at most the sum of its marginals' entropies), but on the actual chords either "
            "can be lower, step by step and on average.")


def bits_relation(errors: pd.DataFrame, units: int = 12) -> str:
    """One sentence from the numbers: which models are scored on a distribution over chords of their own (their
    bits are not the factorised units x BCE / ln 2), and in how many of their (model, task, noise) cells the mean
    bits fall below the mean factorised value, by how much."""
    df = errors.dropna(subset=["bce", "bits"]).copy()
    df["factorised"] = units * df["bce"] / math.log(2)
    joint = (df["bits"] - df["factorised"]).abs() > 1e-9 * df["factorised"].abs().clip(lower=1.0)
    models = [m for m in REFERENCES if m in set(df.loc[joint, "model"])]
    models += sorted(set(df.loc[joint, "model"]) - set(models))
    if not models:
        return f"Every model here is scored as independent units: its bits are {units} x BCE / ln 2."
    cells = df[df["model"].isin(models)].groupby(["model", "task", "noise"])[["bits", "factorised"]].mean()
    saved = 100 * (1 - cells["bits"] / cells["factorised"])
    names = ", ".join(html.escape(model_label(m, errors)) for m in models)
    return (f"Scored on their distribution over chords here: {names}. Their mean bits per chord are below "
            f"{units} x BCE / ln 2 in {int((saved > 0).sum())} of {len(cells)} cells (model, task, noise); "
            f"1 - bits / ({units} x BCE / ln 2) ranges from {saved.min():.1f} % to {saved.max():.1f} %.")


def bits_section(errors: pd.DataFrame, units: int = 12) -> list[str]:
    """The bits-per-chord table beside the BCE table (none for an errors table written before the column)."""
    if "bits" not in errors.columns:
        return []
    return ["<h3>Bits per chord per model and noise level</h3>",
            f"<p>{bits_note(units)} {bits_relation(errors, units)}</p>",
            mean_table(errors, "bits").to_html(float_format="{:.3f}".format, na_rep="-")]
