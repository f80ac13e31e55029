"""Members' opt-in contributions to the rating corpus, kept where every instance and the trainer read them.

With `REDIS_URL`, contributions live in Redis: a contribution made through any web instance reaches
the next `train` wherever it runs, and a deletion through any instance removes it. Without Redis the
app runs on one machine, so a small SQLite file in `VAR_DIR` holds them.

A contribution is a list of (film_id, stars or None, liked) under a random contributor id. Nothing
else about the member is kept: no username, nothing from profile.csv. The deletion token goes back
to the member once; only its SHA-256 digest is stored, so reading the store reveals no token.

    ContributionsUnavailable   the backing store cannot be reached (Redis down)
"""
from __future__ import annotations

import hashlib
import json
import secrets
import threading
from pathlib import Path
from typing import Iterator, Protocol, Sequence

import numpy as np

from infra.redis_link import REDIS_TROUBLE
from infra.sqlite_file import SqliteFile

Row = tuple[int, float | None, bool]  # film_id, stars 0.5-5 (None: watched or liked without a rating), liked
STARS_TO_CORPUS = 2.0  # the corpus is on 0-10, stars are 0.5-5
TOKEN_BYTES = 24
KEY_PREFIX = "lbr:contrib:"


class ContributionsUnavailable(Exception):
    """The store that holds contributions cannot be reached right now."""


class Contributions(Protocol):
    def add(self, rows: Sequence[Row]) -> str: ...

    def delete(self, token: str) -> bool: ...

    def all(self) -> Iterator[list[Row]]: ...

    def counts(self) -> dict: ...


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def clean_rows(rows: Sequence[Row]) -> list[Row]:
    """One row per film, stars kept only when on Letterboxd's 0.5-5 scale."""
    by_film: dict[int, Row] = {}
    for film_id, stars, liked in rows:
        if stars is not None and not 0.5 <= float(stars) <= 5.0:
            stars = None
        by_film[int(film_id)] = (int(film_id), None if stars is None else float(stars), bool(liked))
    return [by_film[k] for k in sorted(by_film)]


def _encode(rows: Sequence[Row]) -> bytes:
    return json.dumps([[f, s, int(liked)] for f, s, liked in rows], separators=(",", ":")).encode()


def _decode(data: bytes) -> list[Row]:
    return [(int(f), None if s is None else float(s), bool(liked)) for f, s, liked in json.loads(data)]


class RedisContributions:
    """Contributions in Redis: rows per contributor, a digest -> contributor index, rated counts."""

    def __init__(self, client) -> None:
        self.client = client

    def add(self, rows: Sequence[Row]) -> str:
        rows = clean_rows(rows)
        token, contributor = new_token(), secrets.token_hex(12)
        try:
            with self.client.pipeline(transaction=True) as pipe:
                pipe.set(KEY_PREFIX + "rows:" + contributor, _encode(rows))
                pipe.hset(KEY_PREFIX + "rated", contributor, sum(1 for r in rows if r[1] is not None))
                pipe.set(KEY_PREFIX + "token:" + token_digest(token), contributor)
                pipe.execute()
        except REDIS_TROUBLE as exc:
            raise ContributionsUnavailable("Redis is unreachable") from exc
        return token

    def delete(self, token: str) -> bool:
        key = KEY_PREFIX + "token:" + token_digest(token)
        try:
            contributor = self.client.get(key)
            if contributor is None:
                return False
            contributor = contributor.decode()
            with self.client.pipeline(transaction=True) as pipe:
                pipe.delete(KEY_PREFIX + "rows:" + contributor)
                pipe.hdel(KEY_PREFIX + "rated", contributor)
                pipe.delete(key)
                pipe.execute()
        except REDIS_TROUBLE as exc:
            raise ContributionsUnavailable("Redis is unreachable") from exc
        return True

    def all(self) -> Iterator[list[Row]]:
        try:
            contributors = sorted(c.decode() for c in self.client.hkeys(KEY_PREFIX + "rated"))
            for start in range(0, len(contributors), 500):
                chunk = contributors[start:start + 500]
                for data in self.client.mget([KEY_PREFIX + "rows:" + c for c in chunk]):
                    if data is not None:
                        yield _decode(data)
        except REDIS_TROUBLE as exc:
            raise ContributionsUnavailable("Redis is unreachable") from exc

    def counts(self) -> dict:
        try:
            rated = [int(v) for v in self.client.hvals(KEY_PREFIX + "rated")]
        except REDIS_TROUBLE as exc:
            raise ContributionsUnavailable("Redis is unreachable") from exc
        return {"members": len(rated), "ratings": sum(rated)}


_SCHEMA = """
CREATE TABLE IF NOT EXISTS contributors (
    contributor_id INTEGER PRIMARY KEY,
    token_digest TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS contributed_films (
    contributor_id INTEGER NOT NULL REFERENCES contributors (contributor_id) ON DELETE CASCADE,
    film_id INTEGER NOT NULL,
    stars REAL,
    liked INTEGER NOT NULL,
    PRIMARY KEY (contributor_id, film_id)
);
"""


class SqliteContributions:
    """Contributions in a SQLite file of their own, for a single-machine deployment."""

    def __init__(self, path: Path) -> None:
        self._file = SqliteFile(path, _SCHEMA, foreign_keys=True)
        self.path = self._file.path
        self._lock = threading.Lock()

    def add(self, rows: Sequence[Row]) -> str:
        rows = clean_rows(rows)
        token = new_token()
        with self._lock, self._file.connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                cursor = connection.execute("INSERT INTO contributors (token_digest) VALUES (?)",
                                            (token_digest(token),))
                contributor = cursor.lastrowid
                connection.executemany(
                    "INSERT INTO contributed_films (contributor_id, film_id, stars, liked) VALUES (?, ?, ?, ?)",
                    [(contributor, f, s, int(liked)) for f, s, liked in rows])
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        return token

    def delete(self, token: str) -> bool:
        with self._lock, self._file.connect() as connection:
            cursor = connection.execute("DELETE FROM contributors WHERE token_digest = ?", (token_digest(token),))
            return cursor.rowcount > 0

    def all(self) -> Iterator[list[Row]]:
        with self._file.connect() as connection:
            rows = connection.execute(
                "SELECT contributor_id, film_id, stars, liked FROM contributed_films "
                "ORDER BY contributor_id, film_id").fetchall()
        current, batch = None, []
        for contributor, film_id, stars, liked in rows:
            if contributor != current and batch:
                yield batch
                batch = []
            current = contributor
            batch.append((int(film_id), stars, bool(liked)))
        if batch:
            yield batch

    def counts(self) -> dict:
        with self._file.connect() as connection:
            members, = connection.execute("SELECT COUNT(*) FROM contributors").fetchone()
            ratings, = connection.execute(
                "SELECT COUNT(*) FROM contributed_films WHERE stars IS NOT NULL").fetchone()
        return {"members": members, "ratings": ratings}


def open_contributions(redis_client, var_dir: Path) -> Contributions:
    """Redis when the deployment shares one, else a SQLite file in the runtime folder."""
    if redis_client is not None:
        return RedisContributions(redis_client)
    return SqliteContributions(Path(var_dir) / "contributions.sqlite3")


class CorpusWithContributions:
    """A corpus store's ratings plus members' contributions, each contributor a user of its own."""

    def __init__(self, store, contributions: Contributions) -> None:
        self.store = store
        self.contributions = contributions
        self._rows: list[list[Row]] | None = None

    def __getattr__(self, name: str):
        return getattr(self.store, name)

    def _contributed(self) -> list[list[Row]]:
        if self._rows is None:
            known = {film.film_id for film in self.store.films()}
            self._rows = [[r for r in rows if r[0] in known] for rows in self.contributions.all()]
        return self._rows

    def _first_user(self) -> int:
        users, _, _ = self.store.corpus()
        implicit_users, _, _ = self.store.corpus_implicit()
        highest = max([int(users.max()) if users.size else -1,
                       int(implicit_users.max()) if implicit_users.size else -1])
        return highest + 1

    def corpus(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        users, films, ratings = self.store.corpus()
        first = self._first_user()
        extra = [(first + n, f, s * STARS_TO_CORPUS) for n, rows in enumerate(self._contributed())
                 for f, s, _ in rows if s is not None]
        return _append(users, films, ratings, extra, np.float32)

    def corpus_implicit(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        users, films, liked = self.store.corpus_implicit()
        first = self._first_user()
        extra = [(first + n, f, liked_) for n, rows in enumerate(self._contributed())
                 for f, s, liked_ in rows if s is None]
        return _append(users, films, liked, extra, bool)


def _append(users: np.ndarray, films: np.ndarray, values: np.ndarray, extra: list, value_type) -> tuple:
    if not extra:
        return users, films, values
    u, f, v = zip(*extra)
    return (np.concatenate([users, np.asarray(u, dtype=users.dtype)]),
            np.concatenate([films, np.asarray(f, dtype=films.dtype)]),
            np.concatenate([values, np.asarray(v, dtype=value_type)]))
