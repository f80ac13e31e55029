"""The store's films: the catalog as Film objects, read once per change, and films merged in or added."""
from __future__ import annotations

import sqlite3

import numpy as np

from infra.store_schema import FILM_COLUMNS, STARS_TO_CORPUS, bump_revision, film_from_row, film_values
from services.domain import Film


class FilmTable:
    """The films of a Store (a part of it: `Store` is a FilmTable and a RatingTables)."""

    _films_cache: tuple[str, list[Film], dict[int, Film]] | None = None

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
        connection = self.connection()
        row = connection.execute(
            f"SELECT {', '.join(FILM_COLUMNS)} FROM films WHERE film_id = ?", (int(film_id),)).fetchone()
        if row is None:
            return None
        count, total = connection.execute(
            "SELECT COUNT(*), COALESCE(SUM(ROUND(stars * 2) / 2.0), 0) FROM member_films "
            "WHERE film_id = ? AND stars IS NOT NULL", (int(film_id),)).fetchone()
        return film_from_row(row, {row[0]: count}, {row[0]: total * STARS_TO_CORPUS})

    def film_by_tmdb(self, tmdb_id: int, media_type: str = "movie") -> Film | None:
        """Return the film with this TMDB id (movie by default), or None."""
        row = self.connection().execute(
            "SELECT film_id FROM films WHERE tmdb_id = ? AND media_type = ?",
            (int(tmdb_id), media_type)).fetchone()
        return self.film(row[0]) if row else None

    def film_by_imdb(self, imdb_id: str) -> Film | None:
        """Return the film with this IMDb id ("tt0050083"), or None."""
        row = self.connection().execute("SELECT film_id FROM films WHERE imdb_id = ?", (imdb_id,)).fetchone()
        return self.film(row[0]) if row else None

    def _films_snapshot(self) -> tuple[str, list[Film], dict[int, Film]]:
        """Return (version, films, films by id), reading them again only after a change."""
        version = self.version()
        cached = self._films_cache
        if cached is not None and cached[0] == version:
            return cached
        rows = self.connection().execute(
            f"SELECT {', '.join(FILM_COLUMNS)} FROM films ORDER BY film_id").fetchall()
        counts, totals = self._member_rating_stats()
        films = [film_from_row(row, counts, totals) for row in rows]
        snapshot = (version, films, {film.film_id: film for film in films})
        self._films_cache = snapshot
        return snapshot

    def _member_rating_stats(self) -> tuple[dict[int, int], dict[int, float]]:
        """Return collected member ratings per film: (count by film_id, sum of 0-10 ratings)."""
        _, _, embedded_ratings = self.embedded_corpus()
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

    def upsert_films(self, films: list[Film]) -> list[int]:
        """Merge or insert many films in one transaction (as upsert_film); return their film_ids."""
        ids = []
        with self.write() as connection:
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


def _insert_film(connection: sqlite3.Connection, film: Film) -> int:
    """Insert a film that the store does not hold yet; return its new film_id."""
    values = film_values(film)
    if "title" not in values:
        raise ValueError("a film needs a title")
    film_id = connection.execute("SELECT COALESCE(MAX(film_id), 0) + 1 FROM films").fetchone()[0]
    values.update(film_id=film_id, enriched=1)
    connection.execute(
        f"INSERT INTO films ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
        tuple(values.values()))
    bump_revision(connection)
    return film_id


def _merge_film(connection: sqlite3.Connection, existing: tuple, film: Film) -> int:
    """Update a stored film with the known values of film; return its film_id."""
    names = [d[0] for d in connection.execute("SELECT * FROM films LIMIT 0").description]
    current = dict(zip(names, existing))
    values = film_values(film)
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
        bump_revision(connection)
    return current["film_id"]
