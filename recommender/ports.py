"""What the use cases need from the outside, as typed ports; infra/ provides the real ones, tests fakes.

    Profiles      a member's films by username (fresh, stale copy or RSS) and their RSS diary
    Lists         a Letterboxd list's films (fresh, or an older copy when Letterboxd fails)
    Tmdb          details of films, the member's films found, and TMDB's suggestions
    Availability  where films stream in a country
    Contributions the shared corpus a member may add their ratings to
    Model         the served model (recommender.served_model.ServedModel)
"""
from __future__ import annotations

from typing import Callable, Iterable, Mapping, Protocol, Sequence

from infra.letterboxd_sources import ListFetch, ProfileFetch
from services.domain import Film, MatchedFilm, Profile

Progress = Callable[[str, int, int], None]


class Profiles(Protocol):
    def get(self, username: str, progress: Progress | None = None) -> ProfileFetch: ...

    def with_rss_diary(self, profile: Profile) -> tuple[Profile, int]: ...


class Lists(Protocol):
    def get(self, owner: str, slug: str, on_fetch: Callable[[], None] | None = None) -> ListFetch: ...


class Tmdb(Protocol):
    enabled: bool

    def enrich(self, items: Sequence[Film]) -> list[Film | None]: ...

    def enrich_matched(self, matched: Sequence[MatchedFilm], progress: Progress | None = None, *,
                       cancel=None, with_details=None) -> list[MatchedFilm]: ...

    def similar_candidates(self, films: Iterable[Film], per_film: int,
                           in_catalog: Callable[[Film], Film | None]) -> dict[int, str]: ...


class Availability(Protocol):
    def availability(self, films: Sequence[Film], country: str) -> Mapping[int, list | None]: ...


class Contributions(Protocol):
    def add(self, rows: Sequence[tuple[int, float | None, bool]]) -> str: ...
