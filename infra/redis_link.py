"""One Redis connection pool per process, and a guard that notices outages and recovery.

    redis.exceptions.ConnectionError / TimeoutError
        -> RedisLink.mark_down(): callers use their in-process fallback
        -> after `retry_after_s` the next call tries Redis again
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable, TypeVar

import redis

log = logging.getLogger(__name__)
T = TypeVar("T")

REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)


class RedisLink:
    """A Redis client with outage tracking so callers can fall back instead of failing."""

    def __init__(self, url: str, retry_after_s: float = 2.0, socket_timeout_s: float = 5.0) -> None:
        self.url = url
        self.client = redis.Redis.from_url(
            url,
            socket_timeout=socket_timeout_s,
            socket_connect_timeout=socket_timeout_s,
            health_check_interval=10,
            decode_responses=False,
        )
        self.retry_after_s = retry_after_s
        self._down_until = 0.0
        self._lock = threading.Lock()
        self.outages = 0

    @property
    def up(self) -> bool:
        """Whether Redis is believed reachable (or due for another try)."""
        return time.monotonic() >= self._down_until

    def mark_down(self, exc: BaseException) -> None:
        with self._lock:
            if self.up:
                self.outages += 1
                log.warning("redis unavailable, using in-process fallback: %s", exc.__class__.__name__)
            self._down_until = time.monotonic() + self.retry_after_s

    def run(self, fn: Callable[[redis.Redis], T], fallback: Callable[[], T]) -> T:
        """Run fn against Redis, or fallback() while Redis is down."""
        if not self.up:
            return fallback()
        try:
            return fn(self.client)
        except REDIS_ERRORS as exc:
            self.mark_down(exc)
            return fallback()

    def ping(self) -> bool:
        try:
            ok = bool(self.client.ping())
        except REDIS_ERRORS as exc:
            self.mark_down(exc)
            return False
        self._down_until = 0.0
        return ok
