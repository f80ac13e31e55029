"""SQLite store: the film catalog, the embedded rating corpus and collected member films.

The store is built from the embedded files in data/ (catalog.csv.gz, ratings.csv.gz).
Its meta table holds a hash of those files; when they change, the next `Store.open`
refreshes the embedded part in one transaction and keeps what was learnt since
(TMDB enrichment, films added later, collected member films), remapping film ids.

Concurrency: a first build goes to a temp file renamed into place; builds and
refreshes hold an exclusive `flock` on `<store>.lock`, so several processes
opening at once build once. Connections are one per thread, in WAL mode.

User indices in `corpus()`: embedded users are 0..U-1 (their sorted source ids);
collected member n (n from 1) is U + n - 1.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import sqlite3
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from infra.datasets import CATALOG_FILE, RATINGS_FILE, DataFileError, read_catalog, read_ratings
from services.catalog import genre_labels
from services.domain import Film

__all__ = ["Store", "DataFileError"]

SCHEMA_VERSION = "1"
BUSY_TIMEOUT_MS = 30_000
DATA_FILES = (CATALOG_FILE, RATINGS_FILE)
MIN_STARS, MAX_STARS = 0.5, 5.0
STARS_TO_CORPUS = 2.0
STORE_FILE_MODE = 0o644
_SQL_BATCH = 500  # host parameters per IN (...) query
_FILM_SHIFT, _MEMBER_SHIFT = 5, 37
_FILM_MASK, _VALUE_MASK = (1 << 32) - 1, (1 << 5) - 1

_LIST_FIELDS = ("genres", "directors", "cast", "keywords", "countries", "alt_titles")
_SCALAR_FIELDS = (
    "title", "year", "imdb_id", "tmdb_id", "original_title", "language", "runtime", "poster",
    "overview", "vote_average", "vote_count", "letterboxd_slug",
)
# Film field -> column; "cast" is an SQL keyword.
_COLUMN = {name: name for name in (*_LIST_FIELDS, *_SCALAR_FIELDS)} | {"cast": "film_cast"}
_FILM_COLUMNS = (
    "film_id", "title", "year", "imdb_id", "tmdb_id", "original_title", "genres", "directors",
    "film_cast", "keywords", "language", "countries", "runtime", "poster", "overview",
    "vote_average", "vote_count", "corpus_count", "corpus_mean", "letterboxd_slug",
    "media_type", "embedded", "enriched", "alt_titles", "wikipedia",
)
# Columns added after the first schema: (name, definition), added to older stores on refresh.
_ADDED_COLUMNS = (("alt_titles", "TEXT NOT NULL DEFAULT '[]'"), ("wikipedia", "TEXT"))

_IMPORTS_TABLE = (
    "CREATE TABLE IF NOT EXISTS imports (key TEXT PRIMARY KEY, rows_done INTEGER NOT NULL, "
    "complete INTEGER NOT NULL DEFAULT 0, updated_at REAL NOT NULL)"
)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS films (
    film_id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    year INTEGER,
    imdb_id TEXT,
    tmdb_id INTEGER,
    original_title TEXT,
    genres TEXT NOT NULL DEFAULT '[]',
    directors TEXT NOT NULL DEFAULT '[]',
    film_cast TEXT NOT NULL DEFAULT '[]',
    keywords TEXT NOT NULL DEFAULT '[]',
    language TEXT,
    countries TEXT NOT NULL DEFAULT '[]',
    runtime INTEGER,
    poster TEXT,
    overview TEXT,
    vote_average REAL,
    vote_count INTEGER,
    corpus_count INTEGER NOT NULL DEFAULT 0,
    corpus_mean REAL,
    letterboxd_slug TEXT,
    media_type TEXT NOT NULL DEFAULT 'movie',
    embedded INTEGER NOT NULL DEFAULT 0,
    enriched INTEGER NOT NULL DEFAULT 0,
    alt_titles TEXT NOT NULL DEFAULT '[]',
    wikipedia TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS films_imdb ON films (imdb_id) WHERE imdb_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS films_tmdb ON films (media_type, tmdb_id) WHERE tmdb_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS corpus_blobs (name TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS members (
    member_id INTEGER PRIMARY KEY,
    member_hash TEXT NOT NULL UNIQUE,
    complete INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS member_films (
    member_id INTEGER NOT NULL,
    film_id INTEGER NOT NULL,
    stars REAL,
    liked INTEGER NOT NULL,
    watched INTEGER NOT NULL,
    PRIMARY KEY (member_id, film_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS member_films_by_film ON member_films (film_id);
"""


class Store:
    """Thread-safe access to the SQLite store; build it with `Store.open`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.opened_as = "existing"  # or "created", "refreshed", "rebuilt"
        self._local = threading.local()
        self._connections: list[tuple[int, sqlite3.Connection]] = []
        self._lock = threading.Lock()
        self._films_cache: tuple[str, list[Film], dict[int, Film]] | None = None
        self._embedded_cache: tuple[str, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None
        self._corpus_cache: tuple[str, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None

    # -- opening -----------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, data_dir: Path) -> Store:
        """Open the store at path, building or refreshing it from the files in data_dir."""
        path, data_dir = Path(path), Path(data_dir)
        data_hash = data_files_hash(data_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        outcome = "existing"
        if _store_state(path, data_hash) != "current":
            with _exclusive_lock(path.with_name(path.name + ".lock")):
                state = _store_state(path, data_hash)
                if state != "current":
                    catalog = read_catalog(data_dir / CATALOG_FILE)
                    ratings = read_ratings(data_dir / RATINGS_FILE)
                    if state == "stale":
                        connection = _connect(path)
                        try:
                            _load_embedded(connection, catalog, ratings, data_hash)
                        finally:
                            connection.close()
                        outcome = "refreshed"
                    else:
                        if state == "unusable":
                            os.replace(path, path.with_name(f"{path.name}.unusable-{int(time.time())}"))
                            for suffix in ("-wal", "-shm"):
                                Path(f"{path}{suffix}").unlink(missing_ok=True)
                        _build_new(path, catalog, ratings, data_hash)
                        outcome = "created" if state == "missing" else "rebuilt"
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

    def _conn(self) -> sqlite3.Connection:
        """Return this thread's connection, opening it on first use (and after a fork)."""
        connection = getattr(self._local, "connection", None)
        if connection is None or self._local.pid != os.getpid():
            connection = _connect(self.path)
            self._local.connection, self._local.pid = connection, os.getpid()
            with self._lock:
                self._connections.append((os.getpid(), connection))
        return connection

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """Run a write transaction that takes the database write lock up front."""
        connection = self._conn()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    # -- versions ----------------------------------------------------------------

    def version(self) -> str:
        """Return a token that changes whenever the films or the corpus change."""
        rows = dict(self._conn().execute(
            "SELECT key, value FROM meta WHERE key IN ('data_hash', 'revision')").fetchall())
        return f"{rows['data_hash'][:16]}.{rows['revision']}"

    # -- films -------------------------------------------------------------------

    def films(self) -> list[Film]:
        """Return every film, ordered by film_id."""
        return list(self._films_snapshot()[1])

    def film(self, film_id: int) -> Film | None:
        """Return the film with this id, or None.

        From the snapshot of every film while it is current; after a change, one row is read
        (re-reading the whole catalog after each upsert would put seconds on the request path).
        """
        cached = self._films_cache
        if cached is not None and cached[0] == self.version():
            return cached[2].get(int(film_id))
        connection = self._conn()
        row = connection.execute(
            f"SELECT {', '.join(_FILM_COLUMNS)} FROM films WHERE film_id = ?", (int(film_id),)).fetchone()
        if row is None:
            return None
        count, total = connection.execute(
            "SELECT COUNT(*), COALESCE(SUM(ROUND(stars * 2) / 2.0), 0) FROM member_films "
            "WHERE film_id = ? AND stars IS NOT NULL", (int(film_id),)).fetchone()
        return _film_from_row(row, {row[0]: count}, {row[0]: total * STARS_TO_CORPUS})

    def film_by_tmdb(self, tmdb_id: int, media_type: str = "movie") -> Film | None:
        """Return the film with this TMDB id (movie by default), or None."""
        row = self._conn().execute(
            "SELECT film_id FROM films WHERE tmdb_id = ? AND media_type = ?",
            (int(tmdb_id), media_type)).fetchone()
        return self.film(row[0]) if row else None

    def film_by_imdb(self, imdb_id: str) -> Film | None:
        """Return the film with this IMDb id ("tt0050083"), or None."""
        row = self._conn().execute("SELECT film_id FROM films WHERE imdb_id = ?", (imdb_id,)).fetchone()
        return self.film(row[0]) if row else None

    def _films_snapshot(self) -> tuple[str, list[Film], dict[int, Film]]:
        """Return (version, films, films by id), reading them again only after a change."""
        version = self.version()
        cached = self._films_cache
        if cached is not None and cached[0] == version:
            return cached
        rows = self._conn().execute(
            f"SELECT {', '.join(_FILM_COLUMNS)} FROM films ORDER BY film_id").fetchall()
        counts, totals = self._member_rating_stats()
        films = [_film_from_row(row, counts, totals) for row in rows]
        snapshot = (version, films, {film.film_id: film for film in films})
        self._films_cache = snapshot
        return snapshot

    def _member_rating_stats(self) -> tuple[dict[int, int], dict[int, float]]:
        """Return collected member ratings per film: (count by film_id, sum of 0-10 ratings)."""
        _, _, embedded_ratings = self._embedded_corpus()
        _, film_ids, ratings = self.corpus()
        film_ids, ratings = film_ids[embedded_ratings.size:], ratings[embedded_ratings.size:]
        if not film_ids.size:
            return {}, {}
        present = np.unique(film_ids)
        counts = np.bincount(film_ids)[present]
        totals = np.bincount(film_ids, weights=ratings)[present]
        return dict(zip(present.tolist(), counts.tolist())), dict(zip(present.tolist(), totals.tolist()))

    def upsert_film(self, film: Film) -> int:
        """Merge a film by tmdb_id, then imdb_id, then its own film_id (when not 0), else insert it.

        Returns its film_id.

        New values that are None (or empty lists) keep the stored ones; corpus
        statistics always come from the corpus, never from the film given.
        """
        return self.upsert_films([film])[0]

    # -- corpus --------------------------------------------------------------------

    def corpus(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return (user index int32, film_id int32, rating float32 0-10) for every rating."""
        version = self.version()
        cached = self._corpus_cache
        if cached is not None and cached[0] == version:
            return cached[1]
        users, film_ids, ratings = self._embedded_corpus()
        offset = _embedded_user_count(users)
        member_users, member_films, stars = self._member_rows("stars IS NOT NULL", "stars")
        result = (
            np.concatenate([users, (member_users + (offset - 1)).astype(np.int32)]),
            np.concatenate([film_ids, member_films]),
            np.concatenate([ratings, (stars * STARS_TO_CORPUS).astype(np.float32)]),
        )
        self._corpus_cache = (version, result)
        return result

    def corpus_implicit(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return (user index int32, film_id int32, liked bool) for collected films without a rating."""
        users, _, _ = self._embedded_corpus()
        offset = _embedded_user_count(users)
        member_users, member_films, liked = self._member_rows("stars IS NULL", "liked")
        return (member_users + (offset - 1)).astype(np.int32), member_films, liked.astype(bool)

    def _embedded_corpus(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return the embedded corpus arrays, read once per data hash."""
        data_hash = self._conn().execute("SELECT value FROM meta WHERE key = 'data_hash'").fetchone()[0]
        cached = self._embedded_cache
        if cached is not None and cached[0] == data_hash:
            return cached[1]
        blobs = dict(self._conn().execute("SELECT name, data FROM corpus_blobs").fetchall())
        arrays = (
            np.frombuffer(blobs["users"], dtype=np.int32),
            np.frombuffer(blobs["film_ids"], dtype=np.int32),
            np.frombuffer(blobs["ratings"], dtype=np.float32),
        )
        self._embedded_cache = (data_hash, arrays)
        return arrays

    def _member_rows(self, condition: str, value: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return (member_id int32, film_id int32, value float32) of member films meeting condition."""
        connection = self._conn()
        count = connection.execute(f"SELECT COUNT(*) FROM member_films WHERE {condition}").fetchone()[0]
        # One packed integer per row is much faster to fetch than three columns.
        cursor = connection.execute(
            f"SELECT (member_id << {_MEMBER_SHIFT}) | (film_id << {_FILM_SHIFT}) "
            f"| CAST(ROUND({value} * 2) AS INTEGER) FROM member_films WHERE {condition}")
        packed = np.fromiter((item for (item,) in cursor), dtype=np.int64, count=count)
        members = (packed >> _MEMBER_SHIFT).astype(np.int32)
        film_ids = ((packed >> _FILM_SHIFT) & _FILM_MASK).astype(np.int32)
        values = (packed & _VALUE_MASK).astype(np.float32) / 2
        return members, film_ids, values

    # -- collector -----------------------------------------------------------------

    def add_member_films(self, member_hash: str, rows: list[tuple[int, float | None, bool, bool]]) -> int:
        """Store a member's (film_id, stars or None, liked, watched) rows; return how many changed."""
        clean = []
        for film_id, stars, liked, watched in rows:
            if stars is not None and not MIN_STARS <= float(stars) <= MAX_STARS:
                raise ValueError(f"stars {stars} for film {film_id} are outside {MIN_STARS}-{MAX_STARS}")
            clean.append((int(film_id), None if stars is None else float(stars), int(bool(liked)),
                          int(bool(watched))))
        with self._write() as connection:
            known = {row[0] for row in connection.execute("SELECT film_id FROM films")}
            unknown = sorted({row[0] for row in clean} - known)
            if unknown:
                raise ValueError(f"unknown film ids: {unknown[:10]}")
            member_id = _member_id(connection, member_hash)
            before = connection.total_changes
            connection.executemany(
                "INSERT INTO member_films (member_id, film_id, stars, liked, watched) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (member_id, film_id) DO UPDATE SET "
                "stars = excluded.stars, liked = excluded.liked, watched = excluded.watched "
                "WHERE stars IS NOT excluded.stars OR liked != excluded.liked "
                "OR watched != excluded.watched",
                [(member_id, *row) for row in clean])
            changed = connection.total_changes - before
            if changed:
                _bump_revision(connection)
            return changed

    # -- imported rating files -------------------------------------------------------

    def import_salt(self) -> str:
        """Return the store's salt for hashing imported user ids, creating it on first use."""
        with self._write() as connection:
            connection.execute("INSERT OR IGNORE INTO meta VALUES ('import_salt', ?)", (secrets.token_hex(16),))
            return connection.execute("SELECT value FROM meta WHERE key = 'import_salt'").fetchone()[0]

    def import_progress(self, key: str) -> tuple[int, bool]:
        """Return (data rows already imported, whether the import finished) for an import key."""
        connection = self._conn()
        connection.execute(_IMPORTS_TABLE)
        row = connection.execute("SELECT rows_done, complete FROM imports WHERE key = ?", (key,)).fetchone()
        return (int(row[0]), bool(row[1])) if row else (0, False)

    def add_imported_ratings(self, key: str, rows_done: int, rows: list[tuple[str, int, float]],
                             complete: bool = False) -> int:
        """Store (user hash, film_id, stars) rows and the import's progress in one transaction.

        A rating already stored for that user and film is replaced, never added twice,
        so a killed import run again from its last committed chunk stores each rating once.
        Returns how many ratings were added or changed.
        """
        for _, film_id, stars in rows:
            if not MIN_STARS <= float(stars) <= MAX_STARS:
                raise ValueError(f"stars {stars} for film {film_id} are outside {MIN_STARS}-{MAX_STARS}")
        latest = {(h, int(film_id)): float(stars) for h, film_id, stars in rows}  # a later row wins
        with self._write() as connection:
            connection.execute(_IMPORTS_TABLE)
            hashes = sorted({row[0] for row in rows})
            now = time.time()
            connection.executemany("INSERT OR IGNORE INTO members (member_hash, complete, updated_at) "
                                   "VALUES (?, 1, ?)", [(h, now) for h in hashes])
            member_of: dict[str, int] = {}
            for start in range(0, len(hashes), _SQL_BATCH):
                batch = hashes[start:start + _SQL_BATCH]
                member_of.update(connection.execute(
                    f"SELECT member_hash, member_id FROM members WHERE member_hash IN ({','.join('?' * len(batch))})",
                    batch).fetchall())
            before = connection.total_changes
            connection.executemany(
                "INSERT INTO member_films (member_id, film_id, stars, liked, watched) VALUES (?, ?, ?, 0, 1) "
                "ON CONFLICT (member_id, film_id) DO UPDATE SET stars = excluded.stars "
                "WHERE stars IS NOT excluded.stars",
                [(member_of[h], film_id, stars) for (h, film_id), stars in latest.items()])
            changed = connection.total_changes - before
            connection.execute(
                "INSERT INTO imports (key, rows_done, complete, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET rows_done = excluded.rows_done, complete = excluded.complete, "
                "updated_at = excluded.updated_at", (key, int(rows_done), int(complete), now))
            if changed:
                _bump_revision(connection)
            return changed

    def upsert_films(self, films: list[Film]) -> list[int]:
        """Merge or insert many films in one transaction (as upsert_film); return their film_ids."""
        ids = []
        with self._write() as connection:
            for film in films:
                existing = None
                if film.tmdb_id is not None:
                    existing = connection.execute("SELECT * FROM films WHERE tmdb_id = ? AND media_type = ?",
                                                  (film.tmdb_id, film.media_type)).fetchone()
                if existing is None and film.imdb_id:
                    existing = connection.execute("SELECT * FROM films WHERE imdb_id = ?",
                                                  (film.imdb_id,)).fetchone()
                if existing is None and film.film_id:
                    # A stored film known by neither id (one only Wikipedia lists) that is being enriched.
                    existing = connection.execute("SELECT * FROM films WHERE film_id = ?",
                                                  (int(film.film_id),)).fetchone()
                ids.append(_insert_film(connection, film) if existing is None
                           else _merge_film(connection, existing, film))
        return ids

    def mark_member_complete(self, member_hash: str) -> None:
        """Record that every film of this member has been collected."""
        with self._write() as connection:
            member_id = _member_id(connection, member_hash)
            connection.execute(
                "UPDATE members SET complete = 1, updated_at = ? WHERE member_id = ?",
                (time.time(), member_id))

    def member_complete(self, member_hash: str) -> bool:
        """Return whether this member's films were all collected."""
        row = self._conn().execute(
            "SELECT complete FROM members WHERE member_hash = ?", (member_hash,)).fetchone()
        return bool(row and row[0])

    def collected_counts(self) -> dict:
        """Return counts of collected members, complete members, ratings, unrated films and films."""
        connection = self._conn()
        members, complete = connection.execute(
            "SELECT COUNT(*), COALESCE(SUM(complete), 0) FROM members").fetchone()
        rated, unrated, films = connection.execute(
            "SELECT COUNT(stars), COUNT(*) - COUNT(stars), COUNT(DISTINCT film_id) FROM member_films"
        ).fetchone()
        return {"members": members, "complete_members": complete, "ratings": rated,
                "unrated": unrated, "films": films}


# -- module helpers ----------------------------------------------------------------

def data_files_hash(data_dir: Path) -> str:
    """Return a SHA-256 over the embedded data files; DataFileError names a missing one."""
    digest = hashlib.sha256(SCHEMA_VERSION.encode())
    for name in DATA_FILES:
        path = Path(data_dir) / name
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            raise DataFileError(f"{path}: missing") from None
        except OSError as exc:
            raise DataFileError(f"{path}: unreadable ({exc})") from None
        digest.update(name.encode() + b"\0" + len(content).to_bytes(8, "big") + content)
    return digest.hexdigest()


def _connect(path: Path) -> sqlite3.Connection:
    """Open a connection in autocommit mode with WAL and a generous busy timeout."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                 timeout=BUSY_TIMEOUT_MS / 1000)
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    return connection


def _store_state(path: Path, data_hash: str) -> str:
    """Say whether the store at path is current, stale, missing or unusable."""
    if not path.exists():
        return "missing"
    try:
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            rows = dict(connection.execute("SELECT key, value FROM meta").fetchall())
        finally:
            connection.close()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise
        return "unusable"
    except sqlite3.DatabaseError:
        return "unusable"
    if rows.get("schema") != SCHEMA_VERSION or "revision" not in rows:
        return "unusable"
    return "current" if rows.get("data_hash") == data_hash else "stale"


@contextmanager
def _exclusive_lock(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive flock on lock_path (shared by every process and thread)."""
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _build_new(path: Path, catalog: list, ratings: Any, data_hash: str) -> None:
    """Build a fresh store in a temp file beside path, then rename it into place."""
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".building", dir=path.parent)
    os.close(handle)
    temp = Path(temp_name)
    try:
        connection = sqlite3.connect(temp, isolation_level=None)
        try:
            _load_embedded(connection, catalog, ratings, data_hash)
            connection.execute("PRAGMA journal_mode = WAL")
        finally:
            connection.close()
        os.chmod(temp, STORE_FILE_MODE)
        os.replace(temp, path)
    finally:
        for leftover in (temp, Path(f"{temp}-wal"), Path(f"{temp}-shm"), Path(f"{temp}-journal")):
            leftover.unlink(missing_ok=True)


def _load_embedded(connection: sqlite3.Connection, catalog: list, ratings: Any, data_hash: str) -> None:
    """Replace the embedded catalog and corpus in one transaction, keeping what was learnt since."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                connection.execute(statement)
        present = {row[1] for row in connection.execute("PRAGMA table_info(films)")}
        for name, definition in _ADDED_COLUMNS:
            if name not in present:
                connection.execute(f"ALTER TABLE films ADD COLUMN {name} {definition}")
        old_rows = [dict(zip(_FILM_COLUMNS, row)) for row in connection.execute(
            f"SELECT {', '.join(_FILM_COLUMNS)} FROM films ORDER BY film_id")]
        referenced = {row[0] for row in connection.execute("SELECT DISTINCT film_id FROM member_films")}
        new_rows, remap = _merge_catalog(old_rows, catalog, referenced)
        connection.execute("DELETE FROM films")
        connection.executemany(
            f"INSERT INTO films ({', '.join(_FILM_COLUMNS)}) VALUES ({', '.join('?' * len(_FILM_COLUMNS))})",
            [tuple(row[c] for c in _FILM_COLUMNS) for row in new_rows])
        if any(old != new for old, new in remap.items()):
            connection.execute("CREATE TEMP TABLE remap (old_id INTEGER PRIMARY KEY, new_id INTEGER)")
            connection.executemany("INSERT INTO remap VALUES (?, ?)", remap.items())
            connection.execute("CREATE TEMP TABLE member_films_moved AS SELECT * FROM member_films")
            connection.execute("DELETE FROM member_films")
            connection.execute(
                "INSERT INTO member_films SELECT m.member_id, r.new_id, m.stars, m.liked, m.watched "
                "FROM member_films_moved m JOIN remap r ON r.old_id = m.film_id")
            connection.execute("DROP TABLE member_films_moved")
            connection.execute("DROP TABLE remap")
        _, user_index = np.unique(ratings.users, return_inverse=True)
        connection.execute("DELETE FROM corpus_blobs")
        connection.executemany("INSERT INTO corpus_blobs VALUES (?, ?)", [
            ("users", user_index.astype(np.int32).tobytes()),
            ("film_ids", ratings.film_ids.astype(np.int32).tobytes()),
            ("ratings", ratings.ratings.astype(np.float32).tobytes()),
        ])
        connection.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [
            ("schema", SCHEMA_VERSION), ("data_hash", data_hash)])
        connection.execute("INSERT OR IGNORE INTO meta VALUES ('revision', '0')")
        _bump_revision(connection)
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _merge_catalog(old_rows: list[dict], catalog: list, referenced: set[int]) -> tuple[list[dict], dict[int, int]]:
    """Merge the new embedded catalog with the stored films; return (rows, old id -> new id)."""
    by_imdb = {row.imdb_id: row for row in catalog if row.imdb_id}
    by_tmdb = {row.tmdb_id: row for row in catalog if row.tmdb_id is not None}
    by_article = {row.wikipedia: row for row in catalog if row.wikipedia}
    claimed: dict[int, dict] = {}
    leftovers = []
    for old in old_rows:
        match = by_imdb.get(old["imdb_id"]) if old["imdb_id"] else None
        if match is None and old["tmdb_id"] is not None and old["media_type"] == "movie":
            match = by_tmdb.get(old["tmdb_id"])
        if match is None and old.get("wikipedia"):
            match = by_article.get(old["wikipedia"])
        if match is not None and match.film_id not in claimed:
            claimed[match.film_id] = old
        elif old["enriched"] or old["film_id"] in referenced:
            leftovers.append(old)
    rows: list[dict] = []
    remap: dict[int, int] = {}
    taken_imdb, taken_tmdb = set(), set()
    for entry in catalog:
        row = {
            "film_id": entry.film_id, "title": entry.title, "year": entry.year,
            "imdb_id": entry.imdb_id, "tmdb_id": entry.tmdb_id, "original_title": entry.original_title,
            "genres": _json_text(genre_labels(entry.genres)),
            "directors": _json_text(entry.directors), "film_cast": _json_text(entry.cast),
            "alt_titles": _json_text(entry.alt_titles), "wikipedia": entry.wikipedia,
            "keywords": _json_text(entry.keywords), "language": entry.languages[0] if entry.languages else None,
            "countries": _json_text(entry.countries), "runtime": entry.runtime, "poster": None,
            "overview": None, "vote_average": None, "vote_count": None,
            "corpus_count": entry.rating_count, "corpus_mean": entry.rating_mean,
            "letterboxd_slug": None, "media_type": "movie", "embedded": 1, "enriched": 0,
        }
        old = claimed.get(entry.film_id)
        if old is not None:
            remap[old["film_id"]] = entry.film_id
            fixed = ("film_id", "imdb_id", "tmdb_id", "media_type", "corpus_count", "corpus_mean", "embedded",
                     "alt_titles", "wikipedia")
            keep = [c for c in _FILM_COLUMNS if c not in fixed]
            if not old["enriched"]:
                keep = ["letterboxd_slug"]
            for column in keep:
                if old[column] not in (None, "[]"):
                    row[column] = old[column]
            if row["tmdb_id"] is None and old["tmdb_id"] is not None and old["tmdb_id"] not in by_tmdb:
                row["tmdb_id"], row["media_type"] = old["tmdb_id"], old["media_type"]
        rows.append(row)
        taken_imdb.add(row["imdb_id"])
        taken_tmdb.add((row["media_type"], row["tmdb_id"]))
    next_id = max((row["film_id"] for row in rows), default=0) + 1
    for old in leftovers:
        row = dict(old, film_id=next_id, embedded=0, corpus_count=0, corpus_mean=None)
        if row["imdb_id"] is not None and row["imdb_id"] in taken_imdb:
            row["imdb_id"] = None
        if (row["media_type"], row["tmdb_id"]) in taken_tmdb:
            row["tmdb_id"] = None
        taken_imdb.add(row["imdb_id"])
        taken_tmdb.add((row["media_type"], row["tmdb_id"]))
        remap[old["film_id"]] = next_id
        rows.append(row)
        next_id += 1
    return rows, remap


def _film_from_row(row: tuple, member_counts: dict[int, int], member_totals: dict[int, float]) -> Film:
    """Build a Film from a films row, adding collected member ratings to its corpus statistics."""
    values = dict(zip(_FILM_COLUMNS, row))
    film_id = values["film_id"]
    count = values["corpus_count"] + member_counts.get(film_id, 0)
    total = (values["corpus_mean"] or 0.0) * values["corpus_count"] + member_totals.get(film_id, 0.0)
    return Film(
        film_id=film_id, title=values["title"], year=values["year"],
        imdb_id=values["imdb_id"], tmdb_id=values["tmdb_id"], original_title=values["original_title"],
        genres=_json_list(values["genres"]), directors=_json_list(values["directors"]),
        cast=_json_list(values["film_cast"]), keywords=_json_list(values["keywords"]),
        language=values["language"], countries=_json_list(values["countries"]),
        runtime=values["runtime"], poster=values["poster"], overview=values["overview"],
        vote_average=values["vote_average"], vote_count=values["vote_count"],
        corpus_count=count, corpus_mean=round(total / count, 3) if count else None,
        letterboxd_slug=values["letterboxd_slug"], media_type=values["media_type"],
        alt_titles=_json_list(values["alt_titles"]),
    )


def _json_text(items: tuple[str, ...]) -> str:
    """Encode a list column as JSON text."""
    return json.dumps(list(items)) if items else "[]"


def _json_list(text: str | None) -> tuple[str, ...]:
    """Decode a JSON list column into a tuple (of interned strings: genres, countries and people recur)."""
    return () if not text or text == "[]" else tuple(map(sys.intern, json.loads(text)))


def _film_values(film: Film) -> dict[str, Any]:
    """Return the columns a Film sets, lists as JSON, leaving out values that are unknown."""
    values: dict[str, Any] = {}
    for name in _LIST_FIELDS:
        items = genre_labels(film.genres) if name == "genres" else getattr(film, name)
        if items:
            values[_COLUMN[name]] = json.dumps(list(items))
    for name in _SCALAR_FIELDS:
        value = getattr(film, name)
        if value is not None and value != "":
            values[_COLUMN[name]] = value
    values["media_type"] = film.media_type or "movie"
    return values


def _insert_film(connection: sqlite3.Connection, film: Film) -> int:
    """Insert a film that the store does not hold yet; return its new film_id."""
    values = _film_values(film)
    if "title" not in values:
        raise ValueError("a film needs a title")
    film_id = connection.execute("SELECT COALESCE(MAX(film_id), 0) + 1 FROM films").fetchone()[0]
    values.update(film_id=film_id, enriched=1)
    connection.execute(
        f"INSERT INTO films ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
        tuple(values.values()))
    _bump_revision(connection)
    return film_id


def _merge_film(connection: sqlite3.Connection, existing: tuple, film: Film) -> int:
    """Update a stored film with the known values of film; return its film_id."""
    names = [d[0] for d in connection.execute("SELECT * FROM films LIMIT 0").description]
    current = dict(zip(names, existing))
    values = _film_values(film)
    for column, key in (("imdb_id", "imdb_id = ?"), ("tmdb_id", "tmdb_id = ? AND media_type = ?")):
        if column in values and values[column] != current[column]:
            args = (values[column],) if column == "imdb_id" else (values[column], values["media_type"])
            owner = connection.execute(f"SELECT film_id FROM films WHERE {key}", args).fetchone()
            if owner is not None and owner[0] != current["film_id"]:
                del values[column]  # already another film's id: keep both films apart
    if film.tmdb_id is None or "tmdb_id" not in values:
        values.pop("media_type")  # the media type belongs with the TMDB id
    changed = {k: v for k, v in values.items() if current.get(k) != v}
    if not current["enriched"]:
        changed["enriched"] = 1
    if changed:
        connection.execute(
            f"UPDATE films SET {', '.join(f'{k} = ?' for k in changed)} WHERE film_id = ?",
            (*changed.values(), current["film_id"]))
        _bump_revision(connection)
    return current["film_id"]


def _member_id(connection: sqlite3.Connection, member_hash: str) -> int:
    """Return the member's id, adding the member on first sight."""
    connection.execute(
        "INSERT INTO members (member_hash, updated_at) VALUES (?, ?) ON CONFLICT (member_hash) "
        "DO UPDATE SET updated_at = excluded.updated_at", (member_hash, time.time()))
    return connection.execute(
        "SELECT member_id FROM members WHERE member_hash = ?", (member_hash,)).fetchone()[0]


def _bump_revision(connection: sqlite3.Connection) -> None:
    """Advance the revision that version() reports."""
    connection.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'revision'")


def _embedded_user_count(users: np.ndarray) -> int:
    """Return how many embedded users there are (indices are dense from 0)."""
    return int(users.max()) + 1 if users.size else 0
