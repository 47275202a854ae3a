"""Chords as the counted models see them: the alphabet of seen chords, the lumped rest, the base measure.

A chord is the set of active units of one step (pitch classes for ``pc12``, MIDI
pitches for ``pitch``). The chords seen in training are listed one by one; every
other chord (4,096 - seen for ``pc12``, 2^128 - seen for ``pitch``) belongs to a
*rest group* that stands for all its members at once. Lumping is exact, not an
approximation: an unseen chord has no counts, so its prior probability is
proportional to the base measure ``u`` and every member of a group predicts the
same next chord; the models behave as if every chord were enumerated.

The base measure: independent units with the (add-one-half smoothed) training
frequency ``m`` of each unit, u(c) = prod_k m_k^c_k (1 - m_k)^(1 - c_k).

Rest groups. With ``classes = None`` (``pc12``) there is one: every unseen chord.
With ``classes = P`` (``pitch``: P = 12, unit k belongs to pitch class k mod 12)
the unseen chords are grouped by their *class set* (pitch-class set): one group
per class set of a seen chord, whose members back off to what that pitch-class set
does in training (:mod:`bayesbach.references.contexts`), and one ``remainder``
group for the class sets never seen. The sums over a group's members factorise
over classes, so they cost O(units) per group, never a sum over 2^128 chords:
for class set pi, sum over chords c with class set pi of u(c) prod_k l_k(c_k) =
prod_{p in pi} (M_p - A_p) prod_{p not in pi} A_p, with A_p the product over the
units of class p of (1 - m_k) l_k(0) (all off) and M_p that of (1 - m_k) l_k(0)
+ m_k l_k(1) (anything).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, log_expit

from bayesbach.core.exceptions import StudyError
from bayesbach.dataset.loader import files_of

log = logging.getLogger(__name__)

EPS = 1e-12  # probabilities are clipped to [EPS, 1 - EPS] before the log (float64 resolves 1 - EPS)
# The least log-probability of a chord's information content: the smallest normal double, so that -log2 p stays
# finite (at most 1022 bits) where a probability underflows; the back-off gives every chord p > 0.
LOG_TINY = float(np.log(np.finfo(np.float64).tiny))
ENUMERABLE = 16  # units up to which every chord can be listed (the entropy of a rest group's members)


class TooFewSteps(StudyError):
    """The training split has no transition to count."""


def bce_sum(p: np.ndarray, y: np.ndarray) -> float:
    """Summed binary cross-entropy of probabilities ``p`` for targets ``y`` (clipped to [EPS, 1 - EPS])."""
    p = np.clip(p, EPS, 1 - EPS)
    return float(-np.sum(y * np.log(p) + (1 - y) * np.log1p(-p)))


def bce(p: np.ndarray, y: np.ndarray) -> float:
    """Mean binary cross-entropy (over steps and units) of probabilities ``p`` for targets ``y``."""
    return bce_sum(p, y) / np.size(y)


def pooled_bce(ps: list[np.ndarray], ys: list[np.ndarray]) -> float:
    """Mean BCE over every scored step and unit of several files (pooled, not a mean of means); NaN without any."""
    size = sum(np.size(y) for y in ys)
    return sum(bce_sum(p, y) for p, y in zip(ps, ys)) / size if size else float("nan")


def information_content(log_p: np.ndarray) -> np.ndarray:
    """-log2 p in bits of natural log-probabilities, finite: clipped to [0, -LOG_TINY / ln 2] (p in [tiny, 1])."""
    return np.clip(-np.asarray(log_p, np.float64), 0.0, -LOG_TINY) / np.log(2)


def mean_information(ics: list[np.ndarray] | None) -> float:
    """Mean information content over every scored step of a piece's files (pooled); NaN without any."""
    if ics is None:
        return float("nan")
    steps = sum(len(i) for i in ics)
    return float(sum(np.sum(i) for i in ics) / steps) if steps else float("nan")


def global_marginal(pieces: dict[str, list[np.ndarray]]) -> np.ndarray:
    """Per-unit frequency over every step of the training files: the optimal constant BCE predictor."""
    files = files_of(pieces)
    steps = sum(len(y) for y in files)
    if steps == 0:
        raise TooFewSteps("the training split has no steps to count a marginal frequency on")
    return sum(y.sum(0, dtype=np.float64) for y in files) / steps


def all_chords(units: int) -> np.ndarray:
    """Every subset of ``units`` units as a multi-hot matrix (2^units x units); row i has bits of i."""
    return ((np.arange(2**units)[:, None] >> np.arange(units)) & 1).astype(np.float64)


def _keys(y: np.ndarray) -> np.ndarray:
    """One sortable key per chord: its packed bits as a fixed-size byte string (NumPy void)."""
    packed = np.ascontiguousarray(np.packbits(np.asarray(y) > 0.5, axis=1))
    return packed.view(np.dtype((np.void, packed.shape[1]))).ravel()


def _lookup(sorted_keys: np.ndarray, keys: np.ndarray, missing: int) -> np.ndarray:
    """Position of each key in ``sorted_keys``; ``missing`` where it is absent."""
    if len(sorted_keys) == 0:
        return np.full(len(keys), missing, np.int64)
    idx = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return np.where(sorted_keys[idx] == keys, idx, missing)


@dataclass
class Alphabet:
    """The chords seen in training (one state each) and the rest groups (one state per group).

    Level-1 index of a chord: its row in ``chords`` if seen, else ``len(chords) + its group``.
    """

    chords: np.ndarray  # (V, U) float64 multi-hot, in key order
    marginal: np.ndarray  # (U,) m, the base measure's parameter
    classes: int | None = None  # pitch classes the units fold onto (unit k -> k mod classes); None: one rest group
    keys: np.ndarray = field(default=None, repr=False)  # sorted keys of ``chords``
    class_sets: np.ndarray = field(default=None, repr=False)  # (G0, P) bool: class set of each class group
    chord_group: np.ndarray = field(default=None, repr=False)  # (V,) group of each seen chord's class set; -1: none
    log_u: np.ndarray = field(default=None, repr=False)  # (V,) log u of the seen chords
    group_mass: np.ndarray = field(default=None, repr=False)  # (G,) u-mass of each group's unseen members
    group_units: np.ndarray = field(default=None, repr=False)  # (G, U) their u-weighted mean chord

    def __post_init__(self):
        self.chords = np.asarray(self.chords, np.float64)
        self.marginal = np.clip(np.asarray(self.marginal, np.float64), 1e-12, 1 - 1e-12)
        order = np.argsort(_keys(self.chords), kind="stable")
        self.chords = self.chords[order]
        self.keys = _keys(self.chords)
        self.sparse = sp.csr_matrix(self.chords)  # few units sound at once: products with chords cost their notes
        m = self.marginal
        self.log_u = self.chords @ np.log(m) + (1 - self.chords) @ np.log1p(-m)
        if self.classes is None:
            self.class_sets = np.zeros((0, 0), bool)
            self.chord_group = np.full(len(self.chords), -1)
        else:
            self._unit_class = np.eye(self.classes, dtype=bool)[np.arange(self.units) % self.classes]  # (U, P)
            codes, self.chord_group = np.unique(self._class_codes(self.chords), return_inverse=True)
            self._codes = codes
            self.class_sets = ((codes[:, None] >> np.arange(self.classes)) & 1).astype(bool)
            self._in_group = sp.csr_matrix((np.ones(self.n_seen), (np.arange(self.n_seen), self.chord_group)),
                                           shape=(self.n_seen, len(codes)))  # (V, G0) one-hot
        # the groups' base measure: their mixtures at z = logit(m), no evidence (log-likelihood 0)
        z = np.log(m) - np.log1p(-m)
        terms = self.mixtures(z[None], np.zeros((1, len(self.chords))), 0.0)
        self.group_mass = np.maximum(terms.rest[0], 0.0)
        eye = np.eye(self.n_groups)
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = np.where(self.group_mass > 0, 1.0 / self.group_mass, 0.0)[:, None] * eye
        self.group_units = np.clip(self.group_numerators(rho, terms), 0, 1)

    # ---- sizes and indices ----------------------------------------------------------------------

    @property
    def units(self) -> int:
        return self.chords.shape[1]

    @property
    def n_seen(self) -> int:
        return len(self.chords)

    @property
    def n_groups(self) -> int:
        """Rest groups: 1 without classes; one per seen class set plus the remainder with classes."""
        return 1 if self.classes is None else len(self.class_sets) + 1

    @property
    def size(self) -> int:
        """Level-1 states: seen chords and rest groups."""
        return self.n_seen + self.n_groups

    def _class_codes(self, y: np.ndarray) -> np.ndarray:
        """Each chord's class set as an integer (bit p: some unit of class p is on)."""
        on = (np.asarray(y) > 0.5) @ self._unit_class
        return on.astype(np.int64) @ (1 << np.arange(self.classes))

    def index(self, y: np.ndarray) -> np.ndarray:
        """Level-1 index of each row of ``y``: the seen chord, or the rest group it falls in."""
        seen = _lookup(self.keys, _keys(y), -1)
        if self.classes is None:
            group = np.zeros(len(seen), np.int64)
        else:
            group = _lookup(self._codes, self._class_codes(y), len(self._codes))
        return np.where(seen >= 0, seen, self.n_seen + group)

    def unit_vectors(self) -> np.ndarray:
        """(size, U): each level-1 state's chord, the u-mean chord for a rest group."""
        return np.concatenate([self.chords, self.group_units])

    def member_log_share(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The level-1 index of each chord of ``y`` and the log of its share of that state's probability: 0 for a
        seen chord, log u(c) / u(its group) for an unseen one (its model's mass is spread over the group's
        members by the base measure, module text), so log P(c) = log P(its level-1 state) + share. At most 0
        (a group's mass rounded below one member's)."""
        y = np.asarray(y) > 0.5
        idx = self.index(y)
        share = np.zeros(len(idx))
        unseen = idx >= self.n_seen
        if unseen.any():
            c = y[unseen].astype(np.float64)
            log_u = c @ np.log(self.marginal) + (1 - c) @ np.log1p(-self.marginal)
            with np.errstate(divide="ignore"):
                share[unseen] = np.minimum(log_u - np.log(self.group_mass[idx[unseen] - self.n_seen]), 0.0)
        return idx, share

    def group_entropy(self) -> np.ndarray:
        """(G,) the entropy in nats of each rest group's members as the models spread its mass over them, u(c) /
        u(group) (:meth:`member_log_share`); by enumerating every chord, so for at most ``ENUMERABLE`` units."""
        if getattr(self, "_group_entropy", None) is None:
            if self.units > ENUMERABLE:
                raise StudyError(f"the entropy over every chord of {self.units} units is not enumerable (at most "
                                 f"{ENUMERABLE} units: pc12)")
            chords = all_chords(self.units)
            group = self.index(chords) - self.n_seen
            unseen = group >= 0
            log_u = chords[unseen] @ np.log(self.marginal) + (1 - chords[unseen]) @ np.log1p(-self.marginal)
            with np.errstate(divide="ignore", invalid="ignore"):
                log_share = log_u - np.log(self.group_mass[group[unseen]])
            self._group_entropy = np.bincount(group[unseen], -np.exp(log_share) * log_share, minlength=self.n_groups)
        return self._group_entropy

    def entropy_bits(self, p1: np.ndarray) -> np.ndarray:
        """Entropy in bits over every chord of distributions over the level-1 states (rows x ``size``): the seen
        chords' and groups' masses, plus each group's mass times the entropy of its members' shares."""
        p1 = np.maximum(np.asarray(p1, np.float64), 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            own = -np.where(p1 > 0, p1 * np.log(p1), 0.0).sum(1)
        return (own + p1[:, self.n_seen:] @ self.group_entropy()) / np.log(2)

    def base(self) -> np.ndarray:
        """Base measure u over the level-1 states (sums to 1)."""
        return np.concatenate([np.exp(self.log_u), self.group_mass])

    # ---- sums over a group's members ------------------------------------------------------------

    def mixtures(self, z: np.ndarray, ll: np.ndarray, shift: np.ndarray | float) -> "Mixtures":
        """Sums over the chords of every group, weighted by u and a per-unit likelihood ratio.

        ``z`` (B, U): per-unit log-odds of "on" given the evidence, logit(m_k) + log l_k(1)/l_k(0);
        ``ll`` (B, V): each seen chord's log-likelihood relative to the all-off chord,
        sum_k c_k log(l_k(1)/l_k(0)); every sum is scaled by exp(-shift) (per row).
        """
        shift = np.broadcast_to(np.asarray(shift, np.float64), (len(z),))
        log1m = np.log1p(-self.marginal)
        softplus = np.logaddexp(0, z)
        log_mix = (log1m + softplus).sum(1) - shift  # log of the sum over all chords
        w = np.exp(self.log_u + ll - shift[:, None])  # (B, V) the seen chords' weights
        if self.classes is None:
            class_w = None
            rest = np.exp(log_mix)[:, None] - w.sum(1, keepdims=True)
        else:
            log_all_off = (log1m @ self._unit_class)  # (P,) log A_p relative to the evidence-free all-off
            off = -(softplus @ self._unit_class)  # log (A_p / M_p)
            log_m = log_all_off + (softplus @ self._unit_class)  # log M_p
            with np.errstate(divide="ignore"):
                log_some = np.maximum(log_m + np.log(-np.expm1(off)), -1e300)  # log (M_p - A_p); finite for the matmul
            sets = self.class_sets.astype(np.float64)  # (G0, P)
            log_w = log_some @ sets.T + np.broadcast_to(log_all_off, log_some.shape) @ (1 - sets).T - shift[:, None]
            class_w = np.exp(log_w)  # (B, G0): all chords of each class set
            seen_sum = w @ self._in_group
            rest = np.concatenate([class_w - seen_sum, np.exp(log_mix)[:, None] - class_w.sum(1, keepdims=True)], 1)
        return Mixtures(z, w, np.exp(log_mix), class_w, np.maximum(rest, 0.0))  # >= 0 despite rounding

    def group_numerators(self, rho: np.ndarray, terms: "Mixtures") -> np.ndarray:
        """sum_g rho_g * (sum over the unseen members c of group g of u(c) l(c) c): (B, U).

        The all-members part factorises by class; the seen members are taken out one by one.
        """
        p_on = expit(terms.z)  # P(unit on | evidence) under the product measure
        if self.classes is None:
            all_part = rho[:, :1] * terms.mix[:, None] * p_on
            seen_rho = np.broadcast_to(rho[:, :1], terms.w.shape)
        else:
            # within class p given "some unit of p is on": P(unit k on) = p_on_k / (1 - prod_j (1 - p_on_j))
            some = -np.expm1(log_expit(-terms.z) @ self._unit_class)  # (B, P)
            with np.errstate(divide="ignore", invalid="ignore"):
                r = np.where((some > 0) @ self._unit_class.T, p_on / (some @ self._unit_class.T), 0.0)
            rho_rem = rho[:, -1:]
            per_class = ((rho[:, :-1] - rho_rem) * terms.class_w) @ self.class_sets.astype(np.float64)  # (B, P)
            all_part = r * (per_class @ self._unit_class.T) + rho_rem * terms.mix[:, None] * p_on
            seen_rho = rho[:, self.chord_group]
        return all_part - (seen_rho * terms.w) @ self.sparse


@dataclass
class Mixtures:
    """What :meth:`Alphabet.mixtures` sums (all scaled by the same exp(-shift) per row)."""

    z: np.ndarray  # (B, U) per-unit log-odds
    w: np.ndarray  # (B, V) seen chords: u(c) l(c)
    mix: np.ndarray  # (B,) all chords
    class_w: np.ndarray | None  # (B, G0) all chords of each class set (classes only)
    rest: np.ndarray  # (B, G) each group's unseen members


def count_alphabet(pieces: dict[str, list[np.ndarray]], classes: int | None = None) -> Alphabet:
    """The chords of every training file, and the add-one-half unit frequency of all their steps."""
    ys = [y for y in files_of(pieces) if len(y)]
    if not ys:
        raise TooFewSteps("the training pieces have no steps to count chords on")
    stacked = np.concatenate(ys)
    seen = np.unique(_keys(stacked))
    units = stacked.shape[1]
    chords = np.unpackbits(seen.view(np.uint8).reshape(len(seen), -1), axis=1)[:, :units].astype(np.float64)
    marginal = (stacked.sum(0, dtype=np.float64) + 0.5) / (len(stacked) + 1.0)  # add-one-half: nothing impossible
    return Alphabet(chords, marginal, classes)
