"""Upstream faults through the whole app: every run ends on all three channels, in time, with a payload or an error.

The app talks to the fake Letterboxd through `FaultyFront`, a small HTTP front that
passes requests through, resets connections, or trickles its answers a byte at a
time; the fakes' own controls add blocks, 429s, 5xx, slow answers, short pages,
changed markup and broken TMDB JSON.
"""
from __future__ import annotations

import socket
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest
import requests

from tests.fakes import FakeUpstreams, build_world
from tests.support.openapi_check import problems, response_schema
from tests.support.var import copy_var
from tests.support.sse import SseEvent, is_terminal, iter_sse

CHANNELS = ("logs", "recommendations", "status")
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}
LETTERBOXD_TIMEOUT_S = 0.5
TMDB_TIMEOUT_S = 0.5
CIRCUIT_THRESHOLD = 5
RUN_LIMIT_S = 30.0
TRICKLE_INTERVAL_S = 0.05
TRICKLE_MAX_S = 120.0
TRICKLE_CLAIMED_BYTES = 1_000_000


# ----- a front door that misbehaves on purpose ----------------------------------------------


class FaultyFront:
    """An HTTP front for one upstream: passes requests through, or resets or trickles the ones it is told to."""

    def __init__(self, upstream_url: str) -> None:
        parts = urlsplit(upstream_url)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.mode: str | None = None  # None (pass through), "reset" or "trickle"
        self.paths: tuple[str, ...] = ()  # only these path prefixes misbehave; all when empty
        self.served = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def set(self, mode: str | None, paths: tuple[str, ...] = ()) -> None:
        """Misbehave in this way from now on (None passes everything through)."""
        with self._lock:
            self.mode, self.paths = mode, tuple(paths)

    def mode_for(self, path: str) -> str | None:
        with self._lock:
            if self.paths and not any(path.startswith(p) for p in self.paths):
                return None
            return self.mode

    def start(self) -> "FaultyFront":
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with front._lock:
                    front.served += 1
                mode = front.mode_for(urlsplit(self.path).path)
                if mode == "reset":
                    self._reset()
                elif mode == "trickle":
                    self._trickle()
                else:
                    self._pass(body)

            def _reset(self) -> None:
                # Linger 0 makes close() send RST instead of FIN: "connection reset by peer".
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
                self.close_connection = True

            def _trickle(self) -> None:
                self.close_connection = True
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(TRICKLE_CLAIMED_BYTES))
                    self.end_headers()
                    self.wfile.flush()
                    until = time.monotonic() + TRICKLE_MAX_S
                    while (time.monotonic() < until and front.mode_for(urlsplit(self.path).path) == "trickle"
                           and not front._stop.wait(TRICKLE_INTERVAL_S)):
                        self.wfile.write(b" ")
                        self.wfile.flush()
                except OSError:
                    return

            def _pass(self, body: bytes) -> None:
                upstream = HTTPConnection(*front.upstream, timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
                    upstream.request(self.command, self.path, body=body or None, headers=headers)
                    answer = upstream.getresponse()
                    payload = answer.read()
                    self.send_response(answer.status)
                    for name, value in answer.getheaders():
                        if name.lower() not in HOP_HEADERS:
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(payload)
                except OSError:
                    self.close_connection = True
                finally:
                    upstream.close()

            do_GET = do_POST = do_HEAD = _serve

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, name="faulty-front", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None


# ----- following a run like a browser does -----------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """How one recommendation run ended, as a member's browser saw it."""

    request_id: str
    streams: dict[str, list[SseEvent]]
    status: int
    body: dict
    elapsed_s: float

    @property
    def terminals(self) -> dict[str, dict | None]:
        return {ch: (events[-1].data if events and is_terminal(events[-1]) else None)
                for ch, events in self.streams.items()}

    @property
    def cards(self) -> list[dict]:
        return [e.data["recommendation"] for e in self.streams["recommendations"] if "type" in e.data]


def read_channel(base: str, channel: str, request_id: str, deadline: float) -> list[SseEvent]:
    """Read one SSE channel until its terminal event, the server closing it, or the deadline."""
    events: list[SseEvent] = []
    try:
        with requests.get(f"{base}/api/{channel}-stream", params={"request_id": request_id},
                          headers={"Accept": "text/event-stream"}, stream=True, timeout=(5, 5)) as response:
            assert response.status_code == 200, response.text
            for event in iter_sse(response):
                if event is not None:
                    events.append(event)
                    if is_terminal(event):
                        break
                if time.monotonic() > deadline:
                    break
    except requests.RequestException:
        pass  # a stalled or dropped stream shows up as a missing terminal event
    return events


def fetch_result(base: str, request_id: str, deadline: float) -> tuple[int, dict]:
    """GET /api/result until it is no longer pending or the deadline passes."""
    while True:
        r = requests.get(f"{base}/api/result", params={"request_id": request_id}, timeout=10)
        if r.status_code != 202 or time.monotonic() > deadline:
            return r.status_code, r.json()
        time.sleep(0.05)


def follow(base: str, request_id: str, started: float, limit_s: float = RUN_LIMIT_S,
           result_base: str | None = None) -> Outcome:
    """Read all three channels at once, then the result, all within limit_s of started."""
    deadline = started + limit_s
    with ThreadPoolExecutor(len(CHANNELS)) as pool:
        futures = {ch: pool.submit(read_channel, base, ch, request_id, deadline) for ch in CHANNELS}
        streams = {ch: f.result() for ch, f in futures.items()}
    status, body = fetch_result(result_base or base, request_id, deadline)
    return Outcome(request_id, streams, status, body, time.monotonic() - started)


def start_run(base: str, **fields: Any) -> str:
    """POST /api/recommend as JSON and return the accepted request_id."""
    r = requests.post(f"{base}/api/recommend", json={"include_streaming": False, **fields}, timeout=15)
    assert r.status_code == 202, r.text
    return r.json()["request_id"]


def recommend(base: str, limit_s: float = RUN_LIMIT_S, **fields: Any) -> Outcome:
    """Start a run and follow it to its end."""
    started = time.monotonic()
    return follow(base, start_run(base, **fields), started, limit_s)


def assert_ended_cleanly(outcome: Outcome) -> None:
    """Every channel ended with a terminal event that agrees with the result: a payload or a clear error."""
    terminals = outcome.terminals
    assert all(terminals.values()), f"channels without a terminal event: {terminals}"
    if outcome.status == 200:
        assert all(terminal == {"status": "complete"} for terminal in terminals.values())
        assert isinstance(outcome.body["recommendations"], list)
        assert [c["film_id"] for c in outcome.cards] == [r["film_id"] for r in outcome.body["recommendations"]]
    else:
        assert 400 <= outcome.status < 600 and outcome.status != 500, outcome.body
        assert set(outcome.body) >= {"error", "message"} and outcome.body["message"]
        for terminal in terminals.values():
            assert terminal == {"status": "error", "message": outcome.body["message"]}
    for events in outcome.streams.values():
        assert not any("Traceback" in str(e.data) for e in events)


# ----- a runtime folder of the test's own ------------------------------------------------------


@pytest.fixture(scope="module")
def private_var(live_app, shared_var, tmp_path_factory) -> Path:
    """A copy of the session's runtime folder (built by live_app), so TMDB enrichment stays in this module."""
    return copy_var(shared_var, tmp_path_factory.mktemp("faults-var"))


# ----- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world():
    return build_world()


@pytest.fixture(scope="module")
def fakes(world) -> Iterator[FakeUpstreams]:
    upstreams = FakeUpstreams.start(world, page_size=12)
    yield upstreams
    upstreams.stop()


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
def healthy_upstreams(request, fakes, front) -> Iterator[None]:
    """Each test starts and ends with well-behaved upstreams and closed circuits."""
    fakes.reset()
    front.set(None)
    yield
    fakes.reset()
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
    assert "export" in outcome.body["message"]
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
    assert outcome.status == 503 and outcome.body["error"] == "letterboxd_unavailable"
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
