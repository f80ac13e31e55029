"""Validating a recommendation request: who it is for, and what it asks."""
from __future__ import annotations

import pytest

from services.errors import BadRequest
from services.recommend_request import RequestLimits, validate_request

LIMITS = RequestLimits()


def test_a_mood_alone_is_a_run_with_no_member():
    req = validate_request({"mood": "cozy", "count": 5}, LIMITS)
    assert req.anonymous and req.username == "" and req.mood == "cozy" and req.count == 5


def test_a_username_with_a_mood_is_that_members_run():
    req = validate_request({"username": "alice", "mood": "cozy"}, LIMITS)
    assert not req.anonymous and req.username == "alice"


def test_no_username_no_export_and_no_mood_is_refused():
    with pytest.raises(BadRequest) as caught:
        validate_request({"country": "GB"}, LIMITS)
    assert caught.value.code == "invalid_username"


def test_an_unknown_mood_alone_is_refused_as_a_bad_mood():
    with pytest.raises(BadRequest) as caught:
        validate_request({"mood": "sleepy"}, LIMITS)
    assert caught.value.code == "invalid_mood"
