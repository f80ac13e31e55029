"""Row bands over the cores, for the big array kernels of training and evaluation.

numpy's partitions and sorts and scipy's sparse products let go of the interpreter lock
while they run, so bands of rows handed to a few threads run at once. Small arrays stay
on the calling thread, where a thread hand-off would cost more than it saves.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

PARALLEL_CELLS = 250_000  # array cells (rows x columns) from which the rows are split over the cores
MAX_THREADS = 4

T = TypeVar("T")


def cores() -> int:
    """The number of bands a big array is split into."""
    return max(1, min(MAX_THREADS, os.cpu_count() or 1))


def map_bands(work: Callable[[slice], T], n_rows: int, cells: int) -> list[T]:
    """Return work(band) for consecutive bands of rows covering 0..n_rows, in order."""
    bands = min(cores(), n_rows) if cells >= PARALLEL_CELLS else 1
    if bands <= 1:
        return [work(slice(0, n_rows))]
    step = -(-n_rows // bands)
    # A pool per call: only arrays of PARALLEL_CELLS or more get here, where starting a few threads
    # costs a fraction of a millisecond against the work; no pool outlives the call.
    with ThreadPoolExecutor(bands, thread_name_prefix="bands") as pool:
        return list(pool.map(work, [slice(start, min(n_rows, start + step)) for start in range(0, n_rows, step)]))
