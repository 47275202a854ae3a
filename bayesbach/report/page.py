"""The results page (``results/summary.html``) and the headline table shown in the terminal.

The page is one self-contained HTML file: figures embedded as PNG data URIs,
the listening MIDI files as download links with data URIs, no script, no
external resource. It says what was run (the configuration, corpus size per
split, the crawl's per-site table when the study crawled, software versions),
how the comparison is kept fair (scoring, families, smoothing, the ladder of
observers, the key decoding's and the encoding's controls), where the files' key
labels come from, shows the headline tables (mean test BCE per model and noise
level; each network's effective order from ``orders.csv``; key decoding per
network from ``keys.parquet``; prediction-error coding per network, called so only where the
state's gain over the history control survives correction (the encoding tests of ``stats.csv``); the key
comparisons from ``stats.csv``, one table per task; the other composers' corpora, mean errors and comparisons with their own
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
from bayesbach.report.findings import findings_html
from bayesbach.report.key_section import key_sources_table, keys_html
from bayesbach.report.mean_tables import bits_section, mean_table
from bayesbach.report.convergence_section import convergence_html, convergence_text, read_convergence
from bayesbach.report.labels import arch_label, model_label
from bayesbach.report.stat_tables import (coding_note, coding_table, family_note, key_comparisons, memoryless_note,
                                          orders_section, orders_table, seeds_note, shown_comparisons, transfer_table,
                                          underpowered_note)
from bayesbach.core.layout import composer_folders, noise_label
from bayesbach.core.registry import ENCODINGS, LISTEN_KINDS, OBSERVER_ORDERS, OWN_PREFIX, SPLITS, TASKS

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


def _coding(stats: pd.DataFrame) -> list[str]:
    """The prediction-error coding section of the headline tables (the encoding tests of stats.csv)."""
    table = coding_table(stats)
    if not len(table):
        return []
    return [
        "<h3>Prediction-error coding</h3><p>What the state h<sub>t+1</sub> adds to a linear read-out of the prediction "
        "error e<sub>t</sub> = x<sub>t+1</sub> - p<sub>t</sub>: the share of what the input x<sub>t+1</sub> alone, "
        "and what the input with the previous state [x<sub>t+1</sub>, h<sub>t</sub>], leave unexplained on the test "
        "compositions (read-outs fitted on the training compositions; per composition, runs averaged; mean over "
        "compositions, with the Holm-corrected p of its test against zero). " + coding_note(stats) +
        " Every value per composition, with the energy correlations raw and partial given the input energy, is in "
        "results/evaluation/encoding.parquet.</p>",
        table.to_html(),
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
                    composer_pieces: dict[str, pd.DataFrame], errors: pd.DataFrame) -> list[str]:
    """The other composers' section: their corpora, each one's mean test BCE per model, the Bach-trained
    networks against the composer's own references, and their transfer cost against its own observer."""
    h = html.escape
    split = config["generalisation"]["split"]
    own = [OWN_PREFIX + m for m in config["generalisation"]["own_models"]]
    parts = [
        "<h2>Other composers</h2><p>Every network and reference of the study was trained or fitted on Bach alone. "
        "Here each is scored, with the same protocol (every file on its own, one fixed noise draw per file), on the "
        "test compositions of composers it never met; the counted references keep the smoothing chosen on Bach. "
        "Each composer's own predictability comes from its own references ("
        f"{'; '.join(h(model_label(m)) for m in own)}), fitted on a split of the composer's own works "
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
                  + underpowered_note(shown_comparisons(comparisons, "predict", tuple(own)))
                  + seeds_note(comparisons["runs"]) + "</p>",
                  key_comparisons(comparisons, "predict", rows, tuple(own)).to_html()]
        transfer = transfer_table(errors, rows)
        if len(transfer):
            parts += [f"<h4>Transfer cost against {h(corpus)}'s own observer</h4><p>Each network's mean prediction "
                      f"BCE minus that of {h(model_label(OWN_PREFIX + 'bayes'))} (the first-order ideal observer "
                      f"fitted on {h(corpus)}'s own training works, seeing the same noise), beside the same gap on "
                      "Bach to the Bach-fitted observer; the transfer cost is the difference. Positive: the network "
                      "is further from an ideal observer of this composer than it is on Bach.</p>",
                      transfer.to_html()]
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
        "<p><strong>Prediction-error coding, with two controls.</strong> The prediction error is "
        "e<sub>t</sub> = x<sub>t+1</sub> - p<sub>t</sub>. The network's state h<sub>t+1</sub> is computed from the "
        "input x<sub>t+1</sub>, which holds the noise part of e<sub>t</sub>, and the prediction p<sub>t</sub> is read "
        "from the previous state h<sub>t</sub>, so [x<sub>t+1</sub>, h<sub>t</sub>] already recovers most of "
        "e<sub>t</sub> without any error coding. Only what h<sub>t+1</sub> adds to a linear read-out from "
        "[x<sub>t+1</sub>, h<sub>t</sub>] (gain_over_history), where it is above zero after correction, is called "
        "prediction-error coding; a gain over x<sub>t+1</sub> alone is shown beside it, as the memory it also "
        "measures (table \u201cPrediction-error coding\u201d, figure \u201cPrediction-error encoding\u201d).</p>",
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
        *findings_html(stats, orders, errors, cell_table(keys) if keys is not None else None, generalisation_stats),
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
        *bits_section(errors, ENCODINGS[config.get("train", {}).get("encoding", "pc12")]),
        "<h3>Effective order on the ladder of ideal observers</h3>",
        orders_section(orders, model_label(OBSERVER_ORDERS[0], errors)),
        orders_table(orders).to_html(),
        *(keys_html(keys) if keys is not None else []),
        *_coding(stats),
        f"<h3>Key comparisons</h3><p>Each entry: mean BCE difference network minus reference over the "
        f"{stats['n_pieces'].max() if len(stats) else 0} test compositions (negative: the network is better), the "
        "paired effect size d_z (the mean difference over the standard deviation of the per-composition differences; "
        "Cohen's d with the pooled standard deviation is in the file too) and the two-sided Wilcoxon signed-rank p, "
        "corrected as each table says." + seeds_note(stats["runs"]) +
        " Every comparison is in results/evaluation/stats.csv.</p>",
    ]
    for task in TASKS[::-1]:  # prediction, the study's question, first
        parts += [f"<h4>{'Prediction (probed networks)' if task == 'predict' else 'Decoding'}</h4>",
                  f"<p>{(family_note(shown_comparisons(stats, task), 'stats.csv') + underpowered_note(shown_comparisons(stats, task))).strip()}</p>",
                  key_comparisons(stats, task, errors).to_html()]
        if task == "predict" and (note := memoryless_note(errors, stats)):
            parts.append(f"<p>{note}</p>")
    if generalisation is not None:
        parts += _generalisation(config, generalisation, generalisation_stats, composer_pieces or {}, errors)
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
