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
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Callable, Protocol

import redis

from infra.redis_link import REDIS_ERRORS, PoolExhausted, RedisLink

log = logging.getLogger(__name__)

CHANNELS = ("logs", "recommendations", "status")
TERMINAL_STATUSES = frozenset({"complete", "error"})
KEY_PREFIX = "lbr:events:"
DISPATCH_BLOCK_MS = 250
LAST_IDS_KEPT = 50_000  # streams whose last id this process remembers, to number held events after them
BUSY_WAIT_S = 0.2

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

    While Redis is unreachable, events are held in this process's outbox under ids
    of the same `ms-seq` form, readers in this process read them from there, and the
    first call that reaches Redis again writes them with those same ids, so a reader
    who reconnects anywhere resumes from the last id it saw.
    """

    def __init__(self, link: RedisLink, maxsize: int = 1000, max_age_s: float = 3600.0) -> None:
        self.link = link
        self.maxsize = maxsize
        self.max_age_s = max_age_s
        self._lock = threading.Lock()
        self._flush_lock = threading.RLock()
        self._conds: dict[str, threading.Condition] = {}
        self._waiting: dict[str, int] = {}
        self._last_seen: dict[str, bytes] = {}
        self._dispatcher: threading.Thread | None = None
        self._outbox: dict[str, deque] = {}  # key -> (event id, request id, json) held while Redis was away
        self._held_requests: set[str] = set()
        self._held_expiry: dict[str, float] = {}  # request id -> ttl to set once its held events are written
        self._last_ids: OrderedDict[str, tuple[int, int]] = OrderedDict()
        link.on_recovery(self.flush)

    @staticmethod
    def _key(request_id: str, channel: str) -> str:
        return f"{KEY_PREFIX}{request_id}:{channel}"

    @staticmethod
    def _known_key(request_id: str) -> str:
        return f"{KEY_PREFIX}{request_id}:known"

    def open(self, request_id: str) -> None:
        """Mark a request as known to every process; raises RedisUnavailable when Redis cannot say so."""
        ttl = int(self.max_age_s)
        self.link.call(lambda r: r.set(self._known_key(request_id), b"1", ex=ttl))

    def exists(self, request_id: str) -> bool:
        """Whether the request has events or was opened; raises RedisUnavailable when nobody can tell."""
        with self._lock:
            if request_id in self._held_requests:
                return True
        return bool(self.link.call(lambda r: r.exists(self._known_key(request_id))))

    def expire(self, request_id: str, ttl_s: float) -> None:
        """Drop every event of a request ttl_s from now (its job ended; they go with its result)."""
        keys = [self._key(request_id, ch) for ch in CHANNELS] + [self._known_key(request_id)]

        def write(r) -> None:
            pipe = r.pipeline()
            for key in keys:
                pipe.expire(key, max(1, int(ttl_s)))
            pipe.execute()

        def later() -> None:
            with self._lock:
                self._held_expiry[request_id] = ttl_s

        with self._lock:
            held = request_id in self._held_requests
        if held:
            later()
            self._flush_if_up()
        else:
            self.link.run(write, later)

    # ----- writing -----------------------------------------------------------------------------

    def _remember(self, key: str, event_id: str) -> None:
        ms, seq = event_id.split("-")
        with self._lock:
            self._last_ids[key] = (int(ms), int(seq))
            self._last_ids.move_to_end(key)
            while len(self._last_ids) > LAST_IDS_KEPT:
                self._last_ids.popitem(last=False)

    def _write(self, r, key: str, request_id: str, raw: str, event_id: str = "*") -> str:
        ttl = int(self.max_age_s)
        pipe = r.pipeline()
        pipe.xadd(key, {"d": raw}, id=event_id, maxlen=self.maxsize, approximate=False)
        pipe.expire(key, ttl)
        pipe.set(self._known_key(request_id), b"1", ex=ttl)
        written, _, _ = pipe.execute()
        written = written.decode() if isinstance(written, bytes) else str(written)
        self._remember(key, written)
        return written

    def _hold(self, key: str, request_id: str, raw: str) -> str:
        """Keep an event in this process until Redis answers again; return the id it will have there."""
        now_ms = int(time.time() * 1000)
        with self._lock:
            last_ms, last_seq = self._last_ids.get(key, (0, 0))
            ms, seq = (now_ms, 0) if now_ms > last_ms else (last_ms, last_seq + 1)
            self._last_ids[key] = (ms, seq)
            event_id = f"{ms}-{seq}"
            box = self._outbox.setdefault(key, deque(maxlen=self.maxsize))
            box.append((event_id, request_id, raw))
            self._held_requests.add(request_id)
            cond = self._conds.get(key)
            if cond is not None:
                cond.notify_all()
        return event_id

    def publish(self, request_id: str, channel: str, data: dict) -> str:
        key = self._key(request_id, channel)
        raw = json.dumps(data)
        with self._lock:
            held = key in self._outbox
        if held:  # events held earlier go first: keep the order
            event_id = self._hold(key, request_id, raw)
            self._flush_if_up()
            return event_id
        return self.link.run(lambda r: self._write(r, key, request_id, raw), lambda: self._hold(key, request_id, raw))

    def _flush_if_up(self) -> None:
        if self.link.up:
            self.link.run(lambda r: self.flush(), lambda: None)

    def flush(self) -> None:
        """Write every held event to Redis under its id, oldest first; raises a Redis error if it goes away."""
        with self._flush_lock:
            while True:
                with self._lock:
                    key = next((k for k, box in self._outbox.items() if box), None)
                    if key is None:
                        self._outbox.clear()
                        expiries = dict(self._held_expiry)
                        self._held_expiry.clear()
                        self._held_requests.clear()
                        break
                    event_id, request_id, raw = self._outbox[key][0]
                try:
                    self._write(self.link.client, key, request_id, raw, event_id)
                except redis.exceptions.ResponseError:
                    # Redis already holds later ids for this stream (another process wrote after the
                    # outage began): append with a fresh id rather than lose the event.
                    self._write(self.link.client, key, request_id, raw)
                with self._lock:
                    box = self._outbox.get(key)
                    if box and box[0][0] == event_id:
                        box.popleft()
                    if box is not None and not box:
                        del self._outbox[key]
        for request_id, ttl in expiries.items():
            self.expire(request_id, ttl)

    # ----- reading -----------------------------------------------------------------------------

    @staticmethod
    def _order(event_id: str) -> tuple[int, int]:
        match = _STREAM_ID.fullmatch(event_id or "")
        return (int(match.group(1)), int(match.group(2))) if match else (0, 0)

    def _held_after(self, key: str, after: str | None) -> list[Event]:
        floor = self._order(after) if after else (-1, -1)
        with self._lock:
            box = list(self._outbox.get(key, ()))
        return [(eid, json.loads(raw)) for eid, _, raw in box if self._order(eid) > floor]

    def _range(self, key: str, after: str | None) -> list[Event]:
        start = f"({after}" if after and "-" in after else "-"
        entries = self.link.client.xrange(key, min=start, max="+")
        events = [(eid.decode(), json.loads(fields[b"d"])) for eid, fields in entries]
        held = self._held_after(key, after)
        if held:  # written to Redis by now, or still waiting for it: each id once, in order
            seen = {eid for eid, _ in events}
            events = sorted(events + [e for e in held if e[0] not in seen], key=lambda e: self._order(e[0]))
        return events

    def _read_held(self, key: str, after: str | None, timeout_s: float) -> list[Event]:
        """Events held in this process while Redis is away, waiting up to timeout_s for one."""
        deadline = time.monotonic() + timeout_s
        while True:
            events = self._held_after(key, after)
            remaining = deadline - time.monotonic()
            if events or remaining <= 0 or self.link.up:
                return events
            with self._lock:
                cond = self._conds.get(key) or self._conds.setdefault(key, threading.Condition(self._lock))
                cond.wait(min(remaining, self.link.retry_after_s))

    def read(self, request_id: str, channel: str, after: str | None, timeout_s: float) -> list[Event]:
        if after and not _STREAM_ID.fullmatch(after):
            after = None  # not an id this bus gave (a client's Last-Event-ID): read from the start
        key = self._key(request_id, channel)
        if not self.link.up:
            return self._read_held(key, after, timeout_s)
        deadline = time.monotonic() + timeout_s
        try:
            events = self._range(key, after)
            if events or timeout_s <= 0:
                return events
            self._ensure_dispatcher()
            with self._lock:
                cond = self._conds.get(key) or self._conds.setdefault(key, threading.Condition(self._lock))
                self._waiting[key] = self._waiting.get(key, 0) + 1
                # Start the dispatcher from what this reader has seen, so nothing that lands
                # between the range read above and the next XREAD is missed.
                self._last_seen.setdefault(key, (after or "0-0").encode())
            try:
                while True:
                    with self._lock:
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            return []
                        cond.wait(remaining)
                    if not self.link.up:
                        return self._read_held(key, after, max(0.0, deadline - time.monotonic()))
                    events = self._range(key, after)
                    if events:
                        return events
            finally:
                with self._lock:
                    self._waiting[key] -= 1
                    if self._waiting[key] <= 0:
                        del self._waiting[key]
                        self._last_seen.pop(key, None)
                        if key not in self._outbox:
                            self._conds.pop(key, None)
        except PoolExhausted:
            time.sleep(min(BUSY_WAIT_S, max(0.0, deadline - time.monotonic())))
            return []
        except REDIS_ERRORS as exc:
            self.link.mark_down(exc)
            return self._read_held(key, after, max(0.0, deadline - time.monotonic()))

    def _ensure_dispatcher(self) -> None:
        with self._lock:
            if self._dispatcher is None or not self._dispatcher.is_alive():
                self._dispatcher = threading.Thread(target=self._dispatch, name="sse-dispatch", daemon=True)
                self._dispatcher.start()

    def _wake_all(self) -> None:
        with self._lock:
            for cond in self._conds.values():
                cond.notify_all()

    def _dispatch(self) -> None:
        while True:
            with self._lock:
                keys = {k: self._last_seen.get(k, b"0-0") for k in self._waiting}
            if not keys:
                time.sleep(DISPATCH_BLOCK_MS / 1000 / 5)
                continue
            try:
                result = self.link.client.xread(keys, block=DISPATCH_BLOCK_MS, count=self.maxsize)
            except PoolExhausted:
                time.sleep(BUSY_WAIT_S)
                continue
            except REDIS_ERRORS as exc:
                self.link.mark_down(exc)
                self._wake_all()
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
