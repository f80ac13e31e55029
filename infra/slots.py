"""Per-client counts of open things (SSE streams): across the fleet in Redis, or in this process.

Each open thing holds a lease: a token that counts against its client until it lapses, `lease_s`
after it was taken or last renewed. The holder renews while it is open and gives the token back
when it closes. A holder that stops without giving back (a process that died, a server that
dropped a connection without closing its response) stops counting once its lease lapses.
"""
from __future__ import annotations

import secrets
import threading
import time
from typing import Callable

from infra.redis_link import RedisLink

KEY_PREFIX = "lbr:client-streams:"
LOCAL_PREFIX = "local-"


class MemorySlots:
    """Counts in this process."""

    def __init__(self, lease_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.lease_s = lease_s
        self._clock = clock
        self._leases: dict[str, dict[str, float]] = {}  # client -> token -> when it lapses
        self._lock = threading.Lock()

    def take(self, client: str, limit: int) -> str | None:
        """A token for one more open thing, or None when the client holds `limit` already."""
        now = self._clock()
        with self._lock:
            held = self._live(client, now)
            if len(held) >= limit:
                return None
            token = LOCAL_PREFIX + secrets.token_hex(8)
            held[token] = now + self.lease_s
            self._leases[client] = held
            return token

    def renew(self, client: str, token: str) -> None:
        """Keep a token counting for another `lease_s`; a token that already lapsed stays gone."""
        with self._lock:
            held = self._leases.get(client)
            if held is not None and token in held:
                held[token] = self._clock() + self.lease_s

    def give_back(self, client: str, token: str) -> None:
        with self._lock:
            held = self._leases.get(client)
            if held is not None:
                held.pop(token, None)
                if not held:
                    del self._leases[client]

    def held(self, client: str) -> int:
        """How many tokens count against the client now."""
        with self._lock:
            return len(self._live(client, self._clock()))

    def _live(self, client: str, now: float) -> dict[str, float]:
        """The client's tokens that have not lapsed (called with the lock held)."""
        held = {token: lapses for token, lapses in self._leases.get(client, {}).items() if lapses > now}
        if held:
            self._leases[client] = held
        else:
            self._leases.pop(client, None)
        return held


class RedisSlots:
    """Counts shared by every process through Redis; while Redis is away, this process counts alone.

    A client's tokens are a sorted set scored by when each lapses.
    """

    def __init__(self, link: RedisLink, lease_s: float) -> None:
        self.link = link
        self.lease_s = lease_s
        self.local = MemorySlots(lease_s)

    def take(self, client: str, limit: int) -> str | None:
        key = KEY_PREFIX + client
        token = secrets.token_hex(8)

        def claim(r) -> str | None:
            now = time.time()
            pipe = r.pipeline()
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.zadd(key, {token: now + self.lease_s})
            pipe.zcard(key)
            pipe.expire(key, int(self.lease_s) + 1)
            _, _, held, _ = pipe.execute()
            if held > limit:
                r.zrem(key, token)
                return None
            return token

        return self.link.run(claim, lambda: self.local.take(client, limit))

    def renew(self, client: str, token: str) -> None:
        if token.startswith(LOCAL_PREFIX):
            self.local.renew(client, token)
            return
        key = KEY_PREFIX + client

        def extend(r) -> None:
            pipe = r.pipeline()
            pipe.zadd(key, {token: time.time() + self.lease_s}, xx=True)
            pipe.expire(key, int(self.lease_s) + 1)
            pipe.execute()

        self.link.run(extend, lambda: None)

    def give_back(self, client: str, token: str) -> None:
        if token.startswith(LOCAL_PREFIX):
            self.local.give_back(client, token)
        else:
            self.link.run(lambda r: r.zrem(KEY_PREFIX + client, token), lambda: None)
