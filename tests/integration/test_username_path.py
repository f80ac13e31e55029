"""The username path end to end through the API: scrape, enrich, recommend, stream availability."""
from __future__ import annotations

import re

import requests

from infra.letterboxd_sources import FRESH_NS

from tests.support.sse import read_stream


def run(app, **body) -> dict:
    r = requests.post(f"{app.url}/api/recommend", json={"include_streaming": True, **body}, timeout=30)
    assert r.status_code == 202, r.text
    request_id = r.json()["request_id"]
    status = read_stream(app.url, "status", request_id)
    assert status[-1].data == {"status": "complete"}, status[-1].data
    result = requests.get(f"{app.url}/api/result", params={"request_id": request_id}, timeout=10)
    assert result.status_code == 200
    return {"payload": result.json(), "status": status}


def test_page_count_comes_from_the_members_first_page(online_app, fake_upstreams):
    fake_upstreams.reset()
    r = requests.post(f"{online_app.url}/api/get_pages", json={"username": "cinephile"}, timeout=30)
    assert r.status_code == 200 and r.json()["pages"] == 3


def test_unknown_member_is_a_clear_404(online_app, fake_upstreams):
    fake_upstreams.reset()
    r = requests.post(f"{online_app.url}/api/get_pages", json={"username": "nobody_here"}, timeout=30)
    assert r.status_code == 404 and r.json()["error"] == "unknown_user"


def test_member_with_three_pages_gets_enriched_recommendations_with_us_streaming(online_app, fake_upstreams):
    fake_upstreams.reset()
    online_app.facade.cache.delete(FRESH_NS, "cinephile")  # another test may have read this member already
    out = run(online_app, username="cinephile", country="US")
    payload = out["payload"]
    assert payload["data_freshness"] == "fresh" and payload["pages"] == 3
    assert payload["profile"]["source"] == "live" and payload["profile"]["matched"] > 0
    steps = [e.data.get("step") for e in out["status"]]
    assert "scraping" in steps and "enriching" in steps and "scoring" in steps
    pages = [re.fullmatch(r"Scraping page (\d+) of (\d+)", e.data.get("message") or "") for e in out["status"]]
    pages = [m for m in pages if m]
    assert pages and pages[-1].group(1) == pages[-1].group(2) and int(pages[-1].group(2)) >= 3
    recs = payload["recommendations"]
    assert recs and all(r["reason"] for r in recs)
    enriched = [r for r in recs if r["tmdb_id"]]
    assert enriched and any(r["poster"] for r in enriched)
    streamed = [r for r in recs if r["streaming"]]
    assert streamed, "no US availability on any recommendation"
    providers = {o["provider"] for r in streamed for o in r["streaming"]}
    assert providers & {"Netflix", "Amazon Prime Video", "Max"}
    assert not any("with Ads" in p for p in providers)  # names are normalised


def test_availability_follows_the_members_country(online_app, fake_upstreams):
    fake_upstreams.reset()
    gb = run(online_app, username="cinephile", country="GB")["payload"]
    providers = {o["provider"] for r in gb["recommendations"] for o in (r["streaming"] or [])}
    assert gb["country_name"] == "United Kingdom"
    assert providers and providers <= {"Netflix", "Disney Plus", "Disney+", "BBC iPlayer", "Amazon Video"}
    assert "Max" not in providers


def test_provider_filter_keeps_only_films_on_that_service(online_app, fake_upstreams):
    fake_upstreams.reset()
    payload = run(online_app, username="cinephile", country="US", filters={"providers": ["Netflix"]})["payload"]
    for rec in payload["recommendations"]:
        assert "Netflix" in {o["provider"] for o in rec["streaming"]}


def test_a_cold_run_spends_tmdb_details_on_the_members_most_telling_films_and_the_picks_shown(
        start_app, fake_upstreams, online_var, tmp_path):
    from tests.support.var import copy_var

    # A fresh app (its own cache) on a copy of the store: nothing of this member is known yet.
    app = start_app({"ratelimit_enabled": False, "var_dir": copy_var(online_var, tmp_path / "var"),
                     "tmdb_details_per_run": 1, **fake_upstreams.settings_overrides()})
    fake_upstreams.reset()
    payload = run(app, username="cinephile", country="US", count=5)["payload"]

    world = fake_upstreams.world
    member = world.members["cinephile"]
    logged = {world.films[lg.key].tmdb_id for lg in member.films} | {world.films[k].tmdb_id for k in member.watchlist}
    shown = {card["tmdb_id"] for card in payload["recommendations"] + payload["reserve"]}
    detailed = [int(p.rsplit("/", 1)[1]) for p in fake_upstreams.tmdb.control.paths() if p.startswith("/3/movie/")]
    assert len(detailed) == len(set(detailed)), "no film's details were asked for twice"
    assert set(detailed) <= logged | shown, "TMDB's suggestions cost no details until they are shown"
    # Of the member's films the catalog lacks, only the most telling one got its details (the budget is 1):
    # "The Premiere Year" (rated 4), not the watchlisted film, which a search found and counted.
    assert 990002 in detailed and (990001 not in detailed or 990001 in shown)
    assert fake_upstreams.tmdb.control.count("/3/search/movie") >= 2
    assert all(card["poster"] for card in payload["recommendations"] if card["tmdb_id"])
