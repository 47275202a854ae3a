"""The figures of the study's extensions: prediction-error coding, the key held in the state, other composers."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from bayesbach.report.plotting import (BCE, BLUES, OKABE_ITO, PITCH_CLASSES, REFERENCE_COLOURS, WIDTH,  # style
                                       empty, mean_sem, plain_log, plt, stars, swept)
from bayesbach.core.registry import KEY_DECODERS, OWN_MODELS, OWN_PREFIX, primary_arch
from bayesbach.evaluation.key_summary import CELL, cell_table, piece_accuracy
from bayesbach.evaluation.stats import ALPHA, encoding_comparisons
from bayesbach.report.labels import arch_label, model_label, network_label


# 6. -----------------------------------------------------------------------------------------------
# The encoding figure's panels: (column, marker and line style, filled, what) per panel.
CODING_PANELS = (
    ("Linear read-out of the prediction error e_t", "Error variance explained (fraction)",
     [("gain_state", "o-", True, "from the state h_{t+1}"),
      ("gain_input", "v:", False, "from the input x_{t+1} alone (control)"),
      ("gain_history", "s--", False, "from [x_{t+1}, h_t] (history control)")]),
    ("What h_{t+1} adds to the controls", "Share of the control's error explained",
     [("gain_over_input", "v:", False, "beyond x_{t+1}"),
      ("gain_over_history", "D-", True, "beyond [x_{t+1}, h_t] (stars: > 0, corrected)")]),
    ("Error energy ||e_t||^2 and the energies", "Pearson r with ||e_t||^2",
     [("corr_input", "v:", False, "input ||x_{t+1}||^2 (baseline)"),
      ("corr_state", "o--", False, "state ||h_{t+1}||^2"),
      ("pcorr_state", "o-", True, "state, partial given the input energy"),
      ("pcorr_change", "s-", True, "change ||h_{t+1} - h_t||^2, partial")]),
)


def error_coding(enc: pd.DataFrame):
    """Prediction-error encoding over hidden size, per noise level (colours): the read-out of e from the state beside
    the input-only and the history controls, what the state adds to each (stars: gain_over_history above zero after
    correction, the tests of stats.csv), and the energy correlations, raw and partial given the input energy."""
    arch = primary_arch(swept(enc["arch"]))
    if arch is None:  # an empty table
        return empty("No prediction-error encoding to show.")
    tests = encoding_comparisons(enc)  # the rows stats.csv holds for the same table
    tests = tests[(tests["kind"] == "gain_over_history") & (tests["model"] == arch)]
    enc = enc[enc["arch"] == arch]
    cols = [c for _, _, panel in CODING_PANELS for c, _, _, _ in panel]
    per_piece = enc.groupby(["hidden", "noise", "piece"], as_index=False)[cols].mean()  # runs first
    hiddens = sorted(per_piece["hidden"].unique())
    fig, axes = plt.subplots(1, len(CODING_PANELS), figsize=(WIDTH, 3.9), layout="constrained")
    noises = sorted(per_piece["noise"].unique())
    for k, sigma in enumerate(noises):
        g = per_piece[per_piece["noise"] == sigma]
        colour = OKABE_ITO[k % 6]
        for ax, (_, _, panel) in zip(axes, CODING_PANELS):
            for col, style, filled, _ in panel:
                pts = [(h, *mean_sem(gh[col])) for h, gh in g.groupby("hidden")]
                h, m, e = map(np.array, zip(*pts))
                ax.errorbar(h, m, yerr=e, fmt=style, color=colour, mfc=colour if filled else "white", ms=4, capsize=2,
                            lw=1.1)
                if col == "gain_over_history":  # the corrected test's verdict, above the point
                    for hh, mm, ee in zip(h, m, e):
                        row = tests[(tests["hidden"] == hh) & (tests["noise"] == sigma)]
                        if len(row) and row["p_holm"].iloc[0] < ALPHA and row["mean_model"].iloc[0] > 0:
                            ax.annotate(stars(row["p_holm"].iloc[0]), (hh, mm + ee), xytext=(0, 2),
                                        textcoords="offset points", ha="center", va="bottom", color=colour, fontsize=8)
    for ax, (title, ylabel, panel) in zip(axes, CODING_PANELS):
        ax.set_xscale("log", base=2)
        ax.set_xticks(hiddens, [str(int(h)) for h in hiddens])
        ax.minorticks_off()
        ax.set_xlabel(f"Hidden units ({arch_label(arch)}, log scale)")
        ax.axhline(0, color="#999999", lw=0.6)
        ax.set_title(title, fontsize=8)
        ax.set_ylabel(ylabel)
        styles = [plt.Line2D([], [], color="#555555", marker=st[0], ls=st[1:], mfc="#555555" if filled else "white",
                             ms=4, lw=1.1, label=what) for _, st, filled, what in panel]
        ax.legend(handles=styles, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False, fontsize=6.5)
    colours = [plt.Line2D([], [], color=OKABE_ITO[k % 6], lw=2, label=f"sigma = {s:g}") for k, s in enumerate(noises)]
    fig.legend(handles=colours, loc="outside upper center", ncol=len(noises), frameon=False, fontsize=7)
    return fig


# 6b. ----------------------------------------------------------------------------------------------
def _bin_label(start: int, end) -> str:
    """A bin of steps into the file, [start, end) counted from 0, as 1-based chord numbers: "1", "3-4", "257+"."""
    if end is None or end != end:  # None or NaN: to the file's end
        return f"{int(start) + 1}+"
    return f"{int(start) + 1}" if int(end) - int(start) == 1 else f"{int(start) + 1}-{int(end)}"


def keys(table: pd.DataFrame):
    """Key accuracy over steps into the file per hidden size (rows) and noise level (columns): each architecture's
    state read-out against its strongest memory-matched control (per network cell, as the page's table chooses it:
    :func:`bayesbach.evaluation.key_summary.strongest_control`) and its noisy-input control, the whole-input
    average, the majority key, chance."""
    if not len(table):
        return empty("No key decoding to show.")
    strongest = {tuple(c): name for c, name in cell_table(table).set_index(CELL)["control"].items()}
    acc = piece_accuracy(table, per_bin=True)
    acc = acc.groupby([*CELL, "decoder", "bin_start", "bin_end"], as_index=False, dropna=False)["accuracy"].mean()
    bins = acc[["bin_start", "bin_end"]].drop_duplicates().sort_values("bin_start")
    where = {b: i for i, b in enumerate(bins["bin_start"])}
    hiddens, noises = sorted(acc["hidden"].unique()), sorted(acc["noise"].unique())
    archs = swept(acc["arch"])
    fig, axes = plt.subplots(len(hiddens), len(noises), figsize=(WIDTH, 2.3 * len(hiddens) + 1.0), squeeze=False,
                             sharex=True, sharey=True, layout="constrained")
    shared = {"input_all": (":", OKABE_ITO[7]), "majority": ("-.", "#777777"), "chance": ("-", "#BBBBBB")}
    for i, hidden in enumerate(hiddens):
        for j, sigma in enumerate(noises):
            ax = axes[i][j]
            cell = acc[(acc["hidden"] == hidden) & (acc["noise"] == sigma)]
            for name, (style, colour) in shared.items():  # the same for every network of a noise level
                g = cell[cell["decoder"] == name].groupby("bin_start")["accuracy"].mean()
                ax.plot([where[b] for b in g.index], g.to_numpy(), style, color=colour, lw=1.1, label=KEY_DECODERS[name])
            for a, arch in enumerate(archs):
                control = strongest[(arch, hidden, sigma)] if (arch, hidden, sigma) in strongest else None
                for name, what, style, mfc, lw in (
                        ("network", "state", "o-", None, 1.2),
                        (control, "strongest control, its memory", "s--", "white", 1.2),
                        ("input_memory", "noisy-input average, its memory", "^:", "white", 0.8)):
                    g = cell[(cell["arch"] == arch) & (cell["decoder"] == name)].sort_values("bin_start")
                    ax.plot([where[b] for b in g["bin_start"]], g["accuracy"], style, color=OKABE_ITO[a], mfc=mfc,
                            ms=3.5, lw=lw, label=f"{arch_label(arch)}: {what}")
            ax.set_title(f"{int(hidden)} units, sigma = {sigma:g}")
            ax.set_ylim(0, 1)
            if j == 0:
                ax.set_ylabel("Key accuracy")
            if i == len(hiddens) - 1:
                ax.set_xlabel("Chord step in the file")
                ax.set_xticks(range(len(bins)), [_bin_label(s, e) for s, e in zip(bins["bin_start"], bins["bin_end"])],
                              rotation=45, ha="right")
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="outside lower center", ncol=3, frameon=False, fontsize=7)
    fig.suptitle("Decoding the key from the state, against the strongest average with the same memory "
                 "(test compositions)", fontsize=9)
    return fig


# 8. -----------------------------------------------------------------------------------------------
BACH = "Bach"  # the corpus trained on, beside the other composers
# The Bach-fitted references drawn beside each corpus's own: the first-order chord model and its observer.
FITTED_ON_BACH = ("markov_counts", "bayes")


def generalisation(gen: pd.DataFrame, errors: pd.DataFrame):
    """Other composers: the Bach-trained networks against each corpus's own references (and two Bach-fitted
    ones), mean test BCE per corpus, per task (rows) and noise level (columns); Bach itself first."""
    if not len(gen):
        return empty("The study names no other composer.")
    own = [name for name in OWN_MODELS if OWN_PREFIX + name in set(gen["model"])]
    # On Bach, the corpus's own references are the Bach-fitted ones (errors.parquet).
    bach = pd.concat([errors.assign(corpus=BACH),
                      errors[errors["model"].isin(own)].assign(corpus=BACH, model=lambda d: OWN_PREFIX + d["model"])])
    table = pd.concat([bach, gen], ignore_index=True)
    corpora = [BACH] + sorted(set(gen["corpus"]))
    arch = primary_arch(swept(gen["model"]))
    hiddens = sorted(gen.loc[gen["model"] == arch, "hidden"].unique())
    series = [(OWN_PREFIX + m, None, f"{model_label(m)}: the corpus's own", REFERENCE_COLOURS[m], "s", True)
              for m in own]
    series += [(m, None, f"{model_label(m)}: fitted on Bach", REFERENCE_COLOURS[m], "D", False)
               for m in FITTED_ON_BACH if m in set(gen["model"])]
    series += [(arch, h, f"{network_label(arch, h)}, trained on Bach", BLUES[i % len(BLUES)], "o", True)
               for i, h in enumerate(hiddens)]
    # A piece's value first (networks: the mean over runs), then the mean over a corpus's test compositions.
    per_piece = table.groupby(["corpus", "model", "hidden", "noise", "task", "piece"], dropna=False)["bce"].mean()
    per_piece = per_piece.reset_index()
    tasks = [t for t in ("predict", "decode") if t in set(gen["task"])]
    noises = sorted(gen["noise"].unique())
    fig, axes = plt.subplots(len(tasks), len(noises), figsize=(WIDTH, 2.6 * len(tasks) + 1.1), squeeze=False,
                             layout="constrained")
    width = 0.8 / len(series)
    for i, task in enumerate(tasks):
        for j, sigma in enumerate(noises):
            ax = axes[i][j]
            cell = per_piece[(per_piece["task"] == task) & (per_piece["noise"] == sigma)]
            for k, (model, hidden, label, colour, marker, filled) in enumerate(series):
                rows = cell[(cell["model"] == model) & (cell["hidden"].isna() if hidden is None else
                                                        cell["hidden"] == hidden)]
                pts = [(c, *mean_sem(rows.loc[rows["corpus"] == c, "bce"])) for c in corpora]
                x = np.arange(len(corpora)) + (k - (len(series) - 1) / 2) * width
                m, e = np.array([p[1] for p in pts]), np.array([p[2] for p in pts])
                if np.isfinite(m).any():
                    ax.errorbar(x, m, yerr=e, fmt=marker, color=colour, mfc=colour if filled else "white",
                                ms=4.5, capsize=2, lw=1.0, label=label if i == 0 and j == 0 else None)
            ax.set_xticks(range(len(corpora)), [f"{c}\n(trained on)" if c == BACH else c for c in corpora])
            ax.set_ylabel(f"{'Prediction' if task == 'predict' else 'Decoding'} {BCE}")
            ax.set_title(f"{'Predicting the next chord' if task == 'predict' else 'Decoding the current chord'}, "
                         f"sigma = {sigma:g}")
            if task == "decode":
                ax.set_yscale("log")
                plain_log(ax)
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="outside lower center", ncol=2, frameon=False, fontsize=7)
    fig.suptitle("Bach-trained models on other composers (mean over test compositions +/- s.e.m.)", fontsize=9)
    return fig



# --------------------------------------------------------------------------------------------------
# The surprisal figure's references: the memoryless and the richest ideal observer, and IDyOM's model.
SURPRISAL_REFERENCES = ("bayes_memoryless", "bayes3", "ppm_both")
CELL_NAME = re.compile(r"^(?P<arch>\w+?)_h(?P<hidden>\d+)_s(?P<noise>[\d.e+-]+)$")  # annotate's network cells


def surprisal(ann: pd.DataFrame, events: pd.DataFrame):
    """One annotated test file (the one of median length, the shorter of the two middle ones): its chords over time
    and, under them, the information content of each chord for the probed network (the primary architecture's
    largest size, one line per training noise level) and the references of SURPRISAL_REFERENCES."""
    if not len(ann):
        return empty("No annotated test file to show.")
    lengths = ann.groupby("file")["step"].max()
    ranked = sorted(lengths.index, key=lambda f: (lengths[f], f))
    file = ranked[(len(ranked) - 1) // 2]
    one = ann[ann["file"] == file]
    cells = {m: CELL_NAME.match(m) for m in one["model"].unique() if CELL_NAME.match(m)}
    arch = primary_arch({c["arch"] for c in cells.values()})
    sizes = [int(c["hidden"]) for c in cells.values() if c["arch"] == arch]
    probed = sorted((m for m, c in cells.items() if c["arch"] == arch and int(c["hidden"]) == max(sizes, default=0)),
                    key=lambda m: float(cells[m]["noise"]))
    chords = events[events["file"] == file].sort_values("step")
    fig, (roll, ax) = plt.subplots(2, 1, figsize=(WIDTH, 4.6), sharex=True, height_ratios=(1, 1.6),
                                   layout="constrained")
    for onset, duration, pcs in zip(chords["onset"], chords["duration"], chords["pcs"]):
        for k in np.flatnonzero((int(pcs) >> np.arange(12)) & 1):
            roll.broken_barh([(onset, duration)], (k - 0.4, 0.8), color="0.25", lw=0)
    roll.set_yticks(range(0, 12, 2), PITCH_CLASSES[::2])
    roll.set_ylim(-0.6, 11.6)
    roll.set_ylabel("Pitch class")
    roll.set_title(f"A test file ({file}): its chords and how surprising each was", fontsize=9)
    series = [(m, f"{network_label(arch, cells[m]['hidden'])}, trained at sigma = {float(cells[m]['noise']):g}",
               BLUES[i % len(BLUES)], "-") for i, m in enumerate(probed)]
    series += [(m, model_label(m), REFERENCE_COLOURS[m], "--") for m in SURPRISAL_REFERENCES if m in set(one["model"])]
    for model, label, colour, style in series:
        rows = one[one["model"] == model].sort_values("step")
        ax.plot(rows["onset"], rows["ic_bits"], style, color=colour, lw=1.1, marker=".", ms=3, label=label)
    ax.set_xlabel("Time (s, the file's own tempo)")
    ax.set_ylabel("Information content (bits)")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=2, frameon=False, fontsize=7)
    return fig
