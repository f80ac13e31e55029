"""A namespaced cache: Redis when configured, else an in-process TTL store with LRU eviction.

Values are JSON-serialisable. A Redis outage falls back to the in-process store
without raising, and Redis is used again once it answers.
"""
from __future__ import annotations

import json
import threading
import time
from typing import Any, Callable, NamedTuple, Protocol

from cachetools import TLRUCache

from infra.redis_link import RedisLink

KEY_PREFIX = "lbr:cache:"
COMPUTE_LOCK_TTL_S = 30


class Cache(Protocol):
    def get(self, namespace: str, key: str) -> Any | None: ...
    def set(self, namespace: str, key: str, value: Any, ttl_s: float) -> None: ...
    def delete(self, namespace: str, key: str) -> None: ...
    def get_or_compute(self, namespace: str, key: str, ttl_s: float, fn: Callable[[], Any]) -> Any: ...


class _KeyLocks:
    """Per-key locks so concurrent misses of one key compute it once (no stampede)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, list] = {}

    def acquire(self, key: str) -> threading.Lock:
        with self._guard:
            entry = self._locks.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        entry[0].acquire()
        return entry[0]

    def release(self, key: str) -> None:
        with self._guard:
            entry = self._locks[key]
            entry[1] -= 1
            entry[0].release()
            if entry[1] == 0:
                del self._locks[key]


class _Entry(NamedTuple):
    ttl_s: float
    raw: str  # JSON: a value read back is a copy, as from Redis


def _expires(_key: str, entry: _Entry, now: float) -> float:
    return now + entry.ttl_s


class MemoryCache:
    """Thread-safe cache whose entries each live their own TTL, least recently used evicted at max_size."""

    def __init__(self, max_size: int = 10000, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_size = max_size
        self._data: TLRUCache[str, _Entry] = TLRUCache(max_size, _expires, timer=clock)
        self._lock = threading.Lock()
        self._key_locks = _KeyLocks()

    @staticmethod
    def _k(namespace: str, key: str) -> str:
        return f"{namespace}:{key}"

    def get(self, namespace: str, key: str) -> Any | None:
        with self._lock:
            entry = self._data.get(self._k(namespace, key))
        return None if entry is None else json.loads(entry.raw)

    def set(self, namespace: str, key: str, value: Any, ttl_s: float) -> None:
        entry = _Entry(ttl_s, json.dumps(value))
        with self._lock:
            self._data[self._k(namespace, key)] = entry

    def delete(self, namespace: str, key: str) -> None:
        with self._lock:
            self._data.pop(self._k(namespace, key), None)

    def __len__(self) -> int:
        with self._lock:
            self._data.expire()
            return len(self._data)

    def get_or_compute(self, namespace: str, key: str, ttl_s: float, fn: Callable[[], Any]) -> Any:
        value = self.get(namespace, key)
        if value is not None:
            return value
        k = self._k(namespace, key)
        self._key_locks.acquire(k)
        try:
            value = self.get(namespace, key)
            if value is None:
                value = fn()
                if value is not None:
                    self.set(namespace, key, value, ttl_s)
            return value
        finally:
            self._key_locks.release(k)


class RedisCache:
    """Cache in Redis, shared by every worker; falls back to memory while Redis is down."""

    def __init__(self, link: RedisLink, fallback: MemoryCache, lock_wait_s: float = 10.0) -> None:
        self.link = link
        self.fallback = fallback
        self.lock_wait_s = lock_wait_s
        self._key_locks = _KeyLocks()

    @staticmethod
    def _k(namespace: str, key: str) -> str:
        return f"{KEY_PREFIX}{namespace}:{key}"

    def get(self, namespace: str, key: str) -> Any | None:
        raw = self.link.run(lambda r: r.get(self._k(namespace, key)), lambda: None)
        if raw is None:
            return self.fallback.get(namespace, key) if not self.link.up else None
        return json.loads(raw)

    def set(self, namespace: str, key: str, value: Any, ttl_s: float) -> None:
        raw = json.dumps(value)
        ms = max(1, int(ttl_s * 1000))
        self.link.run(
            lambda r: r.set(self._k(namespace, key), raw, px=ms),
            lambda: self.fallback.set(namespace, key, value, ttl_s),
        )

    def delete(self, namespace: str, key: str) -> None:
        self.fallback.delete(namespace, key)
        self.link.run(lambda r: r.delete(self._k(namespace, key)), lambda: None)

    def get_or_compute(self, namespace: str, key: str, ttl_s: float, fn: Callable[[], Any]) -> Any:
        value = self.get(namespace, key)
        if value is not None:
            return value
        local = self._k(namespace, key)
        self._key_locks.acquire(local)
        try:
            value = self.get(namespace, key)
            if value is not None:
                return value
            lock_key = local + ":lock"
            got = self.link.run(lambda r: r.set(lock_key, b"1", nx=True, ex=COMPUTE_LOCK_TTL_S), lambda: True)
            if not got:
                # Another process is computing this key: wait briefly for its answer.
                deadline = time.monotonic() + self.lock_wait_s
                while time.monotonic() < deadline:
                    value = self.get(namespace, key)
                    if value is not None:
                        return value
                    if not self.link.run(lambda r: r.exists(lock_key), lambda: False):
                        break
                    time.sleep(0.05)
            try:
                value = fn()
                if value is not None:
                    self.set(namespace, key, value, ttl_s)
                return value
            finally:
                if got:
                    self.link.run(lambda r: r.delete(lock_key), lambda: None)
        finally:
            self._key_locks.release(local)
