"""The results page (``results/summary.html``) and the headline table shown in the terminal.

The page is one self-contained HTML file: figures embedded as PNG data URIs,
the listening MIDI files as download links with data URIs, no script, no
external resource. It says what was run (the configuration, corpus size per
split, software versions), shows the headline tables (mean test BCE per model
and noise level; the key comparisons from ``stats.csv``) and every figure with
its caption. Captions are the ``workflow/report/*.rst`` files that
``snakemake --report`` uses too, so each is written once. Nothing on the page
depends on the time or the machine: two runs of a study give the same page.
"""

from __future__ import annotations

import base64
import html
import re
import sys
from importlib import metadata
from pathlib import Path

import pandas as pd
import yaml

from bayesbach.core.atomic import write_atomic
from bayesbach.report.labels import model_label, network_label
from bayesbach.core.registry import ARCH_LABELS, ARCHS, KEY_COMPARISONS, LISTEN_KINDS, REFERENCES, noise_label

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
    nets = df["model"].isin(ARCHS)
    df["label"] = df["model"].map(lambda m: model_label(m, errors))
    df.loc[nets, "label"] = [network_label(a, h) for a, h in zip(df.loc[nets, "model"], df.loc[nets, "hidden"])]
    order = {m: i for i, m in enumerate(REFERENCES)}
    df["order"] = [(1, ARCHS.index(m), h) if n else (0, order.get(m, 99), 0)
                   for m, h, n in zip(df["model"], df["hidden"], nets)]
    per_piece = df.groupby(["order", "label", "task", "noise", "piece"])["bce"].mean()
    table = per_piece.groupby(level=["order", "label", "task", "noise"]).mean().unstack(["task", "noise"])
    table = table.droplevel("order").sort_index(axis=1)
    table.columns = table.columns.set_names(["task", "noise sigma"]).set_levels(
        [f"{s:g}" for s in table.columns.levels[1]], level=1)
    table.index.name = "model"
    return table


def key_comparisons(stats: pd.DataFrame, errors: pd.DataFrame | None = None) -> pd.DataFrame:
    """The comparisons that carry the argument, one row per (task, network cell), one column per reference:
    "mean BCE difference (Cohen's d, Bonferroni p)"."""
    keep = pd.Series(False, index=stats.index)
    for task, versus in KEY_COMPARISONS:
        keep |= (stats["task"] == task) & (stats["versus"] == versus) & (stats["kind"] == "reference")
    s = stats[keep]
    cell = [f"{diff:+.4f} (d {d:+.2f}, p {p:.2g})" for diff, d, p in zip(s["mean_diff"], s["cohens_d"], s["p_bonferroni"])]
    table = pd.DataFrame({
        "task": s["task"], "network": [network_label(a, h) for a, h in zip(s["model"], s["hidden"])],
        "sigma": s["noise"].map("{:g}".format), "pieces": s["n_pieces"],
        "versus": s["versus"].map(lambda m: model_label(m, errors)), "cell": cell,
    })
    if not len(table):
        return table
    wide = table.pivot_table(index=["task", "network", "sigma", "pieces"], columns="versus", values="cell",
                             aggfunc="first", sort=False)
    wide.columns.name = None
    return wide.fillna("-")


def headline_text(errors: pd.DataFrame, page: Path) -> str:
    """The short table the terminal shows when a run finishes."""
    table = mean_table(errors)
    lines = ["Mean test BCE (nats per pitch class and step; lower is better)", table.to_string(float_format="{:.4f}".format,
                                                                                             na_rep="-"),
             "", f"Results page: {Path(page).resolve()}"]
    return "\n".join(lines) + "\n"


def _caption(rst: str) -> str:
    """A caption file (a paragraph with **bold** lead-in) as HTML."""
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(rst.strip()))


def _data_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(Path(path).read_bytes()).decode()}"


def _splits(pieces: pd.DataFrame) -> pd.DataFrame:
    g = pieces.groupby("split").agg(compositions=("piece", "count"), files=("n_files", "sum"), events=("n_events", "sum"))
    return g.reindex([s for s in ("train", "validation", "test") if s in g.index])


STYLE = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45;color:#111}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0 1rem}td,th{border:1px solid #ccc;padding:.2rem .45rem;text-align:right}
th{background:#f2f2f2}figure{margin:1.5rem 0}img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.9rem}td{white-space:nowrap}pre{background:#f6f6f6;padding:.6rem;overflow-x:auto;font-size:.8rem}"""


def summary_html(config: dict, pieces: pd.DataFrame, errors: pd.DataFrame, stats: pd.DataFrame,
                 figures: list[tuple[str, Path, str]], listening: list[tuple[str, Path]], example_piece: str | None) -> str:
    """The page; ``figures`` = (name, PNG path, caption rst), ``listening`` = (label, MIDI path)."""
    sweep = config["sweep"]
    h = html.escape
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>bayesbach: results</title>", f"<style>{STYLE}</style></head><body>",
        "<h1>Do recurrent networks trained to perceive noisy Bach learn to predict it?</h1>",
        "<h2>What was run</h2>",
        f"<p>{len(sweep['arch']) * len(sweep['hidden']) * len(sweep['noise']) * sweep['runs']} networks: "
        f"{', '.join(ARCH_LABELS[a] for a in sweep['arch'])} with {', '.join(map(str, sweep['hidden']))} hidden units, "
        f"noise sigma {', '.join(f'{s:g}' for s in sweep['noise'])}, {sweep['runs']} run(s) each; "
        f"references: {', '.join(h(model_label(m, errors)) for m in config['references']['models'])}. "
        "All errors are binary cross-entropies in nats per pitch class and step, on whole test compositions "
        "with one fixed noise draw per composition shared by every model.</p>",
        "<h3>Corpus and splits (by composition)</h3>", _splits(pieces).to_html(),
        "<h3>Software</h3>", pd.Series(versions(), name="version").to_frame().to_html(),
        "<details><summary>Configuration</summary><pre>", h(yaml.safe_dump(config, sort_keys=True)), "</pre></details>",
        "<h2>Headline tables</h2>",
        "<h3>Mean test BCE per model and noise level</h3><p>Lower is better; for networks, per-composition "
        "errors are averaged over runs first.</p>",
        mean_table(errors).to_html(float_format="{:.4f}".format, na_rep="-"),
        "<h3>Key comparisons</h3><p>Each entry: mean BCE difference network minus reference over the test "
        "compositions (negative: the network is better), Cohen's d (pooled standard deviation) and the two-sided "
        "Wilcoxon signed-rank p, Bonferroni-corrected over the cells of the sweep. "
        "Every comparison is in results/evaluation/stats.csv.</p>",
        key_comparisons(stats, errors).to_html(),
        "<h2>Figures</h2>",
    ]
    for name, png, caption in figures:
        parts.append(f"<figure id='{h(name)}'><img alt='{h(name)} figure' src='{_data_uri(png, 'image/png')}'>"
                     f"<figcaption>{_caption(caption)}</figcaption></figure>")
    if listening:
        parts.append(f"<h2>Listening</h2><p>The example composition {h(example_piece or '')} as MIDI files "
                     "(results/listen/): what the network hears and what it makes of it, thresholded at 0.5.</p><ul>")
        parts += [f"<li><a download='{h(Path(p).parent.name)}_{h(Path(p).name)}' href='{_data_uri(p, 'audio/midi')}'>"
                  f"{h(label)}</a></li>" for label, p in listening]
        parts.append("</ul>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_summary(config: dict, *, pieces: Path, errors: Path, stats: Path, figures: list[Path], captions: Path,
                  listen: Path, out_html: Path, out_text: Path) -> str:
    """The report stage: write the page and the terminal table; returns the table."""
    err = pd.read_parquet(errors)
    figs = [(Path(p).stem, Path(p), (Path(captions) / f"{Path(p).stem}.rst").read_text()) for p in figures]
    example = pd.read_parquet(Path(listen) / "example.parquet", columns=["piece"])
    listening = [(f"sigma = {s:g}: {kind}", Path(listen) / f"s{noise_label(s)}" / f"{kind}.mid")
                 for s in sorted(config["sweep"]["noise"]) for kind in LISTEN_KINDS]
    page = summary_html(config, pd.read_parquet(pieces), err, pd.read_csv(stats), figs,
                        [(label, p) for label, p in listening if p.exists()],
                        example["piece"].iloc[0] if len(example) else None)
    write_atomic(Path(out_html), page.encode())
    text = headline_text(err, out_html)
    write_atomic(Path(out_text), text.encode())
    return text


def print_summary(text_path: Path) -> None:
    """Print the headline table of the last finished study (Snakemake's onsuccess handler)."""
    if Path(text_path).exists():
        print("\n" + Path(text_path).read_text(), end="")
