"""Whether a film is out yet: its year against this year, or TMDB's release date against today."""
from __future__ import annotations

from datetime import date

from services.cards import card
from services.catalog import Catalog
from services.domain import Film, ScoredFilm
from services.filters import Filters
from services.recsys import HybridSettings, fit, recommend_films
from services.releases import not_out_yet, release_date, release_fields, unreleased_ids
from tests.unit.test_recsys import block_catalog, corpus, matched

TODAY = date(2026, 12, 6)


def film(film_id: int = 1, year: int | None = 2026, released: str | None = None) -> Film:
    return Film(film_id=film_id, title=f"Film {film_id}", year=year, release_date=released)


def test_a_film_of_a_later_year_is_not_out_yet():
    assert not_out_yet(film(year=2027), TODAY) and not_out_yet(film(year=2028), TODAY)
    assert not not_out_yet(film(year=2026), TODAY) and not not_out_yet(film(year=None), TODAY)


def test_a_release_date_after_today_is_not_out_yet_even_in_this_year():
    assert not_out_yet(film(year=2026, released="2026-12-25"), TODAY)
    assert not not_out_yet(film(year=2026, released="2026-12-06"), TODAY), "out on the day"
    assert not not_out_yet(film(year=2025, released="2025-03-01"), TODAY)
    assert not_out_yet(film(year=None, released="2027-01-02"), TODAY)


def test_only_a_whole_date_counts_as_a_release_date():
    assert release_date("2027-06-15") == "2027-06-15"
    assert [release_date(v) for v in ("", None, "2027", "2027-13-01", 20270615)] == [None] * 5


def test_the_catalogs_films_not_out_yet_are_found_by_year_and_by_release_date():
    catalog = Catalog([film(1, 2024), film(2, 2027), film(3, 2026, "2026-12-24"), film(4, 2026, "2026-01-10"),
                       film(5, None)])
    assert unreleased_ids(catalog, TODAY) == [2, 3]
    assert unreleased_ids(catalog, date(2028, 1, 1)) == []


def test_a_card_says_whether_its_film_is_out_yet_and_when_it_comes_out():
    catalog = Catalog([film(1, 2026, "2026-12-24"), film(2, 2020)])
    soon = card(ScoredFilm(catalog.films[0], 1.0), {}, False, set(), catalog, None, "https://letterboxd.com",
                today=TODAY)
    out = card(ScoredFilm(catalog.films[1], 1.0), {}, False, set(), catalog, None, "https://letterboxd.com",
               today=TODAY)
    assert (soon["not_out_yet"], soon["release_date"]) == (True, "2026-12-24")
    assert (out["not_out_yet"], out["release_date"]) == (False, None)
    assert release_fields(film(year=2027), TODAY) == {"not_out_yet": True, "release_date": None}


def test_recommendations_never_pick_a_film_not_out_yet():
    catalog = block_catalog()
    model = fit(corpus(), catalog, HybridSettings(l2=2.0, blend={"ease": 1.0, "taste": 1.0}, als_factors=0))
    loves_evens = matched(catalog, {f: 5.0 for f in range(2, 21, 2)})
    picks = [p.film.film_id for p in recommend_films(model, catalog, loves_evens, Filters(), 3)]
    assert picks[0] == 24  # the member's block's withheld film, of 2014
    later = recommend_films(model, catalog, loves_evens, Filters(), 3,
                            exclude=unreleased_ids(catalog, date(2013, 6, 1)))
    assert 24 not in [p.film.film_id for p in later] and later
