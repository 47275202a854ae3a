"""Compositions and their split: ``pieces.parquet`` from ``events.parquet``.

A composition ("piece") is every file with one BWV number. Compositions with the
same or heavily shared chord content form a family (:mod:`bayesbach.dataset.families`),
and a family goes to one split, so no test piece was heard in training. The split
of a family is a deterministic function of the seed and the family's name (its
member with the smallest BWV number) alone: adding or removing a composition
moves only the compositions of the families it joins or splits up, and a
composition alone in its family keeps the split its own name gives it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bayesbach.core import schemas
from bayesbach.core.atomic import write_parquet
from bayesbach.core.exceptions import StudyError
from bayesbach.core.registry import SPLITS
from bayesbach.core.seeds import derive_seed
from bayesbach.corpus.bwv import bwv_of_piece
from bayesbach.dataset.families import NGRAM, SHARE, families, family_summary

log = logging.getLogger(__name__)


class EmptySplit(StudyError):
    """A split that the ratios ask for received no composition."""


def split_of(piece: str, seed: int, ratios: dict[str, float]) -> str:
    """The split of the family named ``piece``: a uniform number hashed from (seed, piece), cut by the ratios."""
    u = derive_seed(seed, "split", piece) / 2.0**63
    edge = 0.0
    for split in SPLITS:
        edge += ratios[split]
        if u < edge:
            return split
    return SPLITS[-1]  # ratios summing to 1 up to rounding


def make_pieces(events: pa.Table, seed: int, ratios: dict[str, float], ngram: int = NGRAM,
                share: float = SHARE) -> pa.Table:
    """The ``pieces.parquet`` table: one row per composition with its family and the family's split.

    ``events`` needs the columns piece, file, step and pcs; ``ngram`` and ``share``
    are the config's ``dataset.families``.
    """
    grouped = events.group_by("piece").aggregate([("file", "count_distinct"), ("step", "count")]).sort_by("piece")
    pieces = grouped.column("piece").to_pylist()
    family = families(events, ngram, share)
    splits = [split_of(family[p], seed, ratios) for p in pieces]
    table = pa.table(
        {
            "piece": pieces,
            "bwv": [bwv_of_piece(p) for p in pieces],
            "n_files": grouped.column("file_count_distinct").cast(pa.int32()),
            "n_events": grouped.column("step_count").cast(pa.int64()),
            "family": [family[p] for p in pieces],
            "split": splits,
        },
        schema=schemas.PIECES,
    )
    for split in SPLITS:
        if ratios[split] > 0 and split not in splits:
            raise EmptySplit(
                f"the {split} split is empty: {len(pieces)} compositions in {len(set(family.values()))} families "
                f"are too few for the ratios "
                f"{ratios} (use more works or other dataset.split ratios)"
            )
    return table


def split_dataset(events: Path, pieces: Path, seed: int, ratios: dict[str, float], ngram: int = NGRAM,
                  share: float = SHARE) -> pa.Table:
    """The split stage: read ``events.parquet``, write ``pieces.parquet``."""
    table = make_pieces(pq.read_table(events, columns=["piece", "file", "step", "pcs"]), seed, ratios, ngram, share)
    write_parquet(pieces, table)
    summary = family_summary(table)
    log.info("%d compositions in %d families: %d joined into %d families of two or more%s", summary["compositions"],
             summary["families"], summary["joined"], summary["joined_families"],
             "".join(f"; {f['family']}: {', '.join(f['members'])}" for f in summary["largest"]))
    for split in SPLITS:
        rows = table.filter(pc.equal(table["split"], split))
        log.info("%s: %d compositions, %d events", split, rows.num_rows, pc.sum(rows["n_events"]).as_py() or 0)
    return table
