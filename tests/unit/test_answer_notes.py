from __future__ import annotations

import pytest

from infra.http import CircuitOpen, UpstreamBlocked, UpstreamError, UpstreamTimeout, UserNotFound
from recommender.failures import upstream_error
from services.answer_notes import answer_notes, match_note, streaming_status


def test_streaming_not_asked_for_is_skipped():
    assert streaming_status([{"streaming": None}], include_streaming=False) == "skipped"


@pytest.mark.parametrize("offers, status", [
    ([None, None], "unknown"),
    ([[], None], "partial"),
    ([[], [{"provider": "Mubi", "type": "flatrate"}]], "checked"),
])
def test_streaming_status_counts_films_whose_availability_is_known(offers, status):
    assert streaming_status([{"streaming": o} for o in offers], include_streaming=True) == status


def test_the_match_note_names_the_star_threshold_only_when_calibrated():
    assert "3½ stars or more" in match_note(calibrated=True)
    assert "not a probability" in match_note(calibrated=False)
    assert set(answer_notes([], True, True)) == {"streaming_status", "match_note"}


@pytest.mark.parametrize("exc, code, says", [
    (UpstreamError("requests: ConnectionError", service="letterboxd"), "letterboxd_unreachable", "no connection"),
    (CircuitOpen("open", 60, unreachable=True), "letterboxd_unreachable", "no connection"),
    (UpstreamTimeout("slow", transient=True), "letterboxd_unavailable", "not answering"),
    (UpstreamError("answered 429", status=429), "letterboxd_unavailable", "not answering"),
    (UpstreamBlocked("challenge", status=403), "letterboxd_blocked", "refusing automated requests"),
    (CircuitOpen("open", 60, unreachable=False), "letterboxd_blocked", "refusing automated requests"),
])
def test_each_letterboxd_failure_has_one_message_and_the_export_as_its_hint(exc, code, says):
    error = upstream_error(exc)
    body = error.body()
    assert (error.status, body["error"]) == (503, code)
    assert says in body["message"] and "export" not in body["message"].lower()
    assert "export" in body["hint"]


def test_an_unknown_member_is_a_404_without_the_export_hint():
    body = upstream_error(UserNotFound("gone", status=404)).body()
    assert body["error"] == "unknown_user" and "hint" not in body
