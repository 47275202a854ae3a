"""bayesbach annotate (bayesbach.evaluation.annotate): information content, entropy and Bayesian surprise per chord,
against hand computations, and the files it writes for stimuli that were never part of the study."""

from __future__ import annotations

import json
import math

import numpy as np
import pretty_midi
import pyarrow.parquet as pq
import pytest
import scipy.io

from bayesbach.cli import main
from bayesbach.core.registry import REFERENCES
from bayesbach.dev.synthetic import chain_corpus, write_midi, write_study
from bayesbach.evaluation.annotate import Categorical, Protocol, Sequential, Stimulus, factorised_measures
from bayesbach.references import counted
from bayesbach.references.alphabet import all_chords

A, B, C, D = (0, 4, 7), (0, 5, 9), (2, 7, 11), (1,)  # sorted: as a chord's pitch classes are listed


def pc(*chords) -> np.ndarray:
    y = np.zeros((len(chords), 12), np.float32)
    for t, c in enumerate(chords):
        y[t, list(c)] = 1
    return y


def stimulus(y: np.ndarray, name: str = "s") -> Stimulus:
    steps = len(y)
    return Stimulus(name, name, y, [[60 + k for k in np.flatnonzero(r)] for r in y], 0.5 * np.arange(steps),
                    np.full(steps, 0.5))


def fitted(name: str, train: dict, smoothing: dict):
    return counted.fit(name, train, {}, counted.Fitting(0.0, 0, None, smoothing)).model


TOY = {"toy": [pc(A, B, C, A, B, C)]}  # A -> B twice, B -> C twice, C -> A once; each chord twice


def hand_first_order():
    """P(c | previous chord) of the counted first-order model of TOY with beta = a1 = 1, by hand:
    (n(s, c) + q(c)) / (N_s + 1) with q(c) = (n(c) + u(c)) / (6 + 1), u the base measure of the add-one-half unit
    frequencies m; after a chord never seen (no counts) q itself."""
    ys = TOY["toy"][0].astype(np.float64)
    m = (ys.sum(0) + 0.5) / (len(ys) + 1)
    key = lambda c: tuple(np.flatnonzero(c))  # noqa: E731
    n = {A: 2, B: 2, C: 2}
    follows = {(A, B): 2, (B, C): 2, (C, A): 1}

    def p(s: tuple, c: np.ndarray) -> float:
        u = float(np.prod(np.where(c > 0, m, 1 - m)))
        q = (n.get(key(c), 0) + u) / 7
        if s not in n:
            return q
        total = sum(k for (a, _), k in follows.items() if a == s)
        return (follows.get((s, key(c)), 0) + q) / (total + 1)

    return p


def test_information_content_of_a_counted_first_order_model_is_the_hand_computation():
    p = hand_first_order()
    chords = (A, B, C, A, C, D, A)  # seen transitions, an unseen one (A -> C), an unseen chord (D) and after it
    y = pc(*chords)
    model = Categorical("markov_counts", "counted", fitted=fitted("markov_counts", TOY, {"beta": 1.0, "a1": 1.0}))
    got = model.measures([stimulus(y)], 0.0, 0)["s"]
    want = [-math.log2(p(chords[t - 1], y[t])) for t in range(1, len(y))]
    assert np.isnan(got.ic[0]) and np.allclose(got.ic[1:], want, rtol=1e-10)
    assert got.surprise is None
    # the entropy over all 4,096 chords after A, by listing them
    probs = np.array([p(A, c) for c in all_chords(12)])
    assert probs.sum() == pytest.approx(1.0, abs=1e-12)
    assert got.entropy[1] == pytest.approx(-(probs * np.log2(probs)).sum(), rel=1e-10)


def test_the_filter_at_sigma_zero_gives_the_counted_models_own_bits():
    train = chain_corpus({"train": 6}, vocab=40, successors=4, seed=1)["train"]
    train = {k: [f[0][:200]] for k, f in train.items()}
    test = chain_corpus({"test": 3}, vocab=40, successors=4, seed=2)["test"]
    for name, smoothing in (("markov_counts", {"beta": 2.0, "a1": 0.5}),
                            ("markov_counts3", {"beta": 1.0, "a1": 0.5, "a2": 2.0, "a3": 1.0})):
        model = fitted(name, train, smoothing)
        own = {piece: bits for piece, _, _, _, bits in model.probabilities({p: [f[0][:150]] for p, f in test.items()},
                                                                            0.0, 0)}
        got = Categorical(name, "counted", fitted=model).measures([stimulus(f[0][:150], p) for p, f in test.items()],
                                                                  0.0, 0)
        for piece in test:
            assert np.allclose(got[piece].ic[1:], own[piece][0], rtol=1e-9)


def test_entropy_of_independent_units_is_the_sum_of_binary_entropies():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.01, 0.99, (1, 5, 12))
    y = (rng.random((5, 12)) < 0.3).astype(np.float64)
    ic, entropy = factorised_measures(p, y)
    assert np.allclose(entropy, -(p[0] * np.log2(p[0]) + (1 - p[0]) * np.log2(1 - p[0])).sum(1))
    assert np.allclose(ic, -(y * np.log2(p[0]) + (1 - y) * np.log2(1 - p[0])).sum(1))
    # a mixture of two identical runs is that one distribution (its entropy by listing every chord)
    ic2, entropy2 = factorised_measures(np.concatenate([p, p]), y)
    assert np.allclose(ic2, ic) and np.allclose(entropy2, entropy)
    # a mixture of two runs: P(c) = (P1(c) + P2(c)) / 2
    q = rng.uniform(0.01, 0.99, (1, 5, 12))
    ic3, entropy3 = factorised_measures(np.concatenate([p, q]), y)
    joint = lambda r: np.prod(np.where(y > 0, r[0], 1 - r[0]), 1)  # noqa: E731
    assert np.allclose(ic3, -np.log2((joint(p) + joint(q)) / 2))
    assert np.all(entropy3 >= np.minimum(entropy, factorised_measures(q, y)[1]) - 1e-9)
    # its entropy against every chord listed by brute force
    for t in range(len(y)):
        mix = np.array([(np.prod(np.where(c > 0, p[0, t], 1 - p[0, t])) + np.prod(np.where(c > 0, q[0, t], 1 - q[0, t])))
                        / 2 for c in all_chords(12)])
        assert entropy3[t] == pytest.approx(-(mix * np.log2(mix)).sum(), rel=1e-10)


def test_a_counted_reference_known_by_its_protocol_alone_is_annotated_as_independent_units():
    from toys import Laplace

    y = pc(A, B, C, A, D)
    laplace = Laplace(TOY, {}, None)
    got = Protocol("laplace", "counted", fitted=laplace).measures([stimulus(y)], 0.0, 0)["s"]
    m = laplace.marginal
    want = -(y[1:] * np.log2(m) + (1 - y[1:]) * np.log2(1 - m)).sum(1)
    assert np.isnan(got.ic[0]) and np.allclose(got.ic[1:], want)
    assert np.allclose(got.entropy[1:], -(m * np.log2(m) + (1 - m) * np.log2(1 - m)).sum())


@pytest.mark.parametrize("kind", ["stm", "both_plus"])
def test_a_ppm_models_information_content_is_the_studys_own_on_that_file(kind):
    train = chain_corpus({"train": 5}, vocab=30, successors=4, seed=3)["train"]
    test = chain_corpus({"test": 2}, vocab=30, successors=4, seed=4)["test"]
    name = f"ppm_{kind}"
    model = Sequential(name, "counted", fitted=fitted(name, train, None))
    got = model.measures([stimulus(f[0][:120], p) for p, f in test.items()], 0.0, 0)
    for piece, f in test.items():  # the study scores the file alone: the same alphabet, the training chords and its own
        (_, _, _, _, bits), = fitted(name, train, None).probabilities({piece: [f[0][:120]]}, 0.0, 0)
        assert np.isnan(got[piece].ic[0]) and np.allclose(got[piece].ic[1:], bits[0], rtol=1e-12)
        assert np.all(got[piece].entropy[1:] > 0)


@pytest.mark.parametrize("name", ["bayes", "bayes2", "bayes_memoryless"])
def test_bayesian_surprise_is_nonnegative_and_vanishes_when_the_input_says_nothing(name):
    smoothing = {"beta": 1.0, "a1": 1.0, "a2": 1.0}
    model = fitted(name, TOY, smoothing)
    y = pc(A, B, C, A, C, D, A, B)
    obs = Categorical(name, "counted", observer=True, fitted=model)
    for sigma in (0.3, 1.0):
        s = obs.measures([stimulus(y)], sigma, 0)["s"].surprise
        assert len(s) == len(y) and np.all(s >= 0) and np.all(np.isfinite(s)) and s.max() > 0.01
    huge = obs.measures([stimulus(y)], 1e4, 0)["s"]
    assert np.all(huge.surprise < 1e-6)
    assert np.all(np.isfinite(huge.ic[1:])) and np.all(huge.entropy[1:] > 0)
    if name != "bayes_memoryless":  # at sigma 0 the posterior is the chord: surprise = -log2 of its prediction
        exact = obs.measures([stimulus(y)], 0.0, 0)["s"]
        assert np.allclose(exact.surprise[1:], exact.ic[1:])


# ---- the command on stimuli never in the study ------------------------------------------------------


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    splits = chain_corpus({"train": 8, "validation": 2, "test": 2}, vocab=60, successors=4, seed=0)
    splits = {k: {p: [f[0][:150]] for p, f in v.items()} for k, v in splits.items()}
    sweep = {"arch": ["gru"], "hidden": [4], "noise": [0.5, 1.0], "runs": 2}
    return write_study(root / "results", splits, sweep, list(REFERENCES))


def stimuli_folder(folder):
    tempo = pretty_midi.PrettyMIDI(initial_tempo=100.0)  # chords that overlap, and a rest
    inst = pretty_midi.Instrument(program=0)
    notes = [(60, 0.0, 0.6), (64, 0.0, 0.6), (65, 0.6, 1.0), (69, 0.6, 1.3), (67, 1.6, 2.0), (71, 1.6, 2.5),
             (60, 2.5, 3.1), (61, 2.6, 3.1)]
    inst.notes = [pretty_midi.Note(velocity=80, pitch=p, start=s, end=e) for p, s, e in notes]
    tempo.instruments.append(inst)
    tempo.write(str(folder / "good.mid"))
    write_midi(folder / "sub" / "second.mid", [(62, 0.0, 0.5), (66, 0.5, 1.0), (69, 0.5, 1.5)])
    (folder / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06garbage")
    write_midi(folder / "empty.mid")
    write_midi(folder / "drums.mid", drums=[(36, 0.0, 0.5), (38, 0.5, 1.0)])
    return notes


def test_the_command_annotates_new_stimuli_and_rejects_the_bad_ones(study, tmp_path):
    folder = tmp_path / "stimuli"
    (folder / "sub").mkdir(parents=True)
    stimuli_folder(folder)
    out = tmp_path / "out"
    assert main(["annotate", "--results", str(study), "--rate", "50", "--mat", "--out", str(out), str(folder)]) == 0
    rejects = {r["file"]: r["reason"] for r in pq.read_table(out / "rejects.parquet").to_pylist()}
    assert set(rejects) == {"broken.mid", "empty.mid", "drums.mid"}
    assert "only drums" in rejects["drums.mid"] and "no notes" in rejects["empty.mid"]
    lines = (out / "good_events.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    assert header[:4] == ["onset", "duration", "pitches", "pitch_classes"]
    car = json.loads((out / "good_events.json").read_text())
    assert list(car) == header and all(set(v) == {"LongName", "Description", "Units"} for v in car.values())
    models = [n for n in REFERENCES if "predict" in REFERENCES[n].tasks] + ["gru_h4_s0.5", "gru_h4_s1.0"]
    assert {f"ic_{m}" for m in models} | {f"entropy_{m}" for m in models} <= set(header)
    assert {c for c in header if c.startswith("surprise_")} == {f"surprise_{n}" for n in models if n.startswith("bayes")}
    # a chord starts wherever a note starts or ends while some note sounds after it: pretty_midi's times of the file
    read = pretty_midi.PrettyMIDI(str(folder / "good.mid")).instruments[0].notes
    bounds = sorted({n.start for n in read} | {n.end for n in read})
    starts = [b for b in bounds if any(n.start <= b < n.end for n in read)]
    assert len(starts) == 7  # 1.3 starts a rest, not a chord
    onsets = [float(line.split("\t")[0]) for line in lines[1:]]
    assert onsets == pytest.approx(starts, abs=1e-5)
    table = pq.read_table(out / "annotations.parquet")
    assert set(table["file"].to_pylist()) == {"good.mid", "sub/second.mid"}
    assert table.num_rows == (len(starts) + 3) * len(models)  # second.mid: three chords
    rows = table.to_pylist()
    later = [r for r in rows if r["step"] > 0]
    assert all(math.isfinite(r["ic_bits"]) and r["ic_bits"] >= 0 and r["entropy_bits"] > 0 for r in later)
    assert all(math.isnan(r["ic_bits"]) for r in rows if r["step"] == 0)
    assert (out / "sub_second_events.tsv").exists() and (out / "good_regressors.tsv").exists()
    mat = scipy.io.loadmat(out / "good_regressors.mat")
    assert mat["regressors"].shape[0] == mat["time"].size and mat["fs"].item() == 50.0


def test_the_command_picks_models_and_cells_and_names_what_the_study_lacks(study, tmp_path, capsys):
    folder = tmp_path / "stimuli"
    (folder / "sub").mkdir(parents=True)
    stimuli_folder(folder)
    out = tmp_path / "out"
    assert main(["annotate", "--results", str(study), "--models", "bayes3,markov_counts", "--networks", "gru_h4_s1.0",
                 "--noise", "0.5", "--out", str(out), str(folder / "good.mid")]) == 0
    header = (out / "good_events.tsv").read_text().splitlines()[0].split("\t")
    assert header[4:] == ["ic_markov_counts", "entropy_markov_counts", "ic_bayes3", "entropy_bayes3", "surprise_bayes3",
                          "ic_gru_h4_s1.0", "entropy_gru_h4_s1.0"]
    assert main(["annotate", "--results", str(study), "--models", "bayes9", "--out", str(out), str(folder)]) == 1
    assert "bayes9" in capsys.readouterr().err
