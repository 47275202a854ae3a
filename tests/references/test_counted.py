"""The counted references (bayesbach.references.counted): every file scored on its own and pooled per piece, the
networks' noise, the tasks of the registry, smoothing without validation data, readable errors, the job's files,
the observer's error never falling as the noise grows (both encodings, held-out data), and bits per chord: by hand
for markov_counts, factorised for global, finite for every reference and encoding."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

from bayesbach.core import schemas
from bayesbach.core.errors_table import factorised_bits
from bayesbach.core.exceptions import StudyError
from bayesbach.core.registry import REFERENCES, reference_names
from bayesbach.dataset.noise import crn_noisy
from bayesbach.dev.synthetic import chain_corpus, known_chain, sample_chain, voice, write_dataset
from bayesbach.references.alphabet import count_alphabet, global_marginal, pooled_bce
from bayesbach.references.contexts import count_contexts
from bayesbach.references.counted import MODELS, Fitting, counted_reference, evaluate_counted, fit, mean_bce, score_counted
from bayesbach.references.observer import Observer

UNITS = 4
SEED = 11


def tiny_splits(seed=3, files=1):
    """Train, validation and test pieces from a known chain; with ``files`` > 1 the test pieces have several files."""
    rng = np.random.default_rng(seed)
    matrix, initial = known_chain(rng, UNITS)
    splits = [sample_chain(rng, matrix, initial, rng.integers(20, 40, n * files), p) for n, p in ((6, "a"), (2, "b"), (3, "c"))]
    test = splits[2]
    names = sorted(test)
    splits[2] = {names[i]: [f for name in names[i:i + files] for f in test[name]] for i in range(0, len(names), files)}
    return splits


def test_mean_bce_pools_the_files_and_is_nan_without_steps():
    p, y = [np.array([[0.5, 0.25]]), np.array([[0.5, 0.5], [0.5, 0.5]])], [np.array([[1.0, 0.0]]), np.zeros((2, 2))]
    assert mean_bce(p, y) == pytest.approx((np.log(2) + np.log(4 / 3) + 4 * np.log(2)) / 6)
    assert np.isnan(mean_bce(None, y)) and np.isnan(mean_bce([np.zeros((0, 2))], [np.zeros((0, 2))]))


@pytest.mark.parametrize("name", reference_names("counted"))
def test_each_counted_reference_is_scored_on_its_registry_tasks_for_every_test_piece(name):
    train, validation, test = tiny_splits(files=2)
    scores, meta = score_counted(name, train, validation, test, 0.6, SEED)
    assert set(scores) == set(REFERENCES[name].tasks)
    for values in scores.values():
        assert list(values) == sorted(test) and all(np.isfinite(list(values.values())))


def chord(*pitch_classes):
    y = np.zeros(12, np.float32)
    y[list(pitch_classes)] = 1
    return y


def test_markov_counts_information_content_is_the_hand_computation_on_three_chords():
    """Training: C G C F C G (three chords); test: C G F and the unseen D minor, then C. With beta = 1, a1 = 2:
    P(c | s) = (C(s, c) + a1 q(c)) / (N(s) + a1), q(c) = (n_c + beta u(c)) / (N + beta), u the product of the
    add-one-half unit frequencies; an unseen chord's state is its rest group, which has no counts (q)."""
    C, G, F, Dm = chord(0, 4, 7), chord(7, 11, 2), chord(5, 9, 0), chord(2, 5, 9)
    train = {"p": [np.stack([C, G, C, F, C, G])]}
    test = {"t": [np.stack([C, G, F, Dm, C])]}
    fitted = fit("markov_counts", train, {}, Fitting(0.5, SEED, smoothing={"beta": 1.0, "a1": 2.0}))
    bce, bits = fitted.evaluate(test, 0.5, SEED)
    on = np.stack([C, G, C, F, C, G]).sum(0)
    m = (on + 0.5) / (6 + 1)
    u = lambda c: np.prod(np.where(c > 0, m, 1 - m))  # noqa: E731
    n = {"C": 3, "G": 2, "F": 1}
    q = lambda name, c: (n.get(name, 0) + u(c)) / (6 + 1)  # noqa: E731
    p = [(2 + 2 * q("G", G)) / (3 + 2),  # C -> G: C was followed by G twice, by F once
         (0 + 2 * q("F", F)) / (1 + 2),  # G -> F: G was followed by C once
         (0 + 2 * q("Dm", Dm)) / (1 + 2),  # F -> Dm: never seen, its share u(Dm) of the rest
         q("C", C)]  # Dm -> C: the rest group has no counts
    assert set(bits) == {"predict"}
    assert bits["predict"]["t"] == pytest.approx(np.mean(-np.log2(p)), rel=1e-12)
    assert bits["predict"]["t"] != pytest.approx(factorised_bits(bce["predict"]["t"], 12), rel=1e-3)


def test_global_bits_are_factorised_and_every_reference_has_finite_bits():
    """global's joint is the product of its units: bits = units x BCE / ln 2, per piece and task."""
    train, validation, test = tiny_splits(files=2)
    bce, bits, _ = evaluate_counted("global", train, validation, test, 0.6, SEED)
    for task, values in bce.items():
        for piece, value in values.items():
            assert bits[task][piece] == pytest.approx(UNITS * value / np.log(2), rel=1e-12)


@pytest.mark.parametrize("encoding", ["pc12", "pitch"])
@pytest.mark.parametrize("name", [n for n in reference_names("counted") if n != "global"])
def test_every_categorical_reference_has_finite_bits_on_unseen_chords(held_out, encoding, name):
    """Held-out chords never seen in training (pitch voicings, and chords of no training class set) back off as
    the study's models do: information content finite and positive, on every task of the reference."""
    d = held_out[encoding]
    test = {p: [np.concatenate([y[:15], (np.random.default_rng(k).random((5, y.shape[1])) < 0.1)]).astype(np.float32)]
            for k, (p, [y, *_]) in enumerate(sorted(d["test"].items())[:3])}
    bce, bits, _ = evaluate_counted(name, d["train"], {}, test, 0.3, SEED, encoding)
    assert set(bits) == set(REFERENCES[name].tasks)
    for task, values in bits.items():
        assert list(values) == sorted(test)
        assert all(np.isfinite(v) and 0 < v < 1022 for v in values.values()), (task, values)


def test_global_scores_the_training_marginal_on_every_step():
    train, validation, test = tiny_splits(files=2)
    scores, meta = score_counted("global", train, validation, test, 0.6, SEED)
    m = global_marginal(train)
    assert meta["marginal"] == pytest.approx(m.tolist())
    for piece, ys in test.items():
        assert scores["decode"][piece] == pytest.approx(pooled_bce([np.broadcast_to(m, y.shape) for y in ys], ys))
        assert scores["predict"][piece] == pytest.approx(
            pooled_bce([np.broadcast_to(m, (len(y) - 1, UNITS)) for y in ys], [y[1:] for y in ys]))


@pytest.mark.parametrize("order", [1, 3])
def test_a_piece_is_its_files_each_scored_alone_and_pooled(order):
    """markov_countsK predicts each file from its own start: never across files, never past a file's end."""
    train, validation, test = tiny_splits(files=2)
    name = "markov_counts" if order == 1 else f"markov_counts{order}"
    scores, meta = score_counted(name, train, validation, test, 0.6, SEED)
    model = count_contexts(train, count_alphabet(train), order)
    for piece, ys in test.items():
        alone = [model.predict_units(model.states(y)[:-1], meta["smoothing"]) for y in ys]
        assert scores["predict"][piece] == pytest.approx(pooled_bce(alone, [y[1:] for y in ys]), rel=1e-12)
        joined = np.concatenate(ys)
        assert scores["predict"][piece] != pytest.approx(
            mean_bce([model.predict_units(model.states(joined)[:-1], meta["smoothing"])], [joined[1:]]), rel=1e-9)


@pytest.mark.parametrize("name", ["bayes", "bayes2"])
def test_observer_restarts_every_file_with_the_networks_noise_realisation(name):
    """bayesK's piece error is its files' errors pooled, each file filtered alone from its own start, on the
    common-random-numbers noise of that file (dataset.noise), which the networks' evaluation sees too."""
    train, validation, test = tiny_splits(files=2)
    sigma = 0.7
    scores, bits, meta = evaluate_counted(name, train, validation, test, sigma, SEED)
    model = count_contexts(train, count_alphabet(train), meta["order"])
    observer = Observer(model.alphabet, model.automaton(meta["smoothing"]), sigma)
    for piece, ys in test.items():
        out = [observer.filter([crn_noisy(y, sigma, SEED, piece, k)], [y])[0] for k, y in enumerate(ys)]
        assert scores["decode"][piece] == pytest.approx(pooled_bce([o[0] for o in out], ys), rel=1e-9)
        assert scores["predict"][piece] == pytest.approx(pooled_bce([o[1] for o in out], [y[1:] for y in ys]), rel=1e-9)
        for task, j in (("decode", 2), ("predict", 3)):  # bits: the mean over the files' steps, pooled
            assert bits[task][piece] == pytest.approx(np.concatenate([o[j] for o in out]).mean(), rel=1e-9)


def test_observer_meta_says_what_was_searched_and_chosen():
    train, validation, test = tiny_splits()
    _, meta = score_counted("bayes2", train, validation, test, 0.5, SEED)
    assert meta["order"] == 2 and meta["exact"] and meta["states"] > meta["seen_chords"]
    assert meta["smoothing"] == meta["observer_smoothing"]["chosen"]
    assert meta["observer_smoothing"]["start"] == meta["clean_smoothing"]["chosen"]
    for key in ("range_log10", "at_edge", "at_limit", "flat", "evaluations", "trace"):
        assert key in meta["observer_smoothing"]


def test_no_validation_split_keeps_default_smoothing_and_scores_every_piece():
    train, _, test = tiny_splits()
    scores, meta = score_counted("bayes", train, {}, test, 0.5, SEED)
    assert meta["smoothing"] == {"beta": 1.0, "a1": 1.0}
    assert set(scores["predict"]) == set(test) and all(np.isfinite(list(scores["predict"].values())))


def test_an_empty_training_split_is_a_readable_error():
    with pytest.raises(StudyError, match="training"):
        score_counted("markov_counts", {}, {}, {"c": [np.zeros((3, UNITS), np.float32)]}, 0.5, SEED)


def test_an_unknown_counted_reference_is_named():
    assert "markov_high" not in MODELS
    with pytest.raises(ValueError, match="unknown counted reference 'markov_high'"):
        score_counted("markov_high", {}, {}, {}, 0.5, SEED)


def test_the_counted_job_writes_its_errors_and_meta(tmp_path):
    data = write_dataset(tmp_path / "dataset", {"train": 3, "validation": 1, "test": 2})
    [meta] = counted_reference(data, [tmp_path / "out"], name="markov_counts2", noises=[0.5], seed=1)
    errors = pq.read_table(tmp_path / "out/errors.parquet")
    assert errors.schema == schemas.ERRORS
    df = errors.to_pandas()
    assert set(df["model"]) == {"markov_counts2"} and set(df["task"]) == {"predict"} and set(df["noise"]) == {0.5}
    assert df["arch"].isna().all() and df["run"].isna().all() and len(df) == 2
    assert json.loads((tmp_path / "out/meta.json").read_text()) == meta
    assert meta["pieces"] == {"train": 3, "validation": 1, "test": 2} and meta["model"] == "markov_counts2"
    assert "gap" not in meta  # files are never joined for the counted references


def test_a_killed_observer_job_resumes_its_smoothing_search_and_leaves_no_progress_file(tmp_path, monkeypatch):
    from bayesbach.references import smoothing

    data = write_dataset(tmp_path / "dataset", {"train": 3, "validation": 1, "test": 2})
    [whole] = counted_reference(data, [tmp_path / "whole"], name="bayes", noises=[0.5], seed=1)
    assert not (tmp_path / "whole" / "search.jsonl").exists()  # the search is in meta.json

    real, passes = smoothing.observer_objective, []

    def killed_after_five(*args):
        objective = real(*args)

        def f(point):
            if len(passes) == 5:
                raise KeyboardInterrupt  # the job is killed during its sixth validation pass
            passes.append(point)
            return objective(point)
        return f

    monkeypatch.setattr(smoothing, "observer_objective", killed_after_five)
    with pytest.raises(KeyboardInterrupt):
        counted_reference(data, [tmp_path / "out"], name="bayes", noises=[0.5], seed=1)
    assert len((tmp_path / "out" / "search.jsonl").read_text().splitlines()) == 1 + 5
    monkeypatch.setattr(smoothing, "observer_objective", real)
    [meta] = counted_reference(data, [tmp_path / "out"], name="bayes", noises=[0.5], seed=1)
    drop = ("seconds", "select_seconds", "filter_seconds")
    assert {k: v for k, v in meta.items() if k not in drop} == {k: v for k, v in whole.items() if k not in drop}
    assert pq.read_table(tmp_path / "out" / "errors.parquet").equals(pq.read_table(tmp_path / "whole" / "errors.parquet"))
    assert not (tmp_path / "out" / "search.jsonl").exists()


@pytest.mark.parametrize("name", reference_names("counted"))
def test_a_sigma_free_counted_reference_scores_the_same_at_every_noise_level(name):
    """What the registry says (Reference.sigma_free) is what the model does: the workflow fits it once."""
    train, validation, test = tiny_splits(files=2)
    low, meta_low = score_counted(name, train, validation, test, 0.2, SEED)
    high, meta_high = score_counted(name, train, validation, test, 1.5, SEED)
    assert (low == high and meta_low == meta_high) == REFERENCES[name].sigma_free


def test_one_counted_job_writes_a_sigma_free_reference_at_every_noise_level(tmp_path):
    data = write_dataset(tmp_path / "dataset", {"train": 3, "validation": 1, "test": 2})
    outs = [tmp_path / "s0.2", tmp_path / "s1.0"]
    metas = counted_reference(data, outs, name="global", noises=[0.2, 1], seed=1)
    [alone] = counted_reference(data, [tmp_path / "alone"], name="global", noises=[1.0], seed=1)
    tables = [pq.read_table(out / "errors.parquet") for out in outs]
    assert [set(t.column("noise").to_pylist()) for t in tables] == [{0.2}, {1.0}]
    assert tables[0].drop_columns(["noise"]).equals(tables[1].drop_columns(["noise"]))
    assert tables[1].equals(pq.read_table(tmp_path / "alone/errors.parquet"))  # as if it had its own job
    assert [json.loads((out / "meta.json").read_text()) for out in outs] == metas
    assert [m["noise"] for m in metas] == [0.2, 1.0]
    assert {**metas[1], "seconds": 0} == {**alone, "seconds": 0}


def test_a_counted_reference_that_depends_on_the_noise_is_one_job_per_level(tmp_path):
    with pytest.raises(ValueError, match="'bayes' depends on the noise level"):
        counted_reference(tmp_path, [tmp_path / "a", tmp_path / "b"], name="bayes", noises=[0.2, 1.0], seed=1)
    with pytest.raises(ValueError, match="2 noise levels for 1 output folders"):
        counted_reference(tmp_path, [tmp_path / "a"], name="global", noises=[0.2, 1.0], seed=1)


def test_a_counted_job_imports_no_torch():
    """A counted reference job takes about a second; importing torch alone would add more than that."""
    code = ("import sys, bayesbach.core.logs, bayesbach.references.counted\n"
            "print(sorted(n for n in ('torch', 'matplotlib') if n in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.fixture(scope="module")
def held_out():
    """A sparse chain over pitch-class sets, as pc12 and voiced as MIDI pitches (where a fifth of the held-out
    chords are voicings never seen in training, of pitch-class sets that were)."""
    data = chain_corpus({"train": 20, "validation": 12, "test": 20}, 12, vocab=30, successors=2, seed=2)
    pc12 = {split: {p: [f[:60] for f in files] for p, files in pieces.items()} for split, pieces in data.items()}
    rng = np.random.default_rng(2)
    return {"pc12": pc12, "pitch": {split: voice(pieces, rng, octaves=(3, 4, 5, 6)) for split, pieces in pc12.items()}}


@pytest.mark.parametrize("encoding,name", [("pc12", "bayes"), ("pc12", "bayes2"), ("pitch", "bayes")])
def test_the_observer_never_gets_better_as_the_noise_grows(held_out, encoding, name):
    """More noise is less information: a valid bound cannot improve with sigma. With the old back-off of an
    unseen pitch chord to the unigram, the pitch observer predicted better at sigma 0.3 than at 0.05 here."""
    d = held_out[encoding]
    means = []
    for sigma in (0.05, 0.3, 0.6, 1.0):
        scores, _ = score_counted(name, d["train"], d["validation"], d["test"], sigma, SEED, encoding)
        means.append([np.mean(list(scores[task].values())) for task in ("decode", "predict")])
    assert (np.diff(means, axis=0) >= 0).all(), means


def test_a_counted_reference_added_to_the_registry_follows_the_protocol_to_its_job(monkeypatch, tmp_path):
    """The toy of tests/toys.py, written to the protocol: it takes a Fitting (with a smoothing and a progress file
    it has no use for), is scored on its registry tasks, and its job records what it fitted."""
    import toys

    toys.patch_references(monkeypatch)
    train, validation, test = tiny_splits(files=2)
    scores, meta = score_counted(toys.COUNTED_REFERENCE, train, validation, test, 0.6, SEED)
    assert set(scores) == {"decode", "predict"} and all(list(v) == sorted(test) for v in scores.values())
    assert 0 < min(meta["marginal"]) and max(meta["marginal"]) < 1
    data = write_dataset(tmp_path / "dataset", {"train": 3, "validation": 1, "test": 2})
    [meta] = counted_reference(data, [tmp_path / "out"], name=toys.COUNTED_REFERENCE, noises=[0.5], seed=1)
    assert meta["model"] == toys.COUNTED_REFERENCE and json.loads((tmp_path / "out/meta.json").read_text()) == meta
