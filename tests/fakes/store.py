"""An in-memory stand-in for infra.store.Store with the same merge rules, for fast unit tests."""
from __future__ import annotations

import threading
from dataclasses import fields, replace

from services.domain import Film


class MemoryStore:
    """Films and collected member rows in dicts; upsert merges by tmdb_id, then imdb_id, then its own
    film_id (when not 0), else inserts."""

    def __init__(self, films: list[Film] | None = None) -> None:
        self._films: dict[int, Film] = {}
        self._lock = threading.Lock()
        self.member_rows: dict[tuple[str, int], tuple[float | None, bool, bool]] = {}
        self.complete: set[str] = set()
        self.writes = 0
        self.add_calls = 0
        for film in films or []:
            self.upsert_film(film)

    def films(self) -> list[Film]:
        with self._lock:
            return [self._films[k] for k in sorted(self._films)]

    def film(self, film_id: int) -> Film | None:
        return self._films.get(int(film_id))

    def film_by_tmdb(self, tmdb_id: int, media_type: str = "movie") -> Film | None:
        with self._lock:
            return next((f for f in self._films.values() if f.tmdb_id == tmdb_id and f.media_type == media_type), None)

    def film_by_imdb(self, imdb_id: str) -> Film | None:
        with self._lock:
            return next((f for f in self._films.values() if f.imdb_id == imdb_id), None)

    def upsert_film(self, film: Film) -> int:
        with self._lock:
            self.writes += 1
            existing = None
            if film.tmdb_id is not None:
                existing = next((f for f in self._films.values() if f.tmdb_id == film.tmdb_id), None)
            if existing is None and film.imdb_id:
                existing = next((f for f in self._films.values() if f.imdb_id == film.imdb_id), None)
            if existing is None and film.film_id:
                existing = self._films.get(int(film.film_id))
            if existing is None:
                if not film.title:
                    raise ValueError("a film needs a title")
                film_id = max(self._films, default=0) + 1
                self._films[film_id] = replace(film, film_id=film_id)
                return film_id
            changes = {}
            for f in fields(Film):
                value = getattr(film, f.name)
                if f.name in ("film_id", "corpus_count", "corpus_mean") or value is None or value in ((), ""):
                    continue
                changes[f.name] = value
            self._films[existing.film_id] = replace(existing, **changes)
            return existing.film_id

    def upsert_films(self, films: list[Film]) -> list[int]:
        return [self.upsert_film(film) for film in films]

    def add_member_films(self, member_hash: str, rows: list[tuple[int, float | None, bool, bool]]) -> int:
        changed = 0
        with self._lock:
            self.add_calls += 1
            for film_id, stars, liked, watched in rows:
                if film_id not in self._films:
                    raise ValueError(f"unknown film id {film_id}")
                key = (member_hash, film_id)
                value = (stars, bool(liked), bool(watched))
                if self.member_rows.get(key) != value:
                    self.member_rows[key] = value
                    changed += 1
        return changed

    def mark_member_complete(self, member_hash: str) -> None:
        with self._lock:
            self.complete.add(member_hash)

    def member_complete(self, member_hash: str) -> bool:
        return member_hash in self.complete

    def collected_counts(self) -> dict:
        members = {m for m, _ in self.member_rows}
        rated = sum(1 for v in self.member_rows.values() if v[0] is not None)
        return {"members": len(members), "complete_members": len(self.complete), "ratings": rated,
                "unrated": len(self.member_rows) - rated, "films": len({f for _, f in self.member_rows})}
