from __future__ import annotations

import pytest

from services.catalog import Catalog
from services.domain import Film
from services.errors import BadRequest
from services.feedback import NOT_FOR_ME_STARS, check_feedback, feedback_films
from services.recsys import Member

CATALOG = Catalog([Film(film_id=i, title=f"Film {i}", year=2000 + i) for i in range(1, 6)])


def test_seen_films_are_excluded_and_rated_and_not_for_me_counts_as_the_lowest_rating():
    feedback = check_feedback({"seen": [{"film_id": 1, "rating": 4.5}, {"film_id": 2}], "not_for_me": [3, 99]}, 10)
    member = Member.from_matched(feedback_films(feedback, CATALOG))

    stars = {f.film.film_id: f.stars for f in member.films}
    assert stars == {1: 4.5, 2: None, 3: NOT_FOR_ME_STARS}, "a film the catalog lacks (99) is skipped"
    assert member.seen_ids == {1, 2, 3}
    assert not any(f.loved for f in member.films if f.film.film_id == 3)


def test_a_film_marked_both_ways_counts_as_seen():
    feedback = check_feedback({"seen": [{"film_id": 4, "rating": None}], "not_for_me": [4, 5, 5]}, 10)
    assert feedback.seen == ((4, None),) and feedback.not_for_me == (5,)


@pytest.mark.parametrize("value", [
    {"seen": [{"film_id": 1, "rating": 0}]},
    {"seen": [{"film_id": 1, "rating": True}]},
    {"seen": [{"film_id": -1}]},
    {"seen": [1]},
    {"not_for_me": [1.5]},
    {"other": []},
    "not an object",
])
def test_malformed_feedback_is_refused(value):
    with pytest.raises(BadRequest) as raised:
        check_feedback(value, 10)
    assert raised.value.code == "invalid_feedback"


def test_no_feedback_is_empty():
    assert not check_feedback(None, 10) and not check_feedback({}, 10)
    with pytest.raises(BadRequest):
        check_feedback({"not_for_me": list(range(1, 12))}, 10)
