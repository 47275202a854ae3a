"""Map a function over many small independent jobs on a process pool."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    return len(os.sched_getaffinity(0))


def pmap(fn: Callable[[T], R], items: Iterable[T], workers: int | None = None) -> list[R]:
    """``[fn(x) for x in items]``, in order, over ``workers`` processes (1 = in this process), at most one per
    CPU this process may use: Snakemake hands a rule ``--cores`` threads even where fewer CPUs exist, and each
    extra worker only pays its imports (about a second each for music21) to share the same CPUs."""
    items = list(items)
    workers = min(workers or default_workers(), default_workers(), len(items))
    if workers <= 1:
        return [fn(x) for x in items]
    # Chunks amortise the inter-process round trip over several small jobs.
    chunksize = max(1, len(items) // (workers * 8))
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(fn, items, chunksize=chunksize))
