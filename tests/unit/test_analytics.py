from __future__ import annotations

import json

import pytest

from services.analytics import MAX_MONTHS, RATING_STEPS, analyse
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


def rated(ratings: list[float | None], genre: str = "Drama") -> list[MatchedFilm]:
    return [MatchedFilm(ProfileFilm(f"Film {i}", 2000, rating=r), film(i, genres=(genre,), directors=(genre,)))
            for i, r in enumerate(ratings, start=1)]


def test_means_round_half_away_from_zero() -> None:
    result = analyse(rated([4.0, 4.0, 3.0, 3.0, 3.0, 3.0, 2.5, 2.5]))  # mean 3.125

    assert result["mean_rating"] == 3.13
    assert result["genres"]["by_count"][0]["mean_rating"] == 3.13
    assert result["decades"][0]["mean_rating"] == 3.13


def test_rounding_scales_by_a_power_of_ten_in_floating_point_first() -> None:
    matched = [
        MatchedFilm(ProfileFilm("Over", 2000, rating=5.0), film(1, corpus_mean=7.015)),  # 7.015 * 100 == 701.5
        MatchedFilm(ProfileFilm("Under", 2000, rating=4.0), film(2, corpus_mean=6.995)),  # 8 - 6.995 < 1.005
    ]

    rows = analyse(matched)["contrarian"]["most_different"]

    assert [(row["corpus_mean"], row["difference"]) for row in rows] == [(7.02, 2.99), (7.0, 1.0)]


def test_rewatch_share_rounds_half_away_from_zero() -> None:
    matched = [MatchedFilm(ProfileFilm(f"Film {i}", 2000, rewatch=i == 0), None) for i in range(32)]

    assert analyse(matched)["rewatch_share"] == 0.0313  # 1/32 = 0.03125


def test_a_rating_between_half_stars_counts_in_the_upper_one() -> None:
    distribution = analyse(rated([2.25, 2.0]))["rating_distribution"]

    assert {bar["rating"]: bar["count"] for bar in distribution if bar["count"]} == {2.0: 1, 2.5: 1}


def test_whole_star_ratings_given_as_integers_are_reported_as_floats() -> None:
    matched = [MatchedFilm(ProfileFilm("Whole", 2000, rating=4), film(1, corpus_mean=7))]

    result = analyse(matched)

    assert result["contrarian"]["most_different"] == [
        {"title": "Whole", "year": 2000, "rating": 4.0, "rating_10": 8.0, "corpus_mean": 7.0, "difference": 1.0},
    ]
    assert json.dumps(result["contrarian"]["most_different"][0]["rating"]) == "4.0"


def test_names_tied_on_count_rank_by_rounded_mean_then_name_with_unrated_ones_last() -> None:
    matched = [*rated([3.0, 5.0], "Mystery"), *rated([None, None], "Noir"), *rated([4.5, 4.0], "Crime"),
               *rated([4.0, 4.5], "Caper")]

    by_count = analyse(matched)["genres"]["by_count"]

    assert [(g["name"], g["mean_rating"]) for g in by_count] == [
        ("Caper", 4.25), ("Crime", 4.25), ("Mystery", 4.0), ("Noir", None),
    ]


def test_names_tied_on_rounded_mean_rank_by_more_ratings_then_name() -> None:
    matched = [*rated([4.0, 4.0], "B"), *rated([4.0, 4.0, 4.0], "C"), *rated([4.0, 4.0], "A"), *rated([5.0], "D")]

    by_rating = analyse(matched)["genres"]["by_rating"]

    assert [g["name"] for g in by_rating] == ["C", "A", "B"]  # D has one rating: no average


def test_only_the_top_ten_names_are_listed() -> None:
    matched = [film_ for i in range(12) for film_ in rated([3.0] * (i + 1), f"Genre {i:02d}")]

    by_count = analyse(matched)["genres"]["by_count"]

    assert [g["name"] for g in by_count] == [f"Genre {i:02d}" for i in range(11, 1, -1)]


def test_contrarian_films_tied_on_gap_are_listed_by_title_then_in_the_members_order() -> None:
    matched = [
        MatchedFilm(ProfileFilm("Solaris", 2002, rating=1.0), film(1, corpus_mean=6.0)),
        MatchedFilm(ProfileFilm("Solaris", 1972, rating=5.0), film(2, corpus_mean=6.0)),
        MatchedFilm(ProfileFilm("Alien", 1979, rating=1.0), film(3, corpus_mean=6.0)),
        MatchedFilm(ProfileFilm("Zardoz", 1974, rating=5.0), film(4, corpus_mean=2.0)),
    ]

    rows = analyse(matched)["contrarian"]["most_different"]

    assert [(row["title"], row["year"], row["difference"]) for row in rows] == [
        ("Zardoz", 1974, 8.0), ("Alien", 1979, -4.0), ("Solaris", 2002, -4.0), ("Solaris", 1972, 4.0),
    ]


def months_of(*dates: str) -> list[dict]:
    return analyse([MatchedFilm(ProfileFilm("Diary", 2000, watched_dates=dates), None)])["months"]


def test_diary_dates_that_are_not_calendar_days_are_ignored() -> None:
    assert months_of("2023-02-30", "2023-13-01", "2023-04-31", "2100-02-29", "", "2024-02-29") == [
        {"month": "2024-02", "count": 1},
    ]


def test_diary_dates_written_loosely_still_count() -> None:
    loose = (" 2023-05-02 ", "2023/5/2", "2023 05 02", "2023-05-02T21:30:00Z", "2023-05-02 21:30:00+02:00",
             "2023-05-02 21:30 UTC")
    not_dates = ("2023.05.02", "02/05/2023", "2023-05-02abc", "2023-05-021", "20230502", "2023-05-02 25:00")

    assert months_of(*loose, *not_dates) == [{"month": "2023-05", "count": len(loose)}]


def test_dates_before_the_common_era_are_labelled_with_astronomical_years() -> None:
    months = months_of("0044-03-15 (BC)", "0043-04-01 (BC)")

    assert (months[0], months[-1], len(months)) == (
        {"month": "-43-03", "count": 1}, {"month": "-42-04", "count": 1}, 14,
    )


def test_infinite_diary_dates_are_ignored() -> None:
    assert months_of("infinity", "-infinity", "2023-01-08") == [{"month": "2023-01", "count": 1}]


def test_the_monthly_series_keeps_its_last_months_when_dates_lie_millennia_apart() -> None:
    assert len(months_of("0001-01-01", "9999-12-31")) == 119_988

    months = months_of("-2023-01-01", "12023-01-01")

    assert len(months) == MAX_MONTHS
    assert months[-1] == {"month": "12023-01", "count": 1}


def test_ratings_between_half_stars_are_averaged_like_any_other() -> None:
    result = analyse(rated([2.25, 3.75, 3.3]))

    assert result["genres"]["by_count"][0]["mean_rating"] == 3.1
    assert result["directors"]["by_rating"][0]["mean_rating"] == 3.1
