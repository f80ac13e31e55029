"""One Redis connection pool per process, and a guard that notices outages and recovery.

The pool blocks: under a burst a caller waits up to `pool_timeout_s` for a free
connection instead of failing at once, and the number of connections stays bounded.

    redis.exceptions.ConnectionError / TimeoutError / OSError   (Redis unreachable)
        -> RedisLink.mark_down(); for `retry_after_s` every call skips Redis
        -> run(fn, fallback): fallback()   for what is private to this process (caches)
        -> call(fn): RedisUnavailable (503) for shared state another process must see
    PoolExhausted (no free connection within pool_timeout_s)
        -> run: fallback();  call: RedisBusy (503); Redis is not marked down
    the first call that succeeds after an outage runs the recovery hooks (outboxes flush)
"""
from __future__ import annotations

import inspect
import logging
import math
import os
import queue
import threading
import time
import weakref
from typing import Callable, TypeVar

import redis

from services.errors import BUSY, REDIS_UNAVAILABLE, Busy

log = logging.getLogger(__name__)
T = TypeVar("T")

REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)


class PoolExhausted(redis.exceptions.RedisError):
    """Every connection of this process's pool stayed in use for the whole wait."""


# Anything that keeps a Redis call from answering: for code that degrades rather than fail.
REDIS_TROUBLE = (*REDIS_ERRORS, PoolExhausted)


class RedisUnavailable(Busy):
    """Redis, which holds what every process must see, cannot be reached right now."""

    code = REDIS_UNAVAILABLE


class RedisBusy(Busy):
    """This process has no free Redis connection right now."""

    code = BUSY


class _BlockingPool(redis.BlockingConnectionPool):
    """A blocking pool whose "no free connection" is told apart from "Redis is unreachable"."""

    def get_connection(self, *args, **kwargs):
        try:
            return super().get_connection(*args, **kwargs)
        except redis.exceptions.ConnectionError as exc:
            # redis-py raises ConnectionError from inside `except queue.Empty` when the wait runs out.
            if isinstance(exc.__context__, queue.Empty):
                raise PoolExhausted("no free Redis connection in this process") from exc
            raise


def blocking_pool(url: str, max_connections: int = 64, pool_timeout_s: float = 5.0,
                  socket_timeout_s: float = 5.0) -> redis.BlockingConnectionPool:
    """A bounded pool whose callers wait up to pool_timeout_s for a free connection."""
    return _BlockingPool.from_url(
        url, max_connections=max(2, int(max_connections)), timeout=pool_timeout_s,
        socket_timeout=socket_timeout_s, socket_connect_timeout=socket_timeout_s, health_check_interval=10,
    )


_process_pools: dict[tuple[int, str], redis.BlockingConnectionPool] = {}
_process_pools_lock = threading.Lock()


def process_pool(url: str, max_connections: int = 64, pool_timeout_s: float = 5.0) -> redis.BlockingConnectionPool:
    """The one pool of this process for url, shared by the app's Redis users and its rate limiter."""
    key = (os.getpid(), url)  # a forked process (a gunicorn worker) builds its own
    with _process_pools_lock:
        pool = _process_pools.get(key)
        if pool is None:
            pool = _process_pools[key] = blocking_pool(url, max_connections, pool_timeout_s)
        return pool


class RedisLink:
    """A Redis client on a bounded blocking pool, with outage tracking and recovery hooks."""

    def __init__(self, url: str, retry_after_s: float = 2.0, socket_timeout_s: float = 5.0,
                 max_connections: int = 64, pool_timeout_s: float = 5.0,
                 pool: redis.BlockingConnectionPool | None = None) -> None:
        self.url = url
        self.pool = pool if pool is not None else blocking_pool(url, max_connections, pool_timeout_s,
                                                                socket_timeout_s)
        self.client = redis.Redis(connection_pool=self.pool)
        # A pool made for this link closes with its client; the process's shared pool lives as long as it.
        self.client.auto_close_connection_pool = pool is None
        self.retry_after_s = retry_after_s
        self._down_until = 0.0
        self._was_down = False
        self._lock = threading.Lock()
        self._hooks: list[Callable[[], None]] = []
        self._recovering = threading.Lock()
        self.outages = 0

    @property
    def up(self) -> bool:
        """Whether Redis is believed reachable (or due for another try)."""
        return time.monotonic() >= self._down_until

    @property
    def client_retry_after_s(self) -> int:
        """Seconds a client refused because of an outage should wait before trying again."""
        return max(1, math.ceil(self.retry_after_s))

    def mark_down(self, exc: BaseException) -> None:
        with self._lock:
            if not self._was_down:
                self.outages += 1
                log.warning("redis unavailable: %s", exc.__class__.__name__)
            self._was_down = True
            self._down_until = time.monotonic() + self.retry_after_s

    def on_recovery(self, hook: Callable[[], None]) -> None:
        """Call hook (in the calling thread) the first time Redis answers after an outage.

        A bound method is held weakly: its object (a bus, a store) holds this link, and a cycle
        would keep both, and their sockets, until the collector happens by.
        """
        self._hooks.append(weakref.WeakMethod(hook) if inspect.ismethod(hook) else (lambda: hook))

    def _answered(self) -> None:
        if not self._was_down:
            return
        with self._lock:
            if not self._was_down:
                return
            self._was_down = False
            self._down_until = 0.0
        log.warning("redis reachable again")
        self.recover()

    def recover(self) -> None:
        """Run the recovery hooks (one thread at a time); a hook that fails marks Redis down again."""
        with self._recovering:
            for ref in list(self._hooks):
                hook = ref()
                if hook is None:
                    self._hooks.remove(ref)
                    continue
                try:
                    hook()
                except REDIS_ERRORS as exc:
                    self.mark_down(exc)
                    return
                except Exception:  # noqa: BLE001 - one hook's bug must not stop the others
                    log.exception("redis recovery hook failed")

    def run(self, fn: Callable[[redis.Redis], T], fallback: Callable[[], T]) -> T:
        """Run fn against Redis, or fallback() while Redis is down or this process has no free connection."""
        if not self.up:
            return fallback()
        try:
            result = fn(self.client)
        except PoolExhausted:
            return fallback()
        except REDIS_ERRORS as exc:
            self.mark_down(exc)
            return fallback()
        self._answered()
        return result

    def call(self, fn: Callable[[redis.Redis], T]) -> T:
        """Run fn against Redis, or raise a 503 the client can retry: for state every process must see."""
        if not self.up:
            raise RedisUnavailable("A shared part of the service is unreachable; please try again shortly.",
                                   retry_after=self.client_retry_after_s)
        try:
            result = fn(self.client)
        except PoolExhausted as exc:
            raise RedisBusy("The service is very busy right now; please try again shortly.",
                            retry_after=self.client_retry_after_s) from exc
        except REDIS_ERRORS as exc:
            self.mark_down(exc)
            raise RedisUnavailable("A shared part of the service is unreachable; please try again shortly.",
                                   retry_after=self.client_retry_after_s) from exc
        self._answered()
        return result

    def close(self) -> None:
        """Close every connection of this link's pool."""
        self.pool.disconnect()

    def ping(self) -> bool:
        try:
            ok = bool(self.client.ping())
        except PoolExhausted:
            return True  # every connection is busy talking to Redis, so it answers
        except REDIS_ERRORS as exc:
            self.mark_down(exc)
            return False
        self._down_until = 0.0
        self._answered()
        return ok
