"""The study's figures (matplotlib, Agg): one function per figure, each from the stage tables alone.

Every figure uses the Okabe-Ito palette (distinguishable with every common
colour-vision deficiency) or a colour-blind-safe colour map, spells model
names out (:mod:`bayesbach.report.labels`), labels its axes with units, and is sized for a page
(``WIDTH`` inches wide). :func:`make` draws a figure by its name (the names are
:data:`bayesbach.core.registry.FIGURES`); :func:`save` writes PNG (for the page) and PDF (for print).

BCE is in nats per pitch class and step (binary cross-entropy, natural log),
averaged over the steps of a piece; each dot of a per-piece plot is one test
composition, a network's value the mean over its runs.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bayesbach.core.registry import (ARCH_LABELS, ARCHS, FIGURES, KEY_DECODERS, LADDER_FIGURE_MODELS, OWN_MODELS,  # noqa: E402
                                     OWN_PREFIX, PRIMARY_ARCHS, REFERENCES)
from bayesbach.evaluation.key_summary import CELL, piece_accuracy  # noqa: E402
from bayesbach.report.labels import model_label, network_label  # noqa: E402

OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#F0E442", "#000000"]
WIDTH = 7.5  # inches: a page width at 100 % zoom, text at 9 pt stays legible
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


def primary_arch(errors: pd.DataFrame) -> str:
    """The architecture the single-architecture figures show: GRU when present (the study's core)."""
    archs = [a for a in PRIMARY_ARCHS if a in set(errors["model"])]
    return archs[0] if archs else ""


def network_means(errors: pd.DataFrame) -> pd.DataFrame:
    """Per-piece errors of the networks averaged over runs: (model, hidden, noise, task, piece) -> bce."""
    nets = errors[errors["model"].isin(ARCHS)]
    return nets.groupby(["model", "hidden", "noise", "task", "piece"], as_index=False)["bce"].mean()


def _plain_log(ax, axis: str = "y") -> None:
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


def _grid(n: int, height: float, cols: int | None = None):
    cols = cols or min(n, 3)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(WIDTH, height * rows), squeeze=False, layout="constrained")
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def _empty(message: str):
    fig, ax = plt.subplots(figsize=(WIDTH, 1.5))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center")
    return fig


# 1. -----------------------------------------------------------------------------------------------
def ladder(errors: pd.DataFrame, stats: pd.DataFrame):
    """Prediction ladder per noise level: per-piece BCE of every model, paired lines network <-> markov_high."""
    arch = primary_arch(errors)
    pred = errors[errors["task"] == "predict"]
    nets = network_means(pred)
    nets = nets[nets["model"] == arch]
    noises = sorted(pred["noise"].unique())
    if not len(nets):
        return _empty("No prediction errors of a network to show.")
    hiddens = sorted(nets["hidden"].unique())
    refs = [m for m in LADDER_FIGURE_MODELS if m in set(pred["model"])]
    fig, axes = _grid(len(noises), 3.6, cols=min(len(noises), 2))
    for ax, sigma in zip(axes, noises):
        cols = [(m, pred[(pred["model"] == m) & (pred["noise"] == sigma)].set_index("piece")["bce"]) for m in refs]
        cols += [(h, nets[(nets["hidden"] == h) & (nets["noise"] == sigma)].set_index("piece")["bce"]) for h in hiddens]
        rng = np.random.default_rng(0)  # jitter only: the same picture every run
        for i, (key, values) in enumerate(cols):
            colour = REFERENCE_COLOURS.get(key, OKABE_ITO[3]) if isinstance(key, str) else OKABE_ITO[3]
            x = i + rng.uniform(-0.12, 0.12, len(values))
            ax.scatter(x, values.to_numpy(), s=9, color=colour, alpha=0.6, linewidths=0)
            ax.hlines(values.mean(), i - 0.3, i + 0.3, color="black", lw=1.5)
        # paired lines: the largest network against markov_high, piece by piece
        if "markov_high" in refs:
            a, b = cols[refs.index("markov_high")][1], cols[-1][1]
            both = pd.concat([a, b], axis=1, join="inner").dropna()
            for _, (va, vb) in both.iterrows():
                ax.plot([refs.index("markov_high"), len(cols) - 1], [va, vb], color="#999999", lw=0.4, alpha=0.5, zorder=0)
            top = max(v.max() for _, v in cols if len(v))
            for j, h in enumerate(hiddens):
                row = stats[(stats["task"] == "predict") & (stats["model"] == arch) & (stats["hidden"] == h)
                            & (stats["noise"] == sigma) & (stats["versus"] == "markov_high")]
                if len(row):
                    ax.text(len(refs) + j, top * 1.01, stars(row["p_bonferroni"].iloc[0]), ha="center", va="bottom")
            ax.set_ylim(top=top * 1.05)  # room for the marks inside the axes
        names = [model_label(k, errors) if isinstance(k, str) else f"{network_label(arch, k)} (probed)" for k, _ in cols]
        ax.set_xticks(range(len(cols)), names, rotation=35, ha="right")
        ax.set_ylabel(f"Prediction {BCE}")
        ax.set_title(f"Noise sigma = {sigma:g}")
    fig.suptitle("Predicting the next chord on the test compositions", fontsize=9)
    return fig


# 1b. ----------------------------------------------------------------------------------------------
def orders(table: pd.DataFrame):
    """Networks on the ladder of ideal observers: each cell's effective order over hidden size, per noise
    level (columns) and task (rows); ``table`` is orders.csv (bayesbach.evaluation.effective_order)."""
    if not len(table):
        return _empty("No network with a ladder of ideal observers at its noise level to show.")
    tasks = [t for t in ("predict", "decode") if t in set(table["task"])]
    noises = sorted(table["noise"].unique())
    top = int(table["top_order"].max())
    fig, axes = plt.subplots(len(tasks), len(noises), figsize=(WIDTH, 2.5 * len(tasks) + 0.6), squeeze=False,
                             layout="constrained")
    markers = {"elman": "^", "lstm": "s", "gru": "o"}
    rungs = ["0: no context"] + [f"{k}: last {k} chord{'s' if k > 1 else ''}" for k in range(1, top + 1)]
    hiddens = sorted(table["hidden"].unique())
    for i, task in enumerate(tasks):
        for j, sigma in enumerate(noises):
            ax = axes[i][j]
            for k in range(top + 1):
                ax.axhline(k, color="#999999", lw=0.6, zorder=0)
            for a, arch in enumerate(a for a in ARCHS if a in set(table["model"])):
                g = table[(table["task"] == task) & (table["noise"] == sigma) & (table["model"] == arch)]
                g = g.sort_values("hidden")
                ax.plot(g["hidden"], g["effective_order"], "-", marker=markers.get(arch, "o"), color=OKABE_ITO[a], ms=5,
                        lw=1.2, label=ARCH_LABELS[arch])
                above = g[g["position"] == "above the top"]  # better than the top rung: an open marker at the top
                ax.plot(above["hidden"], above["effective_order"], "^", color=OKABE_ITO[a], mfc="white", ms=9, lw=0)
            ax.set_xscale("log", base=2)
            ax.set_xticks(hiddens, [str(int(h)) for h in hiddens])
            ax.minorticks_off()
            ax.set_ylim(-0.2, top + 0.3)
            ax.set_yticks(range(top + 1), rungs if j == 0 else [str(k) for k in range(top + 1)])
            ax.set_title(f"{'Prediction' if task == 'predict' else 'Decoding'}, sigma = {sigma:g}")
            ax.set_ylabel("Effective order (observer's context)" if j == 0 else "Effective order")
            if i == len(tasks) - 1:
                ax.set_xlabel("Hidden units (log scale)")
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="outside lower center", ncol=3, frameon=False, fontsize=7)
    fig.suptitle("Networks on the ladder of ideal observers (effective order; higher is better)", fontsize=9)
    return fig


# 2. -----------------------------------------------------------------------------------------------
def _mean_sem(values: pd.Series) -> tuple[float, float]:
    v = values.dropna().to_numpy()
    return (float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else 0.0) if len(v) else (np.nan, 0.0)


def decoding(errors: pd.DataFrame):
    """Decoding BCE over noise: the networks, the memoryless decoder and the ideal observer."""
    dec = errors[errors["task"] == "decode"]
    arch = primary_arch(errors)
    nets = network_means(dec)
    nets = nets[nets["model"] == arch]
    fig, ax = plt.subplots(figsize=(WIDTH, 3.4), layout="constrained")
    series = [(model_label(m), dec[dec["model"] == m], REFERENCE_COLOURS[m], "s--")
              for m in ("decoder_ff", "bayes", "global") if m in set(dec["model"])]
    series += [(network_label(arch, h), nets[nets["hidden"] == h], BLUES[i % len(BLUES)], "o-")
               for i, h in enumerate(sorted(nets["hidden"].unique()))]
    for label, df, colour, style in series:
        pts = [(s, *_mean_sem(g["bce"])) for s, g in df.groupby("noise")]
        if pts:
            s, m, e = map(np.array, zip(*pts))
            ax.errorbar(s, m, yerr=e, fmt=style, color=colour, label=label, ms=4, capsize=2, lw=1.2)
    ax.set_xlabel("Noise standard deviation sigma (chord units)")
    ax.set_ylabel(f"Decoding {BCE}")
    ax.set_yscale("log")
    _plain_log(ax)
    ax.set_title("Decoding the current chord (mean over test compositions +/- s.e.m.)")
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


# 3. -----------------------------------------------------------------------------------------------
def sweep(stats: pd.DataFrame):
    """Heat maps over noise x hidden size: Cohen's d of the probed network vs markov_high and vs bayes."""
    pred = stats[(stats["task"] == "predict") & (stats["kind"] == "reference")]
    arch = next((a for a in PRIMARY_ARCHS if a in set(pred["model"])), None)
    versus = [v for v in ("markov_high", "bayes") if v in set(pred["versus"])]
    if arch is None or not versus:
        return _empty("No comparison with the Markov net or the ideal observer to show.")
    fig, axes = plt.subplots(1, len(versus), figsize=(WIDTH, 3.2), squeeze=False, layout="constrained")
    for ax, v in zip(axes[0], versus):
        rows = pred[(pred["model"] == arch) & (pred["versus"] == v)]
        hid, noi = sorted(rows["hidden"].unique()), sorted(rows["noise"].unique())
        d = np.full((len(hid), len(noi)), np.nan)
        marks = [["" for _ in noi] for _ in hid]
        for _, r in rows.iterrows():
            i, j = hid.index(r["hidden"]), noi.index(r["noise"])
            d[i, j], marks[i][j] = r["cohens_d"], stars(r["p_bonferroni"])
        lim = max(np.nanmax(np.abs(d)) if np.isfinite(d).any() else 1.0, 0.1)
        im = ax.imshow(d, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto", origin="lower")
        for i in range(len(hid)):
            for j in range(len(noi)):
                if np.isfinite(d[i, j]):
                    dark = abs(d[i, j]) > 0.6 * lim
                    ax.text(j, i, f"{d[i, j]:.2f}\n{marks[i][j]}", ha="center", va="center", fontsize=7,
                            color="white" if dark else "black")
        ax.set_xticks(range(len(noi)), [f"{s:g}" for s in noi])
        ax.set_yticks(range(len(hid)), [str(int(h)) for h in hid])
        ax.set_xlabel("Noise standard deviation sigma")
        ax.set_ylabel("Hidden units")
        ax.set_title(f"{ARCH_LABELS[arch]} (probed) vs {model_label(v)}")
        fig.colorbar(im, ax=ax, label="Cohen's d of BCE (< 0: network better)")
    return fig


# 4. -----------------------------------------------------------------------------------------------
def training(history: pd.DataFrame):
    """Training and validation loss per stage of every network (history rows with arch, hidden, noise, run)."""
    if not len(history):
        return _empty("No training history to show.")
    stages = [s for s in ("decode", "probe") if s in set(history["stage"])]
    noises = sorted(history["noise"].unique())
    hiddens = sorted(history["hidden"].unique())
    archs = [a for a in ARCHS if a in set(history["arch"])]
    fig, axes = plt.subplots(len(noises), len(stages), figsize=(WIDTH, 2.4 * len(noises) + 0.8), squeeze=False,
                             layout="constrained")
    dashes = {"gru": "-", "lstm": "--", "elman": ":"}
    for i, sigma in enumerate(noises):
        for j, stage in enumerate(stages):
            ax = axes[i][j]
            for k, h in enumerate(hiddens):
                for arch in archs:
                    runs = history[(history["noise"] == sigma) & (history["stage"] == stage) & (history["hidden"] == h)
                                   & (history["arch"] == arch)]
                    for r, g in runs.groupby("run"):
                        first = r == runs["run"].min()
                        ax.plot(g["batch"], g["val_loss"], dashes[arch], color=OKABE_ITO[k % 6], lw=1.2,
                                label=f"{network_label(arch, h)}, validation" if first and i == 0 and j == 0 else None)
                        ax.plot(g["batch"], g["train_loss"], dashes[arch], color=OKABE_ITO[k % 6], lw=0.6, alpha=0.45,
                                label=f"{network_label(arch, h)}, training" if first and i == 0 and j == 0 else None)
            ax.set_xlabel(f"{stage.capitalize()} stage: training batch")
            ax.set_ylabel("BCE (nats)")
            ax.set_title(f"{'Decoding' if stage == 'decode' else 'Prediction probe'} loss, sigma = {sigma:g}")
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="outside lower center", ncol=2, frameon=False)
    return fig


# 5. -----------------------------------------------------------------------------------------------
PITCH_CLASSES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]


def example(rolls: pd.DataFrame, steps: int = 48):
    """Piano rolls of the example excerpt per noise level: clean, noisy input, decoded, predicted."""
    if not len(rolls):
        return _empty("No example excerpt to show.")
    noises = sorted(rolls["noise"].unique())
    kinds = [("clean", "Clean chords y_t"), ("noisy", "Noisy input x_t"), ("decoded", "Decoded P(y_t | x_1..t)"),
             ("predicted", "Predicted P(y_t | x_1..t-1)")]
    fig, axes = plt.subplots(len(noises), 4, figsize=(WIDTH, 1.9 * len(noises) + 1.0), squeeze=False, sharey=True,
                             layout="constrained")
    for i, sigma in enumerate(noises):
        for j, (kind, title) in enumerate(kinds):
            part = rolls[(rolls["noise"] == sigma) & (rolls["kind"] == kind)].sort_values("step").head(steps)
            m = np.array(part["values"].tolist(), float).T  # units x steps
            ax = axes[i][j]
            if kind == "noisy":
                lim = max(1.0, float(np.abs(m).max()) if m.size else 1.0)
                im_noisy = ax.imshow(m, aspect="auto", origin="lower", cmap="PuOr_r", vmin=-lim, vmax=lim,
                                     interpolation="nearest")
            else:
                im_prob = ax.imshow(m, aspect="auto", origin="lower", cmap="Greys", vmin=0, vmax=1,
                                    interpolation="nearest")
            if m.shape[0] == 12:
                ax.set_yticks(range(0, 12, 2), PITCH_CLASSES[::2])
            ax.set_xlabel("Chord step")
            if j == 0:
                ax.set_ylabel(f"sigma = {sigma:g}\nPitch class")
            if i == 0:
                ax.set_title(title)
    piece = rolls["piece"].iloc[0]
    fig.suptitle(f"Example test excerpt ({piece}, first {steps} chord steps)", fontsize=9)
    fig.colorbar(im_noisy, ax=axes[-1, :2], location="bottom", shrink=0.7, aspect=30, label="Input value (chord units)")
    fig.colorbar(im_prob, ax=axes[-1, 2:], location="bottom", shrink=0.7, aspect=30,
                 label="Probability (clean chords: 1 = sounds)")
    return fig


# 6. -----------------------------------------------------------------------------------------------
def error_coding(enc: pd.DataFrame):
    """Prediction-error encoding over hidden size, per noise level: decodable fraction and correlations."""
    if not len(enc):
        return _empty("No prediction-error encoding to show.")
    arch = next(a for a in PRIMARY_ARCHS if a in set(enc["arch"]))
    enc = enc[enc["arch"] == arch]
    panels = [
        [("gain_state", "o-", "from h (all)"), ("gain_input", ":", "from the input x alone (control)"),
         ("gain_over_input", "D-", "h beyond x: prediction-error coding")],
        [("corr_state", "o-", "state h"), ("corr_change", "s--", "state change dh")],
    ]
    cols = [c for panel in panels for c, _, _ in panel]
    per_piece = enc.groupby(["hidden", "noise", "piece"], as_index=False)[cols].mean()  # runs first
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 3.4), layout="constrained")
    for k, sigma in enumerate(sorted(per_piece["noise"].unique())):
        g = per_piece[per_piece["noise"] == sigma]
        colour = OKABE_ITO[k % 6]
        for ax, panel in zip(axes, panels):
            for col, style, what in panel:
                pts = [(h, *_mean_sem(gh[col])) for h, gh in g.groupby("hidden")]
                h, m, e = map(np.array, zip(*pts))
                ax.errorbar(h, m, yerr=e, fmt=style, color=colour, ms=4, capsize=2, lw=1.2,
                            label=f"sigma = {sigma:g}, {what}")
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xticks(sorted(per_piece["hidden"].unique()), [str(int(h)) for h in sorted(per_piece["hidden"].unique())])
        ax.minorticks_off()
        ax.set_xlabel(f"Hidden units ({ARCH_LABELS[arch]}, log scale)")
        ax.axhline(0, color="#999999", lw=0.6)
    axes[0].set_ylabel("Error variance explained (fraction)")
    axes[0].set_title("Linear read-out of the prediction error e")
    axes[1].set_ylabel("Pearson r of ||e||^2 with the energy")
    axes[1].set_title("Error energy vs state energy")
    handles = [h for ax in axes for h in ax.get_legend_handles_labels()[0]]
    fig.legend(handles, [h.get_label() for h in handles], loc="outside lower center", ncol=2, frameon=False, fontsize=7)
    return fig


# 6b. ----------------------------------------------------------------------------------------------
def _bin_label(start: int, end) -> str:
    """A bin of steps into the file, [start, end) counted from 0, as 1-based chord numbers: "1", "3-4", "257+"."""
    if end is None or end != end:  # None or NaN: to the file's end
        return f"{int(start) + 1}+"
    return f"{int(start) + 1}" if int(end) - int(start) == 1 else f"{int(start) + 1}-{int(end)}"


def keys(table: pd.DataFrame):
    """Key accuracy over steps into the file per hidden size (rows) and noise level (columns): each architecture's
    state read-out against its memory-matched input control, the whole-input average, the majority key, chance."""
    if not len(table):
        return _empty("No key decoding to show.")
    acc = piece_accuracy(table, per_bin=True)
    acc = acc.groupby([*CELL, "decoder", "bin_start", "bin_end"], as_index=False, dropna=False)["accuracy"].mean()
    bins = acc[["bin_start", "bin_end"]].drop_duplicates().sort_values("bin_start")
    where = {b: i for i, b in enumerate(bins["bin_start"])}
    hiddens, noises = sorted(acc["hidden"].unique()), sorted(acc["noise"].unique())
    archs = [a for a in ARCHS if a in set(acc["arch"])]
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
                for name, style, mfc in (("network", "o-", None), ("input_memory", "o--", "white")):
                    g = cell[(cell["arch"] == arch) & (cell["decoder"] == name)].sort_values("bin_start")
                    what = "state" if name == "network" else "input average, its memory"
                    ax.plot([where[b] for b in g["bin_start"]], g["accuracy"], style, color=OKABE_ITO[a], mfc=mfc,
                            ms=3.5, lw=1.2, label=f"{ARCH_LABELS[arch]}: {what}")
            ax.set_title(f"{int(hidden)} units, sigma = {sigma:g}")
            ax.set_ylim(0, 1)
            if j == 0:
                ax.set_ylabel("Key accuracy")
            if i == len(hiddens) - 1:
                ax.set_xlabel("Chord step in the file")
                ax.set_xticks(range(len(bins)), [_bin_label(s, e) for s, e in zip(bins["bin_start"], bins["bin_end"])],
                              rotation=45, ha="right")
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="outside lower center", ncol=3, frameon=False, fontsize=7)
    fig.suptitle("Decoding the key from the state, against an input average with the same memory "
                 "(test compositions)", fontsize=9)
    return fig


# 7. -----------------------------------------------------------------------------------------------
def architectures(errors: pd.DataFrame):
    """Elman vs LSTM vs GRU: mean test BCE over noise per size, decoding and prediction."""
    nets = network_means(errors)
    archs = [a for a in ARCHS if a in set(nets["model"])]
    if len(archs) < 2:
        return _empty("The sweep has one architecture: nothing to compare.")
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 3.2), layout="constrained")
    markers = ["o", "s", "^", "D", "v", "P"]
    for ax, task in zip(axes, ("decode", "predict")):
        for a, arch in enumerate(archs):
            for k, h in enumerate(sorted(nets["hidden"].unique())):
                g = nets[(nets["model"] == arch) & (nets["hidden"] == h) & (nets["task"] == task)]
                pts = [(s, *_mean_sem(gs["bce"])) for s, gs in g.groupby("noise")]
                if pts:
                    s, m, e = map(np.array, zip(*pts))
                    ax.errorbar(s, m, yerr=e, fmt=markers[k % 6] + "-", color=OKABE_ITO[a], ms=4, capsize=2, lw=1.2,
                                label=network_label(arch, h))
        ax.set_xlabel("Noise standard deviation sigma")
        ax.set_ylabel(f"{'Decoding' if task == 'decode' else 'Prediction'} BCE (nats)")
        ax.set_title("Decoding the current chord" if task == "decode" else "Predicting the next chord (probed)")
    if "decode" in set(nets["task"]):
        axes[0].set_yscale("log")
        _plain_log(axes[0])
    axes[1].legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


# 8. -----------------------------------------------------------------------------------------------
BACH = "Bach"  # the corpus trained on, beside the other composers
# The Bach-fitted references drawn beside each corpus's own: the first-order chord model and its observer.
FITTED_ON_BACH = ("markov_counts", "bayes")


def generalisation(gen: pd.DataFrame, errors: pd.DataFrame):
    """Other composers: the Bach-trained networks against each corpus's own references (and two Bach-fitted
    ones), mean test BCE per corpus, per task (rows) and noise level (columns); Bach itself first."""
    if not len(gen):
        return _empty("The study names no other composer.")
    own = [name for name in OWN_MODELS if OWN_PREFIX + name in set(gen["model"])]
    # On Bach, the corpus's own references are the Bach-fitted ones (errors.parquet).
    bach = pd.concat([errors.assign(corpus=BACH),
                      errors[errors["model"].isin(own)].assign(corpus=BACH, model=lambda d: OWN_PREFIX + d["model"])])
    table = pd.concat([bach, gen], ignore_index=True)
    corpora = [BACH] + sorted(set(gen["corpus"]))
    arch = primary_arch(gen)
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
                pts = [(c, *_mean_sem(rows.loc[rows["corpus"] == c, "bce"])) for c in corpora]
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
                _plain_log(ax)
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="outside lower center", ncol=2, frameon=False, fontsize=7)
    fig.suptitle("Bach-trained models on other composers (mean over test compositions +/- s.e.m.)", fontsize=9)
    return fig


def histories(model_dirs: list[Path]) -> pd.DataFrame:
    """Every network's history.parquet with its cell, read from its meta.json."""
    import json

    frames = []
    for d in map(Path, model_dirs):
        meta = json.loads((d / "meta.json").read_text())
        h = pd.read_parquet(d / "history.parquet")
        frames.append(h.assign(arch=meta["arch"], hidden=meta["hidden"], noise=meta["noise"], run=meta["run"]))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["stage", "batch", "train_loss", "val_loss", "arch", "hidden", "noise", "run"])


def make(name: str, out: Path, *, errors: Path | None = None, stats: Path | None = None, coding_path: Path | None = None,
         model_dirs: list[Path] | None = None, example_path: Path | None = None, orders_path: Path | None = None,
         keys_path: Path | None = None, generalisation_path: Path | None = None, example_steps: int = 48) -> None:
    """Draw figure ``name`` from the stage files it needs and save it (PNG + PDF)."""
    read = pd.read_parquet
    if name == "ladder":
        fig = ladder(read(errors), pd.read_csv(stats))
    elif name == "orders":
        fig = orders(pd.read_csv(orders_path))
    elif name == "decoding":
        fig = decoding(read(errors))
    elif name == "sweep":
        fig = sweep(pd.read_csv(stats))
    elif name == "training":
        fig = training(histories(model_dirs or []))
    elif name == "example":
        fig = example(read(example_path), example_steps)
    elif name == "encoding":
        fig = error_coding(read(coding_path))
    elif name == "architectures":
        fig = architectures(read(errors))
    elif name == "keys":
        fig = keys(read(keys_path))
    elif name == "generalisation":
        fig = generalisation(read(generalisation_path), read(errors))
    else:
        raise ValueError(f"unknown figure {name!r}; expected one of {FIGURES}")
    save(fig, out)
