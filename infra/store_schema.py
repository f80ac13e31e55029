"""The store's SQLite schema, connections, revision counter and the films table's row codec.

Shared by the parts of infra.store: building it (store_build), its films (store_films) and its
ratings (store_ratings).
"""
from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

from services.catalog import genre_labels
from services.domain import Film

SCHEMA_VERSION = "1"
BUSY_TIMEOUT_MS = 30_000
MIN_STARS, MAX_STARS = 0.5, 5.0
STARS_TO_CORPUS = 2.0
SQL_BATCH = 500  # host parameters per IN (...) query
FILM_SHIFT, MEMBER_SHIFT = 5, 37
FILM_MASK, VALUE_MASK = (1 << 32) - 1, (1 << 5) - 1

LIST_FIELDS = ("genres", "directors", "cast", "keywords", "countries", "alt_titles")
SCALAR_FIELDS = (
    "title", "year", "imdb_id", "tmdb_id", "original_title", "language", "runtime", "poster",
    "overview", "vote_average", "vote_count", "letterboxd_slug", "release_date",
)
# Film field -> column; "cast" is an SQL keyword.
COLUMN = {name: name for name in (*LIST_FIELDS, *SCALAR_FIELDS)} | {"cast": "film_cast"}
FILM_COLUMNS = (
    "film_id", "title", "year", "imdb_id", "tmdb_id", "original_title", "genres", "directors",
    "film_cast", "keywords", "language", "countries", "runtime", "poster", "overview",
    "vote_average", "vote_count", "corpus_count", "corpus_mean", "letterboxd_slug",
    "media_type", "embedded", "enriched", "alt_titles", "wikipedia", "release_date",
)
# Columns added after the first schema: (name, definition), added to older stores on refresh.
ADDED_COLUMNS = (("alt_titles", "TEXT NOT NULL DEFAULT '[]'"), ("wikipedia", "TEXT"), ("release_date", "TEXT"))

IMPORTS_TABLE = (
    "CREATE TABLE IF NOT EXISTS imports (key TEXT PRIMARY KEY, rows_done INTEGER NOT NULL, "
    "complete INTEGER NOT NULL DEFAULT 0, updated_at REAL NOT NULL)"
)
SCHEMA = """
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
    wikipedia TEXT,
    release_date TEXT
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


def connect(path: Path) -> sqlite3.Connection:
    """Open a connection in autocommit mode with WAL and a generous busy timeout."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                 timeout=BUSY_TIMEOUT_MS / 1000)
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    return connection


def film_from_row(row: tuple, member_counts: dict[int, int], member_totals: dict[int, float]) -> Film:
    """Build a Film from a films row, adding collected member ratings to its corpus statistics."""
    values = dict(zip(FILM_COLUMNS, row))
    film_id = values["film_id"]
    count = values["corpus_count"] + member_counts.get(film_id, 0)
    total = (values["corpus_mean"] or 0.0) * values["corpus_count"] + member_totals.get(film_id, 0.0)
    return Film(
        film_id=film_id, title=values["title"], year=values["year"],
        imdb_id=values["imdb_id"], tmdb_id=values["tmdb_id"], original_title=values["original_title"],
        genres=json_list(values["genres"]), directors=json_list(values["directors"]),
        cast=json_list(values["film_cast"]), keywords=json_list(values["keywords"]),
        language=values["language"], countries=json_list(values["countries"]),
        runtime=values["runtime"], poster=values["poster"], overview=values["overview"],
        vote_average=values["vote_average"], vote_count=values["vote_count"],
        corpus_count=count, corpus_mean=round(total / count, 3) if count else None,
        letterboxd_slug=values["letterboxd_slug"], media_type=values["media_type"],
        alt_titles=json_list(values["alt_titles"]), release_date=values["release_date"],
    )


def json_text(items: tuple[str, ...]) -> str:
    """Encode a list column as JSON text."""
    return json.dumps(list(items)) if items else "[]"


def json_list(text: str | None) -> tuple[str, ...]:
    """Decode a JSON list column into a tuple (of interned strings: genres, countries and people recur)."""
    return () if not text or text == "[]" else tuple(map(sys.intern, json.loads(text)))


def film_values(film: Film) -> dict[str, Any]:
    """Return the columns a Film sets, lists as JSON, leaving out values that are unknown."""
    values: dict[str, Any] = {}
    for name in LIST_FIELDS:
        items = genre_labels(film.genres) if name == "genres" else getattr(film, name)
        if items:
            values[COLUMN[name]] = json.dumps(list(items))
    for name in SCALAR_FIELDS:
        value = getattr(film, name)
        if value is not None and value != "":
            values[COLUMN[name]] = value
    values["media_type"] = film.media_type or "movie"
    return values


def bump_revision(connection: sqlite3.Connection) -> None:
    """Advance the revision that version() reports."""
    connection.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'revision'")
