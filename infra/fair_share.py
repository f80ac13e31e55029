"""Light work first: on one interpreter, runs with a large upload or a long CPU history give way to short ones.

Every thread of a process shares one interpreter lock, and threads have no priorities. A
pipeline chewing through a 100,000-row upload keeps the lock busy, and a member's ordinary
upload beside it slows far more than twofold: each time the short run lets go of the lock
(a SQLite query, a numpy call, a hand-off between threads) it waits a whole switch interval
to get it back. bench/request_cost.py measured a 0.1 s upload at about eleven times that
beside the largest uploads the limits allow.

So runs cooperate. Each run (reading an upload, then its use case) holds a ticket, and at
its checkpoints a heavy run waits while a light run is working. A
run is heavy once its upload is known to unzip to more than `large_bytes`, or once it has
used `light_cpu_s` seconds of CPU. A light run waiting on an upstream holds nobody back.
A heavy run waits at most `max_wait_s` at a time; then it takes a turn of its own, working
alone for a twentieth of that wait while light runs hold still at their checkpoints (were
they to run beside it, they would be slowed as above). So a steady stream of small runs
slows a big one down, to a twentieth of the interpreter at worst, but never stops it.

Checkpoints are placed by the code that orders a run, never by services/: between steps (every
status and log line of a run passes one), and around long loops from outside, by handing a
pure function its input through `pace` (one checkpoint every CHECK_EVERY items) or in slices
(`in_slices`). `waiting` marks a wait on something outside the process (an upstream), during
which the run holds nobody back; `weigh` says how large a run's input is once it is known.
Without a scheduler installed on the thread (`LightFirst.running`), each costs a thread-local lookup.
"""
from __future__ import annotations

import threading
import time
from contextlib import AbstractContextManager, contextmanager
from itertools import chain, islice
from typing import Callable, Iterable, Iterator, Protocol, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MAX_WAIT_S = 1.0
TURN_SHARE = 0.05  # CPU a heavy run uses alone after a wait that ran out, as a share of that wait
CHECK_EVERY = 512  # items between checkpoints in `pace` and `in_slices`: well under a millisecond of work each


# ----- checkpoints: where a run may step aside ---------------------------------------------------


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


def pace(items: Iterable[T], n: int = CHECK_EVERY) -> Iterator[T]:
    """Iterate items, passing a checkpoint before every n of them (hand this to a loop that is not ours)."""
    gate = getattr(_local, "gate", None)
    if gate is None:
        return iter(items)
    source = iter(items)

    def next_slice() -> list[T]:
        chunk = list(islice(source, n))
        if chunk:
            gate.checkpoint()
        return chunk

    # Slices of n, joined again: per item, iteration stays in C; Python runs once per slice.
    return chain.from_iterable(iter(next_slice, []))


def in_slices(work: Callable[[Sequence[T]], list[R]], items: Sequence[T], n: int = CHECK_EVERY) -> list[R]:
    """`work` over consecutive slices of items, a checkpoint before each, the answers joined in order."""
    if getattr(_local, "gate", None) is None or len(items) <= n:
        return list(work(items))
    out: list[R] = []
    for start in range(0, len(items), n):
        checkpoint()
        out.extend(work(items[start:start + n]))
    return out


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


# ----- the scheduler ----------------------------------------------------------------------------


class Ticket:
    """One run's standing: whether it is heavy, and the CPU it has used on every thread so far."""

    __slots__ = ("heavy", "cpu_s", "turn_until_s")

    def __init__(self) -> None:
        self.heavy = False
        self.cpu_s = 0.0
        self.turn_until_s = 0.0  # while it holds the turn: the CPU total at which it gives the turn back


class LightFirst:
    """Counts the light runs working in this process and makes heavy runs wait for them at checkpoints."""

    def __init__(self, large_bytes: int, light_cpu_s: float, max_wait_s: float = MAX_WAIT_S) -> None:
        self.large_bytes = int(large_bytes)
        self.light_cpu_s = float(light_cpu_s)
        self.max_wait_s = float(max_wait_s)
        self._cond = threading.Condition()
        self._light = 0  # light runs working now (not waiting on an upstream)
        self._turn: Ticket | None = None  # the heavy run working alone after a long wait
        self.waits = 0  # how many times a heavy run waited (for tests and benchmarks)
        self.turns = 0  # how many turns heavy runs took

    @property
    def light_working(self) -> int:
        return self._light

    @contextmanager
    def running(self, ticket: Ticket | None = None) -> Iterator[Ticket]:
        """Run the body as (part of) one run: this thread's checkpoints answer to this scheduler."""
        gate = _Gate(self, ticket or Ticket())
        previous = install(gate)
        gate.enter()
        try:
            yield gate.ticket
        finally:
            gate.leave()
            install(previous)

    def _join(self) -> None:
        with self._cond:
            self._light += 1

    def _leave(self) -> None:
        with self._cond:
            self._light -= 1
            if self._light == 0:
                self._cond.notify_all()

    def _wait_for_light(self, ticket: Ticket, used_s: float) -> None:
        """Wait until no light run is working; after max_wait_s, take the turn (or wait for the one who has it)."""
        deadline = time.monotonic() + self.max_wait_s
        with self._cond:
            if self._light:
                self.waits += 1
            while self._light:
                left = deadline - time.monotonic()
                if left <= 0 and self._turn is None:
                    self._turn = ticket
                    ticket.turn_until_s = used_s + TURN_SHARE * self.max_wait_s
                    self.turns += 1
                    return
                self._cond.wait(left if left > 0 else self.max_wait_s)

    def _wait_for_turn(self, ticket: Ticket) -> None:
        """A light run holds still while a heavy run has its turn (at most max_wait_s)."""
        deadline = time.monotonic() + self.max_wait_s
        with self._cond:
            while self._turn is not None and self._turn is not ticket:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._cond.wait(left)

    def _end_turn(self, ticket: Ticket) -> None:
        with self._cond:
            if self._turn is ticket:
                self._turn = None
                self._cond.notify_all()


class _Gate:
    """One thread's view of a run: counts it as light while it is, and pauses it at checkpoints once heavy."""

    def __init__(self, scheduler: LightFirst, ticket: Ticket) -> None:
        self.scheduler = scheduler
        self.ticket = ticket
        self._cpu0 = 0.0
        self._counted = False

    def enter(self) -> None:
        self._cpu0 = time.thread_time()
        if not self.ticket.heavy:
            self.scheduler._join()
            self._counted = True

    def leave(self) -> None:
        self.ticket.cpu_s = self._used()
        self._uncount()
        self.scheduler._end_turn(self.ticket)

    def _used(self) -> float:
        return self.ticket.cpu_s + time.thread_time() - self._cpu0

    def _uncount(self) -> None:
        if self._counted:
            self._counted = False
            self.scheduler._leave()

    def _turn_heavy(self) -> None:
        self.ticket.heavy = True
        self._uncount()

    def weigh(self, size_bytes: int) -> None:
        if not self.ticket.heavy and size_bytes > self.scheduler.large_bytes:
            self._turn_heavy()

    def checkpoint(self) -> None:
        ticket, scheduler = self.ticket, self.scheduler
        if not ticket.heavy:
            if self._used() < scheduler.light_cpu_s:
                if scheduler._turn is not None:
                    scheduler._wait_for_turn(ticket)
                return
            self._turn_heavy()
        if scheduler._turn is ticket:
            if self._used() < ticket.turn_until_s:
                return
            scheduler._end_turn(ticket)
        if scheduler.light_working:
            scheduler._wait_for_light(ticket, self._used())

    @contextmanager
    def idle(self) -> Iterator[None]:
        counted = self._counted
        self._uncount()
        try:
            yield
        finally:
            if counted and not self.ticket.heavy:
                self.scheduler._join()
                self._counted = True
