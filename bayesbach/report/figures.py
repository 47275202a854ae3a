"""The study's figures (matplotlib, Agg): one function per figure, each from the stage tables alone.

Every figure uses the Okabe-Ito palette (distinguishable with every common
colour-vision deficiency) or a colour-blind-safe colour map, spells model
names out (:mod:`bayesbach.report.labels`), labels its axes with units, and is sized for a page
(``WIDTH`` inches wide). :func:`make` draws a figure by its name (the names are
:data:`bayesbach.core.layout.FIGURES`); :func:`save` writes PNG (for the page) and PDF (for print).

BCE is in nats per pitch class and step (binary cross-entropy, natural log),
averaged over the steps of a piece; each dot of a per-piece plot is one test
composition, a network's value the mean over its runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bayesbach.report.plotting import (BCE, BLUES, OKABE_ITO, PITCH_CLASSES, REFERENCE_COLOURS, WIDTH, empty,  # style
                                       mean_sem, network_means, plain_log, plt, save, stars, swept)
from bayesbach.core.layout import FIGURES
from bayesbach.core.registry import ARCHITECTURES, LADDER_FIGURE_MODELS, primary_arch
from bayesbach.evaluation.stats import ALPHA
from bayesbach.report.extension_figures import error_coding, generalisation, keys, surprisal
from bayesbach.report.labels import arch_label, model_label, network_label


# 1. -----------------------------------------------------------------------------------------------
def ladder(errors: pd.DataFrame, stats: pd.DataFrame):
    """Prediction ladder per noise level: per-piece BCE of every model, one row each (models on the long axis, so
    every name reads horizontally), paired lines network <-> markov_high, and each network's corrected test against
    markov_high at the row's right end."""
    arch = primary_arch(swept(errors["model"]))
    pred = errors[errors["task"] == "predict"]
    nets = network_means(pred)
    nets = nets[nets["model"] == arch]
    noises = sorted(pred["noise"].unique())
    if not len(nets):
        return empty("No prediction errors of a network to show.")
    hiddens = sorted(nets["hidden"].unique())
    refs = [m for m in LADDER_FIGURE_MODELS if m in set(pred["model"])]
    keys = [*refs, *hiddens]
    fig, axes = plt.subplots(1, len(noises), figsize=(WIDTH, 0.9 + 0.24 * len(keys)), sharey=True, squeeze=False,
                             layout="constrained")
    for ax, sigma in zip(axes[0], noises):
        cols = [(m, pred[(pred["model"] == m) & (pred["noise"] == sigma)].set_index("piece")["bce"]) for m in refs]
        cols += [(h, nets[(nets["hidden"] == h) & (nets["noise"] == sigma)].set_index("piece")["bce"]) for h in hiddens]
        rng = np.random.default_rng(0)  # jitter only: the same picture every run
        for i, (key, values) in enumerate(cols):
            colour = REFERENCE_COLOURS.get(key, OKABE_ITO[3]) if isinstance(key, str) else OKABE_ITO[3]
            y = i + rng.uniform(-0.15, 0.15, len(values))
            ax.scatter(values.to_numpy(), y, s=7, color=colour, alpha=0.6, linewidths=0)
            ax.vlines(values.mean(), i - 0.35, i + 0.35, color="black", lw=1.5)
        if "markov_high" in refs:  # paired lines: the largest network against markov_high, piece by piece
            a, b = cols[refs.index("markov_high")][1], cols[-1][1]
            both = pd.concat([a, b], axis=1, join="inner").dropna()
            for _, (va, vb) in both.iterrows():
                ax.plot([va, vb], [refs.index("markov_high"), len(cols) - 1], color="#999999", lw=0.4, alpha=0.4,
                        zorder=0)
            for j, h in enumerate(hiddens):
                row = stats[(stats["task"] == "predict") & (stats["model"] == arch) & (stats["hidden"] == h)
                            & (stats["noise"] == sigma) & (stats["versus"] == "markov_high")]
                if len(row):  # at the right edge, in axes coordinates: never on a dot
                    mark = stars(row["p_holm"].iloc[0])
                    side = "" if mark == "n.s." else " better" if row["mean_diff"].iloc[0] < 0 else " worse"
                    ax.text(1.0, len(refs) + j, mark + side, ha="right", va="center",
                            transform=ax.get_yaxis_transform(), fontsize=7)
        ax.set_xlabel(f"Prediction {BCE}")
        ax.set_title(f"Noise sigma = {sigma:g}")
    names = [model_label(k, errors) if isinstance(k, str) else f"{network_label(arch, k)} (probed)" for k in keys]
    axes[0][0].set_yticks(range(len(keys)), names)
    axes[0][0].invert_yaxis()  # the ladder reads from the top: the global frequencies first
    fig.suptitle("Predicting the next chord on the test compositions", fontsize=9)
    return fig


# 1b. ----------------------------------------------------------------------------------------------
def orders(table: pd.DataFrame):
    """Networks on the ladder of ideal observers: each cell's effective order over hidden size with its bootstrap
    interval, per noise level (columns) and task (rows); ``table`` is orders.csv (bayesbach.evaluation.effective_order)."""
    if not len(table):
        return empty("No network with a ladder of ideal observers at its noise level to show.")
    tasks = [t for t in ("predict", "decode") if t in set(table["task"])]
    noises = sorted(table["noise"].unique())
    top = int(table["top_order"].max())
    fig, axes = plt.subplots(len(tasks), len(noises), figsize=(WIDTH, 2.5 * len(tasks) + 0.6), squeeze=False,
                             layout="constrained")
    rungs = ["0: no memory"] + [f"{k}: last {k} chord{'s' if k > 1 else ''}" for k in range(1, top + 1)]
    hiddens = sorted(table["hidden"].unique())
    for i, task in enumerate(tasks):
        for j, sigma in enumerate(noises):
            ax = axes[i][j]
            for k in range(top + 1):
                ax.axhline(k, color="#999999", lw=0.6, zorder=0)
            for a, arch in enumerate(swept(table["model"])):
                g = table[(table["task"] == task) & (table["noise"] == sigma) & (table["model"] == arch)]
                g = g.sort_values("hidden")
                ax.plot(g["hidden"], g["effective_order"], "-", marker=ARCHITECTURES[arch].marker, color=OKABE_ITO[a],
                        ms=5, lw=1.2, label=arch_label(arch))
                ax.errorbar(g["hidden"], g["effective_order"], fmt="none", ecolor=OKABE_ITO[a], elinewidth=0.8, capsize=2,
                            yerr=[g["effective_order"] - g["order_lo"], g["order_hi"] - g["effective_order"]])
                # beats the top rung (the corrected test, not the means): an open marker at the top
                above = g[(g["position"] == "above the top") & (g["p_top_holm"] < ALPHA)]
                ax.plot(above["hidden"], above["effective_order"], "^", color=OKABE_ITO[a], mfc="white", ms=9, lw=0)
            if not table.loc[(table["task"] == task) & (table["noise"] == sigma), "ladder_monotone"].all():
                ax.text(0.02, 0.97, "ladder not monotone", transform=ax.transAxes, fontsize=6, va="top")
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



def decoding(errors: pd.DataFrame):
    """Decoding BCE over noise: the networks, the memoryless decoder and the ideal observer."""
    dec = errors[errors["task"] == "decode"]
    arch = primary_arch(swept(errors["model"]))
    nets = network_means(dec)
    nets = nets[nets["model"] == arch]
    fig, ax = plt.subplots(figsize=(WIDTH, 3.4), layout="constrained")
    series = [(model_label(m), dec[dec["model"] == m], REFERENCE_COLOURS[m], "s--")
              for m in ("decoder_ff", "bayes", "global") if m in set(dec["model"])]
    series += [(network_label(arch, h), nets[nets["hidden"] == h], BLUES[i % len(BLUES)], "o-")
               for i, h in enumerate(sorted(nets["hidden"].unique()))]
    for label, df, colour, style in series:
        pts = [(s, *mean_sem(g["bce"])) for s, g in df.groupby("noise")]
        if pts:
            s, m, e = map(np.array, zip(*pts))
            ax.errorbar(s, m, yerr=e, fmt=style, color=colour, label=label, ms=4, capsize=2, lw=1.2)
    ax.set_xlabel("Noise standard deviation sigma (chord units)")
    ax.set_ylabel(f"Decoding {BCE}")
    ax.set_yscale("log")
    plain_log(ax)
    ax.set_title("Decoding the current chord (mean over test compositions +/- s.e.m.)")
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


# 3. -----------------------------------------------------------------------------------------------
def sweep(stats: pd.DataFrame):
    """Heat maps over noise x hidden size: the paired effect size d_z of the probed network vs markov_high and vs
    bayes (the design is paired by piece), marked with the Holm-corrected p of stats.csv."""
    pred = stats[(stats["task"] == "predict") & (stats["kind"] == "reference")]
    arch = primary_arch(swept(pred["model"]))
    versus = [v for v in ("markov_high", "bayes") if v in set(pred["versus"])]
    if arch is None or not versus:
        return empty("No comparison with the Markov net or the ideal observer to show.")
    fig, axes = plt.subplots(1, len(versus), figsize=(WIDTH, 3.2), squeeze=False, layout="constrained")
    for ax, v in zip(axes[0], versus):
        rows = pred[(pred["model"] == arch) & (pred["versus"] == v)]
        hid, noi = sorted(rows["hidden"].unique()), sorted(rows["noise"].unique())
        d = np.full((len(hid), len(noi)), np.nan)
        marks = [["" for _ in noi] for _ in hid]
        for _, r in rows.iterrows():
            i, j = hid.index(r["hidden"]), noi.index(r["noise"])
            d[i, j], marks[i][j] = r["d_z"], stars(r["p_holm"])
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
        ax.set_title(f"{arch_label(arch)} (probed) vs {model_label(v)}")
        fig.colorbar(im, ax=ax, label="Paired effect size d_z of BCE (< 0: network better)")
    return fig


# 4. -----------------------------------------------------------------------------------------------
def training(history: pd.DataFrame):
    """Training and validation loss per stage of every network (history rows with arch, hidden, noise, run)."""
    if not len(history):
        return empty("No training history to show.")
    stages = [s for s in ("decode", "probe") if s in set(history["stage"])]
    noises = sorted(history["noise"].unique())
    hiddens = sorted(history["hidden"].unique())
    archs = swept(history["arch"])
    fig, axes = plt.subplots(len(noises), len(stages), figsize=(WIDTH, 2.4 * len(noises) + 0.8), squeeze=False,
                             layout="constrained")
    for i, sigma in enumerate(noises):
        for j, stage in enumerate(stages):
            ax = axes[i][j]
            for k, h in enumerate(hiddens):
                for arch in archs:
                    runs = history[(history["noise"] == sigma) & (history["stage"] == stage) & (history["hidden"] == h)
                                   & (history["arch"] == arch)]
                    for r, g in runs.groupby("run"):
                        first = r == runs["run"].min()
                        ax.plot(g["batch"], g["val_loss"], ARCHITECTURES[arch].dash, color=OKABE_ITO[k % 6], lw=1.2,
                                label=f"{network_label(arch, h)}, validation" if first and i == 0 and j == 0 else None)
                        ax.plot(g["batch"], g["train_loss"], ARCHITECTURES[arch].dash, color=OKABE_ITO[k % 6], lw=0.6, alpha=0.45,
                                label=f"{network_label(arch, h)}, training" if first and i == 0 and j == 0 else None)
            ax.set_xlabel(f"{stage.capitalize()} stage: training batch")
            ax.set_ylabel("BCE (nats)")
            ax.set_title(f"{'Decoding' if stage == 'decode' else 'Prediction probe'} loss, sigma = {sigma:g}")
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="outside lower center", ncol=2, frameon=False)
    return fig


# 5. -----------------------------------------------------------------------------------------------


def example(rolls: pd.DataFrame, steps: int = 48):
    """Piano rolls of the example excerpt per noise level: clean, noisy input, decoded, predicted."""
    if not len(rolls):
        return empty("No example excerpt to show.")
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


# 7. -----------------------------------------------------------------------------------------------
def architectures(errors: pd.DataFrame):
    """Elman vs LSTM vs GRU: mean test BCE over noise per size, decoding and prediction."""
    nets = network_means(errors)
    archs = swept(nets["model"])
    if len(archs) < 2:
        return empty("The sweep has one architecture: nothing to compare.")
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 3.2), layout="constrained")
    markers = ["o", "s", "^", "D", "v", "P"]
    for ax, task in zip(axes, ("decode", "predict")):
        for a, arch in enumerate(archs):
            for k, h in enumerate(sorted(nets["hidden"].unique())):
                g = nets[(nets["model"] == arch) & (nets["hidden"] == h) & (nets["task"] == task)]
                pts = [(s, *mean_sem(gs["bce"])) for s, gs in g.groupby("noise")]
                if pts:
                    s, m, e = map(np.array, zip(*pts))
                    ax.errorbar(s, m, yerr=e, fmt=markers[k % 6] + "-", color=OKABE_ITO[a], ms=4, capsize=2, lw=1.2,
                                label=network_label(arch, h))
        ax.set_xlabel("Noise standard deviation sigma")
        ax.set_ylabel(f"{'Decoding' if task == 'decode' else 'Prediction'} BCE (nats)")
        ax.set_title("Decoding the current chord" if task == "decode" else "Predicting the next chord (probed)")
    if "decode" in set(nets["task"]):
        axes[0].set_yscale("log")
        plain_log(axes[0])
    axes[1].legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
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
         keys_path: Path | None = None, generalisation_path: Path | None = None, annotations_path: Path | None = None,
         events: Path | None = None, example_steps: int = 48) -> None:
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
    elif name == "surprisal":
        fig = surprisal(read(annotations_path), read(events, columns=["file", "step", "pcs", "onset", "duration"]))
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
