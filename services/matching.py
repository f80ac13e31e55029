"""Match a member's logged films to catalog films: by TMDB id, IMDb id, then title and year."""
from __future__ import annotations

import re
import sys
import threading
import unicodedata
from typing import Iterable, Sequence

from cachetools import LRUCache

from services.domain import Film, MatchedFilm, Profile, ProfileFilm

# Letterboxd shows a film's premiere year, which can differ by one from the catalog's.
YEAR_TOLERANCE = 1
# The title-key cache is bounded by bytes (titles and keys together), not entries, and
# titles longer than NORMALISED_CACHE_MAX_TITLE are normalised without being cached.
NORMALISED_CACHE_BYTES = 24 * 1024 * 1024  # holds every title of the largest export allowed
NORMALISED_CACHE_MAX_TITLE = 300
_ENTRY_OVERHEAD = 200  # the cache's own dict slot, link and tuple per entry

_DROPPED = str.maketrans("", "", "'\u2018\u2019\u02bc`.\u00b4")
_SEPARATORS = re.compile(r"[\W_]+")
_TRAILING_ARTICLE = re.compile(r",\s*(the|a|an)$")
_LEADING_ARTICLE = re.compile(r"^(?:the|a|an) (?=\S)")


_normalised: LRUCache = LRUCache(maxsize=NORMALISED_CACHE_BYTES, getsizeof=lambda entry: entry[0])
_normalised_lock = threading.Lock()


def normalise_title(title: str) -> str:
    """Return a title's matching key: casefolded, accents and punctuation gone, articles dropped."""
    title = title or ""
    if len(title) > NORMALISED_CACHE_MAX_TITLE:
        return _normalise(title)
    with _normalised_lock:
        hit = _normalised.get(title)
    if hit is not None:
        return hit[1]
    key = _normalise(title)
    with _normalised_lock:
        _normalised[title] = (sys.getsizeof(title) + sys.getsizeof(key) + _ENTRY_OVERHEAD, key)
    return key


def normalised_cache_bytes() -> int:
    """Bytes the title-key cache holds now (titles, keys and per-entry overhead)."""
    return int(_normalised.currsize)


def _normalise(title: str) -> str:
    text = title or ""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.casefold().strip()
    if "," in text:
        text = _TRAILING_ARTICLE.sub("", text)
    if "&" in text:
        text = text.replace("&", " and ")
    text = text.translate(_DROPPED)
    key = _SEPARATORS.sub(" ", text).strip()
    if key.startswith(("the ", "a ", "an ")):
        key = _LEADING_ARTICLE.sub("", key)
    return key or text or (title or "").casefold().strip()


class CatalogIndex:
    """Lookup tables over catalog films for matching profile entries."""

    def __init__(self, films: Iterable[Film]) -> None:
        self._by_tmdb: dict[int, Film] = {}
        self._by_imdb: dict[str, Film] = {}
        self._by_title: dict[str, list[Film]] = {}
        self._size = 0
        for film in films:
            self._size += 1
            if film.tmdb_id is not None and (film.media_type == "movie" or film.tmdb_id not in self._by_tmdb):
                self._by_tmdb[film.tmdb_id] = film
            if film.imdb_id:
                self._by_imdb[film.imdb_id] = film
            keys = {normalise_title(film.title)}
            if film.original_title:
                keys.add(normalise_title(film.original_title))
            for key in keys:
                self._by_title.setdefault(key, []).append(film)

    def __len__(self) -> int:
        return self._size

    def match(self, entry: ProfileFilm) -> Film | None:
        """Return the catalog film for an entry: ids first, then title with the exact year, then year +-1."""
        if entry.tmdb_id is not None and entry.tmdb_id in self._by_tmdb:
            return self._by_tmdb[entry.tmdb_id]
        if entry.imdb_id and entry.imdb_id in self._by_imdb:
            return self._by_imdb[entry.imdb_id]
        candidates = self._by_title.get(normalise_title(entry.title))
        if not candidates:
            return None
        if entry.year is None:
            return _most_rated(candidates)
        exact = [film for film in candidates if film.year == entry.year]
        if exact:
            return _most_rated(exact)
        near = [film for film in candidates
                if film.year is not None and abs(film.year - entry.year) <= YEAR_TOLERANCE]
        if near:
            return _most_rated(near)
        undated = [film for film in candidates if film.year is None]
        return _most_rated(undated) if len(undated) == 1 else None


def _most_rated(films: Sequence[Film]) -> Film:
    """Pick the film with the most corpus ratings, then the lowest id."""
    return min(films, key=lambda film: (-film.corpus_count, film.film_id))


def match_profile(profile: Profile, index: CatalogIndex) -> list[MatchedFilm]:
    """Match every film of a profile, keeping the profile's order."""
    return [MatchedFilm(entry=entry, film=index.match(entry)) for entry in profile.films]
