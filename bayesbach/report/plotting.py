"""What every figure shares: the style (matplotlib, Agg), the Okabe-Ito palette, the reference colours,
and small helpers (significance marks, a plain log axis, panel grids, saving as PNG and PDF).

Every figure uses the Okabe-Ito palette (distinguishable with every common colour-vision deficiency) or a
colour-blind-safe colour map, and is sized for a page (``WIDTH`` inches wide).
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bayesbach.core.registry import ARCHITECTURES, REFERENCES  # noqa: E402

OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#F0E442", "#000000"]
WIDTH = 7.5  # inches: a page width at 100 % zoom, text at 9 pt stays legible
PITCH_CLASSES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
BCE = "BCE (nats)"  # per pitch class and step: the captions say it
# The references' colours come from the registry; the networks are blue.
REFERENCE_COLOURS = {name: ref.colour for name, ref in REFERENCES.items()}
BLUES = [OKABE_ITO[1], OKABE_ITO[3], "#003F6B", "#7FC3EA", "#2A6F97", "#00243D"]  # one per network size

plt.rcParams.update({"font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9, "legend.fontsize": 8,
                     "xtick.labelsize": 8, "ytick.labelsize": 8, "axes.spines.top": False,
                     "axes.spines.right": False, "savefig.dpi": 150, "figure.dpi": 100,
                     "svg.hashsalt": "bayesbach", "pdf.compression": 6})


def stars(p: float) -> str:
    """Significance mark of a (Bonferroni-corrected) p-value."""
    if not p == p:  # NaN
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else "n.s."


def swept(values: pd.Series) -> list[str]:
    """The architectures among ``values`` (a table's model or arch column), in registry order: those a figure
    draws (and ``registry.primary_arch`` picks the one of a one-network figure from)."""
    present = set(values)
    return [a for a in ARCHITECTURES if a in present]


def network_means(errors: pd.DataFrame) -> pd.DataFrame:
    """Per-piece errors of the networks averaged over runs: (model, hidden, noise, task, piece) -> bce."""
    nets = errors[errors["model"].isin(list(ARCHITECTURES))]
    return nets.groupby(["model", "hidden", "noise", "task", "piece"], as_index=False)["bce"].mean()


def plain_log(ax, axis: str = "y") -> None:
    """Log axis labelled with plain numbers at 1, 2 and 5 times powers of ten (0.02, 0.05, 0.1), unlabelled
    minor ticks between them: labels never collide, whatever the range."""
    from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    target.set_major_formatter(FormatStrFormatter("%g"))
    target.set_minor_locator(LogLocator(base=10, subs=tuple(range(1, 10))))
    target.set_minor_formatter(NullFormatter())


def save(fig, out: Path) -> None:
    """PNG and PDF beside each other (``out`` is the PNG path)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(out.with_suffix(".pdf"), bbox_inches="tight", metadata={"CreationDate": None, "Creator": None, "Producer": None})
    plt.close(fig)


def grid(n: int, height: float, cols: int | None = None):
    cols = cols or min(n, 3)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(WIDTH, height * rows), squeeze=False, layout="constrained")
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def empty(message: str):
    fig, ax = plt.subplots(figsize=(WIDTH, 1.5))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center")
    return fig


def mean_sem(values: pd.Series) -> tuple[float, float]:
    v = values.dropna().to_numpy()
    return (float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else 0.0) if len(v) else (np.nan, 0.0)

