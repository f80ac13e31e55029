"""The lists the server owns and the pages read from `GET /api/meta`: countries, moods, genres,
progress steps and the username rule. Nothing else, in Python or JavaScript, keeps a copy.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.catalog import canonical_genre
from services.coldstart import MOODS
from services.errors import ERROR_GROUPS
from services.filters import KNOWN_GENRES
from services.usernames import USERNAME_MAX_LENGTH, USERNAME_PATTERN, USERNAME_RULE

# Countries with streaming availability (TMDB watch providers / JustWatch), by ISO 3166-1 code.
COUNTRIES: dict[str, str] = {
    "US": "United States", "GB": "United Kingdom", "CA": "Canada", "AU": "Australia", "NZ": "New Zealand",
    "IE": "Ireland", "DE": "Germany", "AT": "Austria", "CH": "Switzerland", "FR": "France", "BE": "Belgium",
    "NL": "Netherlands", "LU": "Luxembourg", "ES": "Spain", "PT": "Portugal", "IT": "Italy", "SE": "Sweden",
    "NO": "Norway", "DK": "Denmark", "FI": "Finland", "IS": "Iceland", "PL": "Poland", "CZ": "Czechia",
    "HU": "Hungary", "RO": "Romania", "GR": "Greece", "TR": "Turkey", "UA": "Ukraine", "BR": "Brazil",
    "MX": "Mexico", "AR": "Argentina", "CL": "Chile", "CO": "Colombia", "PE": "Peru", "IN": "India",
    "JP": "Japan", "KR": "South Korea", "SG": "Singapore", "PH": "Philippines", "ID": "Indonesia",
    "TH": "Thailand", "MY": "Malaysia", "HK": "Hong Kong", "TW": "Taiwan", "ZA": "South Africa",
    "IL": "Israel", "AE": "United Arab Emirates", "SA": "Saudi Arabia", "EG": "Egypt", "NG": "Nigeria",
}

# What each mood feels like, in the words the landing page shows under its name.
MOOD_DESCRIPTIONS: dict[str, str] = {
    "cozy": "Warm, gentle, comforting",
    "thrilling": "Tense, fast, edge of the seat",
    "thoughtful": "Ideas that stay with you",
    "funny": "Laughs first",
    "dark": "Bleak, eerie, unsettling",
    "romantic": "Love stories",
    "epic": "Big, sweeping, spectacular",
}

# Genres a member can pick a cold-start category from (each is a genre the filters know).
CATEGORY_GENRES: tuple[str, ...] = (
    "Action", "Adventure", "Animation", "Comedy", "Crime", "Documentary", "Drama",
    "Family", "Fantasy", "History", "Horror", "Music", "Mystery", "Romance",
    "Science Fiction", "Thriller", "War", "Western",
)


@dataclass(frozen=True)
class Step:
    """A progress step a pipeline reports on the status channel."""

    key: str
    label: str
    kind: str = "shown"  # "shown" (a place in the page's step list), "waiting", "final", or "alias"
    alias_of: str | None = None


QUEUED, TRAINING, READING, SCRAPING = "queued", "training", "reading", "scraping"
MATCHING, ENRICHING, SCORING, STREAMING, DONE = "matching", "enriching", "scoring", "streaming", "done"

STEPS: tuple[Step, ...] = (
    Step(QUEUED, "Waiting", "waiting"),
    Step(TRAINING, "Preparing", "waiting"),
    Step(SCRAPING, "Reading films"),
    Step(READING, "Reading films", "alias", SCRAPING),
    Step(MATCHING, "Matching"),
    Step(ENRICHING, "Film details"),
    Step(SCORING, "Scoring"),
    Step(STREAMING, "Streaming"),
    Step(DONE, "Done", "final"),
)
STEP_NAMES = frozenset(step.key for step in STEPS)


def meta() -> dict[str, Any]:
    """Everything the pages need to build their forms and progress list, as JSON-ready values."""
    return {
        "countries": [[code, name] for code, name in sorted(COUNTRIES.items(), key=lambda item: item[1])],
        "moods": [[key, mood.label, MOOD_DESCRIPTIONS[key]] for key, mood in MOODS.items()],
        "genres": list(CATEGORY_GENRES),
        "steps": [{"key": s.key, "label": s.label, "kind": s.kind, "alias_of": s.alias_of} for s in STEPS],
        "username": {"pattern": USERNAME_PATTERN, "max_length": USERNAME_MAX_LENGTH, "rule": USERNAME_RULE},
        "errors": ERROR_GROUPS,
    }


def unknown_category_genres() -> list[str]:
    """Category genres the filters would not know (empty when the two lists agree)."""
    return [g for g in CATEGORY_GENRES if canonical_genre(g) not in KNOWN_GENRES]
