"""The results page (``results/summary.html``) and the headline table shown in the terminal.

The page is one self-contained HTML file: figures embedded as PNG data URIs,
the listening MIDI files as download links with data URIs, no script, no
external resource. It says what was run (the configuration, corpus size per
split, the crawl's per-site table when the study crawled, software versions),
how the comparison is kept fair (scoring, families, smoothing, the ladder of
observers, the key decoding's and the encoding's controls), where the files' key
labels come from, shows the headline tables (mean test BCE per model and noise
level; each network's effective order from ``orders.csv``; key decoding per
network from ``keys.parquet``; the key comparisons from ``stats.csv``, one table
per task; the other composers' corpora, mean errors and comparisons with their own
references when the study names some; the tables of tests and their notes are
:mod:`bayesbach.report.stat_tables`) and every figure with
its caption; above the tables, the convergence section (every trained stage that did not
converge within its budget, from ``convergence.csv``; :mod:`bayesbach.report.convergence_section`, which also
writes its lines of ``summary.txt``). Captions are the ``workflow/report/*.rst`` files that
``snakemake --report`` uses too, so each is written once. Nothing on the page
depends on the time or the machine: two runs of a study give the same page.
"""

from __future__ import annotations

import base64
import html
import re
import sys
from datetime import datetime
from importlib import metadata
from pathlib import Path

import pandas as pd
import pyarrow as pa
import yaml

from bayesbach.core.atomic import write_atomic
from bayesbach.dataset.families import family_summary
from bayesbach.evaluation.key_summary import cell_table
from bayesbach.report.convergence_section import convergence_html, convergence_text, read_convergence
from bayesbach.report.labels import arch_label, model_label, network_label
from bayesbach.report.stat_tables import (family_note, key_comparisons, memoryless_note, orders_section,
                                          orders_table, seeds_note, shown_comparisons)
from bayesbach.core.layout import composer_folders, noise_label
from bayesbach.core.registry import (ARCHITECTURES, KEY_DECODERS, KEY_SOURCES, LISTEN_KINDS, OBSERVER_ORDERS, OWN_PREFIX,
                                     REFERENCES, SPLITS, TASKS)

PACKAGES = ("bayesbach", "torch", "numpy", "scipy", "pandas", "pyarrow", "matplotlib", "snakemake", "music21",
            "pretty_midi")


def versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def mean_table(errors: pd.DataFrame) -> pd.DataFrame:
    """Mean test BCE per model (rows; networks per arch and size, runs averaged per piece first) and (task, noise)."""
    df = errors.copy()
    archs = list(ARCHITECTURES)
    nets = df["model"].isin(archs)
    df["label"] = df["model"].map(lambda m: model_label(m, errors))
    df.loc[nets, "label"] = [network_label(a, h) for a, h in zip(df.loc[nets, "model"], df.loc[nets, "hidden"])]
    order = {m: i for i, m in enumerate(REFERENCES)}
    df["order"] = [(1, archs.index(m), h) if n else (0, order.get(m, 99), 0)
                   for m, h, n in zip(df["model"], df["hidden"], nets)]
    per_piece = df.groupby(["order", "label", "task", "noise", "piece"])["bce"].mean()
    table = per_piece.groupby(level=["order", "label", "task", "noise"]).mean().unstack(["task", "noise"])
    table = table.droplevel("order").sort_index(axis=1)
    table.columns = table.columns.set_names(["task", "noise sigma"]).set_levels(
        [f"{s:g}" for s in table.columns.levels[1]], level=1)
    table.index.name = "model"
    return table


def key_sources_table(file_keys: pd.DataFrame) -> pd.DataFrame:
    """Files per source of their key label (``registry.KEY_SOURCES``), and how often the Krumhansl-Schmuckler
    estimate names the label's key where the label comes from elsewhere."""
    rows = {}
    for source, label in KEY_SOURCES.items():
        g = file_keys[file_keys["key_source"] == source]
        agree = f"{(g['key'] == g['estimate']).mean():.0%}" if len(g) and source != "estimate" else "-"
        rows[label] = {"files": len(g), "Krumhansl-Schmuckler estimate agrees": agree}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "key label from"
    return table


# The key table's short column heads (the page's width), one per decoder of registry.KEY_DECODERS.
KEY_COLUMNS = {"network": "state", "input_memory": "noisy input", "control_decoded": "decoded chords",
               "control_observer": "observer", "input_all": "whole file", "majority": "majority", "chance": "chance"}


def key_decoding_table(keys: pd.DataFrame) -> pd.DataFrame:
    """Per network cell: its effective memory, the mean key accuracy of each decoder over the test compositions,
    the strongest memory-matched control (:func:`bayesbach.evaluation.key_summary.strongest_control`), the state's
    read-out minus that control's ("+0.050 (p 1e-05)", Bonferroni-corrected) and minus the noisy-input control's."""
    t = cell_table(keys)
    if not len(t):
        return pd.DataFrame()
    out = pd.DataFrame({"network": [network_label(a, h) for a, h in zip(t["arch"], t["hidden"])],
                        "sigma": t["noise"].map("{:g}".format), "memory (steps)": t["memory"].map("{:.1f}".format)})
    for name in (d for d in KEY_DECODERS if d != "chance"):  # 1/24 everywhere: said in the text
        out[KEY_COLUMNS[name]] = t[name].map(lambda v: "-" if pd.isna(v) else f"{v:.3f}")
    out["strongest"] = [KEY_COLUMNS[c] if isinstance(c, str) else "-" for c in t["control"]]
    out["state minus strongest"] = [_diff(d, p) for d, p in zip(t["mean_diff"], t["p_bonferroni"])]
    out["state minus noisy input"] = [_diff(d, p) for d, p in zip(t["input_diff"], t["input_p_bonferroni"])]
    return out.set_index(["network", "sigma"])


def _diff(d: float, p: float) -> str:
    return "-" if pd.isna(d) else f"{d:+.3f} (p {p:.1g})"


def key_findings(keys: pd.DataFrame, alpha: float = 0.05) -> str:
    """What the key decoding found, in sentences generated from ``keys`` (its :func:`cell_table`): in how many
    network cells the state decodes the key better or worse than the strongest memory-matched control, and than the
    noisy-input control alone, at Bonferroni-corrected p < ``alpha`` (two-sided Wilcoxon signed-rank over the
    test compositions), naming the cells and their numbers; and the whole-file-so-far average's accuracy."""
    t = cell_table(keys)
    if not len(t):
        return ""
    n = len(t)
    label = {i: f"{network_label(a, h)} at sigma {s:g}" for i, (a, h, s) in enumerate(zip(t["arch"], t["hidden"],
                                                                                           t["noise"]))}

    def count(diff: str, p: str, control) -> str:
        better = [i for i in t.index if t.at[i, p] < alpha and t.at[i, diff] > 0]
        worse = [i for i in t.index if t.at[i, p] < alpha and t.at[i, diff] < 0]
        text = f"better in {len(better)} of the {n} network cell{'s' * (n != 1)}"
        if better:
            text += " (" + "; ".join(f"{label[i]}: {t.at[i, 'network']:.3f} against {t.at[i, control(i)]:.3f}, "
                                     f"corrected p {t.at[i, p]:.1g}" for i in better) + ")"
        return text + f", worse in {len(worse)}, and not significantly different in {n - len(better) - len(worse)}"

    pieces = f"{int(t['n_pieces'].min())}" + (f"-{int(t['n_pieces'].max())}" if t["n_pieces"].nunique() > 1 else "")
    test = (f"two-sided Wilcoxon signed-rank test over {pieces} test compositions, Bonferroni-corrected over the "
            f"{n} cell{'s' * (n != 1)}, p < {alpha:g}")
    floor = min(1.0, n * 2.0 ** (1 - int(t["n_pieces"].max())))  # the exact test's smallest corrected p: 2 / 2^n
    if floor >= alpha:
        test += f"; underpowered: with {pieces} compositions the exact test's smallest corrected p is {floor:.2g}"
    strongest = t["control"].dropna().map(lambda c: KEY_DECODERS[c].split(",")[0].lower()).value_counts()
    return (f"<p><strong>What the key decoding found.</strong> Against the strongest memory-matched control, the "
            f"state decodes the key {count('mean_diff', 'p_bonferroni', lambda i: t.at[i, 'control'])} ({test}); "
            "the strongest control was " + ", ".join(f"the {c} in {k} cell{'s' * (k != 1)}"
                                                   for c, k in strongest.items()) + ". "
            f"Against the noisy-input control alone it decodes it "
            f"{count('input_diff', 'input_p_bonferroni', lambda i: 'input_memory')}. "
            f"The average of the noisy input over the whole file so far reaches {t['input_all'].min():.3f} to "
            f"{t['input_all'].max():.3f} (the ceiling a whole-file pitch-class average sets for these labels); the "
            f"majority key {t['majority'].min():.3f} to {t['majority'].max():.3f}.</p>")


def _keys(keys: pd.DataFrame) -> list[str]:
    """The key-decoding section of the headline tables."""
    return [
        "<h3>Key decoding</h3><p>Accuracy of a linear read-out of the key (24 major and minor keys) on every step of "
        "the test compositions, fitted on the training compositions: from the network's state; from running averages, "
        "with the network's effective memory, of its noisy input, of its own decoded chords (its decode head's "
        "output) and of the first-order ideal observer's posterior means (the three controls); from the average of "
        "the noisy input over the whole file so far; and from no input (the majority key, chance). Per composition, "
        "runs averaged; mean over compositions (columns: the state; the averages with the network's memory of the "
        "noisy input, of the decoded chords and of the observer's posterior means; the average of the whole file so "
        "far; the majority key; the strongest of the three controls; chance, 1/24 = 0.042, is left out). The state is paired, composition by composition, with the strongest "
        "control of its cell (the control of the highest mean accuracy there; Wilcoxon signed-rank, "
        "Bonferroni-corrected over the cells), and, as before, with the noisy-input control alone. The network is a "
        "denoiser: beating the noisy-input average can be denoising alone, so only beating the denoised controls "
        "says that the state holds the key as context.</p>"
        "<p><strong>What the key label is.</strong> A file's key is music21's <code>analyze('key')</code> of the "
        "score where there is one (the correlation of the whole score's duration-weighted pitch-class histogram with "
        "the 24 rotated Aarden-Essen key profiles, music21's default for <code>'key'</code>), else the MIDI file's key signature, else a "
        "Krumhansl-Schmuckler estimate from its pitch classes (table \u201cKey labels\u201d). It is a property of the file's long-run "
        "pitch-class histogram, not of a passage, so an average of the pitch classes over the whole file predicts "
        "it: the column of the whole-file-so-far average is its ceiling for a read-out of the input. Every value, per bin of steps into the file, is in "
        "results/evaluation/keys.parquet.</p>",
        key_findings(keys),
        key_decoding_table(keys).to_html(),
    ]


def composers_table(config: dict, composer_pieces: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per other composer: where its files come from, its compositions per split, files and chord events."""
    sources = composer_folders(config)
    rows = {}
    for name, pieces in composer_pieces.items():
        splits = _splits(pieces)["compositions"]
        rows[name] = {"source": "music21" if sources.get(name) is None else ", ".join(sources[name]),
                      **{f"{split} compositions": int(splits.get(split, 0)) for split in SPLITS},
                      "files": int(pieces["n_files"].sum()), "chord events": int(pieces["n_events"].sum())}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "composer"
    return table


def _generalisation(config: dict, generalisation: pd.DataFrame, stats: pd.DataFrame,
                    composer_pieces: dict[str, pd.DataFrame]) -> list[str]:
    """The other composers' section: their corpora, each one's mean test BCE per model, and the Bach-trained
    networks against the composer's own references."""
    h = html.escape
    split = config["generalisation"]["split"]
    own = [OWN_PREFIX + m for m in config["generalisation"]["own_models"]]
    parts = [
        "<h2>Other composers</h2><p>Every network and reference of the study was trained or fitted on Bach alone. "
        "Here each is scored, with the same protocol (every file on its own, one fixed noise draw per file), on the "
        "test compositions of composers it never met; the counted references keep the smoothing chosen on Bach. "
        "Each composer's own predictability comes from "
        f"{', '.join(h(model_label(m)) for m in own)}, fitted on a split of the composer's own works "
        f"({split['train']:.0%} training, {split['validation']:.0%} validation, {split['test']:.0%} test, by "
        "family). Every value is in results/evaluation/generalisation.parquet, every comparison in "
        "results/evaluation/generalisation.csv.</p>",
        composers_table(config, composer_pieces).to_html(),
    ]
    for corpus in [c for c in composer_folders(config) if c in set(generalisation["corpus"])]:  # the config's order
        rows, comparisons = generalisation[generalisation["corpus"] == corpus], stats[stats["corpus"] == corpus]
        parts += [f"<h3>{h(corpus)}</h3><h4>Mean test BCE per model and noise level</h4>",
                  mean_table(rows).to_html(float_format="{:.4f}".format, na_rep="-"),
                  f"<h4>Prediction: the Bach-trained networks against {h(corpus)}'s own references</h4><p>Each entry: "
                  "mean BCE difference network minus reference over the "
                  f"{comparisons['n_pieces'].max() if len(comparisons) else 0} test compositions (negative: the "
                  "network predicts this composer better than its own statistics do), the paired effect size d_z "
                  "and the two-sided Wilcoxon signed-rank p."
                  + family_note(shown_comparisons(comparisons, "predict", tuple(own)), "generalisation.csv")
                  + seeds_note(comparisons["runs"]) + "</p>",
                  key_comparisons(comparisons, "predict", rows, tuple(own)).to_html()]
    return parts


def headline_text(errors: pd.DataFrame, page: Path, convergence: pd.DataFrame | None = None) -> str:
    """The short table the terminal shows when a run finishes, and the stages that did not converge."""
    table = mean_table(errors)
    lines = ["Mean test BCE (nats per pitch class and step; lower is better)", table.to_string(float_format="{:.4f}".format,
                                                                                             na_rep="-"),
             *(["", convergence_text(convergence, errors).rstrip("\n")] if convergence is not None else []),
             "", f"Results page: {Path(page).resolve()}"]
    return "\n".join(lines) + "\n"


def _caption(rst: str) -> str:
    """A caption file (a paragraph with a **bold** lead-in; a literal star escaped as \\*) as HTML."""
    bold = re.sub(r"(?<!\\)\*\*(.+?)(?<!\\)\*\*", r"<strong>\1</strong>", html.escape(rst.strip()))
    return bold.replace("\\*", "*")


def _data_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(Path(path).read_bytes()).decode()}"


def _splits(pieces: pd.DataFrame) -> pd.DataFrame:
    g = pieces.groupby("split").agg(compositions=("piece", "count"), files=("n_files", "sum"), events=("n_events", "sum"))
    return g.reindex([s for s in ("train", "validation", "test") if s in g.index])


STYLE = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45;color:#111}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0 1rem}td,th{border:1px solid #ccc;padding:.2rem .45rem;text-align:right}
th{background:#f2f2f2}figure{margin:1.5rem 0}img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.9rem}td{white-space:nowrap}pre{background:#f6f6f6;padding:.6rem;overflow-x:auto;font-size:.8rem}"""


def _families(pieces: pd.DataFrame) -> str:
    """The families paragraph: how many compositions were joined, and the largest families."""
    if "family" not in pieces:
        return ""
    f = family_summary(pa.Table.from_pandas(pieces[["piece", "family", "split"]], preserve_index=False))
    text = (f"<p>{f['compositions']} compositions form {f['families']} families: {f['joined']} compositions with "
            f"shared chord content were joined into {f['joined_families']} families of two or more, each kept in "
            "one split.")
    if f["largest"]:
        text += " The largest: " + "; ".join(f"{html.escape(', '.join(x['members']))} ({x['split']})"
                                            for x in f["largest"]) + "."
    return text + "</p>"


def _controls(config: dict, pieces: pd.DataFrame) -> list[str]:
    """What keeps the comparison fair, in a few sentences each (README, "How to read the results")."""
    families = config["dataset"].get("families", {})
    return [
        "<h2>How the comparison is kept fair</h2>",
        "<p><strong>Only music is scored.</strong> Each file of a composition is scored on its own: every model, "
        "network or observer, starts afresh at the file's first chord, and the next-chord target past a file's last "
        "step is not scored. A composition's error is the mean over all scored steps of its files. The silent steps "
        "that join files in training carry no loss and are never scored, so no model gains by counting them.</p>",
        "<p><strong>No composition is heard twice.</strong> Bach re-used harmonisations under other catalogue numbers. "
        "Compositions with the same pitch-class sequence in any file, or sharing at least "
        f"{families.get('share', 0.5):.0%} of their {families.get('ngram', 8)}-chord sequences, in any key (a "
        "transposition is the same music), form one family, "
        "and the split is by family. Two files of one composition with identical chord events (one recording in two "
        "MIDI formats) are kept once (results/dataset/rejects.parquet names the twin).</p>",
        _families(pieces),
        "<p><strong>Smoothing chosen where it matters.</strong> The counted Markov models choose their smoothing on "
        "clean validation prediction; each ideal observer chooses its own, at each noise level, on its noisy "
        "validation decoding plus prediction error. The choices are in each reference's meta.json.</p>",
        "<p><strong>A ladder of ideal observers.</strong> The observer of order k knows the counted statistics of the "
        "next chord given the last k (smoothed down to lower orders) and filters the noisy input exactly with the "
        "true noise level. With the memoryless observer (the current input alone) as order 0, orders 0 to 3 make a "
        "ladder; a network's <em>effective order</em> is where its error falls on it, with a bootstrap interval over "
        "the compositions (table below, figure \u201cNetworks on the ladder of ideal observers\u201d). The global "
        "frequencies, which ignore the input, are the floor but no rung. \u201cIdeal\u201d means ideal for that "
        "order: a network can beat the first-order observer by using more context.</p>",
        "<p><strong>Key decoding, with memory-matched controls.</strong> A state that carries the key could merely "
        "echo the last few inputs, denoised. The network's effective memory is measured by perturbing an input and "
        "following its influence on the state; the same key read-out from a running average with that memory of the "
        "noisy input, of the network's own decoded chords and of the ideal observer's posterior means are the "
        "controls, and only what the state decodes beyond the strongest of them counts as the key held in "
        "context.</p>",
        "<p><strong>Prediction-error coding, with a control.</strong> The network's state h<sub>t+1</sub> is computed "
        "from the input x<sub>t+1</sub>, which holds the noise part of the prediction error. Only what h adds to a "
        "read-out from x alone is called prediction-error coding (figure \u201cPrediction-error encoding\u201d).</p>",
    ]


def summary_html(config: dict, pieces: pd.DataFrame, errors: pd.DataFrame, stats: pd.DataFrame, orders: pd.DataFrame,
                 figures: list[tuple[str, Path, str]], listening: list[tuple[str, Path]], example_piece: str | None,
                 crawl: str = "", keys: pd.DataFrame | None = None, file_keys: pd.DataFrame | None = None,
                 generalisation: pd.DataFrame | None = None, generalisation_stats: pd.DataFrame | None = None,
                 composer_pieces: dict[str, pd.DataFrame] | None = None,
                 convergence: pd.DataFrame | None = None) -> str:
    """The page; ``figures`` = (name, PNG path, caption rst), ``listening`` = (label, MIDI path), ``crawl`` the
    per-site crawl table as HTML (empty when the study crawled nothing), ``keys`` / ``file_keys`` the key-decoding
    and key-label tables (their sections left out when None), ``generalisation`` / ``generalisation_stats`` /
    ``composer_pieces`` (composer -> its pieces.parquet) the other composers' (their section left out when None),
    ``convergence`` the table of convergence.csv (its section left out when None)."""
    sweep = config["sweep"]
    h = html.escape
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>bayesbach: results</title>", f"<style>{STYLE}</style></head><body>",
        "<h1>Do recurrent networks trained to perceive noisy Bach learn to predict it?</h1>",
        "<h2>What was run</h2>",
        f"<p>{len(sweep['arch']) * len(sweep['hidden']) * len(sweep['noise']) * sweep['runs']} networks: "
        f"{', '.join(arch_label(a) for a in sweep['arch'])} with {', '.join(map(str, sweep['hidden']))} hidden units, "
        f"noise sigma {', '.join(f'{s:g}' for s in sweep['noise'])}, {sweep['runs']} run(s) each; "
        f"references: {', '.join(h(model_label(m, errors)) for m in config['references']['models'])}. "
        "All errors are binary cross-entropies in nats per pitch class and step, on the test compositions, every "
        "file scored on its own, with one fixed noise draw per file shared by every model.</p>",
        "<h3>Corpus and splits (by family of compositions)</h3>", _splits(pieces).to_html(),
        *(["<h3>Key labels</h3><p>Each file's key, for the key decoding, from the first source that has one.</p>",
           key_sources_table(file_keys).to_html()] if file_keys is not None else []),
        *([f"<h3>Retrieval from the web archives</h3>{crawl}"] if crawl else []),
        "<h3>Software</h3>", pd.Series(versions(), name="version").to_frame().to_html(),
        "<details><summary>Configuration</summary><pre>", h(yaml.safe_dump(config, sort_keys=True)), "</pre></details>",
        *_controls(config, pieces),
        *([convergence_html(convergence, errors)] if convergence is not None else []),
        "<h2>Headline tables</h2>",
        "<h3>Mean test BCE per model and noise level</h3><p>Lower is better; for networks, per-composition "
        "errors are averaged over runs first.</p>",
        mean_table(errors).to_html(float_format="{:.4f}".format, na_rep="-"),
        "<h3>Effective order on the ladder of ideal observers</h3>",
        orders_section(orders, model_label(OBSERVER_ORDERS[0], errors)),
        orders_table(orders).to_html(),
        *(_keys(keys) if keys is not None else []),
        f"<h3>Key comparisons</h3><p>Each entry: mean BCE difference network minus reference over the "
        f"{stats['n_pieces'].max() if len(stats) else 0} test compositions (negative: the network is better), the "
        "paired effect size d_z (the mean difference over the standard deviation of the per-composition differences; "
        "Cohen's d with the pooled standard deviation is in the file too) and the two-sided Wilcoxon signed-rank p, "
        "corrected as each table says." + seeds_note(stats["runs"]) +
        " Every comparison is in results/evaluation/stats.csv.</p>",
    ]
    for task in TASKS[::-1]:  # prediction, the study's question, first
        parts += [f"<h4>{'Prediction (probed networks)' if task == 'predict' else 'Decoding'}</h4>",
                  f"<p>{family_note(shown_comparisons(stats, task), 'stats.csv').strip()}</p>",
                  key_comparisons(stats, task, errors).to_html()]
        if task == "predict" and (note := memoryless_note(errors, stats)):
            parts.append(f"<p>{note}</p>")
    if generalisation is not None:
        parts += _generalisation(config, generalisation, generalisation_stats, composer_pieces or {})
    parts.append("<h2>Figures</h2>")
    for name, png, caption in figures:
        parts.append(f"<figure id='{h(name)}'><img alt='{h(name)} figure' src='{_data_uri(png, 'image/png')}'>"
                     f"<figcaption>{_caption(caption)}</figcaption></figure>")
    if listening:
        parts.append(f"<h2>Listening</h2><p>The first file of the example composition {h(example_piece or '')} as MIDI "
                     "files (results/listen/): what the network hears and what it makes of it, thresholded at 0.5.</p><ul>")
        parts += [f"<li><a download='{h(Path(p).parent.name)}_{h(Path(p).name)}' href='{_data_uri(p, 'audio/midi')}'>"
                  f"{h(label)}</a></li>" for label, p in listening]
        parts.append("</ul>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_summary(config: dict, *, pieces: Path, errors: Path, stats: Path, orders: Path, figures: list[Path],
                  captions: Path, listen: Path, out_html: Path, out_text: Path, crawl: str = "", keys: Path | None = None,
                  file_keys: Path | None = None, generalisation: Path | None = None,
                  generalisation_stats: Path | None = None, composer_pieces: list[Path] = (),
                  convergence: Path | None = None) -> str:
    """The report stage: write the page and the terminal table; returns the table. ``composer_pieces``: each
    other composer's pieces.parquet (results/dataset/composers/NAME/); ``convergence``: convergence.csv."""
    err = pd.read_parquet(errors)
    converged = None if convergence is None else read_convergence(convergence)
    figs = [(Path(p).stem, Path(p), (Path(captions) / f"{Path(p).stem}.rst").read_text()) for p in figures]
    example = pd.read_parquet(Path(listen) / "example.parquet", columns=["piece"])
    listening = [(f"sigma = {s:g}: {kind}", Path(listen) / f"s{noise_label(s)}" / f"{kind}.mid")
                 for s in sorted(config["sweep"]["noise"]) for kind in LISTEN_KINDS]
    page = summary_html(config, pd.read_parquet(pieces), err, pd.read_csv(stats), pd.read_csv(orders), figs,
                        [(label, p) for label, p in listening if p.exists()],
                        example["piece"].iloc[0] if len(example) else None, crawl,
                        None if keys is None else pd.read_parquet(keys),
                        None if file_keys is None else pd.read_parquet(file_keys),
                        None if generalisation is None else pd.read_parquet(generalisation),
                        None if generalisation_stats is None else pd.read_csv(generalisation_stats),
                        {Path(p).parent.name: pd.read_parquet(p) for p in composer_pieces}, converged)
    write_atomic(Path(out_html), page.encode())
    text = headline_text(err, out_html, converged)
    write_atomic(Path(out_text), text.encode())
    return text


def print_summary(text_path: Path) -> None:
    """Print the headline table of the last finished study (Snakemake's onsuccess handler), under the time it
    was written: a run that built only some targets leaves an older table, which says so."""
    path = Path(text_path)
    if path.exists():
        written = datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
        print(f"\n{path} (written {written}):\n{path.read_text()}", end="")
