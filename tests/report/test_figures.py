"""Figures (bayesbach.report.figures) from synthetic stage tables: every figure draws, reads well (labels,
spelled-out names), and is a pure function of its inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.figure import Figure

from bayesbach.core.registry import KEY_DECODERS
from bayesbach.evaluation.effective_order import effective_orders
from bayesbach.evaluation.stats import comparisons
from bayesbach.report import figures

torch.set_num_threads(1)
ARCHS, HIDDEN, NOISE, PIECES = ("elman", "gru"), (4, 16), (0.2, 1.0), [f"bwv{i:04d}" for i in range(6)]


@pytest.fixture(scope="module")
def tables():
    rng = np.random.default_rng(0)
    rows = []
    for arch in ARCHS:
        for h in HIDDEN:
            for s in NOISE:
                for run in (0, 1):
                    for task in ("decode", "predict"):
                        rows += [(arch, arch, h, s, run, task, p, rng.uniform(0.01, 0.5)) for p in PIECES]
    refs = {"global": ("decode", "predict"), "bayes_memoryless": ("decode", "predict"), "markov_high": ("predict",), "markov_low": ("predict",),
            "markov_counts": ("predict",), "bayes": ("decode", "predict"), "bayes2": ("decode", "predict"),
            "bayes3": ("decode", "predict"), "rnn_pred": ("predict",), "decoder_ff": ("decode",)}
    for ref, tasks in refs.items():
        for s in NOISE:
            for task in tasks:
                rows += [(ref, "gru" if ref == "rnn_pred" else None, 256 if ref == "rnn_pred" else None, s, None, task, p,
                          rng.uniform(0.01, 0.5)) for p in PIECES]
    errors = pd.DataFrame(rows, columns=["model", "arch", "hidden", "noise", "run", "task", "piece", "bce"])
    enc = pd.DataFrame([{"arch": a, "hidden": h, "noise": s, "run": r, "piece": p, "steps": 50,
                         **{c: rng.uniform(-0.2, 0.8) for c in ("corr_state", "corr_change", "corr_input", "pcorr_state",
                                                                "pcorr_change", "gain_state", "gain_change",
                                                                "gain_input", "gain_joint", "gain_history", "gain_full",
                                                                "gain_over_input", "gain_over_history")}}
                        for a in ARCHS for h in HIDDEN for s in NOISE for r in (0, 1) for p in PIECES])
    history = pd.DataFrame([{"stage": st, "batch": b, "train_loss": 0.7 - b / 1000, "val_loss": 0.6 - b / 900,
                             "arch": a, "hidden": h, "noise": s, "run": r}
                            for st in ("decode", "probe") for b in (10, 20, 30) for a in ARCHS for h in HIDDEN
                            for s in NOISE for r in (0, 1)])
    rolls = pd.DataFrame([{"noise": s, "piece": "bwv0003", "kind": k, "step": t, "values": rng.random(12).tolist()}
                          for s in NOISE for k in ("clean", "noisy", "decoded", "predicted") for t in range(60)])
    bins = [(0, 1), (1, 2), (2, 4), (4, 8), (8, None)]
    keys = pd.DataFrame([{"arch": a, "hidden": h, "noise": s, "run": r, "memory": 2.0, "decoder": d, "piece": p,
                          "bin_start": b0, "bin_end": b1, "steps": 3, "accuracy": rng.uniform(0, 1)}
                         for a in ARCHS for h in HIDDEN for s in NOISE for r in (0, 1) for d in KEY_DECODERS
                         for p in PIECES for b0, b1 in bins])
    # Other composers: the same models on their pieces, and each composer's own references.
    own = pd.DataFrame([(m, None, None, s, None, task, p, rng.uniform(0.01, 0.5))
                        for m, tasks in (("own_global", ("decode", "predict")), ("own_markov_counts", ("predict",)))
                        for s in NOISE for task in tasks for p in PIECES], columns=errors.columns)
    generalisation = pd.concat([pd.concat([errors.assign(bce=errors["bce"] + k), own]).assign(corpus=c)
                                for k, c in enumerate(("monteverdi", "palestrina"))], ignore_index=True)
    # The annotated test split: three files of 5, 9 and 12 chords (9: the median), every model of the figure and one
    # more network and reference it leaves out.
    files = {"bundled/a.mid": 5, "bundled/b.mid": 9, "bundled/c.mid": 12}
    events = pd.DataFrame([(f, t, int(rng.integers(1, 4096)), 0.5 * t, 0.5) for f, n in files.items() for t in range(n)],
                          columns=["file", "step", "pcs", "onset", "duration"])
    models = ["gru_h16_s0.2", "gru_h16_s1.0", "gru_h4_s0.2", "elman_h16_s0.2", "bayes_memoryless", "bayes3",
              "ppm_both", "markov_counts"]
    annotations = pd.DataFrame([(f, t, 0.5 * t, 0.5, m, np.nan if t == 0 else rng.uniform(0, 12), rng.uniform(1, 12),
                                 np.nan) for f, n in files.items() for m in models for t in range(n)],
                               columns=["file", "step", "onset", "duration", "model", "ic_bits", "entropy_bits",
                                        "surprise_bits"])
    return {"errors": errors, "stats": comparisons(errors), "encoding": enc, "history": history, "rolls": rolls,
            "orders": effective_orders(errors), "keys": keys, "generalisation": generalisation,
            "annotations": annotations, "events": events}


def draw(name: str, t: dict) -> Figure:
    return {"ladder": lambda: figures.ladder(t["errors"], t["stats"]), "decoding": lambda: figures.decoding(t["errors"]),
            "sweep": lambda: figures.sweep(t["stats"]), "training": lambda: figures.training(t["history"]),
            "example": lambda: figures.example(t["rolls"], 48), "encoding": lambda: figures.error_coding(t["encoding"]),
            "architectures": lambda: figures.architectures(t["errors"]), "orders": lambda: figures.orders(t["orders"]),
            "keys": lambda: figures.keys(t["keys"]), "surprisal": lambda: figures.surprisal(t["annotations"], t["events"]),
            "generalisation": lambda: figures.generalisation(t["generalisation"], t["errors"])}[name]()


def texts(fig: Figure) -> str:
    out = [fig._suptitle.get_text() if fig._suptitle else ""]
    for ax in fig.axes:
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()] + [t.get_text() for t in ax.get_xticklabels()]
        out += [t.get_text() for t in ax.get_yticklabels()]  # a categorical y axis (the ladder's models)
        if ax.get_legend():
            out += [t.get_text() for t in ax.get_legend().get_texts()]
    out += [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    return "\n".join(out)


@pytest.mark.parametrize("name", figures.FIGURES)
def test_every_figure_labels_its_axes_and_saves_png_and_pdf(name, tables, tmp_path):
    fig = draw(name, tables)
    plotted = [ax for ax in fig.axes if ax.get_label() != "<colorbar>" and ax.get_visible()]
    named_ticks = lambda ax: all(t.get_text() for t in ax.get_xticklabels())  # noqa: E731 - categorical axis: model names
    # a panel sharing its y axis with a labelled one (a row of piano rolls) is labelled by it; a categorical y axis
    # (the ladder's models) by its tick labels
    names = lambda ax: [t.get_text() for t in ax.get_yticklabels()]  # noqa: E731
    y_named = lambda ax: any(o.get_ylabel() or (names(o) and all(any(c.isalpha() for c in n) for n in names(o)))  # noqa: E731
                             for o in ax.get_shared_y_axes().get_siblings(ax))
    assert plotted and all((ax.get_xlabel() or named_ticks(ax)) and y_named(ax) for ax in plotted), name
    figures.save(fig, tmp_path / "a.png")
    assert (tmp_path / "a.pdf").read_bytes()[:4] == b"%PDF"
    if name == "ladder":  # the one figure with random jitter: it is seeded
        figures.save(draw(name, tables), tmp_path / "b.png")
        assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    from PIL import Image

    assert Image.open(tmp_path / "a.png").size[0] >= 900  # page width at 150 dpi


def test_model_names_are_spelled_out(tables):
    ladder = texts(draw("ladder", tables))
    for name in ("Ideal Bayesian observer", "1st-order Markov net, noisy input", "Global pitch-class frequencies",
                 "GRU trained to predict (256 units)", "GRU, 16 units (probed)"):
        assert name in ladder
    assert "Memoryless decoder" in texts(draw("decoding", tables))
    arch = texts(draw("architectures", tables))
    assert "Elman RNN, 4 units" in arch and "GRU, 16 units" in arch


def test_sweep_heat_maps_show_effect_sizes_and_marks_from_the_stats(tables):
    fig = draw("sweep", tables)
    heat = [ax for ax in fig.axes if ax.images]
    assert len(heat) == 2  # vs the Markov net on noisy input, vs the ideal observer
    d = heat[0].images[0].get_array()
    row = tables["stats"].query("task == 'predict' and model == 'gru' and versus == 'markov_high' and hidden == 16 "
                                "and noise == 1.0").iloc[0]
    assert d[1, 1] == pytest.approx(row["d_z"])  # rows: hidden sizes, columns: noise levels; the paired effect size
    labels = [t.get_text() for t in heat[0].texts]
    assert f"{row['d_z']:.2f}\n{figures.stars(row['p_holm'])}" in labels


def test_the_encoding_figure_shows_both_controls_beside_the_state_and_marks_only_corrected_coding(tables):
    rng = np.random.default_rng(3)
    enc = pd.concat([tables["encoding"].assign(piece=lambda d, k=k: d["piece"] + f"_{k}") for k in (0, 1)])  # 12 pieces
    coding = (enc["arch"] == "gru") & (enc["hidden"] == 16) & (enc["noise"] == 1.0)  # beyond its history; others: memory
    enc["gain_over_history"] = np.where(coding, 0.3, 0.0) + rng.uniform(-0.02, 0.02, len(enc))
    fig = figures.error_coding(enc)
    text = texts(fig)
    for label in ("from the state h_{t+1}", "from the input x_{t+1} alone (control)", "from [x_{t+1}, h_t] (history control)",
                  "beyond [x_{t+1}, h_t] (stars: > 0, corrected)", "state, partial given the input energy",
                  "input ||x_{t+1}||^2 (baseline)"):
        assert label in text, label
    marks = [t for ax in fig.axes for t in ax.texts]
    assert len(marks) == 1 and marks[0].get_text() == "**"  # GRU-16 at sigma 1: 12 pieces above zero, 8 tests
    assert marks[0].xy[0] == 16 and marks[0].axes is fig.axes[1]


def test_stars():
    assert [figures.stars(p) for p in (0.0005, 0.005, 0.04, 0.2, float("nan"))] == ["***", "**", "*", "n.s.", ""]


def test_one_architecture_gives_a_placeholder_not_an_error(tables):
    only_gru = tables["errors"][tables["errors"]["model"] != "elman"]
    assert "one architecture" in texts(figures.architectures(only_gru)) + "".join(
        t.get_text() for ax in figures.architectures(only_gru).axes for t in ax.texts)


def test_log_axes_label_a_few_values_and_no_minor_ticks(tables):
    fig = draw("decoding", tables)
    ax = fig.axes[0]
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    lo, hi = ax.get_ylim()
    shown = [float(x) for x in labels if lo <= float(x) <= hi]
    assert 2 <= len(shown) <= 8  # 0.02, 0.05, 0.1, 0.2 ... over decades; evenly spaced values over a narrow range
    assert not any(t.get_text() for t in ax.get_yminorticklabels())  # the minor ticks that used to collide


def test_the_ladder_of_observers_figure_places_each_network_at_its_effective_order(tables):
    fig = draw("orders", tables)
    row = tables["orders"].query("task == 'predict' and model == 'gru' and hidden == 16 and noise == 1.0").iloc[0]
    panel = next(ax for ax in fig.axes if ax.get_title() == "Prediction, sigma = 1")
    gru = next(line for line in panel.get_lines() if line.get_label() == "GRU")
    assert dict(zip(gru.get_xdata(), gru.get_ydata()))[16] == pytest.approx(row["effective_order"])
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["0: no memory", "1: last 1 chord",
                                                                     "2: last 2 chords", "3: last 3 chords"]
    # the bootstrap interval as error bars, one set per architecture in the study's order: order_lo to order_hi
    gru_bars = panel.containers[ARCHS.index("gru")]
    spans = sorted((float(seg[0][1]), float(seg[1][1])) for seg in gru_bars.lines[2][0].get_segments())
    cells = tables["orders"].query("task == 'predict' and model == 'gru' and noise == 1.0")
    np.testing.assert_allclose(spans, sorted(zip(cells["order_lo"], cells["order_hi"])))


def test_the_key_figure_shows_each_state_against_its_control_over_steps_into_the_file(tables):
    fig = draw("keys", tables)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == len(HIDDEN) * len(NOISE)
    text = texts(fig)
    shared = [KEY_DECODERS[d] for d in ("input_all", "majority", "chance")]
    for label in ("GRU: state", "GRU: strongest control, its memory", "GRU: noisy-input average, its memory",
                  "Elman RNN: state", *shared):
        assert label in text, label
    assert [t.get_text() for t in axes[-1].get_xticklabels()] == ["1", "2", "3-4", "5-8", "9+"]
    assert len(axes[0].lines) == 3 + 3 * len(ARCHS)
    # the strongest control is the page's, per network cell
    from bayesbach.evaluation.key_summary import cell_table, piece_accuracy
    keys = tables["keys"]
    hidden, sigma = sorted(keys["hidden"].unique())[0], sorted(keys["noise"].unique())[0]
    control = cell_table(keys).set_index(["arch", "hidden", "noise"]).at[("gru", hidden, sigma), "control"]
    acc = piece_accuracy(keys, per_bin=True).query("arch == 'gru' and hidden == @hidden and noise == @sigma")
    expected = acc[acc["decoder"] == control].groupby("bin_start")["accuracy"].mean().to_numpy()
    line = next(ln for ln in axes[0].lines if ln.get_label() == "GRU: strongest control, its memory")
    np.testing.assert_allclose(line.get_ydata(), expected)


def test_the_other_composers_figure_shows_each_corpus_mean_beside_its_own_references(tables):
    fig = draw("generalisation", tables)
    panel = next(ax for ax in fig.axes if ax.get_title() == "Predicting the next chord, sigma = 1")
    assert [t.get_text() for t in panel.get_xticklabels()] == ["Bach\n(trained on)", "monteverdi", "palestrina"]
    gen, errors = tables["generalisation"], tables["errors"]
    points = {c.get_label(): c.lines[0].get_ydata() for c in fig.axes[0].containers}  # the first panel names them
    mean = lambda df: df.groupby("piece")["bce"].mean().mean()  # noqa: E731 - runs first, then compositions
    net = lambda df: df.query("model == 'gru' and hidden == 16 and task == 'predict' and noise == 0.2")  # noqa: E731
    expected = [mean(net(errors))] + [mean(net(gen[gen["corpus"] == c])) for c in ("monteverdi", "palestrina")]
    assert points["GRU, 16 units, trained on Bach"] == pytest.approx(expected)
    own = gen.query("model == 'own_markov_counts' and noise == 0.2")
    bach = errors.query("model == 'markov_counts' and noise == 0.2")  # on Bach, its own references are the study's
    assert points["1st-order Markov, counted (clean input): the corpus's own"] == pytest.approx(
        [mean(bach)] + [mean(own[own["corpus"] == c]) for c in ("monteverdi", "palestrina")])
    assert "Ideal Bayesian observer, 1st order: fitted on Bach" in points
    assert "composer" in texts(figures.generalisation(gen.iloc[:0], errors)) + "".join(
        t.get_text() for ax in figures.generalisation(gen.iloc[:0], errors).axes for t in ax.texts)


def test_an_architecture_added_to_the_registry_draws_in_every_figure_even_alone(tables, monkeypatch):
    """The toy of tests/toys.py, ranked as no primary architecture, in place of the Elman RNN: beside the GRU the
    one-network figures show the GRU; alone, the toy (the first swept, never a StopIteration), in its own style."""
    import toys

    toys.patch_architecture(monkeypatch)
    both = {k: v.replace({"elman": toys.ARCH}) if isinstance(v, pd.DataFrame) else v for k, v in tables.items()}
    alone = {k: v[~v.isin(["gru"]).any(axis=1)] for k, v in both.items()}
    for name in figures.FIGURES:
        for t in (both, alone):
            figures.plt.close(draw(name, t))
    assert "GRU, 16 units (probed)" in texts(draw("ladder", both))
    assert "Elman RNN (ReLU), 16 units (probed)" in texts(draw("ladder", alone))
    assert "Hidden units (Elman RNN (ReLU), log scale)" in texts(draw("encoding", alone))
    styles = {line.get_label(): line for line in draw("training", both).axes[0].get_lines()}
    assert styles["Elman RNN (ReLU), 4 units, validation"].get_linestyle() == "-."
    assert styles["GRU, 4 units, validation"].get_linestyle() == "-"
    panel = next(ax for ax in draw("orders", both).axes if ax.get_title() == "Prediction, sigma = 1")
    assert {line.get_label(): line.get_marker() for line in panel.get_lines()}["Elman RNN (ReLU)"] == "D"


def test_the_surprisal_figure_shows_the_median_file_for_the_probed_network_and_the_observers(tables):
    fig = draw("surprisal", tables)
    roll, ic = fig.axes
    assert "bundled/b.mid" in roll.get_title()  # 9 chords: the median of 5, 9 and 12
    chords = tables["events"].query("file == 'bundled/b.mid'")
    assert len(roll.collections) == sum(bin(int(p)).count("1") for p in chords["pcs"])  # a bar per sounding pitch class
    lines = {ln.get_label(): ln for ln in ic.get_lines()}
    assert [t.get_text() for t in fig.legends[0].get_texts()] == list(lines)
    assert list(lines) == ["GRU, 16 units, trained at sigma = 0.2", "GRU, 16 units, trained at sigma = 1",
                           figures.model_label("bayes_memoryless"), figures.model_label("bayes3"),
                           figures.model_label("ppm_both")]
    want = tables["annotations"].query("file == 'bundled/b.mid' and model == 'bayes3'").sort_values("step")
    np.testing.assert_array_equal(lines[figures.model_label("bayes3")].get_ydata(), want["ic_bits"])
    np.testing.assert_array_equal(lines[figures.model_label("bayes3")].get_xdata(), want["onset"])
