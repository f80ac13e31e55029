"""Where to watch: TMDB watch providers first (from the cached details call), JustWatch as the fallback.

JustWatch is reached through simplejustwatchapi's query builder and parser, but
the request itself goes through our own HttpClient to `{justwatch_base_url}/graphql`
(the library hard-codes its URL), so it shares timeouts, retries and a breaker
and can be pointed at a fake server.
"""
from __future__ import annotations

import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

from infra.http import HttpClient, IncidentTracker, RequestsTier, RetryPolicy, UpstreamBadResponse, UpstreamError
from services.domain import Film
from services.matching import normalise_title
from services.vocabulary import COUNTRIES

if TYPE_CHECKING:
    from infra.cache import Cache
    from infra.tmdb import TmdbClient

log = logging.getLogger(__name__)

HIT_TTL_S = 6 * 3600
MISS_TTL_S = 2 * 3600
NS_STREAMING = "streaming"
JW_LANGUAGE = "en"
JW_SEARCH_COUNT = 5
JW_BREAKER_THRESHOLD = 3
JW_BREAKER_COOLDOWN_S = 60.0
JW_RETRY = RetryPolicy(max_attempts=2, base_delay_s=0.2, max_total_s=5.0)

OFFER_TYPES = ("flatrate", "free", "ads", "rent", "buy")
JW_TYPES = {"FLATRATE": "flatrate", "FLATRATE_AND_BUY": "flatrate", "FREE": "free", "ADS": "ads",
            "RENT": "rent", "BUY": "buy"}


_SUFFIXES = re.compile(
    r"\s+(?:(?:basic|standard|premium)\s+)?with\s+ads$"
    r"|\s+(?:amazon|apple\s+tv|roku\s+premium)\s+channels?$"
    r"|\s+via\s+.+$", re.I)
_ALIASES = {
    "amazon prime video": "Amazon Prime Video", "prime video": "Amazon Prime Video",
    "amazon prime": "Amazon Prime Video", "amazon video": "Amazon Video", "netflix": "Netflix",
    "netflix kids": "Netflix", "disney plus": "Disney+", "disney+": "Disney+", "apple tv plus": "Apple TV+",
    "apple tv+": "Apple TV+", "apple itunes": "Apple TV", "itunes": "Apple TV", "apple tv": "Apple TV",
    "hbo max": "Max", "max": "Max", "hbo": "Max", "paramount plus": "Paramount+", "paramount+": "Paramount+",
    "paramount+ with showtime": "Paramount+", "paramount plus premium": "Paramount+",
    "paramount plus essential": "Paramount+", "peacock": "Peacock", "peacock premium": "Peacock",
    "peacock premium plus": "Peacock", "now tv": "NOW", "now": "NOW", "now tv cinema": "NOW",
    "sky go": "Sky Go", "google play movies": "Google Play Movies", "youtube": "YouTube",
    "youtube premium": "YouTube Premium", "tubi tv": "Tubi", "tubi": "Tubi", "mubi": "MUBI",
    "bbc iplayer": "BBC iPlayer", "criterion channel": "The Criterion Channel",
    "the criterion channel": "The Criterion Channel", "hulu": "Hulu", "rakuten tv": "Rakuten TV",
    "crunchyroll": "Crunchyroll", "plex": "Plex", "pluto tv": "Pluto TV", "kanopy": "Kanopy",
}


def normalise_provider(name: str) -> str:
    """Fold a provider's plan and channel variants into one name ("Netflix basic with Ads" -> "Netflix")."""
    clean = " ".join((name or "").split())
    previous = None
    while previous != clean:
        previous = clean
        clean = _SUFFIXES.sub("", clean).strip()
    return _ALIASES.get(clean.lower(), clean)


def _sorted_offers(offers: Iterable[dict]) -> list[dict]:
    seen: set[tuple[str, str]] = set()
    out = []
    for o in offers:
        key = (o["provider"], o["type"])
        if o["provider"] and key not in seen:
            seen.add(key)
            out.append(o)
    return sorted(out, key=lambda o: (OFFER_TYPES.index(o["type"]), o["provider"].lower()))


def offers_from_tmdb(country_block: Mapping[str, Any] | None) -> list[dict]:
    """Turn TMDB's watch/providers block for one country into offers."""
    if not country_block:
        return []
    link = country_block.get("link")
    offers = []
    for kind in OFFER_TYPES:
        for p in country_block.get(kind) or []:
            offers.append({"provider": normalise_provider(p.get("provider_name", "")), "type": kind, "url": link})
    return _sorted_offers(offers)


def offers_from_justwatch(entry: Any) -> list[dict]:
    """Turn a simplejustwatchapi MediaEntry's offers into offers."""
    offers = []
    for offer in entry.offers or []:
        kind = JW_TYPES.get((offer.monetization_type or "").upper())
        if kind is None or offer.package is None:
            continue
        offers.append({"provider": normalise_provider(offer.package.name or ""), "type": kind,
                       "url": offer.url or None})
    return _sorted_offers(offers)


def _jw_matches(entry: Any, film: Film) -> bool:
    if film.tmdb_id and entry.tmdb_id and str(entry.tmdb_id) == str(film.tmdb_id):
        return True
    if film.imdb_id and entry.imdb_id and entry.imdb_id == film.imdb_id:
        return True
    same_title = normalise_title(entry.title or "") in {normalise_title(film.title),
                                                        normalise_title(film.original_title or "")}
    return same_title and (film.year is None or entry.release_year is None
                           or abs(int(entry.release_year) - film.year) <= 1)


class AvailabilityClient:
    """Availability per film and country, cached (hits 6 h, misses 2 h), looked up concurrently."""

    def __init__(self, tmdb: TmdbClient | None, justwatch_base_url: str | None, timeout: float,
                 cache: Cache | None, *, pool_size: int = 8, pool_maxsize: int = 20,
                 http: HttpClient | None = None, sleep: Callable[[float], None] = time.sleep,
                 language: str = JW_LANGUAGE) -> None:
        self.tmdb = tmdb
        self.cache = cache
        self.pool_size = max(1, int(pool_size))
        self.language = language
        self.tracker = IncidentTracker(None, JW_BREAKER_THRESHOLD, JW_BREAKER_COOLDOWN_S, service="justwatch")
        if http is None and justwatch_base_url:
            http = HttpClient("justwatch", justwatch_base_url, timeout, tiers=[RequestsTier(pool_maxsize)],
                              tracker=self.tracker, retry=JW_RETRY, sleep=sleep,
                              headers={"Accept": "application/json"})
        self.http = http
        self._executor = ThreadPoolExecutor(self.pool_size, thread_name_prefix="streaming")

    @classmethod
    def from_settings(cls, settings: Any, cache: Cache | None, tmdb: TmdbClient | None,
                      **kwargs: Any) -> AvailabilityClient:
        """Build the client from Settings."""
        return cls(tmdb, settings.justwatch_base_url, settings.tmdb_http_timeout, cache,
                   pool_size=settings.work_pool_size, pool_maxsize=settings.http_pool_maxsize, **kwargs)

    def close(self) -> None:
        """Stop worker threads and close the session."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        if self.http is not None:
            self.http.close()

    def justwatch_search(self, title: str, country: str) -> list[Any]:
        """Search JustWatch for a movie title in a country; return MediaEntry tuples."""
        from simplejustwatchapi.exceptions import JustWatchApiError
        from simplejustwatchapi.query import parse_search_response, prepare_search_request

        if self.http is None:
            return []
        body = prepare_search_request(title, country, self.language, JW_SEARCH_COUNT, True, 0, None,
                                      None, None, ["MOVIE"])
        answer = self.http.post_json("/graphql", body)
        try:
            return parse_search_response(answer)
        except JustWatchApiError as exc:
            raise UpstreamBadResponse(f"JustWatch reported errors: {exc}", service="justwatch") from exc
        except (KeyError, TypeError, AttributeError) as exc:
            raise UpstreamBadResponse("JustWatch answer has an unexpected shape", service="justwatch") from exc

    def _lookup(self, film: Film, country: str) -> tuple[list[dict], bool]:
        """Return (offers, trustworthy): a lookup that hit errors is not cached as a miss."""
        clean = True
        if self.tmdb is not None and self.tmdb.enabled and film.tmdb_id:
            try:
                d = self.tmdb.details(film.tmdb_id)
            except UpstreamError as exc:
                log.info("tmdb providers for %s: %s", film.tmdb_id, exc)
                d, clean = None, False
            if d:
                offers = offers_from_tmdb(((d.get("watch/providers") or {}).get("results") or {}).get(country))
                if offers:
                    return offers, True
        if self.http is None or not film.title:
            return [], clean
        try:
            entries = self.justwatch_search(film.title, country)
        except UpstreamError as exc:
            log.info("justwatch for %r: %s", film.title, exc)
            return [], False
        for entry in entries:
            if _jw_matches(entry, film):
                return offers_from_justwatch(entry), True
        return [], clean

    def film_availability(self, film: Film, country: str) -> list[dict] | None:
        """Return one film's offers in a country: [{"provider", "type", "url"}]; None when no source answered."""
        country = country.upper()
        key = f"{country}:{film.tmdb_id}" if film.tmdb_id else f"{country}:film{film.film_id}"
        if self.cache is not None:
            hit = self.cache.get(NS_STREAMING, key)
            if hit is not None:
                return list(hit.get("offers") or [])
        offers, clean = self._lookup(film, country)
        if self.cache is not None and (offers or clean):
            self.cache.set(NS_STREAMING, key, {"offers": offers}, HIT_TTL_S if offers else MISS_TTL_S)
        # Nothing found because every source failed is "unknown", not "nowhere".
        return offers if (offers or clean) else None

    def availability(self, films: Sequence[Film], country: str) -> dict[int, list[dict] | None]:
        """Return film_id -> offers (None: unknown) for every film, looked up concurrently."""
        if country.upper() not in COUNTRIES:
            raise ValueError(f"unknown country code {country!r}")
        futures = {film.film_id: self._executor.submit(self.film_availability, film, country) for film in films}
        return {film_id: fut.result() for film_id, fut in futures.items()}
