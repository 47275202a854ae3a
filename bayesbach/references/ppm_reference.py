"""The study's PPM references: ``ppm_ltm``, ``ppm_stm``, ``ppm_both``, ``ppm_both_plus`` over the chord symbols.

The model itself (a trie of contexts, blending, exclusion, escapes, the combination) is :mod:`bayesbach.references.ppm`.
A symbol is a whole chord, the set of active units of one step (the pitch-class set for ``pc12``, the pitch set for
``pitch``), the empty chord included; every file is a sequence, and each event is predicted from the events before
it in its file (the first from the empty context).

The models (IDyOM's ``:ltm``, ``:stm``, ``:both``, ``:both+``):

- ``ppm_ltm``: the long-term model, fitted on the clean training split and frozen while it predicts.
- ``ppm_stm``: the short-term model, empty at the start of every file, learning the file event by event.
- ``ppm_both``: the two combined event by event (:func:`bayesbach.references.ppm.combine`).
- ``ppm_both_plus``: the same with the LTM+: the long-term model also learns the file it predicts, event by event,
  and forgets it after the file (IDyOM's LTM+ keeps learning across the test sequences of a fold; here every file
  is scored on its own, as the study scores every model, so no file's score depends on the order of the files).

The alphabet, as IDyOM's: the chords of the training split and of the sequences being scored (``observed``), or
with ``ppm_alphabet: all`` every possible chord (the 4,096 pitch-class sets; ``pc12`` only: the pitch sets
number 2^128). The study's scores: the information content of the actual chord (``bits``) and the marginal of
every unit (the summed probability of the chords that contain it) for the BCE, on clean input (``predict``).
"""

from __future__ import annotations

import hashlib

import numpy as np
import scipy.sparse as sp

from bayesbach.core.exceptions import StudyError
from bayesbach.core.registry import PPM_BOTH, PPM_LTM, PPM_STM
from bayesbach.dataset.loader import files_of
from bayesbach.references.alphabet import all_chords, information_content
from bayesbach.references.ppm import PPM, combine

# IDyOM's defaults (mvs/params.lisp): the keys of the references: config, one set for each memory.
DEFAULTS = {
    "ppm_ltm_order_bound": None,  # None: unbounded (PPM*)
    "ppm_ltm_escape": "c",
    "ppm_ltm_update_exclusion": False,
    "ppm_stm_order_bound": None,
    "ppm_stm_escape": "x",
    "ppm_stm_update_exclusion": True,
    "ppm_bias": 7.0,  # of the LTM-STM combination
    "ppm_alphabet": "observed",  # or "all" (pc12)
}
# The keys each model's results depend on (its registry entry's config).
LTM_KEYS, STM_KEYS, BOTH_KEYS = PPM_LTM, PPM_STM, PPM_BOTH


class BadAlphabet(StudyError, ValueError):
    """``ppm_alphabet: all`` asked of an encoding whose chords cannot be listed."""


class Symbols:
    """The chord symbols: one integer per distinct chord (its multi-hot row in ``rows``), in order of first sight;
    with ``every``, all 2^units chords first, symbol = the chord's bits."""

    def __init__(self, units: int, every: bool = False):
        self.index: dict[bytes, int] = {}
        self.rows: list[np.ndarray] = []
        self.units = units
        self.closed = False
        if every:
            for row in all_chords(units):
                self._add(row)
            self.closed = True  # every chord listed, in the order of its bits

    def _add(self, row: np.ndarray) -> int:
        key = np.packbits(row > 0.5).tobytes()
        s = self.index.get(key)
        if s is None:
            assert not self.closed, "every chord is listed"
            s = self.index[key] = len(self.rows)
            self.rows.append((row > 0.5).astype(np.float64))
        return s

    def of(self, y: np.ndarray) -> list[int]:
        """The symbols of the steps of one file (new chords get new symbols)."""
        keys = np.packbits(np.asarray(y) > 0.5, axis=1)
        out = []
        for t, key in enumerate(keys):
            s = self.index.get(key.tobytes())
            out.append(s if s is not None else self._add(np.asarray(y[t])))
        return out

    def truncate(self, n: int) -> None:
        """Forget every symbol from the ``n``-th on (the chords of files scored before)."""
        if not self.closed:
            for key in [k for k, s in self.index.items() if s >= n]:
                del self.index[key]
            del self.rows[n:]

    @property
    def size(self) -> int:
        return len(self.rows)

    def matrix(self) -> np.ndarray:
        """Symbols x units: the chord of each symbol."""
        return np.array(self.rows).reshape(len(self.rows), self.units)


_LTMS: dict = {}  # the last long-term model trained, by its options and training sequences


def _trained_ltm(empty: PPM, seqs: list[list[int]], alphabet: str) -> PPM:
    """``empty`` trained on ``seqs``, or the same model trained before in this process: ``ppm_ltm``, ``ppm_both``
    and ``ppm_both_plus`` share one (a job scoring all three builds it once). Sharing is safe: predicting leaves it
    as it was (the LTM+ takes back what it learnt of each file, :meth:`PPM.undo`)."""
    digest = hashlib.blake2b(np.asarray([len(q) for q in seqs] + [x for q in seqs for x in q], np.int64)).hexdigest()
    key = (empty.bound, empty.escape, empty.update_exclusion, alphabet, digest)
    if key not in _LTMS:
        _LTMS.clear()  # one model kept: a process meets one training split at a time
        for seq in seqs:
            empty.learn_sequence(seq)
        _LTMS[key] = empty
    return _LTMS[key]


def settings_of(settings: dict | None) -> dict:
    """IDyOM's defaults, with the given keys over them."""
    out = dict(DEFAULTS)
    out.update({k: v for k, v in (settings or {}).items() if k in DEFAULTS})
    return out


class PPMReference:
    """A counted reference of :mod:`bayesbach.references.counted`: ``kind`` one of ``ltm``, ``stm``, ``both``,
    ``both_plus``; fitted on the clean training split (the LTM), scored on clean test files (``predict``)."""

    def __init__(self, train: dict, validation: dict, how, kind: str = "both"):
        if kind not in ("ltm", "stm", "both", "both_plus"):
            raise ValueError(f"unknown PPM model {kind!r}")
        self.kind = kind
        self.settings = settings_of(getattr(how, "settings", None))
        s = self.settings
        files = files_of(train)
        units = files[0].shape[1] if files else 12
        if s["ppm_alphabet"] not in ("observed", "all"):
            raise BadAlphabet(f"ppm_alphabet is 'observed' or 'all', not {s['ppm_alphabet']!r}")
        if s["ppm_alphabet"] == "all" and units > 16:
            raise BadAlphabet(f"ppm_alphabet: all lists 2^{units} chords; use it with pc12 (12 units) only")
        self.symbols = Symbols(units, every=s["ppm_alphabet"] == "all")
        self.train_seqs = [self.symbols.of(y) for y in files]
        self.n_train = self.symbols.size
        self.ltm = _trained_ltm(self._memory("ltm"), self.train_seqs, s["ppm_alphabet"]) if kind != "stm" else None
        self.meta = {"ppm": kind, "settings": {k: s[k] for k in self.keys()},
                     "training_symbols": self.symbols.size, "training_events": int(sum(map(len, self.train_seqs))),
                     "ltm_nodes": self.ltm.nodes if self.ltm else 0}  # the job's meta.json has its seconds

    def keys(self) -> tuple[str, ...]:
        return {"ltm": LTM_KEYS, "stm": STM_KEYS}.get(self.kind, BOTH_KEYS)

    def _memory(self, which: str) -> PPM:
        s = self.settings
        bound = s[f"ppm_{which}_order_bound"]
        return PPM(None if bound is None else int(bound), s[f"ppm_{which}_escape"],
                   s[f"ppm_{which}_update_exclusion"])

    def file_distributions(self, seq: list, size: int) -> np.ndarray:
        """Events x symbols: each event's distribution given the events before it in its file."""
        n = len(seq)
        dists = []
        if self.kind != "stm":
            ltm, journal = self.ltm, ([] if self.kind == "both_plus" else None)
            p = np.empty((n, size))
            for i in range(n):
                p[i] = ltm.distribution(seq, i, size)
                if journal is not None:
                    ltm.learn(seq, i, journal)
            if journal is not None:
                ltm.undo(journal)  # the next file meets the training split alone
            dists.append(p)
        if self.kind != "ltm":
            stm = self._memory("stm")  # empty at the start of every file
            p = np.empty((n, size))
            for i in range(n):
                p[i] = stm.distribution(seq, i, size)
                stm.learn(seq, i)
            dists.append(p)
        return dists[0] if len(dists) == 1 else combine(dists, self.settings["ppm_bias"])

    def predictions(self, seq: list) -> tuple[np.ndarray, np.ndarray]:
        """Events 1.. of a file of symbols (the first has no prediction): each one's distribution over the alphabet as
        it stands, and the information content in bits of the event that came."""
        p = self.file_distributions(seq, self.symbols.size)[1:]
        with np.errstate(divide="ignore"):
            return p, information_content(np.log(p[np.arange(len(p)), seq[1:]]))

    def probabilities(self, test: dict, sigma: float, seed: int):
        """The counted protocol (:data:`bayesbach.references.counted.Probabilities`): per file, the marginal of
        every unit and the information content of the actual chord, from the second event on (``predict``)."""
        self.symbols.truncate(self.n_train)  # the alphabet: the training chords and those of these files
        seqs = {piece: [self.symbols.of(y) for y in ys] for piece, ys in test.items()}
        size = self.symbols.size
        chords = sp.csr_matrix(self.symbols.matrix().T)  # units x symbols, a few units per chord
        events = 0
        for piece, ys in test.items():
            marginals, bits = [], []
            for y, seq in zip(ys, seqs[piece]):
                if len(seq) < 2:
                    marginals.append(np.zeros((0, y.shape[1])))
                    bits.append(np.zeros(0))
                    continue
                p, ic = self.predictions(seq)
                events += len(seq)
                marginals.append(np.clip(np.asarray((chords @ p.T).T), 0.0, 1.0))  # p @ the chords, sparse
                bits.append(ic)
            yield piece, None, marginals, None, bits
        self.meta.update(alphabet=size, test_events=events)
