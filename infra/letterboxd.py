"""Letterboxd's client: scrapes a member's films, likes and watchlist, lists, film pages and RSS.

Requests go through infra.http (fallback tiers, pacing, retries, the circuit breaker); the
pages are read by infra.letterboxd_parsers. Which copy of a profile to serve when Letterboxd
fails is infra.letterboxd_sources' question.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from infra.http import (
    HttpClient,
    IncidentTracker,
    Pacer,
    RetryPolicy,
    Tier,
    TierMemory,
    TruncatedScrape,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamNotFound,
    UserNotFound,
    browser_tiers,
)
from infra.letterboxd_parsers import (
    FilmEntry,
    FilmPage,
    FilmsPage,
    merge_lists,
    parse_film_page,
    parse_films_page,
    parse_members_page,
    parse_rss,
)
from services.domain import Profile
from services.usernames import is_username

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]

TRUNCATION_RETRIES = 2
DEFAULT_MIN_INTERVAL_S = 0.0
RETRY_MAX_ATTEMPTS = 4
RETRY_MAX_TOTAL_S = 45.0
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,200}$")
TRUSTED_TOTALS = ("films", "watchlist")
LIST_SLUG_RE = re.compile(r"^[a-z0-9-]{1,120}$")
MAX_LIST_PAGES = 20  # a Letterboxd list page holds 100 films
LIST_PATHS = {"films": "/{user}/films/", "likes": "/{user}/likes/films/", "watchlist": "/{user}/watchlist/"}


def _check_username(username: str) -> str:
    if not is_username(username):
        raise UserNotFound(f"{username!r} is not a Letterboxd username", service="letterboxd", status=404)
    return username


@dataclass
class _ListScrape:
    name: str
    pages: dict[int, FilmsPage]
    page_count: int
    total: int | None

    def films(self) -> list[FilmEntry]:
        seen: set[str] = set()
        out = []
        for n in sorted(self.pages):
            for e in self.pages[n].films:
                if e.slug not in seen:
                    seen.add(e.slug)
                    out.append(e)
        return out

    def suspect_pages(self) -> list[int]:
        """Return pages that look cut short (empty list when the list looks complete)."""
        distinct = len(self.films())
        sizes = {n: len(p.films) for n, p in self.pages.items()}
        non_last = [sizes[n] for n in sizes if n < self.page_count]
        per_page = max(non_last) if non_last else None
        if self.total is not None and distinct >= self.total:
            return []
        suspects = []
        for n, size in sizes.items():
            if n < self.page_count and (size == 0 or (per_page is not None and size < per_page)):
                suspects.append(n)
        if self.total is not None and distinct < self.total:
            if per_page is not None:
                expected_last = self.total - per_page * (self.page_count - 1)
                if sizes.get(self.page_count, 0) < expected_last:
                    suspects.append(self.page_count)
            if not suspects:
                suspects = sorted(sizes)
        elif self.page_count > 1 and sizes.get(self.page_count, 0) == 0:
            suspects.append(self.page_count)
        return sorted(set(suspects))


class LetterboxdClient:
    """Scrape members, films and popular members from Letterboxd through the fallback chain."""

    def __init__(self, base_url: str, timeout: float, tracker: IncidentTracker | None, *,
                 redis_client: Any = None, pool_size: int = 6, pool_maxsize: int = 20,
                 min_interval_s: float = DEFAULT_MIN_INTERVAL_S, retry_sleep_s: float = 0.4,
                 throttle_sleep_s: float = 0.0, camoufox_max_concurrent: int = 1,
                 camoufox_timeout_s: float = 20.0, truncation_retries: int = TRUNCATION_RETRIES,
                 tiers: Sequence[Tier] | None = None, sleep: Callable[[float], None] = time.sleep,
                 http: HttpClient | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.tracker = tracker
        self.pool_size = max(1, int(pool_size))
        self.truncation_retries = truncation_retries
        if http is None:
            retry = RetryPolicy(max_attempts=RETRY_MAX_ATTEMPTS, base_delay_s=retry_sleep_s,
                                max_delay_s=max(retry_sleep_s * 16, 0.0), max_total_s=RETRY_MAX_TOTAL_S,
                                throttle_delay_s=throttle_sleep_s)
            http = HttpClient(
                "letterboxd", self.base_url, timeout,
                tiers=tiers or browser_tiers(pool_maxsize, camoufox_max_concurrent=camoufox_max_concurrent,
                                             camoufox_timeout_s=camoufox_timeout_s),
                pacer=Pacer("letterboxd", min_interval_s, redis_client, sleep=sleep),
                tracker=tracker, retry=retry, sleep=sleep, memory=TierMemory("letterboxd", redis_client))
        self.http = http
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Any, tracker: IncidentTracker | None, redis_client: Any = None,
                      **kwargs: Any) -> LetterboxdClient:
        """Build the client from Settings (explicit values only; nothing else reads config)."""
        return cls(
            settings.letterboxd_base_url, settings.letterboxd_http_timeout, tracker,
            redis_client=redis_client, pool_size=settings.scrape_pool_size,
            pool_maxsize=settings.http_pool_maxsize,
            min_interval_s=settings.letterboxd_min_interval_s,
            retry_sleep_s=settings.letterboxd_retry_sleep_s,
            throttle_sleep_s=settings.letterboxd_throttle_sleep_s,
            camoufox_max_concurrent=settings.camoufox_max_concurrent,
            camoufox_timeout_s=settings.camoufox_timeout, **kwargs)

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            with self._executor_lock:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(self.pool_size, thread_name_prefix="letterboxd")
        return self._executor

    def close(self) -> None:
        """Stop the worker threads and close sessions."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        self.http.close()

    # -- single pages --------------------------------------------------------------------------

    def _list_page(self, username: str, kind: str, page: int) -> FilmsPage:
        path = LIST_PATHS[kind].format(user=username)
        if page > 1:
            path += f"page/{page}/"
        resp = self.http.get(path, not_found=UserNotFound)
        parsed = parse_films_page(resp.text)
        if not parsed.recognised:
            raise UpstreamBadResponse(f"Letterboxd {kind} page markup was not recognised",
                                      service="letterboxd", status=resp.status)
        return parsed

    def page_count(self, username: str) -> int:
        """Return how many pages of films the member has."""
        return self._list_page(_check_username(username), "films", 1).page_count

    def fetch_film(self, slug: str) -> FilmPage:
        """Fetch and parse a film page."""
        if not SLUG_RE.match(slug or ""):
            raise UpstreamNotFound(f"{slug!r} is not a film slug", service="letterboxd", status=404)
        return parse_film_page(self.http.get(f"/film/{slug}/").text)

    def fetch_film_ids(self, slug: str) -> tuple[int | None, str | None]:
        """Return (TMDB id, IMDb id) from a film page."""
        page = self.fetch_film(slug)
        return (page.tmdb_id if page.tmdb_type in (None, "movie") else None), page.imdb_id

    def popular_members(self, page: int = 1) -> list[str]:
        """Return the usernames on one page of this week's popular members."""
        resp = self.http.get(f"/members/popular/this/week/page/{max(1, int(page))}/")
        return list(parse_members_page(resp.text).usernames)

    def fetch_rss(self, username: str) -> Profile:
        """Fetch the member's RSS diary (about 50 latest entries, with TMDB ids)."""
        resp = self.http.get(f"/{_check_username(username)}/rss/", not_found=UserNotFound, breaker=False)
        return Profile(username=username, source="rss", films=parse_rss(resp.text), pages=0)

    def fetch_list(self, owner: str, slug: str, max_pages: int = MAX_LIST_PAGES) -> list[FilmEntry]:
        """Scrape a member's list, page by page (same grid markup as a member's films)."""
        _check_username(owner)
        if not LIST_SLUG_RE.fullmatch(slug or ""):
            raise UpstreamNotFound(f"{slug!r} is not a list slug", service="letterboxd", status=404)
        films: list[FilmEntry] = []
        page, count = 1, 1
        while page <= min(count, max_pages):
            path = f"/{owner}/list/{slug}/" + (f"page/{page}/" if page > 1 else "")
            parsed = parse_films_page(self.http.get(path).text)
            if not parsed.recognised:
                raise UpstreamBadResponse("Letterboxd list page markup was not recognised", service="letterboxd")
            films.extend(parsed.films)
            count = parsed.page_count
            page += 1
        return films

    # -- whole profile -------------------------------------------------------------------------

    def fetch_profile(self, username: str, progress: Progress | None = None, *,
                      include_likes: bool = True, include_watchlist: bool = True) -> Profile:
        """Scrape the member's films, likes and watchlist, pages in parallel.

        Raises TruncatedScrape (with the partial Profile) when pages stay short after retries.
        """
        _check_username(username)
        kinds = ["films"] + (["likes"] if include_likes else []) + (["watchlist"] if include_watchlist else [])
        pool = self._pool()
        report = progress or (lambda message, current, total: None)
        firsts: dict[str, Future] = {k: pool.submit(self._list_page, username, k, 1) for k in kinds}
        scrapes: dict[str, _ListScrape] = {}
        errors: list[BaseException] = []
        for kind, fut in firsts.items():
            try:
                first = fut.result()
            except UserNotFound:
                if kind == "films":
                    raise
                first = FilmsPage(films=(), page_count=1)
            except UpstreamError as exc:
                errors.append(exc)
                continue
            # Only the films and watchlist headers are known to state the list's film count.
            total = first.total if kind in TRUSTED_TOTALS else None
            scrapes[kind] = _ListScrape(kind, {1: first}, first.page_count, total)
        if errors:
            raise errors[0]
        total_pages = sum(s.page_count for s in scrapes.values())
        done = len(scrapes)
        lock = threading.Lock()
        report(f"Scraping page {done} of {total_pages}", done, total_pages)

        def fetch(kind: str, page: int) -> tuple[str, int, FilmsPage]:
            return kind, page, self._list_page(username, kind, page)

        def run(jobs: list[tuple[str, int]], counting: bool) -> None:
            nonlocal done
            futures = [pool.submit(fetch, k, p) for k, p in jobs]
            try:
                for fut in futures:
                    kind, page, parsed = fut.result()
                    scrapes[kind].pages[page] = parsed
                    if counting:
                        with lock:
                            done += 1
                            report(f"Scraping page {done} of {total_pages}", done, total_pages)
            except BaseException:
                for fut in futures:
                    fut.cancel()
                raise

        run([(k, p) for k, s in scrapes.items() for p in range(2, s.page_count + 1)], counting=True)
        for attempt in range(self.truncation_retries):
            suspects = [(k, p) for k, s in scrapes.items() for p in s.suspect_pages()]
            if not suspects:
                break
            log.warning("letterboxd scrape looks truncated (%d pages); refetching, try %d",
                        len(suspects), attempt + 1)
            run(suspects, counting=False)
        films_pages = scrapes["films"].page_count
        profile = Profile(
            username=username, source="live",
            films=merge_lists(scrapes["films"].films(),
                              scrapes["likes"].films() if "likes" in scrapes else (),
                              scrapes["watchlist"].films() if "watchlist" in scrapes else ()),
            pages=films_pages)
        short = {k: s for k, s in scrapes.items() if s.suspect_pages()}
        if short:
            detail = ", ".join(f"{k}: {len(s.films())} of {s.total or '?'} films" for k, s in short.items())
            raise TruncatedScrape(f"Letterboxd pages came back short ({detail})", partial=profile,
                                  service="letterboxd")
        return profile
