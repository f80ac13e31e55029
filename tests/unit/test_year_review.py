"""Year in review: counts from a hand-built diary."""
from __future__ import annotations

import pytest

from services.domain import Film, MatchedFilm, ProfileFilm
from services.errors import BadRequest
from services.year_review import longest_streak, summary_svg, year_review


def film(fid, title, year, directors, genres, runtime, corpus_mean):
    return Film(film_id=fid, title=title, year=year, directors=directors, genres=genres, runtime=runtime,
                corpus_mean=corpus_mean)


HEAT = film(1, "Heat", 1995, ("Michael Mann",), ("Crime",), 170, 8.0)
COLLATERAL = film(2, "Collateral", 2004, ("Michael Mann",), ("Crime", "Thriller"), 120, 7.0)
AFTERSUN = film(3, "Aftersun", 2022, ("Charlotte Wells",), ("Drama",), 102, 9.0)
TAR = film(4, "Tár", 2022, ("Todd Field",), ("Drama",), 158, 6.0)
OLD = film(5, "Thief", 1981, ("Michael Mann",), ("Crime",), 123, 7.0)


def diary():
    def m(f, dates, rating=None, rewatch=False):
        return MatchedFilm(ProfileFilm(title=f.title, year=f.year, rating=rating, rewatch=rewatch,
                                       watched_dates=dates), f)
    return [
        m(OLD, ("2023-06-01",), 4.0),                            # last year: Mann is not new in 2024
        m(HEAT, ("2023-12-31", "2024-01-01"), 5.0, True),        # a rewatch in 2024
        m(COLLATERAL, ("2024-01-02",), 3.5),                     # first watch, the streak's 2nd day
        m(AFTERSUN, ("2024-01-03", "2024-03-10"), 4.5, True),    # first watch, then a rewatch
        m(TAR, ("2024-03-11",), None, True),                     # only log, marked rewatch
        MatchedFilm(ProfileFilm(title="Unknown Short", year=2020, watched_dates=("2024-07-04",)), None),
    ]


def test_year_in_review_counts_match_the_hand_built_diary():
    review = year_review(diary(), 2024)
    assert review["years"] == [2023, 2024]
    assert (review["logs"], review["films"], review["first_watches"], review["rewatches"]) == (6, 5, 3, 3)
    assert [m["films"] for m in review["months"]] == [3, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0]
    assert review["months"][0]["hours"] == round((170 + 120 + 102) / 60, 1)
    assert review["hours"] == round((170 + 120 + 102 + 102 + 158) / 60, 1) and review["runtime_known"] == 5
    assert review["longest_streak"] == {"days": 3, "start": "2024-01-01", "end": "2024-01-03"}
    assert review["new_directors"] == ["Charlotte Wells"]  # Mann was seen in 2023; Tár was a rewatch
    assert sorted(review["rewatched"]) == ["Aftersun", "Heat", "Tár"]
    assert [t["title"] for t in review["top_rated"]] == ["Heat", "Aftersun", "Collateral"]
    assert review["top_decade"] == {"name": 2020, "films": 3}
    assert review["top_genre"] == {"name": "Crime", "films": 2}
    ratings = review["ratings"]
    assert ratings["rated"] == 3 and ratings["mean"] == 4.33
    mine = {row["stars"]: row["mine"] for row in ratings["distribution"]}
    crowd = {row["stars"]: row["crowd"] for row in ratings["distribution"]}
    assert (mine[5.0], mine[4.5], mine[3.5]) == (1, 1, 1) and sum(mine.values()) == 3
    assert (crowd[4.0], crowd[4.5], crowd[3.5]) == (1, 1, 1)
    assert ratings["versus_crowd"] == round(((5 - 4) + (3.5 - 3.5) + (4.5 - 4.5)) / 3, 2)


def test_the_latest_year_is_the_default():
    assert year_review(diary(), None)["year"] == 2024


def test_a_year_without_diary_entries_is_a_400_naming_the_years_there_are():
    with pytest.raises(BadRequest) as caught:
        year_review(diary(), 2019)
    assert caught.value.code == "no_diary_for_year" and "2023, 2024" in caught.value.message


def test_a_streak_is_the_longest_run_of_consecutive_days():
    from datetime import date
    days = [date(2024, 1, d) for d in (1, 2, 5, 6, 7, 9)]
    assert longest_streak(days) == (3, "2024-01-05", "2024-01-07")


def test_the_summary_image_is_svg_with_escaped_text():
    svg = summary_svg(year_review(diary(), 2024), "<sam>")
    assert svg.startswith("<svg") and "&lt;sam&gt;'s 2024 in film" in svg and "<sam>" not in svg
