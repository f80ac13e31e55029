"""Streaming availability: provider names, TMDB first, JustWatch fallback, caching per country."""
from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import pytest

from infra.availability import (
    COUNTRIES,
    HIT_TTL_S,
    MISS_TTL_S,
    NS_STREAMING,
    AvailabilityClient,
    normalise_provider,
    offers_from_tmdb,
)
from infra.cache import MemoryCache
from infra.http import HttpClient, RetryPolicy
from infra.tmdb import TmdbClient
from services.domain import Film
from tests.fakes import API_KEY, FakeJustWatch, FakeTmdb, build_world
from tests.fakes.tiers import HandlerTier
from tests.support.clock import Clock

ROOT = Path(__file__).resolve().parents[2]
SHARED_TMDB = ROOT.parent / "shared" / "fixtures" / "tmdb"
needs_shared = pytest.mark.skipif(not SHARED_TMDB.is_dir(), reason="../shared/fixtures is not present")

WORLD = build_world(popular_members=0)


def http_for(fake, service: str, base: str) -> HttpClient:
    return HttpClient(service, base, 5, tiers=[HandlerTier(fake)],
                      retry=RetryPolicy(max_attempts=1), sleep=lambda s: None, rng=random.Random(0))


def make(tmdb_key: str = API_KEY, clock: Clock | None = None):
    cache = MemoryCache(clock=clock or Clock(0.0))
    fake_tmdb, fake_jw = FakeTmdb(WORLD), FakeJustWatch(WORLD)
    tmdb = TmdbClient("http://tmdb.test/3", tmdb_key, 5, cache, None, http=http_for(fake_tmdb, "tmdb", "http://tmdb.test/3"))
    client = AvailabilityClient(tmdb, "http://justwatch.test", 5, cache, http=http_for(fake_jw, "justwatch", "http://justwatch.test"))
    return client, fake_tmdb, fake_jw


def film(key: int, film_id: int | None = None) -> Film:
    f = WORLD.films[key]
    return Film(film_id or key + 1, f.title, f.year, imdb_id=f.imdb_id, tmdb_id=f.tmdb_id)


@pytest.mark.parametrize("raw, clean", [
    ("Netflix basic with Ads", "Netflix"),
    ("Netflix Standard with Ads", "Netflix"),
    ("Netflix", "Netflix"),
    ("Amazon Prime Video with Ads", "Amazon Prime Video"),
    ("Prime Video", "Amazon Prime Video"),
    ("Amazon Video", "Amazon Video"),
    ("MUBI Amazon Channel", "MUBI"),
    ("Paramount+ Apple TV Channel", "Paramount+"),
    ("Paramount Plus", "Paramount+"),
    ("Disney Plus", "Disney+"),
    ("HBO Max", "Max"),
    ("Apple TV Plus", "Apple TV+"),
    ("  BBC   iPlayer ", "BBC iPlayer"),
    ("Some New Service", "Some New Service"),
])
def test_provider_names_fold_plans_and_channels_into_one_name(raw, clean):
    assert normalise_provider(raw) == clean


def test_countries_cover_the_largest_markets_with_names():
    for code in ("US", "GB", "CA", "AU", "DE", "FR", "ES", "IT", "NL", "BR", "MX", "IN", "JP", "KR", "SE", "NO",
                 "DK", "FI", "IE", "NZ", "PL", "TR", "AR"):
        assert COUNTRIES[code]
    assert COUNTRIES["GB"] == "United Kingdom"


@needs_shared
def test_offers_from_the_real_watch_providers_block_are_typed_and_named():
    block = json.loads((SHARED_TMDB / "movies" / "watch_providers.json").read_text())["results"]["US"]
    offers = offers_from_tmdb(block)
    assert {o["type"] for o in offers} <= {"flatrate", "free", "ads", "rent", "buy"}
    assert {"provider": "Plex", "type": "free", "url": block["link"]} in offers
    assert len({(o["provider"], o["type"]) for o in offers}) == len(offers)


def test_availability_differs_by_country_and_comes_from_tmdb():
    client, fake_tmdb, fake_jw = make()
    films = [film(0), film(1)]
    us = client.availability(films, "US")
    gb = client.availability(films, "GB")
    assert {o["provider"] for o in us[1] if o["type"] == "flatrate"} == {"Netflix"}
    assert {"provider": "Netflix", "type": "ads",
            "url": "https://www.themoviedb.org/movie/550-fight-club/watch?locale=US"} in us[1]
    assert {o["provider"] for o in gb[2] if o["type"] == "flatrate"} == {"Disney+"}
    assert fake_tmdb.control.count("/3/movie/") == 2, "one details call per film serves every country"
    assert fake_jw.control.count() == 0


def test_a_country_tmdb_does_not_cover_falls_back_to_justwatch():
    client, _, fake_jw = make()
    jp = client.availability([film(26)], "JP")
    assert {(o["provider"], o["type"]) for o in jp[27]} == {
        ("U-NEXT", "flatrate"), ("Amazon Prime Video", "flatrate"), ("Apple TV", "rent")}
    assert jp[27][0]["url"].startswith("https://watch.example/")
    assert fake_jw.control.count("/graphql") == 1


def test_without_tmdb_justwatch_answers_alone_matching_on_title_and_year():
    client, fake_tmdb, _ = make(tmdb_key="")
    offers = client.availability([film(1)], "US")[2]
    assert ("Amazon Prime Video", "flatrate") in {(o["provider"], o["type"]) for o in offers}
    assert fake_tmdb.control.count() == 0


def test_hits_are_cached_for_six_hours_and_misses_for_two():
    clock = Clock(0.0)
    client, fake_tmdb, fake_jw = make(clock=clock)
    hit, miss = film(0), replace(film(0), film_id=99, tmdb_id=None, title="Nowhere To Be Found")
    client.availability([hit, miss], "US")
    jw_before = fake_jw.control.count()
    client.availability([hit, miss], "US")
    assert fake_jw.control.count() == jw_before, "both answers came from the cache"
    clock.now = MISS_TTL_S + 1
    client.availability([hit, miss], "US")
    assert fake_jw.control.count() == jw_before + 1, "the miss expired, the hit did not"
    assert client.cache.get(NS_STREAMING, "US:550") is not None
    clock.now = HIT_TTL_S + 1
    assert client.cache.get(NS_STREAMING, "US:550") is None


def test_a_justwatch_outage_is_unknown_availability_and_not_cached_as_a_miss():
    client, _, fake_jw = make(tmdb_key="")
    fake_jw.control.set(invalid_json=True)
    assert client.availability([film(1)], "US") == {2: None}
    fake_jw.control.set(invalid_json=False)
    assert client.availability([film(1)], "US")[2]


def test_unknown_countries_are_refused():
    client, _, _ = make()
    with pytest.raises(ValueError):
        client.availability([film(0)], "XX")
