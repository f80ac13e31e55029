"""Shared result lists, kept for a fixed time where every instance can read them.

With `REDIS_URL` a shared list is one Redis key with a TTL; without it (one machine) a small
SQLite file in `VAR_DIR` holds it with its expiry time. What is kept is already stripped of
anything personal (services.shared_results.shareable); the export itself is never kept.

    SharesUnavailable   the backing store cannot be reached (Redis down)
"""
from __future__ import annotations

import json
import secrets
import threading
import time
from pathlib import Path
from typing import Callable, Protocol

from infra.redis_link import REDIS_ERRORS
from infra.sqlite_file import SqliteFile

SHARE_ID_BYTES = 16
KEY_PREFIX = "lbr:share:"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS shared_results (
    share_id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS shared_results_expiry ON shared_results (expires_at);
"""


class SharesUnavailable(Exception):
    """The store that holds shared lists cannot be reached right now."""


class SharedResults(Protocol):
    ttl_s: float

    def put(self, body: dict) -> tuple[str, float]: ...

    def get(self, share_id: str) -> dict | None: ...


def new_share_id() -> str:
    return secrets.token_urlsafe(SHARE_ID_BYTES)


class RedisSharedResults:
    """Shared lists as Redis keys that expire on their own."""

    def __init__(self, client, ttl_s: float, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.ttl_s = ttl_s
        self._clock = clock

    def put(self, body: dict) -> tuple[str, float]:
        share_id = new_share_id()
        try:
            self.client.set(KEY_PREFIX + share_id, json.dumps(body, separators=(",", ":")), ex=int(self.ttl_s))
        except REDIS_ERRORS as exc:
            raise SharesUnavailable(str(exc)) from exc
        return share_id, self._clock() + self.ttl_s

    def get(self, share_id: str) -> dict | None:
        try:
            data = self.client.get(KEY_PREFIX + share_id)
        except REDIS_ERRORS as exc:
            raise SharesUnavailable(str(exc)) from exc
        return None if data is None else json.loads(data)


class SqliteSharedResults:
    """Shared lists in a SQLite file of their own; expired ones are dropped as new ones arrive."""

    def __init__(self, path: Path, ttl_s: float, clock: Callable[[], float] = time.time) -> None:
        self._file = SqliteFile(path, _SCHEMA)
        self.path = self._file.path
        self.ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()

    def put(self, body: dict) -> tuple[str, float]:
        share_id = new_share_id()
        now = self._clock()
        with self._lock, self._file.connect() as connection:
            connection.execute("DELETE FROM shared_results WHERE expires_at <= ?", (now,))
            connection.execute("INSERT INTO shared_results (share_id, body, expires_at) VALUES (?, ?, ?)",
                               (share_id, json.dumps(body, separators=(",", ":")), now + self.ttl_s))
        return share_id, now + self.ttl_s

    def get(self, share_id: str) -> dict | None:
        with self._file.connect() as connection:
            row = connection.execute("SELECT body FROM shared_results WHERE share_id = ? AND expires_at > ?",
                                     (share_id, self._clock())).fetchone()
        return None if row is None else json.loads(row[0])


def open_shared_results(redis_client, var_dir: Path, ttl_s: float) -> SharedResults:
    """Redis when the deployment has it (every instance sees every share), else a SQLite file in var_dir."""
    if redis_client is not None:
        return RedisSharedResults(redis_client, ttl_s)
    return SqliteSharedResults(Path(var_dir) / "shared.sqlite3", ttl_s)
