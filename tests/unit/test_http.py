"""Retries, tier fallback, the circuit breaker and pacing, on in-memory tiers with an injected clock."""
from __future__ import annotations

import random

import pytest

from infra.http import (
    CircuitOpen,
    HttpClient,
    IncidentTracker,
    Pacer,
    RetryPolicy,
    UpstreamBadResponse,
    UpstreamBlocked,
    UpstreamError,
    UpstreamNotFound,
    UpstreamTimeout,
    UserNotFound,
    looks_like_challenge,
    retry_after_seconds,
)
from tests.fakes.letterboxd_pages import CHALLENGE
from tests.fakes.tiers import MemoryTier, as_json, html, transport_error
from tests.support.clock import Clock

CF_HEADERS = {"Server": "cloudflare", "cf-mitigated": "challenge"}


class Sleeps:
    """An injected sleep that records delays and moves a fake clock."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.delays: list[float] = []
        self.clock = clock

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        if self.clock is not None:
            self.clock.advance(seconds)


def client(*tiers: MemoryTier, tracker: IncidentTracker | None = None, retry: RetryPolicy | None = None,
           sleep: Sleeps | None = None, clock: Clock | None = None) -> HttpClient:
    clock = clock or Clock()
    return HttpClient("letterboxd", "https://example.test", 5, tiers=list(tiers), tracker=tracker,
                      retry=retry or RetryPolicy(max_attempts=4, base_delay_s=0.5, max_delay_s=8, max_total_s=30),
                      sleep=sleep or Sleeps(clock), clock=clock, rng=random.Random(1))


def test_a_503_is_retried_with_growing_jittered_backoff_until_it_succeeds():
    sleeps = Sleeps()
    tier = MemoryTier(script=[html(503), html(503), html(200, "ok")])
    resp = client(tier, sleep=sleeps).get("/x/")
    assert resp.text == "ok" and len(tier.calls) == 3
    first, second = sleeps.delays
    assert 0.25 <= first <= 0.5 and 0.5 <= second <= 1.0


def test_a_429_waits_as_long_as_retry_after_says_but_no_longer_than_the_cap():
    sleeps = Sleeps()
    tier = MemoryTier(script=[html(429, headers={"Retry-After": "7"}), html(429, headers={"Retry-After": "900"}),
                              html(200, "ok")])
    retry = RetryPolicy(max_attempts=4, retry_after_cap_s=20, max_total_s=100)
    assert client(tier, sleep=sleeps, retry=retry).get("/x/").status == 200
    assert sleeps.delays == [7.0, 20.0]


def test_other_4xx_answers_are_never_retried():
    for status, error in ((400, UpstreamError), (401, UpstreamError), (404, UpstreamNotFound), (410, UpstreamNotFound)):
        tier = MemoryTier(script=[html(status)])
        with pytest.raises(error) as info:
            client(tier).get("/x/")
        assert info.value.status == status and len(tier.calls) == 1


def test_not_found_can_be_raised_as_a_more_specific_error():
    with pytest.raises(UserNotFound):
        client(MemoryTier(script=[html(404)])).get("/nobody/films/", not_found=UserNotFound)


def test_transport_errors_are_retried_until_the_attempt_cap():
    sleeps = Sleeps()
    tier = MemoryTier(script=[transport_error(timeout=True) for _ in range(4)])
    with pytest.raises(UpstreamTimeout):
        client(tier, sleep=sleeps).get("/x/")
    assert len(tier.calls) == 4 and len(sleeps.delays) == 3


def test_retries_stop_when_the_total_time_budget_would_be_exceeded():
    clock = Clock()
    tier = MemoryTier(script=[html(503)] * 10)
    retry = RetryPolicy(max_attempts=10, base_delay_s=4, max_delay_s=4, max_total_s=9)
    sleeps = Sleeps(clock)
    with pytest.raises(UpstreamError) as info:
        client(tier, retry=retry, clock=clock, sleep=sleeps).get("/x/")
    # Waits of 2-4 s: every one taken fits in the 9 s, each counted once (the clock moves while it sleeps).
    assert info.value.status == 503 and clock.now - 1000.0 == pytest.approx(sum(sleeps.delays))
    assert sum(sleeps.delays) <= 9
    assert len(tier.calls) == len(sleeps.delays) + 1 >= 3


def test_a_challenge_moves_on_to_the_next_tier_without_retrying():
    plain = MemoryTier("requests", script=[html(403, CHALLENGE, CF_HEADERS)])
    scraper = MemoryTier("cloudscraper", script=[html(503, CHALLENGE, {"Server": "cloudflare"})])
    browser = MemoryTier("curl_cffi", script=[html(200, "<html>films</html>")])
    http = client(plain, scraper, browser)
    resp = http.get("/x/")
    assert resp.tier == "curl_cffi" and resp.text == "<html>films</html>"
    assert http.stats.tier_fallbacks == 2 and http.stats.retries == 0


def test_challenges_on_every_tier_raise_blocked_and_count_one_failure():
    tracker = IncidentTracker(None, threshold=5, cooldown_s=60, clock=Clock())
    tiers = [MemoryTier(n, script=[html(403, CHALLENGE, CF_HEADERS)]) for n in ("requests", "cloudscraper")]
    with pytest.raises(UpstreamBlocked):
        client(*tiers, tracker=tracker).get("/x/")
    snap = tracker.snapshot()
    assert snap["letterboxd_total_failures"] == 1 and snap["letterboxd_last_status"] == 403


def test_challenge_detection_needs_a_challenge_status_and_a_cloudflare_sign():
    assert looks_like_challenge(403, {"cf-mitigated": "challenge"}, "")
    assert looks_like_challenge(503, {}, "<title>Just a moment...</title>")
    assert looks_like_challenge(403, {"server": "cloudflare"}, "Forbidden")
    assert not looks_like_challenge(403, {"server": "nginx"}, "Forbidden")
    assert not looks_like_challenge(200, {"cf-mitigated": "challenge"}, "Just a moment...")
    assert not looks_like_challenge(404, {"server": "cloudflare"}, "")


def test_retry_after_reads_seconds_and_ignores_dates():
    assert retry_after_seconds({"retry-after": "3"}) == 3.0
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None
    assert retry_after_seconds({}) is None


def test_invalid_json_is_a_bad_response_error():
    resp = client(MemoryTier(script=[html(200, "{not json")])).get("/x/")
    with pytest.raises(UpstreamBadResponse):
        resp.json()


def test_json_answers_decode():
    assert client(MemoryTier(script=[as_json({"a": 1})])).get_json("/x") == {"a": 1}


def test_breaker_opens_after_the_threshold_and_refuses_calls_without_touching_the_network():
    clock = Clock()
    tracker = IncidentTracker(None, threshold=3, cooldown_s=120, clock=clock)
    tier = MemoryTier(script=[html(403, CHALLENGE, CF_HEADERS)] * 3)
    http = client(tier, tracker=tracker)
    for _ in range(3):
        with pytest.raises(UpstreamBlocked):
            http.get("/x/")
    with pytest.raises(CircuitOpen) as info:
        http.get("/x/")
    assert len(tier.calls) == 3 and info.value.retry_after_s == pytest.approx(120)
    snap = tracker.snapshot()
    assert snap == {"letterboxd_total_failures": 3, "letterboxd_consecutive_failures": 3,
                    "letterboxd_last_status": 403, "letterboxd_circuit_open": True,
                    "letterboxd_circuit_retry_after_s": 120.0}


def test_breaker_lets_a_probe_through_after_the_cooldown_and_closes_on_success():
    clock = Clock()
    tracker = IncidentTracker(None, threshold=2, cooldown_s=60, clock=clock)
    for _ in range(2):
        tracker.record_failure(503)
    assert tracker.is_open()
    clock.advance(61)
    assert not tracker.is_open()
    tracker.record_failure(503)
    assert tracker.is_open(), "a failed probe reopens the circuit at once"
    clock.advance(61)
    client(MemoryTier(script=[html(200, "ok")]), tracker=tracker).get("/x/")
    assert tracker.snapshot()["letterboxd_consecutive_failures"] == 0 and not tracker.is_open()


def test_calls_without_the_breaker_ignore_an_open_circuit():
    tracker = IncidentTracker(None, threshold=1, cooldown_s=60, clock=Clock())
    tracker.record_failure(403)
    resp = client(MemoryTier(script=[html(200, "rss")]), tracker=tracker).get("/u/rss/", breaker=False)
    assert resp.text == "rss" and tracker.is_open()


def test_not_found_counts_as_the_upstream_answering():
    tracker = IncidentTracker(None, threshold=2, cooldown_s=60, clock=Clock())
    tracker.record_failure(503)
    with pytest.raises(UpstreamNotFound):
        client(MemoryTier(script=[html(404)]), tracker=tracker).get("/x/")
    assert tracker.snapshot()["letterboxd_consecutive_failures"] == 0


def test_pacer_spaces_request_starts_by_the_minimum_interval():
    clock = Clock()
    sleeps = Sleeps(clock)
    pacer = Pacer("letterboxd", 0.5, sleep=sleeps, clock=clock)
    for _ in range(4):
        pacer.wait()
    assert sleeps.delays == [0.5, 0.5, 0.5]


def test_pacer_with_no_interval_never_sleeps():
    sleeps = Sleeps()
    pacer = Pacer("tmdb", 0, sleep=sleeps)
    assert pacer.wait() == 0 and sleeps.delays == []


def test_a_429_without_retry_after_waits_at_least_the_throttle_floor():
    sleeps = Sleeps()
    tier = MemoryTier(script=[html(429), html(200, "ok")])
    retry = RetryPolicy(max_attempts=4, base_delay_s=0.5, throttle_delay_s=3)
    assert client(tier, sleep=sleeps, retry=retry).get("/x/").text == "ok"
    assert sleeps.delays == [3.0]


def test_a_permanent_error_is_raised_at_once_and_counted_as_unreachable():
    sleeps = Sleeps()
    tracker = IncidentTracker(None, threshold=5, cooldown_s=60, clock=Clock())
    tier = MemoryTier(script=[UpstreamError("only GET is supported")])
    with pytest.raises(UpstreamError, match="only GET is supported") as info:
        client(tier, tracker=tracker, sleep=sleeps).get("/x/")
    assert info.value.service == "letterboxd" and len(tier.calls) == 1 and sleeps.delays == []
    snap = tracker.snapshot()
    assert snap["letterboxd_total_failures"] == 1 and snap["letterboxd_last_status"] is None


def test_a_5xx_still_failing_after_the_last_attempt_tells_the_breaker_its_status():
    tracker = IncidentTracker(None, threshold=1, cooldown_s=60, clock=Clock())
    tier = MemoryTier(script=[html(502), html(502)])
    with pytest.raises(UpstreamError, match="letterboxd answered 502") as info:
        client(tier, tracker=tracker, retry=RetryPolicy(max_attempts=2)).get("/x/")
    assert info.value.transient and len(tier.calls) == 2
    with pytest.raises(CircuitOpen) as opened:
        client(tier, tracker=tracker).get("/x/")
    assert tracker.snapshot()["letterboxd_last_status"] == 502 and not opened.value.unreachable


def test_each_tier_gets_its_own_attempts_after_a_challenge():
    plain = MemoryTier("requests", script=[html(403, CHALLENGE, CF_HEADERS)])
    browser = MemoryTier("curl_cffi", script=[html(503), html(503), html(200, "films")])
    http = client(plain, browser, retry=RetryPolicy(max_attempts=3))
    assert http.get("/x/").text == "films"
    assert http.stats.retries == 2 and http.stats.tier_fallbacks == 1 and http.stats.by_tier == {
        "requests": 1, "curl_cffi": 3}


def test_the_pacers_waits_count_against_the_total_time_budget():
    def attempts(paced: bool) -> int:
        clock = Clock()  # one clock, moved by every sleep, the pacer's too
        tier = MemoryTier(script=[html(503)] * 20)
        pacer = Pacer("letterboxd", 1, sleep=Sleeps(clock), clock=clock) if paced else None
        http = HttpClient("letterboxd", "https://example.test", 5, tiers=[tier], pacer=pacer,
                          retry=RetryPolicy(max_attempts=20, base_delay_s=1, max_delay_s=1, max_total_s=6),
                          sleep=Sleeps(clock), clock=clock, rng=random.Random(1))
        with pytest.raises(UpstreamError):
            http.get("/x/")
        return len(tier.calls)

    assert attempts(paced=True) < attempts(paced=False)
