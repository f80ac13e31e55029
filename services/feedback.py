"""What a member said about picks on an earlier page ("seen it", "not for me"), joined to their profile.

The browser keeps these signals and sends them with the next request; nothing is stored
on the server. "Seen it" excludes the film and, with stars, adds the rating; "not for me"
excludes the film and counts as the lowest rating, so films like it move down.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.domain import MatchedFilm, ProfileFilm
from services.errors import BadRequest

NOT_FOR_ME_STARS = 0.5  # the lowest Letterboxd rating: the strongest "less like this" a profile can carry


@dataclass(frozen=True)
class Feedback:
    """Films a member marked: seen (film id, stars or None) and not for them (film ids)."""

    seen: tuple[tuple[int, float | None], ...] = ()
    not_for_me: tuple[int, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.seen or self.not_for_me)

    @property
    def film_ids(self) -> set[int]:
        return {film_id for film_id, _ in self.seen} | set(self.not_for_me)


def _film_id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise BadRequest("feedback film ids must be positive whole numbers.", "invalid_feedback")
    return value


def _stars(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.5 <= value <= 5 \
            or float(value) * 2 != int(float(value) * 2):
        raise BadRequest("feedback ratings must be 0.5 to 5 stars in halves.", "invalid_feedback")
    return float(value)


def check_feedback(value: Any, max_films: int) -> Feedback:
    """Validate a request's `feedback` field: {"seen": [{"film_id", "rating"}], "not_for_me": [film_id]}.

    Raise BadRequest naming what is wrong.
    """
    if value is None or value == "":
        return Feedback()
    if not isinstance(value, dict) or set(value) - {"seen", "not_for_me"}:
        raise BadRequest('feedback must be an object with "seen" and "not_for_me" lists.', "invalid_feedback")
    seen_raw, not_raw = value.get("seen") or [], value.get("not_for_me") or []
    if not isinstance(seen_raw, list) or not isinstance(not_raw, list):
        raise BadRequest('feedback "seen" and "not_for_me" must be lists.', "invalid_feedback")
    if len(seen_raw) + len(not_raw) > max_films:
        raise BadRequest(f"feedback may name at most {max_films} films.", "invalid_feedback")
    seen: dict[int, float | None] = {}
    for item in seen_raw:
        if not isinstance(item, dict) or set(item) - {"film_id", "rating"}:
            raise BadRequest('each "seen" entry must be {"film_id", "rating"}.', "invalid_feedback")
        seen[_film_id(item.get("film_id"))] = _stars(item.get("rating"))
    not_for_me = tuple(dict.fromkeys(_film_id(v) for v in not_raw if _film_id(v) not in seen))
    return Feedback(tuple(seen.items()), not_for_me)


def feedback_films(feedback: Feedback, catalog) -> list[MatchedFilm]:
    """The marked films as profile entries on catalog films; ids the catalog no longer holds are skipped."""
    out: list[MatchedFilm] = []
    for film_id, stars in feedback.seen:
        film = catalog.by_id(film_id)
        if film is not None:
            out.append(MatchedFilm(ProfileFilm(title=film.title, year=film.year, rating=stars), film))
    for film_id in feedback.not_for_me:
        film = catalog.by_id(film_id)
        if film is not None:
            out.append(MatchedFilm(ProfileFilm(title=film.title, year=film.year, rating=NOT_FOR_ME_STARS,
                                               watched=False), film))
    return out

