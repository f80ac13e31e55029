"""Members: what a member did with each film, as signals the model folds in.

A `Member` is one person's films (from an export, a live profile or RSS); `MemberRows`
is many members at once as sparse rows over the catalog (what `evaluate` scores).
Both go through the same scoring path.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple, Sequence

import numpy as np
import scipy.sparse as sp

from services.domain import Film, MatchedFilm, ProfileFilm
from services.recsys.training import LIKE_FRACTION, SignalWeights

COLD_START_MIN_FILMS = 5  # fewer films watched, rated or liked than this: no personal model
LOVED_STARS = 4.0  # a film rated this or higher (or liked) counts as loved


class MemberFilm(NamedTuple):
    """One catalog film with everything the member did with it."""

    film: Film
    stars: float | None
    liked: bool
    rewatch: bool
    watched: bool
    watchlist: bool

    @property
    def seen(self) -> bool:
        """Return whether the member has seen the film (watched, rated or liked it)."""
        return self.watched or self.stars is not None or self.liked

    @property
    def loved(self) -> bool:
        return self.liked or (self.stars is not None and self.stars >= LOVED_STARS)


def member_films(matched: Sequence[MatchedFilm]) -> list[MemberFilm]:
    """Merge a member's matched entries into one record per catalog film."""
    films: dict[int, Film] = {}  # each film as first matched, in the member's order
    stars: dict[int, float] = {}  # the last rating given
    liked: set[int] = set()
    rewatched: set[int] = set()
    watched: set[int] = set()
    watchlist: set[int] = set()
    for item in matched:
        film = item.film
        if film is None:
            continue
        entry = item.entry
        key = film.film_id
        if key not in films:
            films[key] = film
        if entry.rating is not None:
            stars[key] = float(entry.rating)
        if entry.liked:
            liked.add(key)
        if entry.rewatch or len(entry.watched_dates) > 1:
            rewatched.add(key)
        if entry.watched:
            watched.add(key)
        if entry.watchlist:
            watchlist.add(key)
    return [MemberFilm(film, stars.get(key), key in liked, key in rewatched, key in watched, key in watchlist)
            for key, film in films.items()]


def member_signals(films: Sequence[MemberFilm], signals: SignalWeights, scale_fraction_per_star: float = 0.2
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Return (presence weight, centred rating) per member film, on the model's 0-1 rating scale."""
    n = len(films)
    stars = np.fromiter((np.nan if f.stars is None else f.stars for f in films), dtype=np.float32, count=n)
    flags = np.fromiter((bit for f in films for bit in (f.liked, f.watched, f.watchlist, f.rewatch)), dtype=bool,
                        count=4 * n).reshape(n, 4)
    liked, watched, watchlist, rewatch = flags.T
    rated = ~np.isnan(stars)
    value = stars * np.float32(scale_fraction_per_star)
    mean = np.float32(value[rated].mean()) if rated.any() else np.float32(LIKE_FRACTION)
    presence = np.select([rated, liked, watched, watchlist],
                         [np.float32(signals.rated), np.float32(signals.liked), np.float32(signals.watched),
                          np.float32(signals.watchlist)], np.float32(0.0)).astype(np.float32)
    centred = np.zeros(n, dtype=np.float32)
    centred[rated] = value[rated] - mean + np.where(liked[rated], np.float32(signals.like_bonus), np.float32(0.0))
    only_liked = ~rated & liked
    centred[only_liked] = np.float32(signals.liked_rating) - mean
    presence[rewatch] *= np.float32(signals.rewatch)
    return presence, centred


@dataclass(eq=False)
class Member:
    """One member's films; the model caches its fold-in here while a request lasts."""

    films: tuple[MemberFilm, ...]
    cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_matched(cls, matched: Sequence[MatchedFilm]) -> Member:
        """Return the member behind a matched profile (unmatched entries are left out)."""
        return cls(tuple(member_films(matched)))

    @property
    def seen_ids(self) -> set[int]:
        """Return the ids of films the member has seen (never recommended back)."""
        return {f.film.film_id for f in self.films if f.seen}

    @property
    def watchlist_ids(self) -> set[int]:
        return {f.film.film_id for f in self.films if f.watchlist}


def most_telling(entries: Sequence[ProfileFilm], count: int) -> list[ProfileFilm]:
    """The `count` entries that say most about a member's taste: seen before watchlist-only, liked first,
    then by rating (highest first), then rewatched, logged most often and most recently."""
    def telling(entry: ProfileFilm) -> tuple:
        seen = entry.watched or entry.rating is not None or entry.liked
        last = entry.watched_dates[-1] if entry.watched_dates else ""
        return (seen, entry.liked, entry.rating if entry.rating is not None else -1.0, entry.rewatch,
                len(entry.watched_dates), last)

    return sorted(entries, key=telling, reverse=True)[:max(0, count)]


def is_cold_start(member: Member | Sequence[MatchedFilm]) -> bool:
    """Return whether a member has too few films watched, rated or liked for personal picks."""
    films = member.films if isinstance(member, Member) else member_films(member)
    return sum(1 for f in films if f.seen) < COLD_START_MIN_FILMS


@dataclass(frozen=True)
class MemberRows:
    """Many members as rows over the catalog's films (columns are catalog positions)."""

    presence: sp.csr_matrix
    centred: sp.csr_matrix

    @property
    def n(self) -> int:
        return int(self.presence.shape[0])
