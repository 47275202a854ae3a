"""IDyOM's PPM models (bayesbach.references.ppm): PPM-C and PPM-X with exclusion on the PPM literature's worked
example by hand and against IDyOM's own output, the lazy trie against a plain n-gram count, distributions that sum
to one, an STM growing certain of a repeated motif, the LTM-STM combination against its formula, the LTM+ as the
LTM that learns the file it predicts, and the reference's marginals and bits from its distribution over chords."""

from __future__ import annotations

import itertools
from fractions import Fraction as F
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

from bayesbach.core.registry import REFERENCES
from bayesbach.references import ppm_reference
from bayesbach.references.counted import MODELS, Fitting, evaluate_counted
from bayesbach.references.ppm import ESCAPES, PPM, combine, entropy_bits
from bayesbach.references.ppm_reference import PPMReference

ABRACADABRA = "abracadabra"
ALPHABET = "abcdr"


def model_sequence(model: PPM, seq: list[int], size: int) -> np.ndarray:
    """Predict every event from the events before it, learning each after its prediction (IDyOM's STM)."""
    out = np.empty((len(seq), size))
    for i in range(len(seq)):
        out[i] = model.distribution(seq, i, size)
        model.learn(seq, i)
    return out


def abracadabra(escape: str, update_exclusion: bool) -> np.ndarray:
    seq = [ALPHABET.index(c) for c in ABRACADABRA]
    return model_sequence(PPM(None, escape, update_exclusion), seq, len(ALPHABET))


def frac(*xs) -> np.ndarray:
    return np.array([float(x) for x in xs])


def test_ppm_c_with_exclusion_by_hand():
    """PPM*-C, blending with exclusion, no update exclusion (IDyOM's LTM), over the alphabet a b c d r."""
    p = abracadabra("c", False)
    # event 0, no context: the order -1 model alone, 1 / (5 + 1 - 0 seen) each, normalised: 1/5.
    assert p[0] == pytest.approx(frac(*[F(1, 5)] * 5))
    # event 1 after "a": order 0 {a: 1}, T = 1, C's escape count 1 distinct: w = 1/2, p(a) = 1/2; order -1:
    # 1/2 x 1 / (5 + 1 - 1) = 1/10 each: a 6/10, the others 1/10.
    assert p[1] == pytest.approx(frac(F(6, 10), *[F(1, 10)] * 4))
    # event 2 after "ab": order 1 "b" has not been followed; order 0 {a: 1, b: 1}: w = 2/4, 1/4 each; order -1:
    # 1/2 x 1/4 = 1/8 each: a = b = 3/8, c = d = r = 1/8, sum 9/8: normalised a = b = 1/3, c = d = r = 1/9.
    assert p[2] == pytest.approx(frac(F(1, 3), F(1, 3), F(1, 9), F(1, 9), F(1, 9)))
    # event 4 after "abra": the longest context seen is "a" {b: 1}, deterministic, also the shortest deterministic
    # one: w = 1/(1 + 1) = 1/2, p(b) = 1/2, escape 1/2. Order 0 {a: 2, b: 1, r: 1}, b excluded from T: T = 3,
    # 3 distinct: w = 1/2; every symbol of the context gets 1/2 x 1/2 x c / 3 (the excluded b too, as IDyOM does):
    # a 1/6, b 1/12, r 1/12; escape 1/4. Order -1: 1/4 x 1 / (5 + 1 - 3) = 1/12 each. Sums: a 1/4, b 2/3,
    # c 1/12, d 1/12, r 1/6 (total 5/4): normalised a 1/5, b 8/15, c 1/15, d 1/15, r 2/15.
    assert p[4] == pytest.approx(frac(F(1, 5), F(8, 15), F(1, 15), F(1, 15), F(2, 15)))


def test_ppm_x_with_update_exclusion_by_hand():
    """PPM*-X with update exclusion (IDyOM's STM): X's escape count is the singletons plus one."""
    p = abracadabra("x", True)
    # event 1 after "a": order 0 {a: 1}: one singleton, w = 1 / (1 + 2) = 1/3: a 1/3 + 2/3 x 1/5, others 2/15.
    assert p[1] == pytest.approx(frac(F(7, 15), *[F(2, 15)] * 4))
    # event 9 after "abracadab": order 1 "b" {r: 1} is the shortest deterministic context, below the longer "ab":
    # selected, so it reads full counts: w = 1/3, r 1/3, escape 2/3. Order 0 reads update-excluded counts: a's
    # second, third and fourth occurrences followed the new contexts "r", "c", "d" and counted at order 0, b's
    # second followed "a", where b had occurred, and did not: {a: 4, b: 1, c: 1, d: 1, r: 1}; r excluded: T = 7,
    # 4 singletons: w = 7 / (7 + 5) = 7/12; a 2/3 x 7/12 x 4/7 = 2/9, b = c = d = r = 1/18; escape 2/3 x 5/12 =
    # 5/18. Order -1: 5/18 / (5 + 1 - 5) = 5/18 each. Sums a 1/2, b = c = d 1/3, r 2/3 (13/6): normalised
    # a 3/13, b = c = d 2/13, r 4/13.
    assert p[9] == pytest.approx(frac(F(3, 13), F(2, 13), F(2, 13), F(2, 13), F(4, 13)))


# IDyOM's own distributions for abracadabra (mtpearce/idyom as converted in the R package pmcharrison/ppm's tests,
# tests/testthat/data/escape-c.R and escape-ax-update-excluded.R), alphabet a b c d r, to 1e-5.
IDYOM_C = [
    [0.2, 0.2, 0.2, 0.2, 0.2], [0.6, 0.1, 0.1, 0.1, 0.1], [0.33333334, 0.33333334, 0.11111111, 0.11111111, 0.11111111],
    [0.25, 0.25, 0.125, 0.125, 0.25], [0.20000002, 0.53333336, 0.06666668, 0.06666668, 0.13333336],
    [0.26666665, 0.19999997, 0.19999997, 0.13333331, 0.19999997], [0.20833334, 0.2916667, 0.2916667, 0.083333336, 0.125],
    [0.25, 0.1875, 0.1875, 0.1875, 0.1875], [0.2093023, 0.21705426, 0.21705426, 0.21705426, 0.13953489],
    [0.19148937, 0.14893615, 0.12765956, 0.12765956, 0.40425533], [0.4347826, 0.1521739, 0.13043477, 0.13043477, 0.1521739],
]
IDYOM_X_UPDATE_EXCLUDED = [
    [0.2, 0.2, 0.2, 0.2, 0.2], [0.46666667, 0.13333333, 0.13333333, 0.13333333, 0.13333333],
    [0.30434784, 0.30434784, 0.1304348, 0.1304348, 0.1304348], [0.2413793, 0.2413793, 0.13793103, 0.13793103, 0.2413793],
    [0.24999999, 0.4166667, 0.08333333, 0.08333333, 0.16666666],
    [0.26666665, 0.19999997, 0.19999997, 0.13333331, 0.19999997], [0.234375, 0.265625, 0.265625, 0.09375, 0.140625],
    [0.25, 0.1875, 0.1875, 0.1875, 0.1875], [0.22222222, 0.20987655, 0.20987655, 0.20987655, 0.14814815],
    [0.23076923, 0.15384616, 0.15384616, 0.15384616, 0.30769232], [0.36, 0.16, 0.16, 0.16, 0.16],
]


@pytest.mark.parametrize("escape,update_exclusion,expected", [("c", False, IDYOM_C),
                                                              ("x", True, IDYOM_X_UPDATE_EXCLUDED)])
def test_abracadabra_as_idyom_predicts_it(escape, update_exclusion, expected):
    np.testing.assert_allclose(abracadabra(escape, update_exclusion), expected, atol=1e-5)


# ---- a plain reference: every context a tuple in a dict, as the definitions say --------------------------------


class PlainPPM:
    """PPM by the book: counts of every n-gram (context, symbol) up to the order bound, no trie, no laziness."""

    def __init__(self, bound, escape, update_exclusion):
        self.bound, self.escape, self.ue = bound, escape, update_exclusion
        self.full: dict = {}
        self.upex: dict = {}

    def learn(self, seq, i):
        top = i if self.bound is None else min(i, self.bound)
        existed = False
        for n in range(top, -1, -1):  # the longest context first
            key = (tuple(seq[i - n:i]), seq[i])
            was = key in self.full
            self.full[key] = self.full.get(key, 0) + 1
            if not existed:
                self.upex[key] = self.upex.get(key, 0) + 1
            existed = existed or was

    def counts(self, ctx, size, upex):
        table = self.upex if upex else self.full
        return np.array([table.get((ctx, x), 0) for x in range(size)], float)

    def distribution(self, seq, i, size):
        top = i if self.bound is None else min(i, self.bound)
        ctxs = [tuple(seq[i - n:i]) for n in range(top + 1)]
        seen = [n for n in range(top + 1) if self.counts(ctxs[n], size, False).sum() > 0]
        longest = max(seen) if seen else -1
        chosen, selected = longest, False
        if self.bound is None:
            det = [n for n in seen if np.count_nonzero(self.counts(ctxs[n], size, False)) == 1]
            if det:
                chosen, selected = min(det), min(det) < longest
        k = {"b": -1.0, "d": -0.5}.get(self.escape, 0.0)
        p, excluded, escape = np.zeros(size), np.zeros(size, bool), 1.0
        for n in range(chosen, -1, -1):
            raw = self.counts(ctxs[n], size, self.ue and not (n == chosen and selected))
            has = raw > 0
            c = np.where(has, raw + k, 0.0)
            total = c[has & ~excluded].sum()
            e = {"a": 1.0, "x": np.count_nonzero(raw == 1) + 1.0, "d": has.sum() / 2}.get(self.escape, has.sum())
            w = total / (total + e) if total + e > 0 else 0.0
            if total > 0:
                p += escape * w * c / total
            escape *= 1 - w
            excluded |= has
        root = np.count_nonzero(self.counts((), size, False))
        p += escape / (size + 1 - root)
        return p / p.sum()


def repetitive(rng, n, size):
    """A sequence with recurring phrases (long matches, as a chorale's repeats give) and new material."""
    phrases = [list(rng.integers(0, size, rng.integers(2, 7))) for _ in range(4)]
    out: list[int] = []
    while len(out) < n:
        out += phrases[rng.integers(4)] if rng.random() < 0.7 else [int(rng.integers(size))]
    return [int(s) for s in out[:n]]


@pytest.mark.parametrize("bound,escape,update_exclusion",
                         [(None, "c", False), (None, "x", True), (None, "a", True), (None, "b", False),
                          (None, "d", True), (0, "c", False), (1, "x", True), (3, "c", False), (2, "d", True)])
def test_the_trie_predicts_as_plain_ngram_counts(bound, escape, update_exclusion):
    rng = np.random.default_rng(7)
    size = 6
    train = [repetitive(rng, int(rng.integers(5, 40)), size) for _ in range(6)]
    lazy, plain = PPM(bound, escape, update_exclusion), PlainPPM(bound, escape, update_exclusion)
    for seq in train:
        for i in range(len(seq)):
            np.testing.assert_allclose(lazy.distribution(seq, i, size), plain.distribution(seq, i, size), atol=1e-12)
            lazy.learn(seq, i)
            plain.learn(seq, i)


def test_undo_takes_back_a_file_also_under_an_order_bound():
    train, seq, other = train_and_file(9)
    for bound, ue in ((None, False), (2, True), (4, False)):
        model = PPM(bound, "c", ue)
        for s in train:
            model.learn_sequence(s)
        before = [model.distribution(other, i, 6) for i in range(len(other))]
        nodes, journal = model.nodes, []
        for i in range(len(seq)):
            model.distribution(seq, i, 6)  # reading may make once-seen contexts nodes: the same model
            model.learn(seq, i, journal)
        model.undo(journal)
        after = [model.distribution(other, i, 6) for i in range(len(other))]
        np.testing.assert_array_equal(before, after)
        assert model.nodes >= nodes and model.nodes == sum(1 for _ in walk(model.root)), bound


def walk(node):
    yield node
    for child in node.children.values():
        yield from walk(child)


def test_every_distribution_sums_to_one_over_the_alphabet():
    rng = np.random.default_rng(3)
    for bound, escape, ue in itertools.product((None, 0, 2), ESCAPES, (False, True)):
        model = PPM(bound, escape, ue)
        for seq in [repetitive(rng, 30, 5) for _ in range(3)]:
            p = model_sequence(model, seq, 8)  # three symbols never occur: they keep probability
            assert np.allclose(p.sum(axis=1), 1.0, atol=1e-12) and (p > 0).all(), (bound, escape, ue)


def test_a_short_term_model_grows_certain_of_a_repeated_motif():
    motif = [0, 3, 1, 4, 1, 5, 2]  # 1 is followed by 4 and by 5: a context of two events predicts those
    seq = motif * 100
    p = model_sequence(PPM(None, "x", True), seq, 8)
    actual = p[np.arange(len(seq)), seq]
    per_repeat = actual.reshape(100, len(motif)).mean(axis=1)
    assert per_repeat[1] > per_repeat[0] and np.all(np.diff(per_repeat[1:]) > 0)  # more certain every time
    # the escape of a context seen n times is about 1 / (n + 1) (X, no singletons): certainty as 1 - O(1/n)
    assert per_repeat[9] < 0.9 < per_repeat[29] and per_repeat[-1] > 0.98 and actual[-1] > 0.98
    assert (1 - per_repeat[-1]) < 0.35 * (1 - per_repeat[29])


def test_the_combination_is_the_entropy_weighted_geometric_mean():
    rng = np.random.default_rng(5)
    size, bias = 7, 7.0
    a, b = rng.dirichlet(np.ones(size), 4), rng.dirichlet(np.full(size, 0.3), 4)
    got = combine([a, b], bias)
    for t in range(4):  # IDyOM's geometric-combination, written out
        h_max = np.log2(size)
        weights = [(-(d[t] * np.log2(d[t])).sum() / h_max) ** -bias for d in (a, b)]
        total = sum(weights)
        raw = np.array([a[t, x] ** (weights[0] / total) * b[t, x] ** (weights[1] / total) for x in range(size)])
        np.testing.assert_allclose(got[t], raw / raw.sum(), rtol=1e-12)
    assert np.allclose(combine([a, a], bias), a)  # a distribution with itself
    sharp = np.full((1, size), 0.01 / (size - 1))
    sharp[0, 2] = 0.99
    flat = np.full((1, size), 1 / size)
    assert combine([sharp, flat], bias)[0, 2] > 0.98  # the certain model dominates
    np.testing.assert_allclose(entropy_bits(flat), np.log2(size))


def train_and_file(seed=2):
    rng = np.random.default_rng(seed)
    return [repetitive(rng, 40, 6) for _ in range(5)], repetitive(rng, 30, 6), repetitive(rng, 25, 6)


def test_the_ltm_plus_is_the_ltm_learning_the_file_it_predicts():
    train, seq, other = train_and_file()
    size = 6
    settings = SimpleNamespace(settings=None)
    ltm_only, plus = PPMReference({}, {}, settings, kind="ltm"), PPMReference({}, {}, settings, kind="both_plus")
    for ref in (ltm_only, plus):  # the same training sequences (symbols 0..5 as they are)
        ref.ltm = PPM(None, "c", False)
        for s in train:
            ref.ltm.learn_sequence(s)
    nodes = plus.ltm.nodes
    p_ltm = ltm_only.file_distributions(seq, size)
    # the LTM+ alone: the LTM that learns each event after predicting it
    journal: list = []
    p_plus = np.empty((len(seq), size))
    for i in range(len(seq)):
        p_plus[i] = plus.ltm.distribution(seq, i, size)
        plus.ltm.learn(seq, i, journal)
    # ... equal to an LTM trained afresh on the training sequences and the file's events so far
    for i in range(len(seq)):
        fresh = PPM(None, "c", False)
        for s in train:
            fresh.learn_sequence(s)
        for j in range(i):
            fresh.learn(seq, j)
        np.testing.assert_allclose(p_plus[i], fresh.distribution(seq, i, size), atol=1e-12)
    plus.ltm.undo(journal)
    assert plus.ltm.nodes == nodes
    np.testing.assert_allclose(p_plus[0], p_ltm[0])  # nothing learnt yet: the same prediction
    assert not np.allclose(p_plus, p_ltm)
    # both_plus forgets the file: the next file meets the training split alone, as the LTM does
    plus.file_distributions(seq, size)
    assert plus.ltm.nodes == nodes
    np.testing.assert_allclose(ltm_only.ltm.distribution(other, 5, size), plus.ltm.distribution(other, 5, size))


def pieces(rng, n, units=12):
    """{piece: [file]} of multi-hot chords drawn from a few chords, in recurring phrases."""
    chords = (rng.random((9, units)) < 0.3).astype(np.float32)
    return {f"p{k}": [chords[repetitive(rng, int(rng.integers(12, 30)), 9)] for _ in range(2)] for k in range(n)}


def test_the_reference_scores_marginals_and_bits_of_its_distribution_over_chords():
    rng = np.random.default_rng(1)
    train, test = pieces(rng, 6), pieces(rng, 3)
    how = Fitting(0.5, 0)
    for name in ("ppm_ltm", "ppm_stm", "ppm_both", "ppm_both_plus"):
        model = MODELS[name](train, {}, how)
        for piece, decode, marginals, decode_bits, bits in model.probabilities(test, 0.5, 0):
            assert decode is None and decode_bits is None
            for y, m, b in zip(test[piece], marginals, bits):
                assert m.shape == (len(y) - 1, 12) and b.shape == (len(y) - 1,)
                seq = model.symbols.of(y)
                p = model.file_distributions(seq, model.symbols.size)[1:]
                np.testing.assert_allclose(m, p @ model.symbols.matrix(), atol=1e-12)  # summed over chords with it
                np.testing.assert_allclose(b, -np.log2(p[np.arange(len(p)), seq[1:]]), rtol=1e-12)
        assert model.meta["alphabet"] == model.symbols.size
    bce, bits, meta = evaluate_counted("ppm_both", train, {}, test, 0.5, 0)
    assert set(bce) == {"predict"} and set(bce["predict"]) == set(test)
    assert all(np.isfinite(v) and v > 0 for v in bits["predict"].values())
    assert meta["settings"] == {k: ppm_reference.DEFAULTS[k] for k in REFERENCES["ppm_both"].config}


def test_the_models_of_one_process_share_one_ltm_and_score_as_alone():
    rng = np.random.default_rng(6)
    train, test = pieces(rng, 5), pieces(rng, 3)
    how = Fitting(0.5, 0)

    def scores(model):
        return [b for _, _, _, _, b in model.probabilities(test, 0.5, 0)]

    ppm_reference._LTMS.clear()
    alone = scores(MODELS["ppm_ltm"](train, {}, how))
    ppm_reference._LTMS.clear()
    plus, ltm = MODELS["ppm_both_plus"](train, {}, how), MODELS["ppm_ltm"](train, {}, how)
    assert ltm.ltm is plus.ltm  # trained once
    scores(plus)  # the LTM+ learns every test file, and takes it back
    again = scores(ltm)
    assert all(np.array_equal(x, y) for f, g in zip(alone, again) for x, y in zip(f, g))
    other = MODELS["ppm_ltm"](pieces(rng, 5), {}, how)  # another training split: its own LTM
    assert other.ltm is not ltm.ltm and ltm.ltm.nodes != other.ltm.nodes


def test_the_alphabet_is_training_and_scored_chords_or_every_chord():
    rng = np.random.default_rng(4)
    train, test = pieces(rng, 4), pieces(rng, 2)
    observed = MODELS["ppm_ltm"](train, {}, Fitting(0.5, 0))
    list(observed.probabilities(test, 0.5, 0))
    distinct = {row.tobytes() for ys in (*train.values(), *test.values()) for y in ys for row in (y > 0.5)}
    assert observed.meta["alphabet"] == len(distinct)
    first = [b for _, _, _, _, b in observed.probabilities(test, 0.5, 0)]
    list(observed.probabilities(pieces(rng, 2), 0.5, 0))  # other files, other chords
    again = [b for _, _, _, _, b in observed.probabilities(test, 0.5, 0)]
    assert all(np.array_equal(x, y) for f, g in zip(first, again) for x, y in zip(f, g))  # nothing kept from them
    every = MODELS["ppm_ltm"](train, {}, Fitting(0.5, 0, settings={"ppm_alphabet": "all"}))
    list(every.probabilities(test, 0.5, 0))
    assert every.meta["alphabet"] == 4096
    wide = {"p": [np.eye(128, dtype=np.float32)[:5]]}
    with pytest.raises(ppm_reference.BadAlphabet):
        MODELS["ppm_ltm"](wide, {}, Fitting(0.5, 0, settings={"ppm_alphabet": "all"}))


def test_options_reach_the_models():
    rng = np.random.default_rng(6)
    train, test = pieces(rng, 4), pieces(rng, 2)
    default = evaluate_counted("ppm_stm", train, {}, test, 0.5, 0)[1]
    bounded = evaluate_counted("ppm_stm", train, {}, test, 0.5, 0,
                               settings={"ppm_stm_order_bound": 1, "ppm_stm_escape": "c"})[1]
    assert default != bounded
    model = MODELS["ppm_both"](train, {}, Fitting(0.5, 0, settings={"ppm_ltm_order_bound": 2, "ppm_bias": 0}))
    assert model.ltm.bound == 2 and model.settings["ppm_bias"] == 0


def test_the_schema_defaults_are_idyoms():
    schema = yaml.safe_load((Path(__file__).parents[2] / "workflow/schemas/config.schema.yaml").read_text())
    props = schema["properties"]["references"]["properties"]
    assert {k: props[k]["default"] for k in ppm_reference.DEFAULTS} == ppm_reference.DEFAULTS
    for name in ("ppm_ltm", "ppm_stm", "ppm_both", "ppm_both_plus"):
        ref = REFERENCES[name]
        assert ref.kind == "counted" and ref.sigma_free and ref.tasks == ("predict",) and set(ref.config) <= set(props)
