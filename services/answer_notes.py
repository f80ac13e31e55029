"""What an answer says about itself: how far streaming was looked up and what the match figure means."""
from __future__ import annotations

from typing import Sequence

from services.holdout import RELEVANT_FRACTION

STREAMING_SKIPPED, STREAMING_UNKNOWN, STREAMING_PARTIAL, STREAMING_CHECKED = (
    "skipped", "unknown", "partial", "checked")
STARS_MAX = 5.0


def streaming_status(cards: Sequence[dict], include_streaming: bool) -> str:
    """"skipped" when not asked for, "unknown" when no pick's availability is known, else partial/checked."""
    if not include_streaming:
        return STREAMING_SKIPPED
    known = sum(1 for one in cards if one.get("streaming") is not None)
    if not cards or known == 0:
        return STREAMING_UNKNOWN
    return STREAMING_CHECKED if known == len(cards) else STREAMING_PARTIAL


def _stars(value: float) -> str:
    whole = int(value)
    return f"{whole}½" if value - whole >= 0.5 else str(whole)


def match_note(calibrated: bool) -> str:
    """One line for the page: what the match percentage on each card means."""
    if calibrated:
        return (f"Match is the chance you would rate the film {_stars(RELEVANT_FRACTION * STARS_MAX)} stars "
                "or more, measured on members whose own ratings were held back from the model.")
    return "Match compares each pick with the best one (99%): it ranks these picks but is not a probability."


def answer_notes(cards: Sequence[dict], include_streaming: bool, calibrated: bool) -> dict:
    """The fields a payload carries so the page never claims more than was found."""
    return {"streaming_status": streaming_status(cards, include_streaming), "match_note": match_note(calibrated)}
