"""A result as others may see it through a shared link: the picks, nothing about the member."""
from __future__ import annotations

from typing import Any, Mapping

# What a shared list keeps of the answer; everything else (username, profile, preferences, analytics,
# the contribution token, incident, timings) describes the member or the run and is left out.
KEPT_FIELDS = ("country_code", "country_name", "cold_start", "mood", "model_version", "streaming_status",
               "match_note")
# Card fields that tell about the member: their watchlist, and reasons naming their own films and stars; of a
# group's card, each member's name, meter and reason, and whose watchlists hold the film.
PERSONAL_CARD_FIELDS = ("in_watchlist", "reason", "reasons", "members", "on_watchlists")


def shareable(payload: Mapping[str, Any]) -> dict:
    """The picks of a finished answer, without the export, the username or any field about the member."""
    cards = [{k: v for k, v in card.items() if k not in PERSONAL_CARD_FIELDS}
             for card in payload.get("recommendations") or []]
    return {**{k: payload.get(k) for k in KEPT_FIELDS}, "data_freshness": "shared", "recommendations": cards}
