"""The store's ratings: the embedded corpus, collected members' films, and imported rating files.

User indices in `corpus()`: embedded users are 0..U-1 (their sorted source ids); collected
member n (n from 1) is U + n - 1.
"""
from __future__ import annotations

import secrets
import sqlite3
import time

import numpy as np

from infra.store_schema import (
    FILM_SHIFT,
    FILM_MASK,
    IMPORTS_TABLE,
    MAX_STARS,
    MEMBER_SHIFT,
    MIN_STARS,
    SQL_BATCH,
    STARS_TO_CORPUS,
    VALUE_MASK,
    bump_revision,
)


class RatingTables:
    """The ratings of a Store (a part of it: `Store` is a FilmTable and a RatingTables)."""

    _embedded_cache: tuple[str, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None
    _corpus_cache: tuple[str, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None

    def corpus(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return (user index int32, film_id int32, rating float32 0-10) for every rating."""
        version = self.version()
        cached = self._corpus_cache
        if cached is not None and cached[0] == version:
            return cached[1]
        users, film_ids, ratings = self.embedded_corpus()
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
        users, _, _ = self.embedded_corpus()
        offset = _embedded_user_count(users)
        member_users, member_films, liked = self._member_rows("stars IS NULL", "liked")
        return (member_users + (offset - 1)).astype(np.int32), member_films, liked.astype(bool)

    def embedded_corpus(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return the embedded corpus arrays, read once per data hash."""
        data_hash = self.connection().execute("SELECT value FROM meta WHERE key = 'data_hash'").fetchone()[0]
        cached = self._embedded_cache
        if cached is not None and cached[0] == data_hash:
            return cached[1]
        blobs = dict(self.connection().execute("SELECT name, data FROM corpus_blobs").fetchall())
        arrays = (
            np.frombuffer(blobs["users"], dtype=np.int32),
            np.frombuffer(blobs["film_ids"], dtype=np.int32),
            np.frombuffer(blobs["ratings"], dtype=np.float32),
        )
        self._embedded_cache = (data_hash, arrays)
        return arrays

    def _member_rows(self, condition: str, value: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return (member_id int32, film_id int32, value float32) of member films meeting condition."""
        connection = self.connection()
        count = connection.execute(f"SELECT COUNT(*) FROM member_films WHERE {condition}").fetchone()[0]
        # One packed integer per row is much faster to fetch than three columns.
        cursor = connection.execute(
            f"SELECT (member_id << {MEMBER_SHIFT}) | (film_id << {FILM_SHIFT}) "
            f"| CAST(ROUND({value} * 2) AS INTEGER) FROM member_films WHERE {condition}")
        packed = np.fromiter((item for (item,) in cursor), dtype=np.int64, count=count)
        members = (packed >> MEMBER_SHIFT).astype(np.int32)
        film_ids = ((packed >> FILM_SHIFT) & FILM_MASK).astype(np.int32)
        values = (packed & VALUE_MASK).astype(np.float32) / 2
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
        with self.write() as connection:
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
                bump_revision(connection)
            return changed

    # -- imported rating files -------------------------------------------------------

    def import_salt(self) -> str:
        """Return the store's salt for hashing imported user ids, creating it on first use."""
        with self.write() as connection:
            connection.execute("INSERT OR IGNORE INTO meta VALUES ('import_salt', ?)", (secrets.token_hex(16),))
            return connection.execute("SELECT value FROM meta WHERE key = 'import_salt'").fetchone()[0]

    def import_progress(self, key: str) -> tuple[int, bool]:
        """Return (data rows already imported, whether the import finished) for an import key."""
        connection = self.connection()
        connection.execute(IMPORTS_TABLE)
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
        with self.write() as connection:
            connection.execute(IMPORTS_TABLE)
            hashes = sorted({row[0] for row in rows})
            now = time.time()
            connection.executemany("INSERT OR IGNORE INTO members (member_hash, complete, updated_at) "
                                   "VALUES (?, 1, ?)", [(h, now) for h in hashes])
            member_of: dict[str, int] = {}
            for start in range(0, len(hashes), SQL_BATCH):
                batch = hashes[start:start + SQL_BATCH]
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
                bump_revision(connection)
            return changed

    def mark_member_complete(self, member_hash: str) -> None:
        """Record that every film of this member has been collected."""
        with self.write() as connection:
            member_id = _member_id(connection, member_hash)
            connection.execute(
                "UPDATE members SET complete = 1, updated_at = ? WHERE member_id = ?",
                (time.time(), member_id))

    def member_complete(self, member_hash: str) -> bool:
        """Return whether this member's films were all collected."""
        row = self.connection().execute(
            "SELECT complete FROM members WHERE member_hash = ?", (member_hash,)).fetchone()
        return bool(row and row[0])

    def collected_counts(self) -> dict:
        """Return counts of collected members, complete members, ratings, unrated films and films."""
        connection = self.connection()
        members, complete = connection.execute(
            "SELECT COUNT(*), COALESCE(SUM(complete), 0) FROM members").fetchone()
        rated, unrated, films = connection.execute(
            "SELECT COUNT(stars), COUNT(*) - COUNT(stars), COUNT(DISTINCT film_id) FROM member_films"
        ).fetchone()
        return {"members": members, "complete_members": complete, "ratings": rated,
                "unrated": unrated, "films": films}



def _member_id(connection: sqlite3.Connection, member_hash: str) -> int:
    """Return the member's id, adding the member on first sight."""
    connection.execute(
        "INSERT INTO members (member_hash, updated_at) VALUES (?, ?) ON CONFLICT (member_hash) "
        "DO UPDATE SET updated_at = excluded.updated_at", (member_hash, time.time()))
    return connection.execute(
        "SELECT member_id FROM members WHERE member_hash = ?", (member_hash,)).fetchone()[0]


def _embedded_user_count(users: np.ndarray) -> int:
    """Return how many embedded users there are (indices are dense from 0)."""
    return int(users.max()) + 1 if users.size else 0
