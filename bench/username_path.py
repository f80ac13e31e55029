"""Time the username path (scrape a member, match, enrich from TMDB) against the fakes with per-request latency.

    .venv/bin/python bench/username_path.py [--films 1000] [--latency 0.05] [--sample 40] [--known 0.9]

Cold: empty caches, films not yet enriched. Warm: the same member again (profile and
TMDB answers cached, films enriched in the store). TMDB is paced at TMDB_MAX_RPS (40 by
default) and asked only about films the catalog lacks, plus details of the 20 picks shown;
the run fails if its TMDB request rate went over the pace. The naive baseline fetches pages
one after another and makes five TMDB calls per film (search, details, credits,
keywords, providers) in sequence; it runs on --sample films in the same process and
is extrapolated linearly to the member's size. A fraction --known of the member's
films sit in the catalog with TMDB ids (as most of a real member's films do in the
embedded catalog); the rest need a search first.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config import Settings
from infra.cache import MemoryCache
from infra.http import IncidentTracker
from infra.letterboxd import LetterboxdClient, ProfileSource, parse_films_page
from infra.store import Store
from infra.tmdb import APPEND, TmdbClient
from services.domain import Film
from services.matching import CatalogIndex, match_profile
from tests.fakes import API_KEY, FakeUpstreams, build_world

MEMBER = "bigwatcher"
PAGE_SIZE = 72
PICKS_SHOWN = 20


def seed_catalog(store: Store, world, known: float) -> int:
    """Put the first `known` share of the member's films in the store as bare catalog films with ids."""
    member = world.members[MEMBER]
    films = {f.key: f for f in world.films}
    keys = [lg.key for lg in member.films]
    count = int(len(keys) * known)
    for key in keys[:count]:
        f = films[key]
        store.upsert_film(Film(0, f.title, f.year, imdb_id=f.imdb_id, tmdb_id=f.tmdb_id))
    return count


def run_once(source: ProfileSource, tmdb: TmdbClient, store: Store, index: CatalogIndex) -> dict:
    t0 = time.perf_counter()
    fetched = source.get(MEMBER)
    t1 = time.perf_counter()
    matched = match_profile(fetched.profile, index)
    t2 = time.perf_counter()
    enriched = tmdb.enrich_matched(matched)
    # Stand-ins for the picks about to be shown: catalog films the member has not logged.
    logged = {m.film.film_id for m in enriched if m.film is not None}
    tmdb.enrich([f for f in store.films() if f.tmdb_id and f.film_id not in logged][:PICKS_SHOWN])
    t3 = time.perf_counter()
    return {"total": t3 - t0, "fetch": t1 - t0, "match": t2 - t1, "enrich": t3 - t2,
            "films": len(fetched.profile.films), "freshness": fetched.freshness,
            "enriched": sum(1 for m in enriched if m.film is not None and m.film.directors)}


def naive_baseline(fakes: FakeUpstreams, sample: int) -> dict:
    """Sequential pages and five sequential TMDB calls per film, on `sample` films."""
    import requests

    session = requests.Session()
    lb, api = fakes.letterboxd.url, f"{fakes.tmdb.url}/3"
    key = {"api_key": API_KEY}
    t0 = time.perf_counter()
    page = parse_films_page(session.get(f"{lb}/{MEMBER}/films/").text)
    page_s = time.perf_counter() - t0
    entries = page.films[:sample]
    t1 = time.perf_counter()
    for e in entries:
        hits = session.get(f"{api}/search/movie", params={**key, "query": e.title, "year": e.year}).json()["results"]
        if not hits:
            continue
        tid = hits[0]["id"]
        for path in ("", "/credits", "/keywords", "/watch/providers"):
            session.get(f"{api}/movie/{tid}{path}", params=key).json()
    per_film = (time.perf_counter() - t1) / max(1, len(entries))
    session.close()
    return {"page_s": page_s, "per_film_s": per_film, "sample": len(entries)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--films", type=int, default=1000)
    p.add_argument("--latency", type=float, default=0.05)
    p.add_argument("--sample", type=int, default=40)
    p.add_argument("--known", type=float, default=0.9)
    args = p.parse_args(argv)
    settings = Settings()

    world = build_world(popular_members=0, big_member_films=args.films)
    world.catalog_titled("")  # the fake TMDB reads the embedded catalog once; that is no cost of the app's
    fakes = FakeUpstreams.start(world, page_size=PAGE_SIZE)
    for server in (fakes.letterboxd, fakes.tmdb, fakes.justwatch):
        server.control.set(latency_s=args.latency)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "store.sqlite", settings.data_dir)
        seeded = seed_catalog(store, world, args.known)
        cache = MemoryCache(settings.cache_max_size)
        tracker = IncidentTracker(None, settings.letterboxd_circuit_failure_threshold,
                                  settings.letterboxd_circuit_cooldown_s)
        lb = LetterboxdClient(fakes.letterboxd.url, settings.letterboxd_http_timeout, tracker,
                              pool_size=settings.scrape_pool_size, pool_maxsize=settings.http_pool_maxsize)
        tmdb = TmdbClient(f"{fakes.tmdb.url}/3", API_KEY, settings.tmdb_http_timeout, cache, store,
                          pool_size=settings.work_pool_size, pool_maxsize=settings.http_pool_maxsize,
                          max_rps=settings.tmdb_max_rps)
        source = ProfileSource(lb, cache)

        index = CatalogIndex(store.films())
        cold = run_once(source, tmdb, store, index)
        lb_cold = fakes.letterboxd.control.count()
        tmdb_cold = fakes.tmdb.control.count()
        details_cold = fakes.tmdb.control.count("/3/movie/")
        t = time.perf_counter()
        index = CatalogIndex(store.films())
        rebuild_s = time.perf_counter() - t
        warm = run_once(source, tmdb, store, index)
        lb_warm = fakes.letterboxd.control.count() - lb_cold
        tmdb_warm = fakes.tmdb.control.count() - tmdb_cold
        store.close()
        lb.close()
        tmdb.close()

    fakes.reset()
    for server in (fakes.letterboxd, fakes.tmdb):
        server.control.set(latency_s=args.latency)
    naive = naive_baseline(fakes, args.sample)
    fakes.stop()

    pages = -(-args.films // PAGE_SIZE)
    naive_total = naive["page_s"] * (pages + 2) + naive["per_film_s"] * cold["films"]
    print(f"member: {cold['films']} distinct films ({args.films} watched, {pages} film pages + likes + watchlist),"
          f" {seeded} of them in the catalog with TMDB ids; latency {args.latency * 1000:.0f} ms per request")
    print(f"pools: scrape {settings.scrape_pool_size}, TMDB {settings.work_pool_size}")
    print(f"cold: {cold['total']:.2f} s (fetch {cold['fetch']:.2f}, match {cold['match']:.2f}, "
          f"enrich {cold['enrich']:.2f}); {lb_cold} Letterboxd requests, {tmdb_cold} TMDB requests "
          f"({details_cold} details = {details_cold / cold['films']:.2f} per film, "
          f"{tmdb_cold / cold['films']:.2f} calls per film); {cold['enriched']} films enriched")
    rate = tmdb_cold / cold["enrich"] if cold["enrich"] else 0.0
    print(f"TMDB pace: {rate:.1f} requests/s over the cold enrichment (limit {settings.tmdb_max_rps:g}/s)")
    print(f"catalog index rebuild after the cold run's writes: {rebuild_s:.2f} s (in the app: a background thread, "
          "at most once a minute, not on the request path)")
    print(f"warm: {warm['total']:.3f} s (fetch {warm['fetch']:.3f}, match {warm['match']:.3f}, "
          f"enrich {warm['enrich']:.3f}); {lb_warm} Letterboxd and {tmdb_warm} TMDB requests; "
          f"profile {warm['freshness']}")
    print(f"naive sequential baseline: {naive['page_s'] * 1000:.0f} ms per page, "
          f"{naive['per_film_s'] * 1000:.0f} ms per film (5 TMDB calls, measured on {naive['sample']} films); "
          f"extrapolated to this member: {naive_total:.1f} s")
    print(f"speed-up: cold {naive_total / cold['total']:.1f}x, warm {naive_total / warm['total']:.0f}x "
          f"(targets: cold < 5 s, warm < 1 s: {'met' if cold['total'] < 5 and warm['total'] < 1 else 'MISSED'})")
    print(f"one details call carries append_to_response={APPEND}")
    if rate > settings.tmdb_max_rps * 1.05:
        print("TMDB was asked faster than its pace allows", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
