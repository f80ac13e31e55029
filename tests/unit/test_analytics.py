from __future__ import annotations

import json

import pytest

from services.analytics import RATING_STEPS, analyse
from services.domain import Film, MatchedFilm, ProfileFilm


def film(film_id: int, **fields: object) -> Film:
    return Film(film_id=film_id, title=f"Film {film_id}", **fields)


@pytest.fixture
def small_profile() -> list[MatchedFilm]:
    return [
        MatchedFilm(
            ProfileFilm(
                "Heat", 1995, rating=4.5, liked=True, rewatch=True,
                watched_dates=("2024-01-05", "2024-03-20"),
            ),
            film(1, genres=("Crime", "Drama"), directors=("Michael Mann",), runtime=170,
                 corpus_mean=8.0),
        ),
        MatchedFilm(
            ProfileFilm("Thief", 1981, rating=4.0, watched_dates=("2024-01-28",)),
            film(2, genres=("Crime",), directors=("Michael Mann",), runtime=120, corpus_mean=7.0),
        ),
        MatchedFilm(
            ProfileFilm("Cats", 2019, rating=0.5),
            film(3, genres=("Comedy",), directors=("Tom Hooper",), runtime=None, corpus_mean=3.0),
        ),
        MatchedFilm(
            ProfileFilm("Paddington 2", 2017, rating=5.0),
            film(4, genres=("Comedy", "Family"), directors=("Paul King",), runtime=None,
                 corpus_mean=8.0),
        ),
        MatchedFilm(ProfileFilm("A Lost Short", 1962), None),
        MatchedFilm(ProfileFilm("Dune: Part Three", 2026, watched=False, watchlist=True), None),
    ]


def test_counts_separate_watched_films_from_watchlist(small_profile: list[MatchedFilm]) -> None:
    counts = analyse(small_profile)["counts"]

    assert counts == {
        "films": 5, "rated": 4, "liked": 1, "rewatched": 1, "watchlist": 1,
        "matched": 4, "diary_entries": 3,
    }


def test_rating_distribution_covers_every_half_star(small_profile: list[MatchedFilm]) -> None:
    distribution = analyse(small_profile)["rating_distribution"]

    assert [bar["rating"] for bar in distribution] == list(RATING_STEPS)
    assert {bar["rating"]: bar["count"] for bar in distribution if bar["count"]} == {
        0.5: 1, 4.0: 1, 4.5: 1, 5.0: 1,
    }


def test_mean_rating_averages_rated_films_only(small_profile: list[MatchedFilm]) -> None:
    assert analyse(small_profile)["mean_rating"] == 3.5


def test_decades_fill_the_gaps_between_the_oldest_and_newest(
    small_profile: list[MatchedFilm],
) -> None:
    decades = analyse(small_profile)["decades"]

    assert [(d["label"], d["count"]) for d in decades] == [
        ("1960s", 1), ("1970s", 0), ("1980s", 1), ("1990s", 1), ("2000s", 0), ("2010s", 2),
    ]
    assert decades[-1]["mean_rating"] == 2.75


def test_top_genres_rank_by_count_and_by_average_rating(
    small_profile: list[MatchedFilm],
) -> None:
    genres = analyse(small_profile)["genres"]

    assert [(g["name"], g["count"]) for g in genres["by_count"]] == [
        ("Crime", 2), ("Comedy", 2), ("Family", 1), ("Drama", 1),
    ]
    assert [(g["name"], g["mean_rating"]) for g in genres["by_rating"]] == [
        ("Crime", 4.25), ("Comedy", 2.75),
    ]


def test_top_directors_need_two_rated_films_for_an_average(
    small_profile: list[MatchedFilm],
) -> None:
    directors = analyse(small_profile)["directors"]

    assert directors["by_count"][0] == {
        "name": "Michael Mann", "count": 2, "rated": 2, "mean_rating": 4.25,
    }
    assert [d["name"] for d in directors["by_rating"]] == ["Michael Mann"]


def test_months_count_diary_logs_including_empty_months(
    small_profile: list[MatchedFilm],
) -> None:
    assert analyse(small_profile)["months"] == [
        {"month": "2024-01", "count": 2},
        {"month": "2024-02", "count": 0},
        {"month": "2024-03", "count": 1},
    ]


def test_hours_watched_count_rewatches_and_report_missing_runtimes(
    small_profile: list[MatchedFilm],
) -> None:
    hours = analyse(small_profile)["hours_watched"]

    assert hours == {
        "films": 5, "films_with_runtime": 2, "viewings": 6, "viewings_with_runtime": 3,
        "minutes": 460, "hours": 7.7, "complete": False,
    }


def test_hours_watched_are_unknown_when_no_runtime_is_known() -> None:
    matched = [MatchedFilm(ProfileFilm("Unknown", 2000), film(1))]

    hours = analyse(matched)["hours_watched"]

    assert hours["hours"] is None
    assert hours["minutes"] is None
    assert hours["films_with_runtime"] == 0


def test_contrarian_score_is_mean_absolute_gap_on_ten_point_scale(
    small_profile: list[MatchedFilm],
) -> None:
    contrarian = analyse(small_profile)["contrarian"]

    # Gaps: Heat 9-8=1, Thief 8-7=1, Cats 1-3=-2, Paddington 2 10-8=2.
    assert contrarian["films_compared"] == 4
    assert contrarian["score"] == 1.5
    assert [(f["title"], f["difference"]) for f in contrarian["most_different"][:2]] == [
        ("Cats", -2.0), ("Paddington 2", 2.0),
    ]


def test_rewatch_share_counts_rewatch_flags_and_repeat_logs(
    small_profile: list[MatchedFilm],
) -> None:
    assert analyse(small_profile)["rewatch_share"] == 0.2


def test_empty_profile_gives_empty_figures_that_serialise_as_json() -> None:
    result = analyse([])

    assert result["counts"]["films"] == 0
    assert result["rewatch_share"] is None
    assert result["contrarian"]["score"] is None
    assert result["decades"] == [] and result["months"] == []
    assert json.loads(json.dumps(result, allow_nan=False)) == result


def test_unparseable_diary_dates_are_ignored() -> None:
    matched = [MatchedFilm(ProfileFilm("Odd", 2000, watched_dates=("soon", "2023-05-02")), None)]

    assert analyse(matched)["months"] == [{"month": "2023-05", "count": 1}]


def test_a_corpus_mean_that_is_not_a_number_is_left_out() -> None:
    matched = [
        MatchedFilm(ProfileFilm("Nan", 2000, rating=3.0), film(1, corpus_mean=float("nan"))),
    ]

    assert analyse(matched)["contrarian"]["films_compared"] == 0
