"""Building the store from the embedded files in data/, and refreshing it when they change.

The meta table holds a hash of those files; when they change, the next open refreshes the
embedded part in one transaction and keeps what was learnt since (TMDB enrichment, films
added later, collected member films), remapping film ids. A first build goes to a temp file
renamed into place; builds and refreshes hold an exclusive `flock` on `<store>.lock`, so
several processes opening at once build once.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from infra.datasets import CATALOG_FILE, RATINGS_FILE, DataFileError, read_catalog, read_ratings
from infra.store_schema import (
    ADDED_COLUMNS,
    BUSY_TIMEOUT_MS,
    FILM_COLUMNS,
    SCHEMA,
    SCHEMA_VERSION,
    bump_revision,
    connect,
    json_text,
)
from services.catalog import genre_labels

DATA_FILES = (CATALOG_FILE, RATINGS_FILE)
STORE_FILE_MODE = 0o644


def prepare_store_file(path: Path, data_dir: Path) -> str:
    """Build or refresh the store file at path from data_dir; say how: existing, created, refreshed or rebuilt."""
    data_hash = data_files_hash(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    if _store_state(path, data_hash) == "current" and not _missing_columns(path):
        return "existing"
    with _exclusive_lock(path.with_name(path.name + ".lock")):
        state = _store_state(path, data_hash)
        if state == "current":
            # A store built before a column was added gets the column, and keeps everything else.
            connection = connect(path)
            try:
                _add_missing_columns(connection)
            finally:
                connection.close()
            return "existing"
        catalog = read_catalog(data_dir / CATALOG_FILE)
        ratings = read_ratings(data_dir / RATINGS_FILE)
        if state == "stale":
            connection = connect(path)
            try:
                _load_embedded(connection, catalog, ratings, data_hash)
            finally:
                connection.close()
            return "refreshed"
        if state == "unusable":
            os.replace(path, path.with_name(f"{path.name}.unusable-{int(time.time())}"))
            for suffix in ("-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        _build_new(path, catalog, ratings, data_hash)
        return "created" if state == "missing" else "rebuilt"


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


def _missing_columns(path: Path) -> list[str]:
    """The films columns added since the store at path was built, that it lacks."""
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        present = {row[1] for row in connection.execute("PRAGMA table_info(films)")}
    finally:
        connection.close()
    return [name for name, _ in ADDED_COLUMNS if name not in present]


def _add_missing_columns(connection: sqlite3.Connection) -> None:
    """Add to the films table every column added since the store was built."""
    present = {row[1] for row in connection.execute("PRAGMA table_info(films)")}
    for name, definition in ADDED_COLUMNS:
        if name not in present:
            connection.execute(f"ALTER TABLE films ADD COLUMN {name} {definition}")


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
        for statement in SCHEMA.split(";"):
            if statement.strip():
                connection.execute(statement)
        _add_missing_columns(connection)
        old_rows = [dict(zip(FILM_COLUMNS, row)) for row in connection.execute(
            f"SELECT {', '.join(FILM_COLUMNS)} FROM films ORDER BY film_id")]
        referenced = {row[0] for row in connection.execute("SELECT DISTINCT film_id FROM member_films")}
        new_rows, remap = _merge_catalog(old_rows, catalog, referenced)
        connection.execute("DELETE FROM films")
        connection.executemany(
            f"INSERT INTO films ({', '.join(FILM_COLUMNS)}) VALUES ({', '.join('?' * len(FILM_COLUMNS))})",
            [tuple(row[c] for c in FILM_COLUMNS) for row in new_rows])
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
        bump_revision(connection)
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
            "genres": json_text(genre_labels(entry.genres)),
            "directors": json_text(entry.directors), "film_cast": json_text(entry.cast),
            "alt_titles": json_text(entry.alt_titles), "wikipedia": entry.wikipedia,
            "keywords": json_text(entry.keywords), "language": entry.languages[0] if entry.languages else None,
            "countries": json_text(entry.countries), "runtime": entry.runtime, "poster": None,
            "overview": None, "vote_average": None, "vote_count": None,
            "corpus_count": entry.rating_count, "corpus_mean": entry.rating_mean,
            "letterboxd_slug": None, "media_type": "movie", "embedded": 1, "enriched": 0, "release_date": None,
        }
        old = claimed.get(entry.film_id)
        if old is not None:
            remap[old["film_id"]] = entry.film_id
            fixed = ("film_id", "imdb_id", "tmdb_id", "media_type", "corpus_count", "corpus_mean", "embedded",
                     "alt_titles", "wikipedia")
            keep = [c for c in FILM_COLUMNS if c not in fixed]
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
