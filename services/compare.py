"""Taste match between two members: a percentage and how it was computed, the films they agree and
disagree on, what they share, and films neither has seen that both should like; pure, no I/O.

    agreement  = 1 - mean |stars A - stars B| / 4.5       over films both rated
    closeness  = (1 + r) / 2, r the correlation of the model's scores of the whole catalog for A and for B
    weight     = n / (n + SHRINK_FILMS)                    n = films both rated
    match      = weight x agreement + (1 - weight) x closeness

With many shared ratings the match is their agreement; with few it leans on the model.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from services.recsys.members import Member, MemberFilm

SHRINK_FILMS = 10.0  # shared ratings at which agreement and model closeness weigh the same
STAR_RANGE = 4.5  # 0.5 to 5 stars
FILMS_SHOWN = 5
TOP_SHARED = 5


@dataclass(frozen=True)
class TasteMatch:
    """How well two members' tastes match, and the parts of the figure."""

    percent: int
    agreement: float | None  # None when they rated no film in common
    closeness: float
    shared_rated: int
    shared_seen: int
    weight: float

    def as_dict(self) -> dict:
        return {
            "percent": self.percent,
            "method": {
                "agreement": None if self.agreement is None else round(self.agreement, 4),
                "closeness": round(self.closeness, 4), "shared_rated": self.shared_rated,
                "shared_seen": self.shared_seen, "agreement_weight": round(self.weight, 4),
                "shrink_films": SHRINK_FILMS,
                "explanation": explain_match(self),
            },
        }


def explain_match(match: TasteMatch) -> str:
    """Say in words how the percentage was reached."""
    closeness = f"how close their tastes sit in the model ({match.closeness:.0%})"
    if match.agreement is None:
        return f"They rated no film in common, so the match is {closeness}."
    return (f"Rating agreement on the {match.shared_rated} films both rated ({match.agreement:.0%}) counts "
            f"{match.weight:.0%}, and {closeness} the other {1 - match.weight:.0%}: the fewer films they share, "
            f"the more the model counts.")


def closeness(scores_a: np.ndarray, scores_b: np.ndarray) -> float:
    """(1 + correlation) / 2 of two members' scores over the catalog: 1 for identical taste."""
    a = np.asarray(scores_a, dtype=np.float64)
    b = np.asarray(scores_b, dtype=np.float64)
    sa, sb = a.std(), b.std()
    if sa == 0 or sb == 0:
        return 0.5
    r = float(np.mean((a - a.mean()) * (b - b.mean())) / (sa * sb))
    return (1.0 + max(-1.0, min(1.0, r))) / 2.0


def _by_id(films: Sequence[MemberFilm]) -> dict[int, MemberFilm]:
    return {f.film.film_id: f for f in films}


def taste_match(a: Member, b: Member, scores_a: np.ndarray, scores_b: np.ndarray) -> TasteMatch:
    """The match of two members from their shared ratings and their model scores."""
    films_a, films_b = _by_id(a.films), _by_id(b.films)
    both_rated = [(films_a[k].stars, films_b[k].stars) for k in films_a.keys() & films_b.keys()
                  if films_a[k].stars is not None and films_b[k].stars is not None]
    shared_seen = sum(1 for k in films_a.keys() & films_b.keys() if films_a[k].seen and films_b[k].seen)
    near = closeness(scores_a, scores_b)
    n = len(both_rated)
    if n == 0:
        return TasteMatch(int(round(100 * near)), None, near, 0, shared_seen, 0.0)
    agreement = 1.0 - float(np.mean([abs(x - y) for x, y in both_rated])) / STAR_RANGE
    weight = n / (n + SHRINK_FILMS)
    value = weight * agreement + (1.0 - weight) * near
    return TasteMatch(int(round(100 * value)), agreement, near, n, shared_seen, weight)


def agreements(a: Member, b: Member, count: int = FILMS_SHOWN) -> tuple[list[dict], list[dict]]:
    """(films they agree on most, films they disagree on most), among films both rated."""
    films_a, films_b = _by_id(a.films), _by_id(b.films)
    rows = []
    for k in films_a.keys() & films_b.keys():
        x, y = films_a[k].stars, films_b[k].stars
        if x is None or y is None:
            continue
        film = films_a[k].film
        rows.append({"film_id": k, "title": film.title, "year": film.year, "stars": [x, y],
                     "difference": abs(x - y)})
    agree = sorted(rows, key=lambda r: (r["difference"], -sum(r["stars"]), r["title"]))[:count]
    disagree = sorted((r for r in rows if r["difference"] > 0),
                      key=lambda r: (-r["difference"], r["title"]))[:count]
    return agree, disagree


def _loved_counts(member: Member, attribute: str) -> Counter:
    counts: Counter = Counter()
    for f in member.films:
        if f.loved:
            counts.update(set(getattr(f.film, attribute)))
    return counts


def shared_favourites(a: Member, b: Member, attribute: str, count: int = TOP_SHARED) -> list[dict]:
    """Directors or genres both members love (in films rated 4+ or liked), most loved by both first."""
    ca, cb = _loved_counts(a, attribute), _loved_counts(b, attribute)
    both = [(name, ca[name], cb[name]) for name in ca.keys() & cb.keys()]
    both.sort(key=lambda t: (-min(t[1], t[2]), -(t[1] + t[2]), t[0]))
    return [{"name": name, "films": [x, y]} for name, x, y in both[:count]]
