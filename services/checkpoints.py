"""Places in long work where it may step aside for shorter work running beside it.

Pure code calls `checkpoint()` in its long loops (or iterates through `every`), and says
when it is about to wait on something outside the process (`waiting`). Nothing happens
unless the thread runs under a scheduler (infra.fair_share), which installs a `Gate`
for the duration of one run; without one these calls cost a thread-local lookup.
"""
from __future__ import annotations

import threading
from contextlib import AbstractContextManager, contextmanager
from typing import Iterable, Iterator, Protocol, TypeVar

T = TypeVar("T")

CHECK_EVERY = 512  # items between checkpoints in `every`: well under a millisecond of work each


class Gate(Protocol):
    """What a scheduler lets a run do at its checkpoints."""

    def checkpoint(self) -> None: ...

    def weigh(self, size_bytes: int) -> None: ...

    def idle(self) -> AbstractContextManager[None]: ...


_local = threading.local()


def install(gate: Gate | None) -> Gate | None:
    """Make `gate` this thread's gate (None removes it); returns the one it replaces."""
    previous = getattr(_local, "gate", None)
    _local.gate = gate
    return previous


def checkpoint() -> None:
    """Let the scheduler pause this run here if shorter work is waiting for the interpreter."""
    gate = getattr(_local, "gate", None)
    if gate is not None:
        gate.checkpoint()


def every(items: Iterable[T], n: int = CHECK_EVERY) -> Iterator[T]:
    """Iterate items, passing a checkpoint every n of them."""
    gate = getattr(_local, "gate", None)
    if gate is None:
        yield from items
        return
    for i, item in enumerate(items):
        if i % n == 0:
            gate.checkpoint()
        yield item


def weigh(size_bytes: int) -> None:
    """Tell the scheduler how large this run's input is, as soon as it is known (an upload's unzipped size)."""
    gate = getattr(_local, "gate", None)
    if gate is not None:
        gate.weigh(size_bytes)


@contextmanager
def waiting() -> Iterator[None]:
    """Mark a wait on something outside the process (an upstream): the run holds nobody back meanwhile."""
    gate = getattr(_local, "gate", None)
    if gate is None:
        yield
        return
    with gate.idle():
        yield
