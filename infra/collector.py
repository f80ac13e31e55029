"""Collect popular Letterboxd members' ratings, likes and watched films into the store's corpus.

Members are stored only as salted HMAC-SHA256 hashes of their usernames. A run is
resumable and idempotent: members already complete are skipped, and a member cut
off halfway is collected again without storing any row twice (the store's key is
member + film). Requests share the client's pacing and circuit breaker.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import math
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable

from infra.http import CircuitOpen, TruncatedScrape, UpstreamError, UserNotFound
from infra.letterboxd import LetterboxdClient
from services.domain import Film, ProfileFilm
from services.matching import CatalogIndex, normalise_title

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]

MAX_CIRCUIT_WAITS = 3
MAX_EMPTY_MEMBER_PAGES = 1
POPULAR_MEMBERS_PER_PAGE = 30  # as Letterboxd's /members/popular/ pages list them


def member_hash(username: str, salt: str) -> str:
    """Return the salted hash that stands for a member (usernames are never stored)."""
    return hmac.new(salt.encode("utf-8"), username.lower().encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass
class CollectStats:
    """What a collection run did."""

    members_seen: int = 0
    members_collected: int = 0
    members_skipped: int = 0
    members_failed: int = 0
    rows_stored: int = 0
    films_added: int = 0
    stopped: str | None = None  # why the run ended early, if it did

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class FilmIndex:
    """Find store film ids for Letterboxd entries: by slug, films added this run, then the catalog's matching."""

    def __init__(self, films: list[Film]) -> None:
        self.catalog = CatalogIndex(films)
        self.by_slug = {f.letterboxd_slug: f.film_id for f in films if f.letterboxd_slug}
        self.added: dict[tuple[str, int | None], int] = {}

    def add(self, film_id: int, entry: ProfileFilm) -> None:
        if entry.slug:
            self.by_slug.setdefault(entry.slug, film_id)
        self.added.setdefault((normalise_title(entry.title), entry.year), film_id)

    def find(self, entry: ProfileFilm) -> int | None:
        if entry.slug and entry.slug in self.by_slug:
            return self.by_slug[entry.slug]
        added = self.added.get((normalise_title(entry.title), entry.year))
        if added is not None:
            return added
        film = self.catalog.match(entry)
        return film.film_id if film is not None else None


def _film_rows(profile_films: tuple[ProfileFilm, ...], store: Any, index: FilmIndex,
               stats: CollectStats) -> list[tuple[int, float | None, bool, bool]]:
    rows: dict[int, tuple[int, float | None, bool, bool]] = {}
    for entry in profile_films:
        if not (entry.watched or entry.liked or entry.rating is not None):
            continue
        film_id = index.find(entry)
        if film_id is None:
            film_id = store.upsert_film(Film(film_id=0, title=entry.title, year=entry.year,
                                             tmdb_id=entry.tmdb_id, letterboxd_slug=entry.slug))
            index.add(film_id, entry)
            stats.films_added += 1
        rating = entry.rating if entry.rating is not None and 0.5 <= entry.rating <= 5 else None
        rows[film_id] = (film_id, rating, bool(entry.liked), bool(entry.watched or entry.liked))
    return list(rows.values())


def default_pages(members: int) -> int:
    """Enough popular-members pages to find `members` members, with one spare."""
    return math.ceil(members / POPULAR_MEMBERS_PER_PAGE) + MAX_EMPTY_MEMBER_PAGES


def collect(client: LetterboxdClient, store: Any, members: int, pages: int | None, salt: str,
            progress: Progress | None = None, *, on_member: Callable[[int], None] | None = None,
            sleep: Callable[[float], None] = time.sleep) -> CollectStats:
    """Walk popular-members pages and store up to `members` members' films; return what happened."""
    if not salt:
        raise ValueError("a salt is required so member hashes cannot be reversed from usernames")
    report = progress or (lambda message, current, total: None)
    stats = CollectStats()
    index = FilmIndex(store.films())
    seen: set[str] = set()
    empty_pages = 0
    pages = pages if pages is not None else default_pages(members)
    for page in range(1, max(1, pages) + 1):
        if stats.members_seen >= members:
            break
        try:
            usernames = client.popular_members(page)
        except UpstreamError as exc:
            stats.stopped = f"members page {page}: {exc}"
            log.warning("collector stops: %s", stats.stopped)
            break
        if not usernames:
            empty_pages += 1
            if empty_pages > MAX_EMPTY_MEMBER_PAGES:
                break
            continue
        for username in usernames:
            if stats.members_seen >= members:
                break
            if username.lower() in seen:
                continue
            seen.add(username.lower())
            stats.members_seen += 1
            report(f"Collecting member {stats.members_seen} of {members}", stats.members_seen, members)
            outcome = _collect_member(client, store, username, salt, index, stats, sleep)
            if outcome == "stop":
                return stats
            if on_member is not None:
                on_member(stats.members_seen)
    return stats


def _collect_member(client: LetterboxdClient, store: Any, username: str, salt: str, index: FilmIndex,
                    stats: CollectStats, sleep: Callable[[float], None]) -> str:
    digest = member_hash(username, salt)
    if store.member_complete(digest):
        stats.members_skipped += 1
        return "skipped"
    for attempt in range(MAX_CIRCUIT_WAITS + 1):
        complete = True
        try:
            profile = client.fetch_profile(username, include_watchlist=False)
        except CircuitOpen as exc:
            if attempt == MAX_CIRCUIT_WAITS:
                break
            log.info("collector waits %.0fs for the circuit to close", exc.retry_after_s)
            sleep(exc.retry_after_s)
            continue
        except UserNotFound:
            stats.members_failed += 1
            return "failed"
        except TruncatedScrape as exc:
            # Keep what arrived, but leave the member incomplete so the next run tries again.
            profile, complete = exc.partial, False
        except UpstreamError as exc:
            log.warning("collector: a member failed: %s", exc)
            stats.members_failed += 1
            return "failed"
        if profile is None:
            stats.members_failed += 1
            return "failed"
        rows = _film_rows(profile.films, store, index, stats)
        if rows:
            stats.rows_stored += store.add_member_films(digest, rows)
        if complete:
            store.mark_member_complete(digest)
            stats.members_collected += 1
            return "collected"
        stats.members_failed += 1
        return "partial"
    stats.stopped = "Letterboxd kept the circuit open"
    return "stop"


def tqdm_progress(total: int, stream: Any = None) -> tuple[Progress, Callable[[], None]]:
    """Return a progress callback drawing a tqdm bar, and a function that closes the bar."""
    from tqdm import tqdm

    bar = tqdm(total=total, unit="member", file=stream or sys.stderr, dynamic_ncols=True)

    def progress(message: str, current: int, total_: int) -> None:
        bar.total = total_
        bar.n = current
        bar.set_description_str(message, refresh=False)
        bar.refresh()

    return progress, bar.close


def run_collect_cli(settings: Any, members: int, pages: int) -> int:
    """Run the collector from the command line with a progress bar; return an exit code."""
    import json

    from infra.http import IncidentTracker
    from infra.store import Store

    redis_client = None
    if settings.redis_url:
        import redis

        redis_client = redis.Redis.from_url(settings.redis_url)
    store = Store.open(settings.store_path, settings.data_dir)
    tracker = IncidentTracker(redis_client, settings.letterboxd_circuit_failure_threshold,
                              settings.letterboxd_circuit_cooldown_s)
    client = LetterboxdClient.from_settings(settings, tracker, redis_client)
    progress, close = tqdm_progress(members)
    try:
        stats = collect(client, store, members, pages, settings.collector_salt, progress)
    finally:
        close()
        client.close()
    print(json.dumps({**stats.as_dict(), "store": store.collected_counts()}, indent=2))
    return 0 if stats.stopped is None else 1
