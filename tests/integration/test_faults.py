"""Upstream faults through the whole app: every run ends on all three channels, in time, with a payload or an error.

The app talks to the fake Letterboxd through `FaultyFront`, a small HTTP front that
passes requests through, resets connections, or trickles its answers a byte at a
time; the fakes' own controls add blocks, 429s, 5xx, slow answers, short pages,
changed markup and broken TMDB JSON.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests

from tests.support.faulty_front import FaultyFront
from tests.support.openapi_check import problems, response_schema
from tests.support.runs import assert_ended_cleanly, follow, recommend, start_run
from tests.support.var import copy_var

LETTERBOXD_TIMEOUT_S = 0.5
TMDB_TIMEOUT_S = 0.5
CIRCUIT_THRESHOLD = 5
FAKE_SERVERS = {"page_size": 12}


# ----- a runtime folder of the test's own ------------------------------------------------------


@pytest.fixture(scope="module")
def private_var(live_app, shared_var, tmp_path_factory) -> Path:
    """A copy of the session's runtime folder (built by live_app), so TMDB enrichment stays in this module."""
    return copy_var(shared_var, tmp_path_factory.mktemp("faults-var"))


# ----- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def front(fakes) -> Iterator[FaultyFront]:
    proxy = FaultyFront(fakes.letterboxd.url).start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def app(start_app, fakes, front, private_var):
    """The app with TMDB on, Letterboxd behind the faulty front, small timeouts, no fresh-profile cache."""
    return start_app({
        **fakes.settings_overrides(),
        "var_dir": private_var,
        "letterboxd_base_url": front.url,
        "ratelimit_enabled": False,
        "letterboxd_http_timeout": LETTERBOXD_TIMEOUT_S,
        "tmdb_http_timeout": TMDB_TIMEOUT_S,
        "letterboxd_circuit_failure_threshold": CIRCUIT_THRESHOLD,
        "letterboxd_circuit_cooldown_s": 120.0,
        # Every run scrapes again; the week-long stale copy is still kept for outages.
        "profile_fresh_ttl_s": 0.001,
    })


@pytest.fixture(autouse=True)
def healthy_upstreams(request, calm_fakes, front) -> Iterator[None]:
    """Each test starts and ends with well-behaved upstreams and closed circuits."""
    front.set(None)
    yield
    front.set(None)
    if "app" in request.fixturenames:
        facade = request.getfixturevalue("app").facade
        facade.tracker.reset()
        facade.tmdb.tracker.reset()


class Members:
    """Hands out members no other test used, so profile caches never leak between tests."""

    def __init__(self, names: list[str]) -> None:
        self._names = iter(names)
        self._lock = threading.Lock()

    def take(self) -> str:
        with self._lock:
            return next(self._names)


@pytest.fixture(scope="module")
def members(world) -> Members:
    return Members(list(world.popular))


def list_paths(username: str) -> tuple[str, ...]:
    return (f"/{username}/films/", f"/{username}/likes/", f"/{username}/watchlist/")


def prime(base: str, username: str) -> dict:
    """One successful run, which leaves a stale copy of the profile behind."""
    r = requests.post(f"{base}/api/recommend", json={"username": username, "sync": True, "count": 3,
                                                      "include_streaming": False}, timeout=60)
    assert r.status_code == 200, r.text
    assert r.json()["data_freshness"] == "fresh"
    return r.json()


def conforms(body: dict) -> list[str]:
    return problems(body, response_schema("/api/recommend", "post", 200))


# ----- Letterboxd faults -------------------------------------------------------------------------


@pytest.mark.timeout(60, func_only=True)
def test_a_healthy_run_through_the_front_completes_fresh_with_enrichment(app, fakes, front, members):
    outcome = recommend(app.url, username=members.take(), count=5)
    assert_ended_cleanly(outcome)
    assert outcome.status == 200 and outcome.body["data_freshness"] == "fresh"
    assert outcome.body["incident"] is None and outcome.body["hint"] is None
    assert fakes.tmdb.control.count("/3/movie/") > 0, "TMDB enrichment is on"
    assert front.served > 0, "Letterboxd was reached through the front"


@pytest.mark.timeout(60, func_only=True)
def test_letterboxd_blocking_every_tier_ends_in_a_clear_error_on_every_channel(app, fakes, members):
    fakes.letterboxd.control.set(block="all")
    outcome = recommend(app.url, username=members.take())
    assert_ended_cleanly(outcome)
    assert outcome.status == 503 and outcome.body["error"] == "letterboxd_blocked"
    assert "refusing" in outcome.body["message"] and "export" in outcome.body["hint"]
    assert outcome.elapsed_s < 15
    challenged = {s.user_agent for s in fakes.letterboxd.control.seen if s.status == 403}
    assert len(challenged) >= 2, "every client tier was tried"


@pytest.mark.timeout(60, func_only=True)
def test_blocked_film_lists_fall_back_to_the_rss_feed(app, fakes, members):
    username = members.take()
    fakes.letterboxd.control.set(block="all", fail_paths=list_paths(username))
    outcome = recommend(app.url, username=username)
    assert_ended_cleanly(outcome)
    assert outcome.status == 200 and outcome.body["data_freshness"] == "rss"
    assert outcome.body["incident"]["reason"] == "blocked"
    assert "RSS" in outcome.body["hint"]


@pytest.mark.timeout(60, func_only=True)
def test_a_blocked_letterboxd_serves_the_stale_copy_of_a_member_seen_before(app, fakes, members):
    username = members.take()
    primed = prime(app.url, username)
    fakes.letterboxd.control.set(block="all")
    outcome = recommend(app.url, username=username)
    assert_ended_cleanly(outcome)
    assert outcome.status == 200 and outcome.body["data_freshness"] == "stale_cache"
    assert outcome.body["incident"]["reason"] == "blocked" and outcome.body["incident"]["cached_at"]
    assert outcome.body["profile"]["films"] == primed["profile"]["films"]
    assert outcome.body["hint"]


@pytest.mark.timeout(60, func_only=True)
def test_a_429_with_retry_after_is_waited_out_and_the_run_completes_fresh(app, fakes, members):
    fakes.letterboxd.control.set(fail_status=429, fail_count=2, retry_after=1)
    outcome = recommend(app.url, username=members.take())
    assert_ended_cleanly(outcome)
    assert outcome.status == 200 and outcome.body["data_freshness"] == "fresh"
    assert fakes.letterboxd.control.count(status=429) == 2
    assert 1.0 <= outcome.elapsed_s < 15, "the Retry-After second was honoured, not more"


@pytest.mark.timeout(60, func_only=True)
def test_endless_429s_end_in_a_clear_error_within_the_retry_budget(app, fakes, members):
    fakes.letterboxd.control.set(fail_status=429, retry_after=0.2)
    outcome = recommend(app.url, username=members.take())
    assert_ended_cleanly(outcome)
    assert outcome.status == 503 and outcome.body["error"] == "letterboxd_unavailable"
    assert outcome.elapsed_s < 15


@pytest.mark.timeout(60, func_only=True)
def test_a_503_outage_serves_the_stale_copy(app, fakes, members):
    username = members.take()
    prime(app.url, username)
    fakes.letterboxd.control.set(fail_status=503)
    outcome = recommend(app.url, username=username)
    assert_ended_cleanly(outcome)
    assert outcome.status == 200 and outcome.body["data_freshness"] == "stale_cache"
    assert outcome.body["incident"]["reason"] == "upstream_error" and outcome.body["incident"]["status"] == 503


@pytest.mark.timeout(60, func_only=True)
def test_letterboxd_answering_slower_than_the_timeout_ends_the_run_within_its_budget(app, fakes, members):
    fakes.letterboxd.control.set(slow_s=LETTERBOXD_TIMEOUT_S * 3)
    outcome = recommend(app.url, username=members.take())
    assert_ended_cleanly(outcome)
    assert outcome.status == 503 and outcome.body["error"] == "letterboxd_unavailable"
    # Four attempts at the list pages, then four at the RSS feed, each cut at the timeout.
    assert outcome.elapsed_s < 8 * LETTERBOXD_TIMEOUT_S + 6


@pytest.mark.timeout(60, func_only=True)
def test_connection_resets_fall_back_to_the_stale_copy(app, front, members):
    username = members.take()
    prime(app.url, username)
    front.set("reset")
    outcome = recommend(app.url, username=username)
    assert_ended_cleanly(outcome)
    assert outcome.status == 200 and outcome.body["data_freshness"] == "stale_cache"
    assert outcome.body["incident"]["reason"] == "upstream_error"


@pytest.mark.timeout(60, func_only=True)
def test_connection_resets_with_nothing_cached_end_in_a_clear_error(app, front, members):
    front.set("reset")
    outcome = recommend(app.url, username=members.take())
    assert_ended_cleanly(outcome)
    assert outcome.status == 503 and outcome.body["error"] == "letterboxd_unreachable"
    assert outcome.elapsed_s < 15


SLOW_LORIS_LIMIT_S = 8.0


@pytest.mark.timeout(90, func_only=True)
def test_a_letterboxd_trickling_bytes_cannot_hold_a_run_past_its_budget(app, front, members):
    username = members.take()
    front.set("trickle", list_paths(username))
    started = time.monotonic()
    request_id = start_run(app.url, username=username)
    outcome = follow(app.url, request_id, started, limit_s=SLOW_LORIS_LIMIT_S)
    front.set(None)  # let a run that is still stuck finish
    assert_ended_cleanly(outcome)
    assert outcome.elapsed_s < SLOW_LORIS_LIMIT_S


@pytest.mark.timeout(60, func_only=True)
def test_truncated_pages_give_a_partial_profile_with_a_hint(app, fakes):
    fakes.letterboxd.control.set(truncate=True)
    outcome = recommend(app.url, username="cinephile")
    assert_ended_cleanly(outcome)
    assert outcome.status == 200 and outcome.body["data_freshness"] == "partial"
    assert outcome.body["incident"]["reason"] == "truncated"
    assert "part-way" in outcome.body["hint"]
    assert fakes.letterboxd.control.count("/cinephile/films/") > 3, "short pages were fetched again"


@pytest.mark.timeout(60, func_only=True)
def test_degraded_payloads_conform_to_the_published_schema(app, fakes, members):
    username = members.take()
    fakes.letterboxd.control.set(block="all", fail_paths=list_paths(username))
    rss = recommend(app.url, username=username, count=3)
    fakes.letterboxd.control.set(block=None, fail_paths=(), truncate=True)
    partial = recommend(app.url, username="cinephile", count=3)
    assert (rss.body["data_freshness"], partial.body["data_freshness"]) == ("rss", "partial")
    assert conforms(rss.body) == [] and conforms(partial.body) == []


@pytest.mark.timeout(60, func_only=True)
def test_changed_markup_falls_back_to_the_rss_feed(app, fakes, members):
    fakes.letterboxd.control.set(markup="changed")
    outcome = recommend(app.url, username=members.take())
    assert_ended_cleanly(outcome)
    assert outcome.status == 200 and outcome.body["data_freshness"] == "rss"
    assert outcome.body["incident"]["reason"] == "bad_response"


@pytest.mark.timeout(60, func_only=True)
def test_an_unknown_member_is_a_clear_404_on_every_channel(app):
    outcome = recommend(app.url, username="nobody_by_this_name")
    assert_ended_cleanly(outcome)
    assert outcome.status == 404 and outcome.body["error"] == "unknown_user"


# ----- TMDB faults -------------------------------------------------------------------------------


@pytest.mark.timeout(60, func_only=True)
def test_invalid_tmdb_json_still_recommends_without_enrichment(app, fakes, members):
    fakes.tmdb.control.set(invalid_json=True)
    outcome = recommend(app.url, username=members.take())
    assert_ended_cleanly(outcome)
    assert outcome.status == 200 and outcome.body["data_freshness"] == "fresh"
    assert fakes.tmdb.control.count("/3/") > 0, "TMDB was asked"


@pytest.mark.timeout(60, func_only=True)
def test_a_tmdb_outage_degrades_to_plain_recommendations_and_health_says_so(start_app, fakes, live_app, shared_var,
                                                                            tmp_path):
    # An app of its own: nothing enriched or cached yet, so every film asks TMDB.
    app = start_app({**fakes.settings_overrides(), "var_dir": copy_var(shared_var, tmp_path / "var"),
                     "ratelimit_enabled": False, "tmdb_http_timeout": TMDB_TIMEOUT_S})
    fakes.tmdb.control.set(fail_status=500)
    outcome = recommend(app.url, username="cinephile", include_streaming=True, country="US")
    assert_ended_cleanly(outcome)
    assert outcome.status == 200 and outcome.body["recommendations"]
    assert outcome.elapsed_s < 20
    health = requests.get(f"{app.url}/_health", timeout=10).json()
    assert health["tmdb"] == {"configured": True, "healthy": False}
    assert health["degraded"] is True and health["status"] == "ok"


# ----- the circuit breaker -------------------------------------------------------------------------


@pytest.mark.timeout(90, func_only=True)
def test_an_open_circuit_shows_in_health_and_serves_stale_copies_without_asking_letterboxd(app, fakes, members):
    known = members.take()
    prime(app.url, known)
    assert requests.get(f"{app.url}/_health", timeout=10).json()["degraded"] is False

    fakes.letterboxd.control.set(block="all")
    for _ in range(2):  # each blocked run fails the three list pages: the threshold is five
        assert_ended_cleanly(recommend(app.url, username=members.take()))
    health = requests.get(f"{app.url}/_health", timeout=10).json()
    assert health["degraded"] is True
    incident = health["incident"]
    assert incident["letterboxd_circuit_open"] is True
    assert incident["letterboxd_consecutive_failures"] >= CIRCUIT_THRESHOLD
    assert incident["letterboxd_last_status"] == 403
    assert 0 < incident["letterboxd_circuit_retry_after_s"] <= 120
    assert problems(health, response_schema("/_health", "get", 200)) == []
    assert requests.get(f"{app.url}/_incident-status", timeout=10).json() == incident

    before = fakes.letterboxd.control.count(f"/{known}/films/")
    outcome = recommend(app.url, username=known)
    assert_ended_cleanly(outcome)
    assert outcome.status == 200 and outcome.body["data_freshness"] == "stale_cache"
    assert outcome.body["incident"]["reason"] == "circuit_open"
    assert fakes.letterboxd.control.count(f"/{known}/films/") == before, "an open circuit sends nothing"

    fresh = recommend(app.url, username=members.take())
    assert_ended_cleanly(fresh)
    assert fresh.status == 503 and fresh.elapsed_s < 10


@pytest.mark.timeout(90, func_only=True)
def test_an_unreachable_letterboxd_points_at_the_export_and_an_open_breaker_answers_without_retrying(
        app, front, members):
    front.set("reset")  # every connection to Letterboxd dies: as good as no network
    first = recommend(app.url, username=members.take())
    assert_ended_cleanly(first)
    assert first.status == 503 and first.body["error"] == "letterboxd_unreachable"
    assert "no connection to Letterboxd" in first.body["message"] and "refusing" not in first.body["message"]
    assert "export" in first.body["hint"] and "export" not in first.body["message"], "one message, one action"

    for _ in range(CIRCUIT_THRESHOLD):
        if requests.get(f"{app.url}/_health", timeout=10).json()["incident"]["letterboxd_circuit_open"]:
            break
        assert_ended_cleanly(recommend(app.url, username=members.take()))
    assert requests.get(f"{app.url}/_health", timeout=10).json()["incident"]["letterboxd_circuit_open"]

    reached = front.served
    outcome = recommend(app.url, username=members.take())
    assert_ended_cleanly(outcome)
    assert outcome.status == 503 and outcome.body["error"] == "letterboxd_unreachable"
    assert "export" in outcome.body["hint"]
    assert front.served == reached, "an open breaker over an unreachable Letterboxd sends nothing, not even RSS"
