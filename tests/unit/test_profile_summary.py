from __future__ import annotations

from pathlib import Path

import pytest

from infra.export_reader import read_upload
from services.domain import Film, MatchedFilm, Profile, ProfileFilm
from services.export_import import profile_from_export
from services.matching import CatalogIndex, match_profile
from services.profile_summary import preferences, profile_block

HEAT = Film(film_id=1, title="Heat", year=1995, genres=("Action", "Crime"), directors=("Michael Mann",))
COLLATERAL = Film(film_id=2, title="Collateral", year=2004, genres=("Crime", "Thriller"),
                  directors=("Michael Mann",))
ALIEN = Film(film_id=3, title="Alien", year=1979, genres=("Horror", "Sci-Fi"), directors=("Ridley Scott",))
TOTORO = Film(film_id=4, title="My Neighbor Totoro", year=1988, genres=("Animation", "Family"))


def pair(film: Film | None, title: str, year: int | None, **entry) -> MatchedFilm:
    return MatchedFilm(entry=ProfileFilm(title=title, year=year, **entry), film=film)


MATCHED = [
    pair(HEAT, "Heat", 1995, rating=5.0, liked=True),
    pair(COLLATERAL, "Collateral", 2004, rating=4.0),
    pair(ALIEN, "Alien", 1979),
    MatchedFilm(entry=ProfileFilm(title="Anora", year=2024, rating=3.5), film=None, reason="not in catalog"),
    pair(TOTORO, "My Neighbor Totoro", 1988, watched=False, watchlist=True),
    pair(None, "The Brutalist", 2024, watched=False, watchlist=True),
]
PROFILE = Profile(username="m", source="export", films=tuple(m.entry for m in MATCHED))


def test_the_profile_block_counts_distinct_watched_rated_liked_and_watchlisted_films():
    block = profile_block(PROFILE, MATCHED)

    assert block == {
        "source": "export", "films": 4, "rated": 3, "liked": 1, "watchlist": 2, "matched": 3,
        "unmatched": [{"name": "Anora", "year": 2024, "reason": "not in catalog"}], "unmatched_count": 1,
        "repairs": [], "unread": [],
    }


def test_a_diary_of_thousands_unmatched_counts_them_all_and_lists_the_first_two_thousand():
    unknown = [pair(None, f"Festival Short {n}", 2024) for n in range(2005)]
    block = profile_block(Profile(username="m", source="export", films=tuple(m.entry for m in unknown)), unknown)
    assert block["unmatched_count"] == block["films"] == 2005
    assert [u["name"] for u in block["unmatched"]] == [f"Festival Short {n}" for n in range(2000)]


def test_entries_that_match_the_same_film_count_once():
    twice = MATCHED + [pair(HEAT, "Heat", 1996, liked=True), pair(None, "ANORA", 2024)]

    block = profile_block(PROFILE, twice)

    assert (block["films"], block["matched"], block["unmatched_count"]) == (4, 3, 1)


def test_genres_are_counted_with_the_members_mean_stars():
    genres = preferences(MATCHED)["genres"]

    assert genres[0] == {"name": "Crime", "count": 2, "mean_rating": 4.5}
    assert {"name": "Horror", "count": 1, "mean_rating": None} in genres
    assert not any(g["name"] == "Animation" for g in genres)


def test_directors_come_from_enriched_films():
    directors = preferences(MATCHED)["directors"]

    assert directors == [{"name": "Michael Mann", "count": 2, "mean_rating": 4.5},
                         {"name": "Ridley Scott", "count": 1, "mean_rating": None}]


def test_decades_come_from_the_years_in_order():
    decades = preferences(MATCHED)["decades"]

    assert decades == [
        {"name": "1970s", "decade": 1970, "count": 1, "mean_rating": None},
        {"name": "1990s", "decade": 1990, "count": 1, "mean_rating": 5.0},
        {"name": "2000s", "decade": 2000, "count": 1, "mean_rating": 4.0},
    ]


def test_a_film_logged_twice_counts_once_with_its_rating():
    twice = [pair(HEAT, "Heat", 1995), pair(HEAT, "Heat", 1995, rating=3.0)]

    result = preferences(twice)

    assert result["genres"][0] == {"name": "Action", "count": 1, "mean_rating": 3.0}


def test_an_unenriched_catalog_gives_genres_and_decades_but_no_directors():
    plain = [pair(Film(film_id=9, title="Heat", year=1995, genres=("Action",)), "Heat", 1995, rating=4.0)]

    result = preferences(plain)

    assert result["directors"] == [] and result["genres"] == [{"name": "Action", "count": 1, "mean_rating": 4.0}]


def test_the_sample_export_summarises_against_a_small_catalog():
    profile = profile_from_export(read_upload(
        (Path(__file__).resolve().parents[1] / "data" / "sample_export.zip").read_bytes(), "e.zip", 10**7))
    catalog = [Film(film_id=1, title="Alien", year=1979, genres=("Horror",)),
               Film(film_id=2, title="Tokyo Story", year=1953, genres=("Drama",))]

    matched = match_profile(profile, CatalogIndex(catalog))
    block = profile_block(profile, matched)

    assert (block["films"], block["matched"], block["watchlist"]) == (62, 1, 8)
    assert block["unmatched_count"] == 61 and len(block["unmatched"]) == 61
    assert {u["reason"] for u in block["unmatched"]} <= {"not in catalog", "year differs", "ambiguous"}
    assert preferences(matched)["genres"] == [{"name": "Horror", "count": 1, "mean_rating": 4.5}]


def test_every_unmatched_film_is_listed_with_its_reason_however_many():
    many = [MatchedFilm(entry=ProfileFilm(title=f"Lost {i}", year=2020), film=None,
                        reason="year differs" if i % 2 else "not in catalog") for i in range(150)]
    block = profile_block(Profile(username="m", source="export", films=tuple(m.entry for m in many)), many)

    assert block["films"] == 150 and block["matched"] == 0
    assert block["unmatched_count"] == len(block["unmatched"]) == 150
    assert [u["reason"] for u in block["unmatched"][:2]] == ["not in catalog", "year differs"]


@pytest.mark.parametrize("limit_field", ["genres", "directors"])
def test_long_preference_lists_are_capped(limit_field):
    many = [pair(Film(film_id=i, title=f"F{i}", year=2000, genres=(f"G{i}",), directors=(f"D{i}",)),
                 f"F{i}", 2000) for i in range(1, 40)]

    assert len(preferences(many)[limit_field]) <= 12


def test_stars_between_half_stars_are_averaged_like_any_other():
    films = [pair(Film(film_id=i, title=f"F{i}", year=2000, genres=("Drama",)), f"F{i}", 2000, rating=stars)
             for i, stars in enumerate([2.25, 3.75, 3.3], start=1)]

    assert preferences(films)["genres"] == [{"name": "Drama", "count": 3, "mean_rating": 3.1}]


def test_a_genre_listed_twice_for_one_film_counts_once():
    twice = [pair(Film(film_id=1, title="Heat", year=1995, genres=("Crime", "Crime")), "Heat", 1995, rating=4.0)]

    assert preferences(twice)["genres"] == [{"name": "Crime", "count": 1, "mean_rating": 4.0}]
