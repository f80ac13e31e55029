"""TMDB client: one details call per film, lookups, enrichment into the store; the fake TMDB answers in memory."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from infra.cache import MemoryCache
from infra.http import HttpClient, RetryPolicy, UpstreamError
from infra.tmdb import (
    APPEND,
    TmdbClient,
    film_from_details,
    is_bearer_token,
    trim_details,
)
from services.domain import Film, MatchedFilm, ProfileFilm
from services.film_details import overlay
from tests.fakes import API_KEY, BEARER, FakeTmdb, build_world
from tests.fakes.store import MemoryStore
from tests.fakes.tiers import HandlerTier

ROOT = Path(__file__).resolve().parents[2]
SHARED_TMDB = ROOT.parent / "shared" / "fixtures" / "tmdb"
needs_shared = pytest.mark.skipif(not SHARED_TMDB.is_dir(), reason="../shared/fixtures is not present")

WORLD = build_world(popular_members=0)


def make(key: str = API_KEY, store: MemoryStore | None = None, cache: MemoryCache | None = None
         ) -> tuple[TmdbClient, FakeTmdb]:
    fake = FakeTmdb(WORLD)
    http = HttpClient("tmdb", "http://tmdb.test/3", 5, tiers=[HandlerTier(fake)],
                      retry=RetryPolicy(max_attempts=2, base_delay_s=0), sleep=lambda s: None, rng=random.Random(0))
    client = TmdbClient("http://tmdb.test/3", key, 5, cache if cache is not None else MemoryCache(), store,
                        http=http, pool_size=4)
    if is_bearer_token(key):
        http.headers["Authorization"] = f"Bearer {key}"
    return client, fake


@needs_shared
def test_film_from_the_real_details_answer_has_directors_cast_keywords_and_poster():
    d = json.loads((SHARED_TMDB / "movies" / "details_with_append_to_response.json").read_text())
    film = film_from_details(d)
    assert (film.title, film.year, film.tmdb_id, film.imdb_id) == ("Rock Crystal", 2004, 12313, "tt0409732")
    assert film.original_title == "Bergkristall" and film.language == "de" and film.runtime == 92
    assert film.directors == ("Joseph Vilsmaier",)
    assert film.countries == ("AT", "DE") and film.keywords == ("mountain village",)
    assert film.poster == "https://image.tmdb.org/t/p/w342/8GFxp1rAoJRRN5OGeHRClWGVief.jpg"
    assert film.vote_average == 6.4 and film.vote_count == 5
    assert film.cast[0] == "Dana Vávrová" and len(film.cast) == 10
    assert film.genres == tuple(g["name"] for g in d["genres"])


@needs_shared
def test_trimmed_details_build_the_same_film_and_keep_providers():
    d = json.loads((SHARED_TMDB / "movies" / "details_with_append_to_response.json").read_text())
    trimmed = trim_details(d)
    assert film_from_details(trimmed) == film_from_details(d)
    assert trimmed["watch/providers"]["results"].keys() == d["watch/providers"]["results"].keys()
    assert len(json.dumps(trimmed)) < len(json.dumps(d)) / 2


def test_v4_tokens_are_told_apart_from_v3_keys():
    assert is_bearer_token(BEARER)
    assert not is_bearer_token(API_KEY)
    assert not is_bearer_token("")


def test_details_is_one_call_with_every_appendix_and_then_comes_from_the_cache():
    client, fake = make()
    d = client.details(550)
    assert d["title"] == "Fight Club" and d["credits"]["crew"][0]["name"] == "David Fincher"
    assert "GB" in d["watch/providers"]["results"]
    assert client.details(550) == d
    assert fake.control.count("/3/movie/550") == 1
    assert fake.control.seen[0].query["append_to_response"] == [APPEND]


def test_a_bearer_token_goes_in_the_authorization_header_not_the_query():
    client, fake = make(BEARER)
    assert client.details(603)["title"] == "The Matrix"
    assert "api_key" not in fake.control.seen[0].query


def test_a_rejected_key_turns_tmdb_off_without_more_requests():
    client, fake = make("wrong-key")
    with pytest.raises(UpstreamError) as info:
        client.details(550)
    assert info.value.status == 401
    with pytest.raises(UpstreamError):
        client.details(603)
    assert fake.control.count() == 1 and client.healthy() is False


def test_search_retries_a_year_either_side_when_the_years_disagree():
    client, fake = make()
    assert client.search_item("The Premiere Year", 2019)["id"] == 990002
    years = [s.query.get("year") for s in fake.control.seen]
    assert years == [["2019"], ["2018"], ["2020"]]
    assert client.search_item("The Premiere Year", 2019)["id"] == 990002 and fake.control.count() == 3


def test_search_does_not_guess_when_nothing_matches():
    client, _ = make()
    assert client.search_item("Basement Tapes Vol. 3", 2020) is None


def test_find_by_imdb_id_and_resolve_with_a_known_id_costs_nothing():
    client, fake = make()
    assert client.find_imdb_item("tt0133093")["id"] == 603
    before = fake.control.count()
    assert client.locate(ProfileFilm("Whatever", tmdb_id=329865)) == (329865, None)
    assert fake.control.count() == before


def test_enrich_costs_one_call_for_known_ids_a_search_more_for_unknown_and_nothing_for_enriched_films():
    store = MemoryStore([
        Film(0, "Fight Club", 1999, imdb_id="tt0137523", tmdb_id=550, corpus_count=40),
        Film(0, "The Matrix", 1999, tmdb_id=603, runtime=136, directors=("Lana Wachowski",), vote_count=26000),
    ])
    fight, matrix = store.films()
    client, fake = make(store=store)
    messages = []
    items = [MatchedFilm(ProfileFilm("Fight Club", 1999, 5.0), fight), matrix,
             ProfileFilm("Arrival", 2016, 4.0, slug="arrival-2016"), ProfileFilm("Basement Tapes Vol. 3", 2020)]
    films = client.enrich(items, lambda m, c, t: messages.append((m, c, t)))
    assert fake.control.count("/3/movie/") == 2 and fake.control.count("/3/search/movie") == 1 + 3
    assert films[0].film_id == fight.film_id and films[0].directors == ("David Fincher",)
    assert films[0].corpus_count == 40, "what the store knew is kept"
    assert films[1] == matrix
    assert films[2].tmdb_id == 329865 and films[2].letterboxd_slug == "arrival-2016"
    assert store.film_by_tmdb(329865).directors == ("Denis Villeneuve",)
    assert films[3] is None
    assert messages[0] == ("Enriching 1/4", 1, 4) and messages[-1] == ("Enriching 4/4", 4, 4)


def test_a_catalog_film_with_its_directors_from_wikipedia_still_gets_its_details_when_shown():
    store = MemoryStore([Film(0, "Her", 2013, tmdb_id=152601, directors=("Spike Jonze",))])
    client, fake = make(store=store)
    (film,) = client.enrich(store.films())
    assert fake.control.paths() == ["/3/movie/152601"]
    assert film.poster and film.runtime and film.vote_count is not None
    client.enrich([store.film(film.film_id)])
    assert fake.control.count() == 1, "a film with its details needs no second call"


def test_enrich_matched_fills_in_unmatched_entries():
    store = MemoryStore()
    client, _ = make(store=store)
    matched = [MatchedFilm(ProfileFilm("Her", 2013, 4.5), None)]
    (result,) = client.enrich_matched(matched)
    assert result.film.tmdb_id == 152601 and result.entry.rating == 4.5
    assert result.film.film_id == store.film_by_tmdb(152601).film_id


def test_without_a_key_nothing_is_requested_and_everything_is_none():
    store = MemoryStore([Film(0, "Her", 2013, tmdb_id=152601)])
    client, fake = make(key="", store=store)
    assert not client.enabled and client.healthy() is None
    assert client.details(550) is None and client.search_item("Her", 2013) is None
    assert client.find_imdb_item("tt1") is None
    assert client.enrich([ProfileFilm("Her", 2013, tmdb_id=152601)]) == [store.film_by_tmdb(152601)]
    assert client.similar_candidates(store.films(), 5) == {}
    assert fake.control.count() == 0


def test_similar_candidates_cost_one_call_per_seed_and_join_the_store_as_tmdb_lists_them():
    store = MemoryStore([Film(0, "Arrival", 2016, tmdb_id=329865)])
    client, fake = make(store=store)
    reasons = client.similar_candidates(store.films(), 4)
    assert len(reasons) == 4
    titles = {store.film(fid).title for fid in reasons}
    assert "Arrival" not in titles and "Mad Max: Fury Road" in titles
    assert all(r == "TMDB suggests it to fans of Arrival" for r in reasons.values())
    assert fake.control.paths() == ["/3/movie/329865"], "the seed's details carry its suggestions"
    mad_max = store.film_by_tmdb(76341)
    assert mad_max.year == 2015 and "Action" in mad_max.genres and not mad_max.directors


def test_a_suggestion_the_catalog_holds_without_a_tmdb_id_is_that_film_and_gains_the_id():
    store = MemoryStore([Film(0, "Arrival", 2016, tmdb_id=329865), Film(0, "Moonlight", 2016, corpus_count=9)])
    moonlight = store.films()[1]
    client, fake = make(store=store)

    def in_catalog(film: Film) -> Film | None:
        return moonlight if (film.title, film.year) == ("Moonlight", 2016) else None

    reasons = client.similar_candidates(store.films()[:1], 4, in_catalog)
    assert moonlight.film_id in reasons
    assert store.film(moonlight.film_id).tmdb_id == 376867 and store.film(moonlight.film_id).corpus_count == 9
    assert len(store.films()) == 1 + 4, "the film was not stored twice"
    assert fake.control.count() == 1


def test_enrich_matched_fetches_details_only_for_the_films_chosen_and_finds_the_others():
    store = MemoryStore()
    client, fake = make(store=store)
    her, whiplash = ProfileFilm("Her", 2013, 5.0, liked=True), ProfileFilm("Whiplash", 2014, 3.0)
    matched = [MatchedFilm(her, None), MatchedFilm(whiplash, None)]
    first, second = client.enrich_matched(matched, with_details={her})
    assert first.film.directors == ("Spike Jonze",)
    assert second.film.tmdb_id == 244786 and second.film.year == 2014 and "Drama" in second.film.genres
    assert not second.film.directors and second.film.film_id == store.film_by_tmdb(244786).film_id
    assert fake.control.count("/3/search/movie") == 2 and fake.control.paths().count("/3/movie/152601") == 1
    assert fake.control.count("/3/movie/") == 1
    # Shown later as a pick, the found film gets its details with no second search.
    (shown,) = client.enrich([second.film])
    assert shown.directors and fake.control.count("/3/search/movie") == 2


def test_overlay_keeps_known_values_where_the_new_film_has_none():
    old = Film(7, "Her", 2013, imdb_id="tt1798709", corpus_count=3, letterboxd_slug="her")
    new = Film(0, "Her", 2013, tmdb_id=152601, runtime=126)
    merged = overlay(old, new)
    assert (merged.film_id, merged.imdb_id, merged.tmdb_id, merged.runtime, merged.corpus_count) == (
        7, "tt1798709", 152601, 126, 3)
