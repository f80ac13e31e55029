from __future__ import annotations

from infra.shared_results_store import SqliteSharedResults
from services.shared_results import shareable

PAYLOAD = {
    "request_id": "r" * 20, "username": "someone", "country_code": "GB", "country_name": "United Kingdom",
    "profile": {"films": 3}, "analytics": {"counts": {}}, "preferences": {}, "contribution": {"token": "t"},
    "incident": None, "hint": "x", "match_note": "Match is ...", "streaming_status": "skipped",
    "recommendations": [{"film_id": 1, "title": "Heat", "match": 80, "in_watchlist": True,
                         "reason": "Because you rated Collateral ★★★★", "reasons": ["Because you rated Collateral ★★★★"]}],
}


def test_a_shared_list_keeps_the_picks_and_nothing_about_the_member():
    kept = shareable(PAYLOAD)
    assert kept["recommendations"] == [{"film_id": 1, "title": "Heat", "match": 80}]
    for personal in ("request_id", "username", "profile", "analytics", "preferences", "contribution", "hint"):
        assert personal not in kept
    assert kept["country_code"] == "GB" and kept["match_note"] == "Match is ..."


def test_a_shared_group_keeps_no_member_names_reasons_or_watchlists():
    card = {"film_id": 1, "title": "Heat", "not_out_yet": False, "members": [{"name": "ann", "match": 80}],
            "on_watchlists": ["ann"], "reason": "Because ann rated Collateral"}
    kept = shareable({"kind": "group", "members": [{"name": "ann"}], "notes": ["ann"], "recommendations": [card]})
    assert kept["recommendations"] == [{"film_id": 1, "title": "Heat", "not_out_yet": False}]
    assert "ann" not in repr(kept)


def test_a_shared_list_lives_its_ttl_and_then_is_gone(tmp_path):
    now = [1000.0]
    store = SqliteSharedResults(tmp_path / "shared.sqlite3", ttl_s=30 * 86400, clock=lambda: now[0])
    share_id, expires_at = store.put({"recommendations": [1]})
    assert expires_at == 1000.0 + 30 * 86400
    now[0] += 29 * 86400
    assert store.get(share_id) == {"recommendations": [1]}
    reopened = SqliteSharedResults(tmp_path / "shared.sqlite3", ttl_s=30 * 86400, clock=lambda: now[0])
    assert reopened.get(share_id) == {"recommendations": [1]}, "a restart keeps the link"
    now[0] += 2 * 86400
    assert store.get(share_id) is None and store.get("unknown") is None
