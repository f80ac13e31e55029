"""Letterboxd, TMDB and JustWatch clients against the fake servers on 127.0.0.1 (and a real Redis)."""
from __future__ import annotations

import time
from typing import Iterator

import pytest
import redis

from infra.availability import AvailabilityClient
from infra.cache import MemoryCache
from infra.http import CircuitOpen, CurlCffiTier, HttpClient, IncidentTracker, Pacer, RequestsTier, RetryPolicy
from infra.http import UpstreamBadResponse, UpstreamBlocked, UpstreamError, UpstreamTimeout, UserNotFound
from infra.letterboxd import LetterboxdClient
from infra.letterboxd_sources import FRESH_NS, ProfileSource
from infra.tmdb import BREAKER_THRESHOLD, RETRY_MAX_ATTEMPTS, TmdbClient
from services.domain import Film, ProfileFilm
from tests.fakes import API_KEY, FakeUpstreams
from tests.support.clock import Clock

CINEPHILE_FILMS = 41  # 32 watched, one liked-only, 8 more on the watchlist (one watched film is on it too)


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


FAKE_WORLD = {"popular_members": 0}
FAKE_SERVERS = {"page_size": 12}

pytestmark = pytest.mark.usefixtures("calm_fakes")


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url.rsplit("/", 1)[0] + "/9")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def letterboxd(fakes: FakeUpstreams, tracker: IncidentTracker | None = None, sleep: Sleeps | None = None,
               **kwargs) -> LetterboxdClient:
    return LetterboxdClient(fakes.letterboxd.url, 5, tracker, pool_size=4, retry_sleep_s=0.01,
                            sleep=sleep or Sleeps(), **kwargs)


def test_a_member_with_three_pages_is_scraped_end_to_end(fakes):
    messages = []
    profile = letterboxd(fakes).fetch_profile("cinephile", lambda m, c, t: messages.append((m, c, t)))
    assert profile.source == "live" and profile.pages == 3
    assert len(profile.films) == CINEPHILE_FILMS == len({f.slug for f in profile.films})
    fight = next(f for f in profile.films if f.title == "Fight Club")
    assert fight.rating == 5.0 and fight.liked and fight.watched and fight.year == 1999
    assert sum(1 for f in profile.films if f.watchlist and not f.watched) == 8
    assert messages[-1] == ("Scraping page 5 of 5", 5, 5)
    assert fakes.letterboxd.control.count("/cinephile/films/") == 3


def test_page_count_reads_the_pagination(fakes):
    assert letterboxd(fakes).page_count("cinephile") == 3


def test_an_unknown_member_is_user_not_found(fakes):
    with pytest.raises(UserNotFound):
        letterboxd(fakes).fetch_profile("nobody_here")
    with pytest.raises(UserNotFound):
        letterboxd(fakes).fetch_profile("../etc/passwd")


@pytest.mark.parametrize("block, tier", [("plain", "cloudscraper"), ("scripts", "curl_cffi"),
                                         ("chrome", "curl_cffi_firefox")])
def test_a_blocked_client_finds_the_tier_that_gets_through_and_stays_on_it(fakes, block, tier):
    fakes.letterboxd.control.set(block=block)
    client = letterboxd(fakes)
    assert len(client.fetch_profile("newbie").films) == 5
    assert client.http.memory.get() == tier
    # The first requests walked the chain; from then on every page goes straight to the open tier.
    fakes.letterboxd.control.seen.clear()
    before = dict(client.http.stats.by_tier)
    assert len(client.fetch_profile("newbie").films) == 5
    assert fakes.letterboxd.control.count("/newbie/", status=403) == 0
    used = {name: n - before.get(name, 0) for name, n in client.http.stats.by_tier.items()}
    assert used[tier] == fakes.letterboxd.control.count("/newbie/") >= 3
    assert sum(used.values()) == used[tier]


def test_the_open_tier_is_shared_through_redis(fakes, redis_client):
    fakes.letterboxd.control.set(block="chrome")
    letterboxd(fakes, redis_client=redis_client).fetch_profile("newbie")
    fakes.letterboxd.control.seen.clear()
    other_worker = letterboxd(fakes, redis_client=redis_client)
    other_worker.fetch_profile("newbie")
    assert fakes.letterboxd.control.count("/newbie/", status=403) == 0
    assert set(other_worker.http.stats.by_tier) == {"curl_cffi_firefox"}


def test_once_the_block_lifts_a_blocked_remembered_tier_falls_back_along_the_chain(fakes):
    fakes.letterboxd.control.set(block="chrome")
    client = letterboxd(fakes)
    client.page_count("newbie")
    fakes.letterboxd.control.set(block="scripts")  # now Firefox is stopped and Chrome passes
    assert client.page_count("newbie") == 1
    assert client.http.memory.get() == "curl_cffi"


@pytest.mark.parametrize("block", [None, "scripts"])
def test_pagination_carries_the_cookie_the_first_page_set(fakes, block):
    fakes.letterboxd.control.set(block=block, cookie_pages=True)
    profile = letterboxd(fakes).fetch_profile("cinephile")
    assert len(profile.films) == CINEPHILE_FILMS
    assert fakes.letterboxd.control.count("/cinephile/films/page/", status=403) == 0


def test_a_page_blocked_on_every_tier_raises_blocked(fakes):
    fakes.letterboxd.control.set(block="all")
    with pytest.raises(UpstreamBlocked):
        letterboxd(fakes).page_count("newbie")


def test_a_429_is_retried_after_the_servers_retry_after(fakes):
    fakes.letterboxd.control.set(fail_status=429, fail_count=2, retry_after=3)
    sleeps = Sleeps()
    assert letterboxd(fakes, sleep=sleeps).page_count("newbie") == 1
    assert sleeps.delays == [3.0, 3.0]


def test_changed_markup_is_reported_not_read_as_an_empty_profile(fakes):
    fakes.letterboxd.control.set(markup="changed")
    with pytest.raises(UpstreamBadResponse):
        letterboxd(fakes).fetch_profile("newbie")


def test_older_markup_still_scrapes(fakes):
    fakes.letterboxd.control.set(markup="legacy")
    profile = letterboxd(fakes).fetch_profile("cinephile")
    assert len(profile.films) == CINEPHILE_FILMS


def test_breaker_opens_serves_the_stale_profile_and_closes_after_the_cooldown(fakes, redis_client):
    clock = Clock(1_000_000.0)
    cache = MemoryCache(clock=clock)
    tracker = IncidentTracker(redis_client, threshold=3, cooldown_s=120, clock=clock)
    source = ProfileSource(letterboxd(fakes, tracker), cache, clock=clock)
    fresh = source.get("cinephile")
    assert fresh.freshness == "fresh" and fresh.incident is None

    clock.now += 31 * 60  # the fresh copy has expired; the stale copy is kept for a week
    fakes.letterboxd.control.set(block="all")
    blocked = source.get("cinephile")
    assert blocked.freshness == "stale_cache" and blocked.profile.source == "stale_cache"
    assert blocked.incident["reason"] == "blocked"
    assert blocked.profile.films == fresh.profile.films
    snap = tracker.snapshot()
    assert snap["letterboxd_circuit_open"] and snap["letterboxd_consecutive_failures"] >= 3

    before = fakes.letterboxd.control.count()
    refused = source.get("cinephile")
    assert refused.freshness == "stale_cache" and refused.incident["reason"] == "circuit_open"
    assert refused.incident["retry_after_s"] == pytest.approx(120, abs=1)
    assert fakes.letterboxd.control.count() == before, "an open circuit sends nothing upstream"

    other_worker = IncidentTracker(redis_client, threshold=3, cooldown_s=120, clock=clock)
    assert other_worker.is_open(), "the circuit is shared through Redis"

    clock.now += 121
    fakes.letterboxd.control.set(block=None)
    recovered = source.get("cinephile", refresh=True)
    assert recovered.freshness == "fresh"
    assert not tracker.snapshot()["letterboxd_circuit_open"]
    assert tracker.snapshot()["letterboxd_consecutive_failures"] == 0


def test_a_truncated_scrape_is_retried_and_never_cached_as_fresh(fakes):
    fakes.letterboxd.control.set(truncate=True)
    cache = MemoryCache()
    source = ProfileSource(letterboxd(fakes), cache)
    partial = source.get("cinephile")
    assert partial.freshness == "partial" and partial.incident["reason"] == "truncated"
    assert len(partial.profile.films) < CINEPHILE_FILMS
    assert cache.get(FRESH_NS, "cinephile") is None
    assert fakes.letterboxd.control.count("/cinephile/films/") > 3, "short pages were fetched again"
    fakes.letterboxd.control.set(truncate=False)
    full = source.get("cinephile")
    assert full.freshness == "fresh" and len(full.profile.films) == CINEPHILE_FILMS


def test_rss_only_refresh_makes_one_request_and_brings_tmdb_ids(fakes):
    source = ProfileSource(letterboxd(fakes), MemoryCache())
    got = source.get("cinephile", rss_only=True)
    assert got.freshness == "rss" and got.profile.source == "rss"
    assert fakes.letterboxd.control.paths() == ["/cinephile/rss/"]
    assert len(got.profile.films) == 10
    assert all(f.tmdb_id for f in got.profile.films if f.title != "Basement Tapes Vol. 3")


def test_rss_only_refresh_updates_a_cached_full_profile(fakes):
    source = ProfileSource(letterboxd(fakes), MemoryCache())
    source.get("cinephile")
    got = source.get("cinephile", rss_only=True)
    assert len(got.profile.films) == CINEPHILE_FILMS
    assert next(f for f in got.profile.films if f.title == "Fight Club").rewatch


def test_rss_is_the_fallback_when_pages_are_blocked_and_nothing_is_cached(fakes):
    fakes.letterboxd.control.set(block="all", fail_paths=("/cinephile/films", "/cinephile/likes",
                                                          "/cinephile/watchlist"))
    got = ProfileSource(letterboxd(fakes), MemoryCache()).get("cinephile")
    assert got.freshness == "rss" and got.incident["reason"] == "blocked" and len(got.profile.films) == 10


def test_with_nothing_cached_and_rss_down_the_block_is_raised(fakes):
    fakes.letterboxd.control.set(block="all")
    with pytest.raises(UpstreamBlocked):
        ProfileSource(letterboxd(fakes), MemoryCache()).get("cinephile")


def test_film_pages_give_tmdb_and_imdb_ids(fakes):
    assert letterboxd(fakes).fetch_film_ids("arrival") == (329865, "tt2543164")


def test_transport_errors_are_mapped_for_every_http_library():
    for tier in (RequestsTier(2), CurlCffiTier()):
        http = HttpClient("letterboxd", "http://127.0.0.1:9", 1, tiers=[tier], retry=RetryPolicy(max_attempts=1))
        with pytest.raises(UpstreamError) as info:
            http.get("/x/")
        assert info.value.transient and info.value.__cause__ is not None
        http.close()


def tmdb_client(fakes: FakeUpstreams, cache=None, store=None, timeout: float = 5) -> TmdbClient:
    return TmdbClient(f"{fakes.tmdb.url}/3", API_KEY, timeout, cache or MemoryCache(), store, pool_size=4,
                      sleep=lambda s: None)


def test_a_tmdb_outage_raises_mapped_errors_quickly_and_opens_the_breaker(fakes):
    fakes.tmdb.control.set(fail_status=503)
    client = tmdb_client(fakes)
    started = time.monotonic()
    with pytest.raises(UpstreamError) as info:
        client.details(550)
    assert info.value.status == 503 and info.value.service == "tmdb"
    films = client.enrich([ProfileFilm(f"Film {i}", 2000, tmdb_id=1000 + i) for i in range(40)])
    assert films == [None] * 40
    with pytest.raises(CircuitOpen):
        client.details(603)
    assert client.healthy() is False
    # At most the threshold's calls plus those already in flight, each with its retries, reach TMDB.
    assert fakes.tmdb.control.count() <= (BREAKER_THRESHOLD + 4) * RETRY_MAX_ATTEMPTS < 40
    assert time.monotonic() - started < 3


def test_a_slow_tmdb_is_a_timeout(fakes):
    fakes.tmdb.control.set(slow_s=0.5)
    client = TmdbClient(f"{fakes.tmdb.url}/3", API_KEY, 0.1, MemoryCache(), None, sleep=lambda s: None,
                        retry=RetryPolicy(max_attempts=1))
    with pytest.raises(UpstreamTimeout):
        client.details(550)


def test_invalid_tmdb_json_is_a_bad_response(fakes):
    fakes.tmdb.control.set(invalid_json=True)
    with pytest.raises(UpstreamBadResponse):
        tmdb_client(fakes).details(550)


def test_streaming_availability_is_specific_to_the_country(fakes):
    tmdb = tmdb_client(fakes)
    streaming = AvailabilityClient(tmdb, fakes.justwatch.url, 5, MemoryCache(), pool_size=4)
    films = [Film(i + 1, f.title, f.year, imdb_id=f.imdb_id, tmdb_id=f.tmdb_id)
             for i, f in enumerate(fakes.world.films[:6])]
    us, gb, jp = (streaming.availability(films, c) for c in ("US", "GB", "JP"))

    def flat(offers):
        return {o["provider"] for o in offers if o["type"] == "flatrate"}

    assert flat(us[1]) == {"Netflix"} and flat(us[2]) == {"Amazon Prime Video"} and flat(us[3]) == {"Max"}
    assert flat(gb[1]) == {"Netflix"} and flat(gb[2]) == {"Disney+"}
    assert {"provider": "BBC iPlayer", "type": "free",
            "url": "https://www.themoviedb.org/movie/550-fight-club/watch?locale=GB"} in gb[1]
    assert flat(jp[1]) == {"U-NEXT", "Amazon Prime Video"}
    assert fakes.tmdb.control.count("/3/movie/") == 6, "every country reads the same cached details"
    assert fakes.justwatch.control.count("/graphql") == 6, "JP is answered by JustWatch"
    streaming.close()


def test_pacing_is_shared_between_workers_through_redis(redis_client):
    sleeps_a, sleeps_b = Sleeps(), Sleeps()
    a = Pacer("letterboxd", 0.5, redis_client, sleep=sleeps_a)
    b = Pacer("letterboxd", 0.5, redis_client, sleep=sleeps_b)
    waits = [a.wait(), b.wait(), a.wait(), b.wait()]
    assert waits[0] == pytest.approx(0, abs=0.05)
    assert waits[1:] == pytest.approx([0.5, 1.0, 1.5], abs=0.1)


def test_the_fakes_can_be_steered_over_http(fakes):
    import requests

    control = f"{fakes.letterboxd.url}/__control"
    assert requests.post(control, json={"block": "all"}, timeout=5).json()["modes"]["block"] == "all"
    blocked = requests.get(f"{fakes.letterboxd.url}/newbie/films/", timeout=5)
    assert blocked.status_code == 403 and "Just a moment" in blocked.text
    assert requests.post(control, json={"block": "sideways"}, timeout=5).status_code == 400
    requests.post(f"{control}/reset", timeout=5)
    assert requests.get(f"{fakes.letterboxd.url}/newbie/films/", timeout=5).status_code == 200


def test_a_cookie_set_in_one_thread_goes_with_the_next_page_fetched_in_another(fakes):
    import threading

    fakes.letterboxd.control.set(cookie_pages=True)
    tier = CurlCffiTier()
    answers = {}

    def fetch(page: str) -> None:
        answers[page] = tier.send("GET", f"{fakes.letterboxd.url}/cinephile/films/{page}", params=None,
                                  headers={}, json_body=None, timeout=5).status

    for page in ("", "page/2/"):
        thread = threading.Thread(target=fetch, args=(page,))
        thread.start()
        thread.join()
    tier.close()
    assert answers == {"": 200, "page/2/": 200}
