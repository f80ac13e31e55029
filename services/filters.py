"""What a member may ask to narrow recommendations to, validated once and applied as a mask.

Request keys (all optional):
  genres            list or comma-separated: a film must have at least one of them
  exclude_genres    list or comma-separated: a film must have none of them
  year_min, year_max               inclusive release years
  decade            "1990s" or 1990 (sets both bounds); decade_min / decade_max for a range
  max_runtime       minutes
  obscurity         "any", "popular", "balanced", "obscure", or 0-100: the most obscure
                    percentile allowed (0 = the most-voted film, 100 = the least)
  watchlist         "include" (default), "exclude" or "only"
  providers         list or comma-separated streaming services (applied by the caller)
  movies_only       true (default) drops TV
  max_per_director  at most this many films per director (default 2, 0 = no limit)
  diversity         0-1, how much variety counts against relevance in re-ranking

A film whose field is unknown never passes a filter on that field: a film with no
known runtime is not "under 100 minutes".
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import numpy as np

from services.catalog import Catalog, canonical_genre
from services.domain import Film

KNOWN_GENRES = frozenset(canonical_genre(g) for g in (
    "Action", "Adventure", "Animation", "Biography", "Comedy", "Crime", "Documentary", "Drama",
    "Family", "Fantasy", "Film-Noir", "History", "Horror", "Music", "Musical", "Mystery", "News",
    "Romance", "Sci-Fi", "Science Fiction", "Short", "Sport", "Thriller", "TV Movie", "War", "Western",
    "Adult", "Game-Show", "Reality-TV", "Talk-Show",
))
OBSCURITY_PRESETS: dict[str, tuple[float, float]] = {
    "any": (0.0, 100.0),
    "popular": (0.0, 10.0),
    "balanced": (0.0, 50.0),
    "obscure": (50.0, 100.0),
}
WATCHLIST_MODES = ("include", "exclude", "only")
DEFAULT_MAX_PER_DIRECTOR = 2
DEFAULT_DIVERSITY = 0.2
MIN_YEAR, MAX_YEAR = 1870, 2100
MAX_RUNTIME = 1000
MAX_LIST_ITEMS = 50
KNOWN_KEYS = frozenset((
    "genres", "exclude_genres", "year_min", "year_max", "decade", "decade_min", "decade_max",
    "max_runtime", "obscurity", "watchlist", "providers", "movies_only", "max_per_director", "diversity",
))
_DECADE = re.compile(r"^\s*(\d{3})0\s*'?s?\s*$", re.IGNORECASE)


def normalise_provider(name: str) -> str:
    """Return a provider name folded for comparison ("Amazon  Prime Video" -> "amazon prime video")."""
    return " ".join(re.sub(r"[^0-9a-z+]+", " ", str(name).lower()).split())


@dataclass(frozen=True)
class Filters:
    """Validated filters; the defaults let every film through."""

    genres: tuple[str, ...] = ()  # canonical genre keys
    exclude_genres: tuple[str, ...] = ()
    year_min: int | None = None
    year_max: int | None = None
    max_runtime: int | None = None
    obscurity_min: float = 0.0
    obscurity_max: float = 100.0
    watchlist: str = "include"
    providers: tuple[str, ...] = ()  # normalised names
    movies_only: bool = True
    max_per_director: int = DEFAULT_MAX_PER_DIRECTOR  # 0 = no limit
    diversity: float = DEFAULT_DIVERSITY

    @classmethod
    def from_request(cls, data: Mapping[str, Any] | None) -> Filters:
        """Validate a request's filters; raise ValueError with a readable message for bad values."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise ValueError("filters must be an object")
        unknown = sorted(set(data) - KNOWN_KEYS)
        if unknown:
            raise ValueError(f"unknown filter {unknown[0]!r}; known filters: {', '.join(sorted(KNOWN_KEYS))}")
        genres = _genres(data.get("genres"), "genres")
        exclude = _genres(data.get("exclude_genres"), "exclude_genres")
        both = sorted(set(genres) & set(exclude))
        if both:
            raise ValueError(f"genre {both[0]!r} is both included and excluded")
        year_min = _int(data.get("year_min"), "year_min", MIN_YEAR, MAX_YEAR)
        year_max = _int(data.get("year_max"), "year_max", MIN_YEAR, MAX_YEAR)
        if data.get("decade") not in (None, ""):
            if year_min is not None or year_max is not None:
                raise ValueError("give either decade or year_min/year_max, not both")
            year_min = _decade(data["decade"], "decade")
            year_max = year_min + 9
        if data.get("decade_min") not in (None, ""):
            year_min = _max_or_none(year_min, _decade(data["decade_min"], "decade_min"))
        if data.get("decade_max") not in (None, ""):
            year_max = _min_or_none(year_max, _decade(data["decade_max"], "decade_max") + 9)
        if year_min is not None and year_max is not None and year_min > year_max:
            raise ValueError(f"year range is empty: {year_min} is after {year_max}")
        obscurity_min, obscurity_max = _obscurity(data.get("obscurity"))
        watchlist = data.get("watchlist", "include")
        if watchlist in (None, ""):
            watchlist = "include"
        if not isinstance(watchlist, str) or watchlist.strip().lower() not in WATCHLIST_MODES:
            raise ValueError(f"watchlist must be one of {', '.join(WATCHLIST_MODES)}, not {watchlist!r}")
        return cls(
            genres=genres,
            exclude_genres=exclude,
            year_min=year_min,
            year_max=year_max,
            max_runtime=_int(data.get("max_runtime"), "max_runtime", 1, MAX_RUNTIME),
            obscurity_min=obscurity_min,
            obscurity_max=obscurity_max,
            watchlist=watchlist.strip().lower(),
            providers=tuple(dict.fromkeys(normalise_provider(p) for p in _strings(data.get("providers"), "providers")
                                          if normalise_provider(p))),
            movies_only=_bool(data.get("movies_only"), "movies_only", True),
            max_per_director=_int(data.get("max_per_director"), "max_per_director", 0, 100)
            if data.get("max_per_director") not in (None, "") else DEFAULT_MAX_PER_DIRECTOR,
            diversity=_float(data.get("diversity"), "diversity", 0.0, 1.0, DEFAULT_DIVERSITY),
        )

    def mask(self, catalog: Catalog, watchlist_ids: Iterable[int] = ()) -> np.ndarray:
        """Return a boolean array over the catalog: True where a film passes every filter."""
        ok = np.ones(len(catalog), dtype=bool)
        if self.genres:
            ok &= catalog.genre_mask(self.genres)
        if self.exclude_genres:
            ok &= ~catalog.genre_mask(self.exclude_genres)
        if self.year_min is not None:
            ok &= np.nan_to_num(catalog.years, nan=-1e9) >= self.year_min
        if self.year_max is not None:
            ok &= np.nan_to_num(catalog.years, nan=1e9) <= self.year_max
        if self.max_runtime is not None:
            ok &= np.nan_to_num(catalog.runtimes, nan=1e9) <= self.max_runtime
        if self.obscurity_min > 0.0:
            ok &= catalog.obscurity >= self.obscurity_min
        if self.obscurity_max < 100.0:
            ok &= catalog.obscurity <= self.obscurity_max
        if self.movies_only:
            ok &= catalog.is_movie
        if self.watchlist != "include":
            listed = np.zeros(len(catalog), dtype=bool)
            index = catalog.indices_of(list(watchlist_ids))
            listed[index[index >= 0]] = True
            ok &= listed if self.watchlist == "only" else ~listed
        return ok

    def allows(self, film: Film, obscurity: float, in_watchlist: bool = False) -> bool:
        """Return whether one film passes every filter (the same rules as mask)."""
        genres = {canonical_genre(g) for g in film.genres}
        if self.genres and not genres & set(self.genres):
            return False
        if genres & set(self.exclude_genres):
            return False
        if self.year_min is not None and (film.year is None or film.year < self.year_min):
            return False
        if self.year_max is not None and (film.year is None or film.year > self.year_max):
            return False
        if self.max_runtime is not None and (not film.runtime or film.runtime > self.max_runtime):
            return False
        if not self.obscurity_min <= obscurity <= self.obscurity_max:
            return False
        if self.movies_only and film.media_type != "movie":
            return False
        if self.watchlist == "only" and not in_watchlist:
            return False
        if self.watchlist == "exclude" and in_watchlist:
            return False
        return True

    def allows_providers(self, offers: Iterable[Mapping[str, Any]]) -> bool:
        """Return whether any offer is on one of the requested providers (always, with none requested)."""
        if not self.providers:
            return True
        wanted = set(self.providers)
        return any(normalise_provider(offer.get("provider", "")) in wanted for offer in offers)

    def is_default(self) -> bool:
        """Return whether these filters are the defaults."""
        return self == Filters()


def _strings(value: Any, name: str) -> list[str]:
    """Return a list of non-empty strings from a list or a comma-separated string."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise ValueError(f"{name} must be a list of names or a comma-separated string")
    if len(items) > MAX_LIST_ITEMS:
        raise ValueError(f"{name} may list at most {MAX_LIST_ITEMS} values")
    out = []
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"{name} must contain only names, not {item!r}")
        if item.strip():
            out.append(item.strip())
    return out


def _genres(value: Any, name: str) -> tuple[str, ...]:
    """Return canonical genre keys, rejecting genres nobody knows."""
    keys = []
    for item in _strings(value, name):
        key = canonical_genre(item)
        if key not in KNOWN_GENRES:
            raise ValueError(f"unknown genre {item!r} in {name}")
        keys.append(key)
    return tuple(dict.fromkeys(keys))


def _int(value: Any, name: str, low: int, high: int) -> int | None:
    """Return an integer within [low, high], or None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a whole number")
    if isinstance(value, str):
        value = value.strip()
        if not re.fullmatch(r"-?\d+", value):
            raise ValueError(f"{name} must be a whole number, not {value!r}")
        value = int(value)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"{name} must be a whole number, not {value!r}")
        value = int(value)
    if not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, not {value}")
    return value


def _float(value: Any, name: str, low: float, high: float, default: float) -> float:
    """Return a number within [low, high], or the default when absent."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, not {value!r}") from None
    if not np.isfinite(number) or not low <= number <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g}, not {value!r}")
    return number


def _bool(value: Any, name: str, default: bool) -> bool:
    """Return a boolean from true/false, 1/0, yes/no, on/off."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"{name} must be true or false, not {value!r}")


def _decade(value: Any, name: str) -> int:
    """Return the first year of a decade given as 1990, "1990" or "1990s"."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a decade like 1990s")
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, str):
        text = value
    else:
        raise ValueError(f"{name} must be a decade like 1990s")
    match = _DECADE.match(text)
    if not match:
        raise ValueError(f"{name} must be a decade like 1990s, not {value!r}")
    year = int(match.group(1)) * 10
    if not MIN_YEAR - 10 < year <= MAX_YEAR:
        raise ValueError(f"{name} must be between {MIN_YEAR // 10 * 10}s and {MAX_YEAR // 10 * 10}s")
    return year


def _obscurity(value: Any) -> tuple[float, float]:
    """Return the allowed obscurity range from a preset name or a 0-100 maximum percentile."""
    if value is None or value == "":
        return OBSCURITY_PRESETS["any"]
    if isinstance(value, str) and value.strip().lower() in OBSCURITY_PRESETS:
        return OBSCURITY_PRESETS[value.strip().lower()]
    if isinstance(value, str) and not re.fullmatch(r"\s*\d+(\.\d+)?\s*", value):
        raise ValueError(
            f"obscurity must be one of {', '.join(OBSCURITY_PRESETS)} or a percentile 0-100, not {value!r}")
    return 0.0, _float(value, "obscurity", 0.0, 100.0, 100.0)


def _max_or_none(a: int | None, b: int) -> int:
    return b if a is None else max(a, b)


def _min_or_none(a: int | None, b: int) -> int:
    return b if a is None else min(a, b)
