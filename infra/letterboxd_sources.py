"""Which copy of a member's profile, or of a list, to serve: fresh, a stale copy when Letterboxd fails, or RSS.

    ProfileSource  a fresh profile from the cache or a scrape; the stale copy, then RSS, when Letterboxd fails
    ListSource     a list's films from the cache for an hour, else a scrape, else a week-old copy
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Callable, NamedTuple

from config import Settings
from infra.http import CircuitOpen, TruncatedScrape, UpstreamBadResponse, UpstreamBlocked
from infra.http import UpstreamError, UpstreamNotFound, UpstreamTimeout, UserNotFound
from infra.letterboxd import LetterboxdClient, Progress
from infra.letterboxd_parsers import FilmEntry
from services.domain import Profile, ProfileFilm

if TYPE_CHECKING:
    from infra.cache import Cache

log = logging.getLogger(__name__)

def profile_to_json(profile: Profile) -> dict:
    """Serialise a Profile for the cache."""
    return asdict(profile)


def profile_from_json(data: dict) -> Profile:
    """Rebuild a Profile serialised by profile_to_json."""
    films = tuple(ProfileFilm(**{**f, "watched_dates": tuple(f.get("watched_dates") or ())})
                  for f in data.get("films", ()))
    return Profile(username=data["username"], source=data["source"], films=films, pages=data.get("pages", 0))



class ProfileFetch(NamedTuple):
    """A profile with how fresh it is and, when something went wrong upstream, what."""

    profile: Profile
    freshness: str  # "fresh", "stale_cache", "rss" or "partial"
    incident: dict | None


FRESH_NS = "lb-profile"
STALE_NS = "lb-profile-stale"


def _incident(exc: BaseException) -> dict:
    if isinstance(exc, CircuitOpen):
        reason = "circuit_open"
    elif isinstance(exc, UpstreamBlocked):
        reason = "blocked"
    elif isinstance(exc, TruncatedScrape):
        reason = "truncated"
    elif isinstance(exc, UpstreamTimeout):
        reason = "timeout"
    elif isinstance(exc, UpstreamBadResponse):
        reason = "bad_response"
    else:
        reason = "upstream_error"
    return {
        "reason": reason,
        "message": str(exc),
        "status": getattr(exc, "status", None),
        "retry_after_s": round(exc.retry_after_s, 1) if isinstance(exc, CircuitOpen) else None,
    }


class ProfileSource:
    """Fresh profile from the cache or a scrape; when Letterboxd fails, the stale copy, then RSS.

    How long each copy is kept are the settings PROFILE_FRESH_TTL_S and PROFILE_STALE_TTL_S.
    """

    def __init__(self, client: LetterboxdClient, cache: Cache, *,
                 fresh_ttl_s: float = Settings.profile_fresh_ttl_s, stale_ttl_s: float = Settings.profile_stale_ttl_s,
                 clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.cache = cache
        self.fresh_ttl_s = fresh_ttl_s
        self.stale_ttl_s = stale_ttl_s
        self._clock = clock

    def _save(self, profile: Profile) -> None:
        record = {"saved_at": self._clock(), "profile": profile_to_json(profile)}
        key = profile.username.lower()
        self.cache.set(FRESH_NS, key, record, self.fresh_ttl_s)
        self.cache.set(STALE_NS, key, record, self.stale_ttl_s)

    def _load(self, namespace: str, username: str) -> tuple[Profile, float] | None:
        record = self.cache.get(namespace, username.lower())
        if not record:
            return None
        try:
            return profile_from_json(record["profile"]), float(record.get("saved_at", 0))
        except (KeyError, TypeError, ValueError):
            return None

    def get(self, username: str, progress: Progress | None = None, *, refresh: bool = False,
            rss_only: bool = False) -> ProfileFetch:
        """Return (profile, freshness, incident) for a member; raise when nothing can be served."""
        if rss_only:
            return self._rss_refresh(username)
        if not refresh:
            cached = self._load(FRESH_NS, username)
            if cached is not None:
                return ProfileFetch(cached[0], "fresh", None)
        try:
            profile = self.client.fetch_profile(username, progress)
        except UserNotFound:
            raise
        except UpstreamError as exc:
            return self._fallback(username, exc)
        self._save(profile)
        return ProfileFetch(profile, "fresh", None)

    def _fallback(self, username: str, exc: UpstreamError) -> ProfileFetch:
        incident = _incident(exc)
        stale = self._load(STALE_NS, username)
        if stale is not None:
            profile, saved_at = stale
            incident["cached_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(saved_at))
            log.warning("serving stale profile (%s): %s", incident["reason"], exc)
            return ProfileFetch(replace(profile, source="stale_cache"), "stale_cache", incident)
        if isinstance(exc, TruncatedScrape) and isinstance(exc.partial, Profile):
            log.warning("serving partial profile: %s", exc)
            return ProfileFetch(exc.partial, "partial", incident)
        if isinstance(exc, CircuitOpen) and exc.unreachable:
            # Letterboxd gave no answer at all to the calls that opened the breaker: its RSS feed
            # lives on the same host, so retrying there would only keep the member waiting.
            raise exc
        try:
            rss = self.client.fetch_rss(username)
        except UpstreamError as rss_exc:
            log.warning("rss fallback failed too: %s", rss_exc)
            raise exc from rss_exc
        if not rss.films:
            raise exc
        log.warning("serving RSS profile (%s): %s", incident["reason"], exc)
        return ProfileFetch(rss, "rss", incident)

    def with_rss_diary(self, profile: Profile) -> tuple[Profile, int]:
        """The profile with its member's RSS diary merged in, and how many diary entries the feed held.

        Raises UpstreamError when the feed cannot be read.
        """
        rss = self.client.fetch_rss(profile.username)
        return merge_rss(profile, rss), len(rss.films)

    def _rss_refresh(self, username: str) -> ProfileFetch:
        """Refresh from RSS only; merge its entries over a cached full profile when there is one."""
        rss = self.client.fetch_rss(username)
        base = self._load(FRESH_NS, username) or self._load(STALE_NS, username)
        if base is None:
            return ProfileFetch(rss, "rss", None)
        return ProfileFetch(merge_rss(base[0], rss), "rss", None)


def merge_rss(profile: Profile, rss: Profile) -> Profile:
    """Overlay RSS diary entries on a profile: newer ratings, likes and dates win; new films are added."""
    by_slug = {f.slug: i for i, f in enumerate(profile.films) if f.slug}
    films = list(profile.films)
    for entry in rss.films:
        i = by_slug.get(entry.slug) if entry.slug else None
        if i is None:
            films.append(entry)
            continue
        old = films[i]
        films[i] = replace(
            old, rating=entry.rating if entry.rating is not None else old.rating,
            liked=old.liked or entry.liked, rewatch=old.rewatch or entry.rewatch, watched=True,
            watched_dates=tuple(sorted(set(old.watched_dates) | set(entry.watched_dates))),
            tmdb_id=old.tmdb_id or entry.tmdb_id)
    return replace(profile, films=tuple(films), source="rss")


# ----- lists ------------------------------------------------------------------------------------

LIST_FRESH_NS, LIST_STALE_NS = "list", "list_stale"
LIST_FRESH_TTL_S = 3600.0  # a list read from Letterboxd is reused for an hour
LIST_STALE_TTL_S = 7 * 86400.0  # and served for a week when Letterboxd stops answering


class ListFetch(NamedTuple):
    """A Letterboxd list's films, in the list's order, with how fresh they are ("fresh" or "stale_cache")."""

    films: tuple[ProfileFilm, ...]
    freshness: str


class ListSource:
    """A Letterboxd list: from the cache for an hour, else Letterboxd, else a week-old copy when it fails.

    Raises UpstreamNotFound when there is no such list, and the UpstreamError when Letterboxd fails
    and no older copy is kept.
    """

    def __init__(self, client: LetterboxdClient, cache: Cache) -> None:
        self.client = client
        self.cache = cache

    def get(self, owner: str, slug: str, on_fetch: Callable[[], None] | None = None) -> ListFetch:
        """The list's films; `on_fetch` is called before Letterboxd is asked (not when the cache answers)."""
        key = f"{owner.lower()}/{slug}"
        cached = self.cache.get(LIST_FRESH_NS, key)
        if cached is not None:
            return ListFetch(_list_films(FilmEntry(**row) for row in cached), "fresh")
        if on_fetch is not None:
            on_fetch()
        try:
            entries = self.client.fetch_list(owner, slug)
        except UpstreamNotFound:
            raise
        except UpstreamError:
            stale = self.cache.get(LIST_STALE_NS, key)
            if stale is None:
                raise
            return ListFetch(_list_films(FilmEntry(**row) for row in stale), "stale_cache")
        rows = [asdict(entry) for entry in entries]
        self.cache.set(LIST_FRESH_NS, key, rows, LIST_FRESH_TTL_S)
        self.cache.set(LIST_STALE_NS, key, rows, LIST_STALE_TTL_S)
        return ListFetch(_list_films(entries), "fresh")


def _list_films(entries) -> tuple[ProfileFilm, ...]:
    return tuple(ProfileFilm(title=e.title, year=e.year, slug=e.slug, watched=False) for e in entries)
