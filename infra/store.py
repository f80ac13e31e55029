"""SQLite store: the film catalog, the embedded rating corpus and collected member films.

    store_build    builds the store from data/ (catalog.csv.gz, ratings.csv.gz), refreshes it when they change
    store_films    the films: read once per change, merged in or added
    store_ratings  the embedded corpus, collected members' films and imported rating files
    store_schema   the schema, connections and the films table's row codec

Connections are one per thread, in WAL mode; `version()` changes whenever the films or the
corpus change.
"""
from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from infra.datasets import DataFileError
from infra.store_build import prepare_store_file
from infra.store_films import FilmTable
from infra.store_ratings import RatingTables
from infra.store_schema import connect

__all__ = ["Store", "DataFileError"]


class Store(FilmTable, RatingTables):
    """Thread-safe access to the SQLite store; build it with `Store.open`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.opened_as = "existing"  # or "created", "refreshed", "rebuilt"
        self._local = threading.local()
        self._connections: list[tuple[int, sqlite3.Connection]] = []
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: Path, data_dir: Path) -> Store:
        """Open the store at path, building or refreshing it from the files in data_dir."""
        outcome = prepare_store_file(Path(path), Path(data_dir))
        store = cls(path)
        store.opened_as = outcome
        return store

    def close(self) -> None:
        """Close every connection this store opened."""
        with self._lock:
            for pid, connection in self._connections:
                if pid == os.getpid():  # a connection inherited through fork belongs to the parent
                    connection.close()
            self._connections.clear()
        self._local = threading.local()

    def connection(self) -> sqlite3.Connection:
        """Return this thread's connection, opening it on first use (and after a fork)."""
        connection = getattr(self._local, "connection", None)
        if connection is None or self._local.pid != os.getpid():
            connection = connect(self.path)
            self._local.connection, self._local.pid = connection, os.getpid()
            with self._lock:
                self._connections.append((os.getpid(), connection))
        return connection

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """Run a write transaction that takes the database write lock up front."""
        connection = self.connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")



    def version(self) -> str:
        """Return a token that changes whenever the films or the corpus change."""
        rows = dict(self.connection().execute(
            "SELECT key, value FROM meta WHERE key IN ('data_hash', 'revision')").fetchall())
        return f"{rows['data_hash'][:16]}.{rows['revision']}"
