"""Films marked "seen it" or "not for me" on an earlier page join the next run's profile; nothing is kept."""
from __future__ import annotations

import json

import pytest
import requests

from tests.support.openapi_check import problems, response_schema

COUNT = 10


def run_export(base: str, sample_export: bytes, **fields) -> requests.Response:
    data = {"country": "GB", "include_streaming": "false", "count": str(COUNT), "sync": "true", **fields}
    return requests.post(f"{base}/api/recommend", files={"export": ("letterboxd-export.zip", sample_export)},
                         data=data, timeout=120)


@pytest.fixture(scope="module")
def first_run(live_app, sample_export) -> dict:
    r = run_export(live_app.url, sample_export)
    assert r.status_code == 200, r.text
    return r.json()


def test_an_answer_carries_spare_picks_after_the_list(live_app, first_run):
    settings = live_app.app.config["SETTINGS"]
    shown = [c["film_id"] for c in first_run["recommendations"]]
    spare = [c["film_id"] for c in first_run["reserve"]]
    assert len(shown) == COUNT and len(spare) == settings.reserve_picks
    assert not set(shown) & set(spare)
    assert problems(first_run, response_schema("/api/recommend", "post", "200")) == []


def test_marked_films_leave_the_next_run_and_move_its_picks(live_app, sample_export, first_run):
    picks = first_run["recommendations"]
    seen, disliked = picks[0], picks[1]
    feedback = {"seen": [{"film_id": seen["film_id"], "rating": 2.5}], "not_for_me": [disliked["film_id"]]}

    r = run_export(live_app.url, sample_export, feedback=json.dumps(feedback))

    assert r.status_code == 200, r.text
    body = r.json()
    ids = {c["film_id"] for c in body["recommendations"] + body["reserve"]}
    assert seen["film_id"] not in ids and disliked["film_id"] not in ids
    assert len(body["recommendations"]) == COUNT
    assert body["profile"] == first_run["profile"], "what was read from the export is unchanged"
    before = {c["film_id"]: c["score"] for c in picks + first_run["reserve"]}
    both = [c for c in body["recommendations"] if c["film_id"] in before]
    assert both and any(c["score"] != before[c["film_id"]] for c in both), \
        "the marks joined the profile the model folds in, not just a filter on the list"


def test_feedback_in_a_json_request_is_read_the_same(live_app, first_run):
    disliked = first_run["recommendations"][0]["film_id"]
    r = requests.post(f"{live_app.url}/api/recommend", json={
        "username": "nobody_here", "mood": "cozy", "count": 5, "include_streaming": False, "sync": True,
        "feedback": {"seen": [], "not_for_me": [disliked]}}, timeout=60)
    # Offline, a username cannot be read; the feedback itself was accepted (no 400).
    assert r.status_code == 503 and r.json()["error"] == "letterboxd_unreachable"


@pytest.mark.parametrize("feedback", [
    {"seen": [{"film_id": 1, "rating": 7}]},
    {"seen": [{"film_id": 1, "rating": 3.3}]},
    {"seen": [{"film_id": "1"}]},
    {"not_for_me": [0]},
    {"not_for_me": "12"},
    {"liked": [1]},
    [1, 2],
])
def test_malformed_feedback_is_a_400_naming_it(live_app, feedback):
    r = requests.post(f"{live_app.url}/api/recommend", json={"username": "someone", "feedback": feedback},
                      timeout=30)
    assert r.status_code == 400 and r.json()["error"] == "invalid_feedback", r.text


def test_feedback_naming_too_many_films_is_refused(live_app):
    limit = live_app.app.config["SETTINGS"].feedback_max_films
    feedback = {"not_for_me": list(range(1, limit + 2))}
    r = requests.post(f"{live_app.url}/api/recommend", json={"username": "someone", "feedback": feedback},
                      timeout=30)
    assert r.status_code == 400 and r.json()["error"] == "invalid_feedback"
    assert str(limit) in r.json()["message"]


def test_more_like_this_asks_the_model_for_new_films_like_the_pick(live_app, first_run):
    shown = [c["film_id"] for c in first_run["recommendations"]]
    anchor = first_run["recommendations"][0]
    r = requests.post(f"{live_app.url}/api/more_like", json={
        "request_id": first_run["request_id"], "film_id": anchor["film_id"], "count": 6, "exclude": shown},
        timeout=30)

    assert r.status_code == 200, r.text
    body = r.json()
    assert problems(body, response_schema("/api/more_like", "post", "200")) == []
    films = body["recommendations"]
    assert len(films) == 6 and not {f["film_id"] for f in films} & set(shown)
    assert all(f["reasons"][0] == f"Like {anchor['title']}" for f in films)
    assert [f["match"] for f in films] == sorted((f["match"] for f in films), reverse=True)
    anchor_genres = set(anchor["genres"])
    assert sum(bool(anchor_genres & set(f["genres"])) for f in films) >= 4, "films like it share its genres"


@pytest.mark.parametrize("fields, status, code", [
    ({"film_id": "x"}, 400, "invalid_film_id"),
    ({"film_id": 1, "exclude": "1"}, 400, "invalid_exclude"),
    ({"film_id": 10**12}, 404, "unknown_film"),
])
def test_more_like_this_refuses_bad_fields(live_app, first_run, fields, status, code):
    r = requests.post(f"{live_app.url}/api/more_like", json={"request_id": first_run["request_id"], **fields},
                      timeout=30)
    assert r.status_code == status and r.json()["error"] == code, r.text


def test_more_like_this_for_an_unknown_run_is_a_404(live_app):
    r = requests.post(f"{live_app.url}/api/more_like", json={"request_id": "nosuchrun12345678", "film_id": 1},
                      timeout=30)
    assert r.status_code == 404 and r.json()["error"] == "unknown_request"
