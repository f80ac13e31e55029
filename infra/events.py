"""The event bus behind the three SSE channels: in-process, or Redis Streams shared by all workers.

Every event gets an id that orders it within its (request, channel) stream, so a
reader that reconnects with the last id it saw receives exactly what it missed.
A stream ends with a terminal event (`status` of `complete` or `error`).
"""
from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Protocol

from infra.redis_link import REDIS_ERRORS, RedisLink

log = logging.getLogger(__name__)

CHANNELS = ("logs", "recommendations", "status")
TERMINAL_STATUSES = frozenset({"complete", "error"})
KEY_PREFIX = "lbr:events:"
DISPATCH_BLOCK_MS = 250

Event = tuple[str, dict]
# A Redis Streams id: milliseconds and a sequence number, each below 2**64.
_STREAM_ID = re.compile(r"^(\d{1,19})-(\d{1,19})$")


def is_terminal(data: dict) -> bool:
    """Whether an event ends its channel."""
    return data.get("status") in TERMINAL_STATUSES and data.get("type") is None


class EventBus(Protocol):
    def publish(self, request_id: str, channel: str, data: dict) -> str: ...
    def read(self, request_id: str, channel: str, after: str | None, timeout_s: float) -> list[Event]: ...
    def open(self, request_id: str) -> None: ...
    def exists(self, request_id: str) -> bool: ...
    def expire(self, request_id: str, ttl_s: float) -> None: ...


@dataclass
class _Stream:
    events: deque
    seq: int = 0
    touched: float = field(default_factory=time.monotonic)


class MemoryEventBus:
    """Events kept in bounded per-stream queues in this process, read by any number of readers."""

    def __init__(self, maxsize: int = 1000, max_age_s: float = 3600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.maxsize = maxsize
        self.max_age_s = max_age_s
        self._clock = clock
        self._streams: dict[tuple[str, str], _Stream] = {}
        self._known: dict[str, float] = {}
        self._expires: dict[str, float] = {}  # request -> when all its events go, once its job ended
        self._lock = threading.Lock()
        self._waiters: dict[tuple[str, str], threading.Condition] = {}

    def _condition(self, key: tuple[str, str]) -> threading.Condition:
        cond = self._waiters.get(key)
        if cond is None:
            cond = self._waiters[key] = threading.Condition(self._lock)
        return cond

    def open(self, request_id: str) -> None:
        with self._lock:
            self._known[request_id] = self._clock()

    def exists(self, request_id: str) -> bool:
        with self._lock:
            self._evict()
            return request_id in self._known

    def expire(self, request_id: str, ttl_s: float) -> None:
        """Drop every event of a request ttl_s from now (its job ended; they go with its result)."""
        with self._lock:
            self._expires[request_id] = self._clock() + ttl_s

    def _evict(self) -> None:
        now = self._clock()
        cutoff = now - self.max_age_s
        for rid, touched in list(self._known.items()):
            expired = self._expires.get(rid, now + 1) <= now
            if expired or touched < cutoff and all(
                (s := self._streams.get((rid, ch))) is None or s.touched < cutoff for ch in CHANNELS
            ):
                del self._known[rid]
                self._expires.pop(rid, None)
                for ch in CHANNELS:
                    self._streams.pop((rid, ch), None)
                    self._waiters.pop((rid, ch), None)

    def publish(self, request_id: str, channel: str, data: dict) -> str:
        with self._lock:
            self._known.setdefault(request_id, self._clock())
            stream = self._streams.get((request_id, channel))
            if stream is None:
                stream = self._streams[(request_id, channel)] = _Stream(deque(maxlen=self.maxsize))
            stream.seq += 1
            stream.touched = self._clock()
            event_id = str(stream.seq)
            stream.events.append((event_id, data))
            waiters = self._waiters.get((request_id, channel))
            if waiters is not None:
                waiters.notify_all()
            return event_id

    def _after(self, request_id: str, channel: str, after: str | None) -> list[Event]:
        stream = self._streams.get((request_id, channel))
        if stream is None:
            return []
        try:
            last = int(after) if after else 0
        except ValueError:
            last = 0
        return [e for e in stream.events if int(e[0]) > last]

    def read(self, request_id: str, channel: str, after: str | None, timeout_s: float) -> list[Event]:
        deadline = time.monotonic() + timeout_s
        with self._lock:
            cond = self._condition((request_id, channel))
            while True:
                events = self._after(request_id, channel, after)
                remaining = deadline - time.monotonic()
                if events or remaining <= 0:
                    return events
                cond.wait(remaining)


class RedisEventBus:
    """Events in Redis Streams, so any worker or instance can serve any stream.

    One dispatcher thread per process blocks on XREAD for every stream that has a
    waiting reader and wakes those readers, so a thousand open SSE connections
    cost one Redis connection, not a thousand.
    """

    def __init__(self, link: RedisLink, fallback: MemoryEventBus, maxsize: int = 1000,
                 max_age_s: float = 3600.0) -> None:
        self.link = link
        self.fallback = fallback
        self.maxsize = maxsize
        self.max_age_s = max_age_s
        self._lock = threading.Lock()
        self._conds: dict[str, threading.Condition] = {}
        self._waiting: dict[str, int] = {}
        self._last_seen: dict[str, bytes] = {}
        self._dispatcher: threading.Thread | None = None

    @staticmethod
    def _key(request_id: str, channel: str) -> str:
        return f"{KEY_PREFIX}{request_id}:{channel}"

    def open(self, request_id: str) -> None:
        ttl = int(self.max_age_s)
        key = f"{KEY_PREFIX}{request_id}:known"
        self.link.run(lambda r: r.set(key, b"1", ex=ttl), lambda: self.fallback.open(request_id))

    def exists(self, request_id: str) -> bool:
        key = f"{KEY_PREFIX}{request_id}:known"
        return bool(self.link.run(lambda r: r.exists(key), lambda: self.fallback.exists(request_id)))

    def expire(self, request_id: str, ttl_s: float) -> None:
        """Drop every event of a request ttl_s from now (its job ended; they go with its result)."""
        keys = [self._key(request_id, ch) for ch in CHANNELS] + [f"{KEY_PREFIX}{request_id}:known"]

        def write(r) -> None:
            pipe = r.pipeline()
            for key in keys:
                pipe.expire(key, max(1, int(ttl_s)))
            pipe.execute()

        self.fallback.expire(request_id, ttl_s)
        self.link.run(write, lambda: None)

    def publish(self, request_id: str, channel: str, data: dict) -> str:
        key = self._key(request_id, channel)
        raw = json.dumps(data)
        ttl = int(self.max_age_s)

        def write(r) -> str:
            pipe = r.pipeline()
            pipe.xadd(key, {"d": raw}, maxlen=self.maxsize, approximate=False)
            pipe.expire(key, ttl)
            pipe.set(f"{KEY_PREFIX}{request_id}:known", b"1", ex=ttl)
            event_id, _, _ = pipe.execute()
            return event_id.decode()

        return self.link.run(write, lambda: self.fallback.publish(request_id, channel, data))

    def _range(self, key: str, after: str | None) -> list[Event]:
        start = f"({after}" if after and "-" in after else "-"
        entries = self.link.client.xrange(key, min=start, max="+")
        return [(eid.decode(), json.loads(fields[b"d"])) for eid, fields in entries]

    def read(self, request_id: str, channel: str, after: str | None, timeout_s: float) -> list[Event]:
        if after and "-" in after and not _STREAM_ID.fullmatch(after):
            after = None  # not an id this bus gave (a client's Last-Event-ID): read from the start
        key = self._key(request_id, channel)
        if not self.link.up:
            return self.fallback.read(request_id, channel, after, timeout_s)
        deadline = time.monotonic() + timeout_s
        try:
            events = self._range(key, after)
            if not events and (after is None or "-" not in after):
                # Events published while Redis was down live in this process's fallback bus.
                events = self.fallback.read(request_id, channel, after, 0)
            if events or timeout_s <= 0:
                return events
            self._ensure_dispatcher()
            with self._lock:
                cond = self._conds.get(key) or self._conds.setdefault(key, threading.Condition(self._lock))
                self._waiting[key] = self._waiting.get(key, 0) + 1
                # Start the dispatcher from what this reader has seen, so nothing that lands
                # between the range read above and the next XREAD is missed.
                self._last_seen.setdefault(key, (after if after and "-" in after else "0-0").encode())
            try:
                while True:
                    with self._lock:
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            return []
                        cond.wait(remaining)
                    events = self._range(key, after)
                    if events:
                        return events
            finally:
                with self._lock:
                    self._waiting[key] -= 1
                    if self._waiting[key] <= 0:
                        del self._waiting[key]
                        self._last_seen.pop(key, None)
                        self._conds.pop(key, None)
        except REDIS_ERRORS as exc:
            self.link.mark_down(exc)
            return self.fallback.read(request_id, channel, after, max(0.0, deadline - time.monotonic()))

    def _ensure_dispatcher(self) -> None:
        with self._lock:
            if self._dispatcher is None or not self._dispatcher.is_alive():
                self._dispatcher = threading.Thread(target=self._dispatch, name="sse-dispatch", daemon=True)
                self._dispatcher.start()

    def _dispatch(self) -> None:
        while True:
            with self._lock:
                keys = {k: self._last_seen.get(k, b"0-0") for k in self._waiting}
            if not keys:
                time.sleep(DISPATCH_BLOCK_MS / 1000 / 5)
                continue
            try:
                result = self.link.client.xread(keys, block=DISPATCH_BLOCK_MS, count=self.maxsize)
            except REDIS_ERRORS as exc:
                self.link.mark_down(exc)
                with self._lock:
                    for cond in self._conds.values():
                        cond.notify_all()
                time.sleep(DISPATCH_BLOCK_MS / 1000)
                continue
            if result:
                with self._lock:
                    for raw_key, entries in result:
                        key = raw_key.decode()
                        if entries:
                            self._last_seen[key] = entries[-1][0]
                        if key in self._conds:
                            self._conds[key].notify_all()
