"""Choosing the smoothing (bayesbach.references.smoothing): the clean objective against the scored predictions,
choices at the validation minimum, strengths that do not matter, the edges of the range, and the observer's
own search at its noise level."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from bayesbach.dataset.noise import crn_inputs
from bayesbach.dev.synthetic import known_chain, sample_chain
from bayesbach.references import smoothing as sm
from bayesbach.dataset.loader import files_of
from bayesbach.references.alphabet import count_alphabet, pooled_bce
from bayesbach.references.contexts import count_contexts


def chain_splits(seed=3, units=4):
    rng = np.random.default_rng(seed)
    matrix, initial = known_chain(rng, units)
    return [sample_chain(rng, matrix, initial, rng.integers(20, 60, n), p) for n, p in ((12, "a"), (4, "b"), (4, "c"))]


@pytest.mark.parametrize("order", [1, 2, 3])
def test_clean_objective_is_the_pooled_prediction_bce_of_each_truncated_order(order):
    train, validation, _ = chain_splits()
    model = count_contexts(train, count_alphabet(train), 3)
    lower = count_contexts(train, count_alphabet(train), order)  # the same counts, counted only up to ``order``
    files = files_of(validation)
    smoothing = {"beta": 2.0, "a1": 0.5, "a2": 3.0, "a3": 7.0}
    direct = pooled_bce([lower.predict_units(lower.states(y)[:-1], smoothing) for y in files], [y[1:] for y in files])
    assert sm.CleanObjective(model, files)(smoothing, order) == pytest.approx(direct, rel=1e-12)


def test_clean_choice_is_at_the_validation_minimum():
    train, validation, _ = chain_splits()
    model = count_contexts(train, count_alphabet(train), 2)
    chosen, record = sm.select_clean(model, files_of(validation))
    objective = sm.CleanObjective(model, files_of(validation))
    assert record["chosen"] == chosen and record["bce"] == pytest.approx(objective(chosen))
    for name in ("a1", "a2"):  # no grid neighbour of a chosen strength is lower
        for step in (-sm.GRID_STEP, sm.GRID_STEP):
            assert objective({**chosen, name: chosen[name] * 10**step}) >= record["bce"] - 1e-15
    assert len(record["trace"]) > 0 and not record["at_edge"]


def test_a_strength_that_does_not_move_the_objective_stays_where_it_was():
    """beta barely moves the clean per-unit prediction (u has about the unit means of the data): on real
    data the whole grid moves it by less than 1e-7, and then a choice at an edge would mean nothing."""
    smoothing, trace = {"beta": 1.0, "a1": 3.0}, []
    found = sm._grid_search(lambda s: 0.4 + 1e-9 * np.log10(s["beta"]), smoothing, "beta", trace)
    assert found == {"flat": True, "edge": None} and smoothing["beta"] == 1.0
    found = sm._grid_search(lambda s: 0.4 + 1e-3 * (np.log10(s["a1"]) - 0.6) ** 2, smoothing, "a1", trace)
    assert not found["flat"] and smoothing["a1"] == pytest.approx(10**0.5) and found["edge"] is None


def test_random_chords_are_smoothed_heavily():
    """Independent random chords: transitions carry no information, so the counts weigh little."""
    rng = np.random.default_rng(8)
    train = {f"p{i}": [(rng.random((n, 12)) < 0.35).astype(np.float32)] for i, n in enumerate([120, 80])}
    validation = {"v": [(rng.random((60, 12)) < 0.35).astype(np.float32)]}
    chosen, _ = sm.select_clean(count_contexts(train, count_alphabet(train), 1), files_of(validation))
    assert chosen["a1"] >= 10


def test_without_validation_steps_the_defaults_stay():
    train, _, _ = chain_splits()
    model = count_contexts(train, count_alphabet(train), 2)
    chosen, record = sm.select_clean(model, [])
    assert chosen == {"beta": 1.0, "a1": 1.0, "a2": 1.0} and record["bce"] is None
    start = {"beta": 2.0, "a1": 3.0, "a2": 4.0}
    assert sm.select_observer(model, [], [], 0.5, start)[0] == start


def test_line_search_finds_an_interior_minimum_to_its_tolerance():
    calls = []

    def f(x):
        calls.append(x)
        return (x - 2.3) ** 2

    assert sm._line_search(f, 0.0) == pytest.approx(2.3, abs=sm.TOL)
    assert len(calls) < 20


def test_an_edge_is_a_limit_when_the_objective_has_settled_and_a_warning_when_it_has_not(caplog):
    lo = sm.LOG10_RANGE[0]
    settled = lambda x: 0.3 + 10.0 ** (x - 3)  # noqa: E731  (a weight a / (N + a) with N = 1000)
    steep = lambda x: 0.3 + 0.01 * x  # noqa: E731
    assert sm._line_search(settled, 0.0) == lo and sm._edge(settled, lo) == "limit"
    assert sm._line_search(steep, 0.0) == lo and sm._edge(steep, lo) == "edge"
    assert sm._edge(steep, 0.5) is None
    record = {}
    with caplog.at_level(logging.WARNING):
        sm._report(record, {"a1": {"flat": False, "edge": "edge"}, "a2": {"flat": False, "edge": "limit"}},
                   {"a1": 10.0**lo, "a2": 10.0**lo}, 0.3, "test")
    assert record["at_edge"] == ["a1"] and record["at_limit"] == ["a2"]
    assert "a1 = 0.001 is at an edge" in caplog.text and "a2" not in caplog.text


def test_observer_search_does_not_end_worse_than_it_started_and_says_what_it_tried():
    train, validation, _ = chain_splits()
    model = count_contexts(train, count_alphabet(train), 2)
    clean = files_of(validation)
    noisy = files_of(crn_inputs(validation, 0.8, 5))
    start = {"beta": 1.0, "a1": 1.0, "a2": 1.0}
    chosen, record = sm.select_observer(model, clean, noisy, 0.8, start)
    objective = sm.observer_objective(model, clean, noisy, 0.8)
    assert record["bce"] == pytest.approx(objective(chosen), rel=1e-12) and record["bce"] <= objective(start)
    assert record["evaluations"] == len(record["trace"]) and record["start"] == start
    assert set(record["chosen"]) == set(model.parameters)
    lo, hi = sm.LOG10_RANGE
    assert all(10**lo <= v <= 10**hi for v in chosen.values())


class Killed(Exception):
    pass


def test_a_killed_observer_search_resumes_from_its_progress_file_and_ends_as_an_uninterrupted_one(tmp_path,
                                                                                                   monkeypatch):
    train, validation, _ = chain_splits()
    model = count_contexts(train, count_alphabet(train), 2)
    clean, noisy = files_of(validation), files_of(crn_inputs(validation, 0.8, 5))
    start = {"beta": 1.0, "a1": 1.0, "a2": 1.0}
    whole = sm.select_observer(model, clean, noisy, 0.8, start)
    passes = whole[1]["evaluations"]
    assert passes > 10

    calls = []
    real = sm.observer_objective

    def counted(*args, kill_after=None):
        objective = real(*args)

        def f(point):
            if kill_after is not None and len(calls) == kill_after:
                raise Killed  # the job's time limit, in the middle of a pass
            calls.append(point)
            return objective(point)
        return f

    progress = tmp_path / "search.jsonl"
    monkeypatch.setattr(sm, "observer_objective", lambda *a: counted(*a, kill_after=7))
    with pytest.raises(Killed):
        sm.select_observer(model, clean, noisy, 0.8, start, progress=progress)
    assert len(progress.read_text().splitlines()) == 1 + 7  # the fingerprint, then each finished pass
    with progress.open("a") as f:
        f.write('{"key": [["a1", 0.5')  # a line the kill cut short

    monkeypatch.setattr(sm, "observer_objective", counted)
    resumed = sm.select_observer(model, clean, noisy, 0.8, start, progress=progress)
    assert resumed == whole  # the same choice, the same trace
    assert len(calls) == passes  # the 7 kept passes are not run again

    # what the search depends on changed (here sigma): the file starts afresh
    calls.clear()
    other = sm.select_observer(model, clean, files_of(crn_inputs(validation, 0.6, 5)), 0.6, start, progress=progress)
    assert len(calls) == other[1]["evaluations"]
    assert len(progress.read_text().splitlines()) == 1 + len(calls)


def test_a_resumed_search_drops_the_line_a_kill_cut_short_so_its_next_evaluation_is_kept(tmp_path):
    progress = tmp_path / "search.jsonl"
    first = sm.SearchProgress(progress, "abc")
    first.add((("a1", 0.0),), 0.5)
    with progress.open("a") as f:
        f.write('{"key": [["a1", 0.5')  # the kill, mid-line
    resumed = sm.SearchProgress(progress, "abc")
    resumed.add((("a1", 1.0),), 0.25)
    assert sm.SearchProgress(progress, "abc").values == {(("a1", 0.0),): 0.5, (("a1", 1.0),): 0.25}
    assert sm.SearchProgress(progress, "other").values == {}  # another search starts afresh
    assert progress.read_text().splitlines() == ['{"fingerprint": "other"}']
