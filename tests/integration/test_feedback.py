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
