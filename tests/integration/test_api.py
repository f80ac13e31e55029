"""Every endpoint through a real HTTP server, SSE read as a browser reads it."""
from __future__ import annotations

import re
import threading
import uuid

import pytest
import requests

from tests.support.openapi_check import SPEC, problems, response_schema
from tests.support.spreadsheet import resave_export
from tests.support.sse import read_stream

CHANNELS = ("logs", "recommendations", "status")


def start_export_job(base: str, sample_export: bytes, **fields) -> str:
    data = {"country": "GB", "include_streaming": "false", **fields}
    r = requests.post(f"{base}/api/recommend", files={"export": ("letterboxd-export.zip", sample_export)},
                      data=data, timeout=30)
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "accepted" and body["request_id"]
    return body["request_id"]


def export_film_ids(facade, data: bytes) -> set[int]:
    """Catalog ids of every film the export logs as watched, matched the way the app matches them."""
    from infra.export_reader import read_upload
    from services.export_import import profile_from_export
    from services.matching import match_profile

    profile = profile_from_export(read_upload(data, "export.zip", 10**8))
    index = facade.catalogs.index()
    return {m.film.film_id for m in match_profile(profile, index) if m.film and m.entry.watched}


def conforms(body, path, method, status):
    assert problems(body, response_schema(path, method, status)) == []


def test_health_reports_status_incident_and_operator_facts(client, live_app):
    r = client.get("/_health")
    assert r.status_code == 200
    body = r.get_json()
    conforms(body, "/_health", "get", 200)
    assert body["status"] == "ok" and isinstance(body["degraded"], bool)
    # This app has no Letterboxd to reach, so earlier tests may have opened its circuit: health says which.
    assert body["incident"]["letterboxd_circuit_open"] is live_app.facade.tracker.is_open()
    assert body["catalog"]["films"] > 5000
    assert body["model"]["loaded"] is True and body["model"]["state"] == "ready"
    assert body["redis"] == {"configured": False, "reachable": None}


def test_health_reports_redis_reachable(live_app_redis):
    body = requests.get(f"{live_app_redis.url}/_health", timeout=10).json()
    assert body["redis"] == {"configured": True, "reachable": True}


def test_sync_export_upload_returns_explained_recommendations_not_in_the_export(live_app, sample_export):
    r = requests.post(f"{live_app.url}/api/recommend", files={"export": ("export.zip", sample_export)},
                      data={"sync": "true", "country": "US", "include_streaming": "false"}, timeout=60)
    assert r.status_code == 200, r.text
    body = r.json()
    conforms(body, "/api/recommend", "post", 200)
    assert body["country_code"] == "US" and body["country_name"] == "United States"
    assert body["data_freshness"] == "export"
    assert body["profile"]["source"] == "export" and body["profile"]["matched"] > 20
    recs = body["recommendations"]
    assert len(recs) >= 20
    assert all(rec["reason"] for rec in recs)
    exported = export_film_ids(live_app.facade, sample_export)
    assert len(exported) > 20
    assert not exported & {rec["film_id"] for rec in recs}
    # Offline: nothing TMDB-only is invented.
    # Offline: no poster nor streaming; lengths come from the catalog when it knows them.
    assert all(rec["poster"] is None and rec["streaming"] is None for rec in recs)


def test_an_export_saved_again_by_a_spreadsheet_gets_the_same_answer_and_says_what_was_repaired(live_app,
                                                                                               sample_export):
    resaved = resave_export(sample_export, separator=";", dates="uk", encoding="mojibake")
    answers = [requests.post(f"{live_app.url}/api/recommend", files={"export": ("export.zip", data)},
                             data={"sync": "true", "include_streaming": "false"}, timeout=60).json()
               for data in (sample_export, resaved)]

    original, again = answers
    conforms(again, "/api/recommend", "post", 200)
    assert {**again["profile"], "repairs": []} == original["profile"]
    assert [r["film_id"] for r in again["recommendations"]] == [r["film_id"] for r in original["recommendations"]]
    repairs = {(r["file"], r["what"].split(" (")[0]) for r in again["profile"]["repairs"]}
    assert {("diary.csv", "separator ';'"), ("diary.csv", "dates read as day/month"),
            ("ratings.csv", "4 titles with mangled accents repaired")} <= repairs
    assert original["profile"]["repairs"] == [] and again["profile"]["unread"] == []


def test_async_job_streams_all_three_channels_with_ids_and_terminal_events(live_app, sample_export):
    request_id = start_export_job(live_app.url, sample_export)
    streams = {ch: read_stream(live_app.url, ch, request_id) for ch in CHANNELS}
    for ch, events in streams.items():
        assert events[-1].data == {"status": "complete"}, ch
        assert all(e.id for e in events)
        assert len({e.id for e in events}) == len(events)
    cards = [e.data["recommendation"] for e in streams["recommendations"][:-1]]
    assert len(cards) >= 20
    steps = {e.data.get("step") for e in streams["status"][:-1]}
    assert {"reading", "matching", "scoring"} <= steps
    r = requests.get(f"{live_app.url}/api/result", params={"request_id": request_id}, timeout=10)
    assert r.status_code == 200
    assert [rec["film_id"] for rec in r.json()["recommendations"]] == [c["film_id"] for c in cards]


def test_reconnect_with_last_event_id_receives_exactly_the_missed_events(live_app, sample_export):
    request_id = start_export_job(live_app.url, sample_export)
    full = read_stream(live_app.url, "recommendations", request_id)
    first = read_stream(live_app.url, "recommendations", request_id, limit=5)
    rest = read_stream(live_app.url, "recommendations", request_id, last_event_id=first[-1].id)
    assert [e.id for e in first + rest] == [e.id for e in full]
    assert [e.data for e in first + rest] == [e.data for e in full]


def test_two_readers_of_one_request_both_get_every_event(live_app, sample_export):
    request_id = start_export_job(live_app.url, sample_export)
    results: dict[int, list] = {}
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(
        i, read_stream(live_app.url, "status", request_id))) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results[0] and [e.id for e in results[0]] == [e.id for e in results[1]]
    assert results[0][-1].data == {"status": "complete"}


def test_job_started_on_redis_streams_through_redis_ids(live_app_redis, sample_export):
    request_id = start_export_job(live_app_redis.url, sample_export)
    events = read_stream(live_app_redis.url, "status", request_id)
    assert events[-1].data == {"status": "complete"}
    assert all("-" in e.id for e in events)  # Redis Stream ids
    raw = live_app_redis.facade.link.client.xlen(f"lbr:events:{request_id}:status")
    assert raw == len(events)


def test_result_is_pending_then_done_and_unknown_ids_are_404(live_app, sample_export):
    request_id = start_export_job(live_app.url, sample_export)
    r = requests.get(f"{live_app.url}/api/result", params={"request_id": request_id}, timeout=10)
    assert r.status_code in (200, 202)
    read_stream(live_app.url, "status", request_id)
    r = requests.get(f"{live_app.url}/api/result", params={"request_id": request_id}, timeout=10)
    assert r.status_code == 200
    missing = requests.get(f"{live_app.url}/api/result", params={"request_id": uuid.uuid4().hex}, timeout=10)
    assert missing.status_code == 404 and missing.json()["error"] == "unknown_request"
    bad = requests.get(f"{live_app.url}/api/result", params={"request_id": "../x"}, timeout=10)
    assert bad.status_code == 400 and set(bad.json()) >= {"error", "message"}


def test_streams_of_unknown_requests_and_channels_are_404(client):
    r = client.get("/api/status-stream", query_string={"request_id": uuid.uuid4().hex})
    assert r.status_code == 404 and r.get_json()["error"] == "unknown_request"
    r = client.get("/api/secrets-stream", query_string={"request_id": uuid.uuid4().hex})
    assert r.status_code == 404


def test_client_chosen_request_id_is_used_once(live_app, sample_export):
    request_id = "mine-" + uuid.uuid4().hex[:12]
    assert start_export_job(live_app.url, sample_export, request_id=request_id) == request_id
    r = requests.post(f"{live_app.url}/api/recommend", files={"export": ("e.zip", sample_export)},
                      data={"request_id": request_id}, timeout=30)
    assert r.status_code == 409 and r.json()["error"] == "request_id_in_use"


@pytest.mark.parametrize("body, code", [
    ({"username": "bad name!"}, "invalid_username"),
    ({"username": "x" * 51}, "invalid_username"),
    ({"username": "alice", "country": "XX"}, "invalid_country"),
    ({"username": "alice", "count": 0}, "invalid_count"),
    ({"username": "alice", "count": "many"}, "invalid_count"),
    ({"username": "alice", "mood": "sleepy"}, "invalid_mood"),
    ({"username": "alice", "sync": "maybe"}, "invalid_sync"),
    ({"username": "alice", "request_id": "short"}, "invalid_request_id"),
    ({"username": "alice", "request_id": "a1b2c3d4e5f6g7h"}, "invalid_request_id"),
    ({"username": "alice", "request_id": "a1b2c3d4e5f6g7h8/"}, "invalid_request_id"),
    ({"username": "alice", "request_id": 12345678901234567}, "invalid_request_id"),
])
def test_invalid_recommend_input_is_a_clear_400(client, body, code):
    r = client.post("/api/recommend", json=body)
    assert r.status_code == 400
    assert r.get_json()["error"] == code and r.get_json()["message"]


@pytest.mark.parametrize("name", ["foo-bar", "dotted.name", "x" * 41])
def test_a_name_letterboxd_cannot_have_is_a_400_that_says_why_before_any_scrape(client, name):
    r = client.post("/api/recommend", json={"username": name, "include_streaming": False})
    assert r.status_code == 400
    body = r.get_json()
    assert body["error"] == "invalid_username"
    assert "letters, digits or underscores" in body["message"] and "1-40" in body["message"]
    assert client.post("/api/get_pages", json={"username": name}).get_json()["error"] == "invalid_username"


def test_non_json_body_is_a_clear_400(client):
    r = client.post("/api/recommend", data="not json", headers={"Content-Type": "text/plain"})
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_json"


def test_wrong_method_is_a_json_405(client):
    r = client.get("/api/recommend")
    assert r.status_code == 405 and set(r.get_json()) == {"error", "message"}


def test_upload_over_the_limit_is_a_json_413(start_app):
    app = start_app({"ratelimit_enabled": False, "max_upload_mb": 0.01})
    r = requests.post(f"{app.url}/api/recommend", files={"export": ("big.zip", b"0" * 200_000)}, timeout=30)
    assert r.status_code == 413 and r.json()["error"] in ("payload_too_large", "request_entity_too_large")


def test_rate_limit_answers_429_in_the_error_shape(start_app):
    app = start_app({"ratelimit_enabled": True})
    codes = [requests.post(f"{app.url}/api/get_pages", json={"username": "bad name"}, timeout=10).status_code
             for _ in range(11)]
    assert codes[:10] == [400] * 10 and codes[10] == 429
    r = requests.post(f"{app.url}/api/get_pages", json={"username": "bad name"}, timeout=10)
    assert r.status_code == 429 and set(r.json()) >= {"error", "message"}
    assert "Retry-After" in r.headers


def test_incident_status_needs_the_internal_token_when_set(start_app):
    app = start_app({"ratelimit_enabled": False, "internal_token": "s3cret-token"})
    assert requests.get(f"{app.url}/_incident-status", timeout=10).status_code == 401
    wrong = requests.get(f"{app.url}/_incident-status", headers={"X-Internal-Token": "nope"}, timeout=10)
    assert wrong.status_code == 401
    ok = requests.get(f"{app.url}/_incident-status", headers={"X-Internal-Token": "s3cret-token"}, timeout=10)
    assert ok.status_code == 200
    conforms(ok.json(), "/_incident-status", "get", 200)
    health = requests.get(f"{app.url}/_health", timeout=10).text
    assert "s3cret-token" not in health


def test_get_pages_maps_an_unreachable_letterboxd_to_a_clear_error(live_app):
    r = requests.post(f"{live_app.url}/api/get_pages", json={"username": "alice"}, timeout=30)
    assert r.status_code == 503
    assert set(r.json()) >= {"error", "message"}


def test_pages_are_served_with_security_headers(client):
    for path in ("/", "/alice", "/results"):
        with client.get(path) as r:
            assert r.status_code == 200 and "text/html" in r.headers["Content-Type"]
            assert "script-src 'self'" in r.headers["Content-Security-Policy"]
            assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_cors_allows_only_configured_origins(start_app):
    app = start_app({"ratelimit_enabled": False, "cors_origins": ("https://friend.example",)})
    ok = requests.get(f"{app.url}/api/openapi.json", headers={"Origin": "https://friend.example"}, timeout=10)
    assert ok.headers.get("Access-Control-Allow-Origin") == "https://friend.example"
    other = requests.get(f"{app.url}/api/openapi.json", headers={"Origin": "https://evil.example"}, timeout=10)
    assert "Access-Control-Allow-Origin" not in other.headers


def test_openapi_describes_every_json_route(live_app):
    spec = requests.get(f"{live_app.url}/api/openapi.json", timeout=10).json()
    assert spec == SPEC and spec["openapi"].startswith("3.")
    documented = set(spec["paths"])
    routes = set()
    for rule in live_app.app.url_map.iter_rules():
        path = rule.rule
        if path.startswith("/api/<channel>-stream"):
            routes |= {f"/api/{ch}-stream" for ch in CHANNELS}
        elif path.startswith("/api") or path.startswith("/_"):
            routes.add(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path))  # Flask's <token> is OpenAPI's {token}
    assert routes == documented
    for path, item in spec["paths"].items():
        for op in item.values():
            for status, response in op["responses"].items():
                if int(status) >= 400:
                    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_meta_serves_the_lists_the_server_accepts(client):
    from infra.availability import COUNTRIES
    from services.coldstart import MOODS

    r = client.get("/api/meta")
    assert r.status_code == 200
    body = r.get_json()
    conforms(body, "/api/meta", "get", 200)
    assert {code for code, _ in body["countries"]} == set(COUNTRIES)
    assert "UA" in {code for code, _ in body["countries"]}
    assert [key for key, _, _ in body["moods"]] == list(MOODS)
    assert body["username"]["pattern"] == "^[A-Za-z0-9_]{1,40}$"
    for code, _ in body["countries"]:
        accepted = client.post("/api/recommend", json={"username": "bad name", "country": code})
        assert accepted.get_json()["error"] == "invalid_username", code  # the country itself passed


def test_meta_is_cacheable_by_the_browser(client):
    first = client.get("/api/meta")
    assert "public" in first.headers["Cache-Control"] and "max-age=" in first.headers["Cache-Control"]
    again = client.get("/api/meta", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


@pytest.fixture(scope="module")
def patient_app(start_app):
    """Streams opened before their job wait up to 30 s for it."""
    return start_app({"ratelimit_enabled": False, "stream_wait_for_job_s": 30})


def test_a_stream_opened_before_its_job_waits_for_it_and_runs_to_the_end(patient_app, sample_export):
    request_id = "page-" + uuid.uuid4().hex
    opening = threading.Event()
    outcome: dict = {}

    def reader() -> None:
        opening.set()
        outcome["events"] = read_stream(patient_app.url, "status", request_id)

    thread = threading.Thread(target=reader)
    thread.start()
    opening.wait()
    assert start_export_job(patient_app.url, sample_export, request_id=request_id) == request_id
    thread.join(timeout=60)

    assert outcome["events"][-1].data == {"status": "complete"}


def test_a_stream_for_an_id_that_never_appears_is_404_after_the_wait(live_app):
    r = requests.get(f"{live_app.url}/api/status-stream", params={"request_id": uuid.uuid4().hex}, timeout=10)
    assert r.status_code == 404 and r.json()["error"] == "unknown_request"

