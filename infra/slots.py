"""Per-client counts of open things (SSE streams): across the fleet in Redis, or in this process.

Each open thing holds a token in the client's Redis sorted set, scored by when it lapses,
so a process that dies without giving its tokens back stops counting against the client
once they lapse.
"""
from __future__ import annotations

import secrets
import threading
import time

from infra.redis_link import RedisLink

KEY_PREFIX = "lbr:client-streams:"


class MemorySlots:
    """Counts in this process."""

    def __init__(self) -> None:
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, client: str, limit: int) -> str | None:
        """A token for one more open thing, or None when the client holds `limit` already."""
        with self._lock:
            if self._open.get(client, 0) >= limit:
                return None
            self._open[client] = self._open.get(client, 0) + 1
            return "local"

    def give_back(self, client: str, token: str) -> None:
        with self._lock:
            left = self._open.get(client, 1) - 1
            if left <= 0:
                self._open.pop(client, None)
            else:
                self._open[client] = left


class RedisSlots:
    """Counts shared by every process through Redis; while Redis is away, this process counts alone."""

    def __init__(self, link: RedisLink, lapse_s: float) -> None:
        self.link = link
        self.lapse_s = lapse_s
        self.local = MemorySlots()

    def take(self, client: str, limit: int) -> str | None:
        key = KEY_PREFIX + client
        token = secrets.token_hex(8)

        def claim(r) -> str | None:
            now = time.time()
            pipe = r.pipeline()
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.zadd(key, {token: now + self.lapse_s})
            pipe.zcard(key)
            pipe.expire(key, int(self.lapse_s) + 1)
            _, _, held, _ = pipe.execute()
            if held > limit:
                r.zrem(key, token)
                return None
            return token

        return self.link.run(claim, lambda: self.local.take(client, limit))

    def give_back(self, client: str, token: str) -> None:
        if token == "local":
            self.local.give_back(client, token)
        else:
            self.link.run(lambda r: r.zrem(KEY_PREFIX + client, token), lambda: None)
