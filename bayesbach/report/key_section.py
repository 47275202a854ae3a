"""The page's key-decoding section (``keys.parquet``, :mod:`bayesbach.evaluation.key_summary`): where the key labels
come from, the accuracy of each read-out per network cell against the memory-matched controls, and the sentences
generated from it. Used by :mod:`bayesbach.report.page`."""

from __future__ import annotations

import pandas as pd

from bayesbach.core.registry import KEY_DECODERS, KEY_SOURCES
from bayesbach.evaluation.key_summary import cell_table
from bayesbach.evaluation.stats import underpowered
from bayesbach.report.labels import network_label


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
            f"{n} cell{'s' * (n != 1)}, p &lt; {alpha:g}")
    most = int(t["n_pieces"].max())
    if underpowered(most, n, alpha):
        floor = min(1.0, n * 2.0 ** (1 - most))  # the exact test's smallest corrected p: n x 2 / 2^pieces
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


def keys_html(keys: pd.DataFrame) -> list[str]:
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
