"""The comparisons that carry the study's argument (docs/science.md, "Evaluation").

The unit is the composition: a network's per-piece errors are first averaged
over its runs, so every (arch, hidden, noise) cell gives one error per test
piece and task. Each comparison pairs a cell with another model on the same
pieces (the same CRN noise) and reports

- ``n_pieces``, ``mean_model``, ``mean_versus``, ``mean_diff`` = model - versus
  (negative: the network has the lower BCE),
- ``wilcoxon_w`` and ``p``: SciPy's two-sided Wilcoxon signed-rank test on the
  paired differences (exact for small samples without ties, else normal),
- ``family``, ``family_size`` and ``p_holm``: the p-value corrected by **Holm's
  step-down method** within the test's family, ``family_size`` its tests with a p
  (:func:`holm`; it controls the family-wise error as Bonferroni does, under any
  dependence between the tests, and rejects at least as much),
- ``underpowered``: True when no outcome on these pieces could be significant after the correction: the
  smallest two-sided Wilcoxon p of n paired pieces is 2 / 2^n (every difference of one sign), and the
  smallest Holm-corrected p of a family of m tests is m times its smallest p, so the test is
  underpowered when m 2^(1 - n) >= ``ALPHA`` (:func:`underpowered`). The report shows such a test as
  "underpowered", not as a result,
- ``cohens_d`` = mean_diff / pooled standard deviation, sqrt((s_a^2 + s_b^2) / 2)
  with ddof = 1 (equal group sizes): the effect between two groups of pieces,
- ``d_z`` = mean_diff / the standard deviation of the paired differences (ddof 1):
  the effect of a paired design, the one the test is about. Pieces usually differ far
  more from each other than two models do on one piece, so d_z is usually the larger.

Comparisons: per task, network vs each reference of
:data:`bayesbach.core.registry.COMPARED`; and between architectures at equal
(hidden, noise), both tasks. References absent from the errors are skipped.

The families are one per task and kind: ``predict/reference`` (every network cell of the
sweep against every reference), ``decode/reference``, ``predict/architecture`` and
``decode/architecture`` (every pair of architectures at every (hidden, noise)). Each table or
figure of the report shows tests of one family or a part of one, so no test is shown corrected
over fewer tests than the table it is shown in.

Prediction-error coding (``encoding.parquet``, :func:`encoding_comparisons`): per network cell, each piece's
``gain_over_input`` and ``gain_over_history`` (runs averaged per piece first) tested against zero with the same
two-sided signed-rank test (task ``encoding``, kind the measure, versus ``zero``: ``mean_model`` is the mean gain,
``mean_versus`` 0, ``d_z`` the mean over the standard deviation of the per-piece gains, ``cohens_d`` NaN: there is no
second group). The families are ``encoding/gain_over_input`` and ``encoding/gain_over_history``, every cell of the
sweep in each; only a ``gain_over_history`` above zero after correction is called prediction-error coding (the input
alone does not control for the memory of h_t that the prediction is read from; docs/science.md).

On the other composers (``generalisation.parquet``, :func:`generalisation_comparisons`) the same
comparisons are made per composer on its test compositions, each network also against the composer's
own references (``own_global``, ...); the families are those of one composer
(``palestrina/predict/reference``, ...).
"""

from __future__ import annotations

import io
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import wilcoxon

from bayesbach.core.atomic import write_atomic
from bayesbach.core.registry import ARCHS, COMPARED, OWN_MODELS, OWN_PREFIX

COLUMNS = ["task", "kind", "model", "hidden", "noise", "versus", "runs", "n_pieces", "mean_model", "mean_versus",
           "mean_diff", "wilcoxon_w", "p", "family", "family_size", "p_holm", "underpowered", "cohens_d", "d_z"]
UNCORRECTED = [c for c in COLUMNS if c not in ("family", "family_size", "p_holm", "underpowered")]  # filled by correct_tests
GENERALISATION_COLUMNS = ["corpus", *COLUMNS]  # generalisation.csv
ALPHA = 0.05  # the corrected p below which the report calls a test significant
ENCODING_TASK = "encoding"  # the task of the prediction-error coding tests in stats.csv
ENCODING_TESTS = ("gain_over_input", "gain_over_history")  # their kinds: the measures of encoding.parquet tested
ZERO = "zero"  # what they are tested against


def cohens_d(a: np.ndarray, b: np.ndarray) -> float:
    """(mean a - mean b) / pooled standard deviation (ddof 1); NaN when both samples are constant or tiny."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    pooled = math.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2))
    return float((a.mean() - b.mean()) / pooled) if pooled > 0 else float("nan")


def paired_d(a: np.ndarray, b: np.ndarray) -> float:
    """d_z: mean of the paired differences a - b over their standard deviation (ddof 1); NaN when the differences
    are constant or fewer than two."""
    d = np.asarray(a, float) - np.asarray(b, float)
    if len(d) < 2:
        return float("nan")
    sd = d.std(ddof=1)
    return float(d.mean() / sd) if sd > 0 else float("nan")


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's adjusted p-values of one family: the i-th smallest of m is max over j <= i of (m - j + 1) p_(j), at most
    1. A NaN p (no pieces) stays NaN and is not counted in m."""
    p = np.asarray(p, float)
    out = np.full(p.shape, np.nan)
    known = np.flatnonzero(~np.isnan(p))
    order = known[np.argsort(p[known], kind="stable")]
    m = len(order)
    out[order] = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    return out


def correct(table: pd.DataFrame, family: pd.Series | str, p: str = "p") -> pd.DataFrame:
    """``table`` with its ``family`` (a label per row, or one for all), ``family_size`` (the family's tests with a
    p-value in column ``p``) and ``{p}_holm`` (that p Holm-corrected within the family)."""
    out = table.assign(family=family)
    groups = out.groupby("family", sort=False)[p]
    out["family_size"] = groups.transform(lambda v: v.notna().sum()).astype(int) if len(out) else 0
    out[f"{p}_holm"] = groups.transform(holm) if len(out) else np.nan
    return out


def correct_tests(table: pd.DataFrame, family: pd.Series | str) -> pd.DataFrame:
    """:func:`correct` on the comparisons' ``p``, and their ``underpowered`` flag."""
    out = correct(table, family)
    out["underpowered"] = underpowered(out["n_pieces"], out["family_size"]).astype(bool)
    return out


def underpowered(n_pieces, family_size, alpha: float = ALPHA):
    """Whether a two-sided Wilcoxon signed-rank test of ``n_pieces`` pairs, Holm-corrected in a family of
    ``family_size`` tests, can never reach ``alpha`` (the module text); elementwise on arrays."""
    n, m = np.asarray(n_pieces, float), np.asarray(family_size, float)
    return m * np.exp2(1.0 - n) >= alpha


def signed_rank(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Two-sided Wilcoxon signed-rank (statistic, p) of paired samples; (0, 1) when no pair differs."""
    d = np.asarray(a, float) - np.asarray(b, float)
    if len(d) == 0:
        return float("nan"), float("nan")
    if not np.any(d != 0):
        return 0.0, 1.0  # no evidence of any difference (SciPy would return NaN)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small-sample notes; the test is still the one asked for
        res = wilcoxon(a, b, alternative="two-sided")
    return float(res.statistic), float(res.pvalue)


def compare(a: np.ndarray, b: np.ndarray) -> dict:
    """The per-comparison figures of the module text for paired per-piece errors."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    w, p = signed_rank(a, b)
    return {"n_pieces": len(a), "mean_model": float(a.mean()) if len(a) else math.nan,
            "mean_versus": float(b.mean()) if len(b) else math.nan,
            "mean_diff": float((a - b).mean()) if len(a) else math.nan,
            "wilcoxon_w": w, "p": p, "cohens_d": cohens_d(a, b), "d_z": paired_d(a, b)}


def per_piece(errors: pd.DataFrame) -> pd.DataFrame:
    """Errors indexed by (model, hidden, noise, task, piece): networks averaged over runs, references as they are."""
    df = errors.copy()
    nets = df["model"].isin(ARCHS)
    df.loc[~nets, "hidden"] = -1  # a reference is one model per noise level whatever its size
    g = df.groupby(["model", "hidden", "noise", "task", "piece"], dropna=False)
    out = g["bce"].mean().to_frame()
    out["runs"] = g["run"].nunique()
    return out


def _pair(table: pd.DataFrame, left: tuple, right: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Paired errors of two (model, hidden, noise, task) keys on the pieces both have, in piece order."""
    a, b = table.loc[left, "bce"], table.loc[right, "bce"]
    both = pd.concat([a, b], axis=1, keys=["a", "b"], join="inner").dropna().sort_index()
    return both["a"].to_numpy(), both["b"].to_numpy()


def comparisons(errors: pd.DataFrame, compared: dict[str, tuple[str, ...]] = COMPARED, prefix: str = "") -> pd.DataFrame:
    """One row per comparison (``COLUMNS``), Holm-corrected within its family (``prefix`` + task/kind, see the module
    text); ``compared``: the references each network is compared with, per task."""
    table = per_piece(errors)
    keys = set(table.index.droplevel("piece"))
    runs = table["runs"].groupby(level=[0, 1, 2, 3]).max()
    cells = sorted({k[:3] for k in keys if k[0] in ARCHS}, key=lambda k: (ARCHS.index(k[0]), k[1], k[2]))
    rows = []
    for task, refs in compared.items():
        for arch, hidden, noise in cells:
            net = (arch, hidden, noise, task)
            if net not in keys:
                continue
            for ref in refs:
                if (ref, -1, noise, task) in keys:
                    rows.append({"task": task, "kind": "reference", "model": arch, "hidden": hidden, "noise": noise,
                                 "versus": ref, "runs": int(runs[net]),
                                 **compare(*_pair(table, net, (ref, -1, noise, task)))})
            for other in ARCHS[ARCHS.index(arch) + 1:]:
                if (other, hidden, noise, task) in keys:
                    rows.append({"task": task, "kind": "architecture", "model": arch, "hidden": hidden, "noise": noise,
                                 "versus": other, "runs": int(runs[net]),
                                 **compare(*_pair(table, net, (other, hidden, noise, task)))})
    out = pd.DataFrame(rows, columns=UNCORRECTED)
    # One family per task and kind: the page's key tables and the figures each show a part of one.
    out = correct_tests(out, prefix + out["task"] + "/" + out["kind"])
    out["hidden"] = out["hidden"].astype(int)
    return out[COLUMNS]


def encoding_comparisons(encoding: pd.DataFrame) -> pd.DataFrame:
    """One row per network cell and measure of ``ENCODING_TESTS`` (``COLUMNS``): the per-piece gains (runs averaged
    per piece; a piece without steps left out) against zero, Holm-corrected within the measure's family (module
    text). Cells in the study's order: architecture, hidden size, noise."""
    cells = ["arch", "hidden", "noise"]
    rows = []
    if len(encoding):
        encoding = encoding.sort_values([*cells, "piece", "run"])  # the input's row order changes no sum
        for kind in ENCODING_TESTS:
            per_piece = encoding.groupby([*cells, "piece"]).agg(gain=(kind, "mean"), runs=("run", "nunique"))
            for (arch, hidden, noise), g in per_piece.groupby(level=cells):
                gain = g["gain"].dropna().to_numpy()
                res = compare(gain, np.zeros(len(gain)))
                rows.append({"task": ENCODING_TASK, "kind": kind, "model": arch, "hidden": int(hidden),
                             "noise": float(noise), "versus": ZERO, "runs": int(g["runs"].max()),
                             **res, "cohens_d": math.nan})
    out = pd.DataFrame(rows, columns=UNCORRECTED)
    if len(out):
        order = out["model"].map({a: i for i, a in enumerate(ARCHS)})
        kinds = out["kind"].map({k: i for i, k in enumerate(ENCODING_TESTS)})
        out = out.assign(_a=order, _k=kinds).sort_values(["_k", "_a", "hidden", "noise"], kind="stable") \
            .drop(columns=["_a", "_k"]).reset_index(drop=True)
    out = correct_tests(out, ENCODING_TASK + "/" + out["kind"])
    out["hidden"] = out["hidden"].astype(int)
    return out[COLUMNS]


def to_csv(table: pd.DataFrame) -> bytes:
    """The CSV bytes of a table: each float as the shortest text that reads back to the same number (0.2,
    not 0.20000000000000001), Unix line ends, so reruns are identical."""
    buf = io.StringIO()
    table.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue().encode()


def generalisation_comparisons(table: pd.DataFrame) -> pd.DataFrame:
    """The comparisons of :func:`comparisons` per other composer (``corpus``; ``GENERALISATION_COLUMNS``), each
    network also against the composer's own references, first."""
    frames = []
    for corpus, rows in table.groupby("corpus", sort=True):
        own = tuple(OWN_PREFIX + name for name in OWN_MODELS if OWN_PREFIX + name in set(rows["model"]))
        compared = {task: (*own, *refs) for task, refs in COMPARED.items()}
        frames.append(comparisons(rows.drop(columns="corpus"), compared, f"{corpus}/").assign(corpus=corpus))
    return pd.concat(frames, ignore_index=True)[GENERALISATION_COLUMNS] if frames else pd.DataFrame(
        columns=GENERALISATION_COLUMNS)


def write_generalisation_stats(generalisation_path: Path, out: Path) -> pd.DataFrame:
    """The other composers' statistics: ``generalisation.parquet`` -> ``generalisation.csv``."""
    table = generalisation_comparisons(pd.read_parquet(generalisation_path))
    write_atomic(Path(out), to_csv(table))
    return table


def write_stats(errors_path: Path, out: Path, encoding_path: Path | None = None) -> pd.DataFrame:
    """The statistics stage: ``errors.parquet`` (and ``encoding.parquet``, its tests after the others) -> ``stats.csv``."""
    table = comparisons(pd.read_parquet(errors_path))
    coding = encoding_comparisons(pd.read_parquet(encoding_path)) if encoding_path is not None else None
    if coding is not None and len(coding):
        table = pd.concat([table, coding], ignore_index=True)
    write_atomic(Path(out), to_csv(table))
    return table

