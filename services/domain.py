"""Domain types shared by every layer: a member's films, catalog films, scored picks.

All of them are frozen dataclasses; services take them in and hand new ones out.
Ratings on a member's profile are Letterboxd stars (0.5-5); the corpus and the
model use a 0-10 scale (stars x 2).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping


@dataclass(frozen=True)
class ProfileFilm:
    """One film as the member logged it, before it is matched to the catalog."""

    title: str
    year: int | None = None
    rating: float | None = None  # stars, 0.5-5 in halves
    liked: bool = False
    rewatch: bool = False
    watched: bool = True  # False for a watchlist-only entry
    watchlist: bool = False
    watched_dates: tuple[str, ...] = ()  # ISO dates from the diary, one per log
    slug: str | None = None  # Letterboxd film slug, e.g. "arrival-2016"
    letterboxd_id: str | None = None
    tmdb_id: int | None = None
    imdb_id: str | None = None


@dataclass(frozen=True)
class Repair:
    """Something a spreadsheet changed in an export file that was read back as Letterboxd wrote it."""

    file: str  # "diary.csv"
    what: str  # "separator ';'", "dates read as day/month (28/07/2023)"


@dataclass(frozen=True)
class Unread:
    """Rows or values of an export file that could not be read, counted under one reason."""

    file: str
    reason: str
    count: int
    examples: tuple[str, ...] = ()  # the first few, as the member can find them in the file


class UnreadTally:
    """Count unread rows and values by file and reason, keeping the first few examples of each."""

    EXAMPLE_CHARS = 100  # an example is cut to this: a cell of an upload can be far longer

    def __init__(self, examples: int = 3) -> None:
        self._examples = examples
        self._counts: dict[tuple[str, str], tuple[int, list[str]]] = {}

    def count(self, file: str, reason: str, example: str) -> None:
        """Count one row or value of a file that could not be read."""
        count, examples = self._counts.get((file, reason), (0, []))
        if len(examples) < self._examples:
            cut = self.EXAMPLE_CHARS
            examples.append(example if len(example) <= cut else example[:cut - 3] + "...")
        self._counts[(file, reason)] = (count + 1, examples)

    def update(self, entries: Iterable[Unread]) -> None:
        """Add counted entries (another tally's) to this one."""
        for entry in entries:
            count, examples = self._counts.get((entry.file, entry.reason), (0, []))
            self._counts[(entry.file, entry.reason)] = (count + entry.count,
                                                        [*examples, *entry.examples][:self._examples])

    def unread(self) -> tuple[Unread, ...]:
        """Return the counts as Unread entries, in the order their reasons first came."""
        return tuple(Unread(file, reason, count, tuple(examples))
                     for (file, reason), (count, examples) in self._counts.items())


@dataclass(frozen=True)
class Profile:
    """A member's films from one source: export, live, rss or stale_cache."""

    username: str
    source: str
    films: tuple[ProfileFilm, ...]
    pages: int = 0
    repairs: tuple[Repair, ...] = ()  # an export's: what was read back as meant
    unread: tuple[Unread, ...] = ()  # an export's: what could not be read, and why


@dataclass(frozen=True, slots=True)
class Film:
    """A catalog film. Fields TMDB alone knows stay None until enrichment.

    Slotted: every process holds the whole catalog, some 120,000 of these.
    """

    film_id: int  # the store's own id, dense from 1
    title: str
    year: int | None = None
    imdb_id: str | None = None  # "tt0050083"
    tmdb_id: int | None = None
    original_title: str | None = None
    genres: tuple[str, ...] = ()
    directors: tuple[str, ...] = ()
    cast: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    language: str | None = None
    countries: tuple[str, ...] = ()
    runtime: int | None = None  # minutes
    poster: str | None = None  # full image URL
    overview: str | None = None
    vote_average: float | None = None  # TMDB, 0-10
    vote_count: int | None = None  # TMDB
    corpus_count: int = 0  # ratings of this film in the corpus
    corpus_mean: float | None = None  # mean corpus rating, 0-10
    letterboxd_slug: str | None = None
    media_type: str = "movie"  # "movie" or "tv" (TMDB), for the movies-only filter
    alt_titles: tuple[str, ...] = ()  # other names from the catalog sources, used when matching
    release_date: str | None = None  # TMDB's, "2027-06-15", once the film has been enriched


@dataclass(frozen=True)
class MatchedFilm:
    """A profile entry with the catalog film it matched, or None."""

    entry: ProfileFilm
    film: Film | None
    reason: str | None = None  # why it did not match: "not in catalog", "year differs", "ambiguous"


@dataclass(frozen=True)
class ScoredFilm:
    """A recommendation candidate with its score and the reasons behind it."""

    film: Film
    score: float
    reasons: tuple[str, ...] = ()
    contributions: Mapping[str, float] = field(default_factory=dict)
    match: int | None = None  # calibrated chance (%) the member rates it highly, when the model knows it
