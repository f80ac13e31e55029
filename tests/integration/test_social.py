"""Mood picks with no account, ranking a list, taste match, group night and year in review, over real HTTP."""
from __future__ import annotations

import requests

from services.coldstart import MOODS
from tests.support.openapi_check import problems, response_schema
from tests.support.runs import assert_ended_cleanly, recommend


def conforms(body, path, method, status):
    assert problems(body, response_schema(path, method, status)) == []


def test_a_mood_alone_streams_mood_picks_with_no_member(live_app):
    outcome = recommend(live_app.url, mood="funny", count=8, country="GB")
    assert_ended_cleanly(outcome)
    assert outcome.status == 200
    body = outcome.body
    conforms(body, "/api/recommend", "post", 200)
    assert body["username"] == "" and body["data_freshness"] == "none" and body["cold_start"] is True
    assert body["profile"]["films"] == 0
    cards = body["recommendations"]
    assert len(cards) == 8
    funny = {g.lower() for g in MOODS["funny"].genres}
    assert all(funny & {g.lower().replace(" ", "_") for g in card["genres"]} for card in cards)
    assert all(card["reason"].startswith("A funny pick") for card in cards)


def test_a_mood_alone_honours_the_tonight_filters(live_app):
    r = requests.post(f"{live_app.url}/api/recommend", json={
        "mood": "thrilling", "count": 5, "sync": True, "include_streaming": False,
        "filters": {"decade_min": 1990, "decade_max": 1990}}, timeout=60)
    assert r.status_code == 200, r.text
    cards = r.json()["recommendations"]
    assert len(cards) == 5 and all(1990 <= c["year"] <= 1999 for c in cards)


def test_no_username_no_export_and_no_mood_is_a_400(live_app):
    r = requests.post(f"{live_app.url}/api/recommend", json={"country": "GB"}, timeout=10)
    assert r.status_code == 400 and r.json()["error"] == "invalid_username"
