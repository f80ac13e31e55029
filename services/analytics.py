"""Compute a member's viewing analytics from their matched profile with DuckDB.

Every figure is computed over the films the member marked as watched; watchlist-only
entries are only counted. Genres, directors, runtimes and corpus means come from
the matched catalog film, so unmatched films count where the profile alone is
enough (ratings, decades, diary months) and are left out of the rest. A figure
that cannot be computed is None rather than a guess.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import duckdb

from services.domain import MatchedFilm

TOP_PEOPLE_AND_GENRES = 10
MIN_RATED_FOR_AVERAGE = 2
CONTRARIAN_EXAMPLES = 5
RATING_STEPS = tuple(step / 2 for step in range(1, 11))
LOAD_ROWS = 2000  # entries handed to DuckDB at a time

# Columns of the entries table and their types; each is passed to DuckDB as one list.
_COLUMNS = (
    ("title", "VARCHAR"), ("year", "INTEGER"), ("rating", "DOUBLE"), ("liked", "BOOLEAN"),
    ("rewatch", "BOOLEAN"), ("watched", "BOOLEAN"), ("watchlist", "BOOLEAN"),
    ("watched_dates", "VARCHAR[]"), ("matched", "BOOLEAN"), ("genres", "VARCHAR[]"),
    ("directors", "VARCHAR[]"), ("runtime", "INTEGER"), ("corpus_mean", "DOUBLE"),
)
# One thread and a memory cap per analysis: a member's films are few, and many analyses may run at once.
DUCKDB_SETTINGS = {"threads": 1, "memory_limit": "256MB"}


def analyse(matched: Sequence[MatchedFilm]) -> dict[str, Any]:
    """Return JSON-able analytics of a member's films."""
    con = duckdb.connect(":memory:", config=dict(DUCKDB_SETTINGS))
    try:
        # Column lists convert in time linear in the films with a small constant; a list of
        # row structs costs about ten times as much CPU and memory.
        columns = _columns(matched)
        select = ", ".join(f"unnest(${name}::{kind}[]) AS {name}" for name, kind in _COLUMNS)
        # In slices, so no one conversion holds the interpreter (or the memory) for long.
        for start in range(0, max(1, len(matched)), LOAD_ROWS):
            rows = {name: values[start:start + LOAD_ROWS] for name, values in columns.items()}
            con.execute(f"INSERT INTO entries SELECT {select}" if start else
                        f"CREATE TABLE entries AS SELECT {select}", rows)
        del columns, rows
        con.execute("CREATE VIEW watched AS SELECT * FROM entries WHERE watched")
        return {
            "counts": _counts(con),
            "mean_rating": _scalar(con, "SELECT round(avg(rating), 2) FROM watched"),
            "rating_distribution": _rating_distribution(con),
            "decades": _decades(con),
            "genres": _ranked(con, "genres"),
            "directors": _ranked(con, "directors"),
            "months": _months(con),
            "hours_watched": _hours_watched(con),
            "contrarian": _contrarian(con),
            "rewatch_share": _scalar(
                con,
                "SELECT CASE WHEN count(*) > 0 THEN round(count(*) FILTER"
                " (WHERE rewatch OR len(watched_dates) > 1) / count(*), 4) END FROM watched",
            ),
        }
    finally:
        con.close()


def _columns(matched: Sequence[MatchedFilm]) -> dict[str, list]:
    """The entries table as one list per column (see _COLUMNS)."""
    entries = [item.entry for item in matched]
    films = [item.film for item in matched]
    return {
        "title": [entry.title for entry in entries],
        "year": [entry.year if entry.year is not None else (film.year if film else None)
                 for entry, film in zip(entries, films)],
        "rating": [entry.rating for entry in entries],
        "liked": [entry.liked for entry in entries],
        "rewatch": [entry.rewatch for entry in entries],
        "watched": [entry.watched for entry in entries],
        "watchlist": [entry.watchlist for entry in entries],
        "watched_dates": [entry.watched_dates for entry in entries],
        "matched": [film is not None for film in films],
        "genres": [film.genres if film else () for film in films],
        "directors": [film.directors if film else () for film in films],
        "runtime": [film.runtime if film and film.runtime and film.runtime > 0 else None for film in films],
        "corpus_mean": [_finite(film.corpus_mean) if film else None for film in films],
    }


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    row = con.execute(sql).fetchone()
    return row[0] if row else None


def _records(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = con.execute(sql)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return _records(
        con,
        """
        SELECT
            count(*) FILTER (WHERE watched) AS films,
            count(*) FILTER (WHERE watched AND rating IS NOT NULL) AS rated,
            count(*) FILTER (WHERE liked) AS liked,
            count(*) FILTER (WHERE watched AND (rewatch OR len(watched_dates) > 1)) AS rewatched,
            count(*) FILTER (WHERE watchlist) AS watchlist,
            count(*) FILTER (WHERE matched) AS matched,
            coalesce(sum(len(watched_dates)) FILTER (WHERE watched), 0)::INTEGER AS diary_entries
        FROM entries
        """,
    )[0]


def _rating_distribution(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    counts = dict(
        con.execute(
            "SELECT round(rating * 2) / 2 AS step, count(*) FROM watched"
            " WHERE rating IS NOT NULL GROUP BY step"
        ).fetchall()
    )
    return [{"rating": step, "count": counts.get(step, 0)} for step in RATING_STEPS]


def _decades(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    return _records(
        con,
        """
        WITH bounds AS (
            SELECT min(year // 10 * 10) AS first, max(year // 10 * 10) AS last
            FROM watched WHERE year IS NOT NULL
        ),
        decades AS (
            SELECT unnest(range(first, last + 10, 10)) AS decade FROM bounds
            WHERE first IS NOT NULL
        )
        SELECT d.decade::INTEGER AS decade, d.decade || 's' AS label,
               count(w.title)::INTEGER AS count, round(avg(w.rating), 2) AS mean_rating
        FROM decades d LEFT JOIN watched w ON w.year // 10 * 10 = d.decade
        GROUP BY d.decade ORDER BY d.decade
        """,
    )


def _ranked(con: duckdb.DuckDBPyConnection, column: str) -> dict[str, list[dict[str, Any]]]:
    base = f"""
        WITH names AS (SELECT unnest({column}) AS name, rating FROM watched)
        SELECT name, count(*)::INTEGER AS count, count(rating)::INTEGER AS rated,
               round(avg(rating), 2) AS mean_rating
        FROM names GROUP BY name
    """
    by_count = _records(
        con,
        f"{base} ORDER BY count DESC, mean_rating DESC NULLS LAST, name"
        f" LIMIT {TOP_PEOPLE_AND_GENRES}",
    )
    by_rating = _records(
        con,
        f"{base} HAVING count(rating) >= {MIN_RATED_FOR_AVERAGE}"
        f" ORDER BY mean_rating DESC, rated DESC, name LIMIT {TOP_PEOPLE_AND_GENRES}",
    )
    return {"by_count": by_count, "by_rating": by_rating}


def _months(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    return _records(
        con,
        """
        WITH logs AS (
            SELECT date_trunc('month', try_cast(unnest(watched_dates) AS DATE)) AS month
            FROM watched
        ),
        valid AS (SELECT month FROM logs WHERE month IS NOT NULL),
        span AS (
            SELECT unnest(range(min(month), max(month) + INTERVAL 1 MONTH, INTERVAL 1 MONTH))
                   AS month
            FROM valid HAVING count(*) > 0
        )
        SELECT strftime(s.month, '%Y-%m') AS month, count(v.month)::INTEGER AS count
        FROM span s LEFT JOIN valid v ON v.month = s.month
        GROUP BY s.month ORDER BY s.month
        """,
    )


def _hours_watched(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    # A film logged in the diary counts once per log (rewatches included); a film
    # marked watched without diary dates counts once.
    totals = _records(
        con,
        """
        WITH viewings AS (SELECT runtime, greatest(1, len(watched_dates)) AS times FROM watched)
        SELECT count(*)::INTEGER AS films,
               count(runtime)::INTEGER AS films_with_runtime,
               coalesce(sum(times), 0)::INTEGER AS viewings,
               coalesce(sum(times) FILTER (WHERE runtime IS NOT NULL), 0)::INTEGER
                   AS viewings_with_runtime,
               sum(runtime * times)::BIGINT AS minutes
        FROM viewings
        """,
    )[0]
    minutes = totals["minutes"]
    totals["minutes"] = int(minutes) if minutes is not None else None
    totals["hours"] = round(minutes / 60, 1) if minutes is not None else None
    totals["complete"] = totals["films"] > 0 and totals["films_with_runtime"] == totals["films"]
    return totals


def _contrarian(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    compared = """
        SELECT title, year, rating, rating * 2 - corpus_mean AS difference, corpus_mean
        FROM watched WHERE rating IS NOT NULL AND corpus_mean IS NOT NULL
    """
    summary = _records(
        con,
        f"SELECT count(*)::INTEGER AS films_compared,"
        f" round(avg(abs(difference)), 2) AS score FROM ({compared})",
    )[0]
    summary["most_different"] = _records(
        con,
        f"""
        SELECT title, year, rating, rating * 2 AS rating_10, round(corpus_mean, 2) AS corpus_mean,
               round(difference, 2) AS difference
        FROM ({compared}) ORDER BY abs(difference) DESC, title LIMIT {CONTRARIAN_EXAMPLES}
        """,
    )
    return summary
