"""A small SQLite file of its own: made with its schema on first open, then one short connection per use."""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

BUSY_TIMEOUT_S = 30  # how long a writer waits for another process's write to finish


class SqliteFile:
    """A SQLite file created with its schema; each connection is in autocommit and write-ahead-log mode."""

    def __init__(self, path: Path, schema: str, *, foreign_keys: bool = False) -> None:
        self.path = Path(path)
        self.foreign_keys = foreign_keys
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as connection:
            connection.executescript(schema)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A fresh connection, closed when the block ends."""
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            if self.foreign_keys:
                connection.execute("PRAGMA foreign_keys=ON")
            yield connection
        finally:
            connection.close()
