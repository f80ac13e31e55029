"""Row bands over the cores, for the big array kernels of training and evaluation.

numpy's partitions and sorts and scipy's sparse products let go of the interpreter lock
while they run, so bands of rows handed to a few threads run at once. Small arrays stay
on the calling thread, where a thread hand-off would cost more than it saves.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

PARALLEL_CELLS = 250_000  # array cells (rows x columns) from which the rows are split over the cores
MAX_THREADS = 4

T = TypeVar("T")
_POOL: list[ThreadPoolExecutor] = []
_LOCK = threading.Lock()


def cores() -> int:
    """The number of bands a big array is split into."""
    return max(1, min(MAX_THREADS, os.cpu_count() or 1))


def map_bands(work: Callable[[slice], T], n_rows: int, cells: int) -> list[T]:
    """Return work(band) for consecutive bands of rows covering 0..n_rows, in order."""
    bands = min(cores(), n_rows) if cells >= PARALLEL_CELLS else 1
    if bands <= 1:
        return [work(slice(0, n_rows))]
    step = -(-n_rows // bands)
    return list(_pool().map(work, [slice(start, min(n_rows, start + step)) for start in range(0, n_rows, step)]))


def _pool() -> ThreadPoolExecutor:
    with _LOCK:
        if not _POOL:
            _POOL.append(ThreadPoolExecutor(cores(), thread_name_prefix="bands"))
        return _POOL[0]
