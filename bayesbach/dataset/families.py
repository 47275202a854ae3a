"""Families: compositions whose chord content is the same or heavily shared, so that they share a split.

Bach re-used harmonisations: a chorale movement of one cantata can be, note for note, a
movement under another BWV number (bwv175.7 is bwv59.3), and a harmonisation can recur in another
key (bwv253 is bwv414 a minor seventh up). Two compositions are joined when

- a file of one has the same pitch-class sequence as a file of the other, in any of the 12
  transpositions (files of at least ``ngram`` steps: a few chords are too little content to call
  two pieces the same), or
- their *share* reaches ``share``: the distinct n-grams (``ngram`` consecutive pitch-class sets
  of one file; never across files) that both contain, over the distinct n-grams of the one that
  has fewer, ``|A & B| / min(|A|, |B|)``. So a chorale re-used inside a longer work is found too.

Both checks are transposition-invariant: a sequence (a whole file, or an n-gram) stands for its
*canonical* form, the smallest (lexicographically) of its 12 transpositions, each mask rotated by
k = 0 ... 11 within its 12 bits (:func:`transpose`). A sequence and its transpositions have one
canonical form, so a composition and its transposition are one family; n-grams of one piece that
are transpositions of each other count once. Families use the ``pcs`` masks whatever the encoding
the networks are trained on (``pitch`` too): a transposition is the same music in another key.

Joins are transitive (union-find): a family is a connected group. Its name is its member with
the smallest BWV number (members named by a file stem, without a number, come after, by name).

Pairs are counted from an inverted index (n-gram -> compositions), never by comparing whole
sequences. An n-gram found in more than ``common`` compositions is a stock figure (a scale, an
arpeggio), not a re-use: it counts as not shared, which also bounds the pairs any one n-gram
makes, so the work grows with the corpus, not with its square.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bayesbach.corpus.bwv import bwv_of_piece

log = logging.getLogger(__name__)

# The defaults of the config's dataset.families (workflow/schemas/config.schema.yaml says why).
NGRAM, SHARE, COMMON = 8, 0.5, 50


def family_name(members: Iterable[str]) -> str:
    """The piece that names a family: the smallest BWV number, then pieces without one, by name."""
    return min(members, key=lambda p: (bwv_of_piece(p) is None, bwv_of_piece(p) or 0, p))


def transpose(masks: np.ndarray, k: int) -> np.ndarray:
    """Pitch-class masks transposed up by ``k`` semitones: bit p (C = 0) to bit (p + k) mod 12."""
    m = np.asarray(masks, np.uint16)
    return ((m << k) | (m >> (12 - k))) & 0xFFF  # bits shifted past 16 would be masked off anyway


def canonical(masks: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """``masks`` with each sequence ``masks[bounds[i]:bounds[i + 1]]`` (none empty) replaced by the lexicographically
    smallest of its 12 transpositions: the same for a sequence and every transposition of it."""
    best = np.array(masks, np.uint16)
    starts, lengths = bounds[:-1], np.diff(bounds)
    if not len(best):
        return best
    at = np.arange(len(best))
    for k in range(1, 12):
        other = transpose(masks, k)
        # per sequence, the first position where this transposition differs from the best so far (len: nowhere)
        first = np.minimum.reduceat(np.where(other != best, at, len(best)), starts)
        differs = first < len(best)
        smaller = np.zeros(len(starts), bool)
        smaller[differs] = other[first[differs]] < best[first[differs]]
        take = np.repeat(smaller, lengths)
        best[take] = other[take]
    return best


def _files(events: pa.Table) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """(pieces in name order, piece index of each file, file start offsets, pcs in (file, step) order)."""
    events = events.select(["piece", "file", "step", "pcs"]).sort_by([("file", "ascending"), ("step", "ascending")])
    files = events.column("file").to_numpy(zero_copy_only=False)
    starts = np.flatnonzero(np.r_[True, files[1:] != files[:-1]])
    pieces = sorted(set(events.column("piece").to_pylist()))
    index = pc.index_in(events["piece"], value_set=pa.array(pieces, pa.string())).to_numpy()
    return pieces, index[starts], np.r_[starts, len(files)], events.column("pcs").to_numpy()


def _ngram_pieces(pcs: np.ndarray, bounds: np.ndarray, owner: np.ndarray, ngram: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (n-gram id, piece) pairs, sorted by n-gram then piece."""
    if len(pcs) < ngram:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    windows = np.lib.stride_tricks.sliding_window_view(pcs, ngram)
    file_of = np.repeat(np.arange(len(owner)), np.diff(bounds))
    inside = file_of[: len(windows)] == file_of[ngram - 1:]  # the window starts and ends in one file
    # Each canonical window's bytes are the n-gram in its canonical key: exact ids, no hash collisions.
    kept = windows[inside]
    grams = canonical(kept.ravel(), np.arange(0, kept.size + 1, ngram)).view(np.dtype((np.void, pcs.itemsize * ngram)))
    _, ids = np.unique(grams, return_inverse=True)
    keys = np.unique(ids.ravel().astype(np.int64) * n + owner[file_of[: len(windows)][inside]])
    return keys // n, keys % n


def _shared_pairs(gram: np.ndarray, piece: np.ndarray, n: int, common: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a, b, shared n-grams) for every pair of pieces a < b with an n-gram in at most ``common`` pieces."""
    starts = np.flatnonzero(np.r_[True, gram[1:] != gram[:-1]])
    sizes = np.diff(np.r_[starts, len(gram)])
    keys = []
    for d in np.unique(sizes[(sizes >= 2) & (sizes <= common)]):
        first = starts[sizes == d][:, None]
        i, j = np.triu_indices(d, 1)  # pieces are sorted within an n-gram, so a < b
        keys.append((piece[first + i] * n + piece[first + j]).ravel())
    pairs, counts = np.unique(np.concatenate(keys) if keys else np.zeros(0, np.int64), return_counts=True)
    return pairs // n, pairs % n, counts


def families(events: pa.Table, ngram: int = NGRAM, share: float = SHARE, common: int = COMMON) -> dict[str, str]:
    """Each composition of an events table (columns piece, file, step, pcs) -> the name of its family."""
    if events.num_rows == 0:
        return {}
    pieces, owner, bounds, pcs = _files(events)
    n = len(pieces)
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(a: int, b: int, why: str) -> None:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
            log.info("family: %s and %s joined (%s)", *sorted((pieces[a], pieces[b])), why)

    first_with: dict[bytes, int] = {}
    keys = canonical(pcs, bounds)  # every file in its canonical key, at once
    for f, (s, e) in enumerate(zip(bounds[:-1], bounds[1:])):
        if e - s >= ngram:
            seq = keys[s:e].tobytes()
            join(first_with.setdefault(seq, int(owner[f])), int(owner[f]),
                 "a file with the same pitch-class sequence, in some key")

    gram, piece = _ngram_pieces(pcs, bounds, owner, ngram, n)
    distinct = np.bincount(piece, minlength=n)
    a, b, shared = _shared_pairs(gram, piece, n, common)
    fraction = shared / np.minimum(distinct[a], distinct[b])  # both have an n-gram: never 0
    for i in np.flatnonzero(fraction >= share):
        join(int(a[i]), int(b[i]), f"{fraction[i]:.0%} of {ngram}-grams shared, in any key")

    groups: dict[int, list[str]] = {}
    for i, p in enumerate(pieces):
        groups.setdefault(root(i), []).append(p)
    return {p: family_name(members) for members in groups.values() for p in members}


def family_summary(pieces: pa.Table, largest: int = 5) -> dict:
    """What the page says of the families of ``pieces.parquet``: how many compositions and families,
    how many compositions were joined into how many families of two or more, and the ``largest`` of
    those (biggest first, then by name) with their members and split."""
    rows = pieces.select(["piece", "family", "split"]).to_pylist()
    groups: dict[str, list[str]] = {}
    for r in rows:
        groups.setdefault(r["family"], []).append(r["piece"])
    split = {r["piece"]: r["split"] for r in rows}
    joined = sorted((f for f, m in groups.items() if len(m) > 1), key=lambda f: (-len(groups[f]), f))
    return {
        "compositions": len(rows),
        "families": len(groups),
        "joined": sum(len(groups[f]) for f in joined),
        "joined_families": len(joined),
        "largest": [{"family": f, "members": sorted(groups[f]), "split": split[f]} for f in joined[:largest]],
    }
