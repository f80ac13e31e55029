"""Ranking a list: reading it, matching it, and ordering exactly its matched films for a member."""
from __future__ import annotations

from datetime import date

import pytest

from services.domain import Profile, ProfileFilm
from services.errors import BadRequest
from services.filters import Filters
from services.lists import check_from_list, no_match_error, parse_list_text, rank_list, unmatched_titles
from services.matching import CatalogIndex, match_profile
from services.recsys import HybridSettings, Member, fit
from tests.unit.test_recsys import block_catalog, corpus, matched

TODAY = date(2026, 12, 6)  # every film of the block catalog (1991-2014) is out

LIST_EXPORT = """Letterboxd list export v7
Date,Name,Tags,URL,Description
2025-05-01,Festival line-up,,https://boxd.it/abc,
\ufeff
Position,Name,Year,URL,Description
1,Film 3,1993,https://boxd.it/a,
2,Film 4,1994,https://boxd.it/b,
3,"Film, With Comma",,https://boxd.it/c,
"""


def test_pasted_titles_keep_their_years_in_every_usual_form():
    films, name = parse_list_text("Aftersun (2022)\nPast Lives, 2023\n\n3. Tár - 2022\n- Heat\nM*A*S*H\t1970\n")
    assert name == ""
    assert [(f.title, f.year) for f in films] == [
        ("Aftersun", 2022), ("Past Lives", 2023), ("Tár", 2022), ("Heat", None), ("M*A*S*H", 1970)]
    assert not any(f.watched for f in films)


def test_a_list_export_csv_gives_its_titles_and_its_name():
    films, name = parse_list_text(LIST_EXPORT)
    assert name == "Festival line-up"
    assert [(f.title, f.year) for f in films] == [("Film 3", 1993), ("Film 4", 1994), ("Film, With Comma", None)]


def test_from_list_tells_a_watchlist_a_list_url_and_titles_apart():
    assert check_from_list("watchlist").kind == "watchlist"
    url = check_from_list("https://letterboxd.com/dave/list/official-top-250-narrative-feature-films/")
    assert (url.kind, url.owner, url.slug) == ("url", "dave", "official-top-250-narrative-feature-films")
    assert check_from_list("Heat (1995)\nRonin").kind == "titles"
    assert check_from_list(None) is None


@pytest.mark.parametrize("value", ["https://letterboxd.com/dave/films/", "http://example.com/dave/list/x/", "\n \n",
                                   42, ["Heat"]])
def test_a_bad_from_list_is_a_400(value):
    with pytest.raises(BadRequest) as caught:
        check_from_list(value)
    assert caught.value.code == "invalid_from_list"


def test_a_ranked_list_holds_exactly_the_matched_films_best_first():
    catalog = block_catalog()
    model = fit(corpus(), catalog, HybridSettings(l2=2.0, blend={"ease": 1.0, "taste": 1.0}, als_factors=0))
    member = Member.from_matched(matched(catalog, {f: 5.0 for f in range(2, 15, 2)}))  # loves even films
    titles = [ProfileFilm(title=t, year=y, watched=False) for t, y in
              [("Film 3", 1993), ("Film 16", 2006), ("Nowhere Film", 2001), ("Film 5", 1995), ("Film 18", 2008),
               ("Film 16", 2006), ("Film 2", 1992)]]
    listed = match_profile(Profile("list", "titles", tuple(titles)), CatalogIndex(catalog.films))
    ranked = rank_list(model.bind(catalog), member, catalog, listed, Filters(), TODAY)
    ids = [p.film.film_id for p in ranked.picks]
    assert sorted(ids) == [2, 3, 5, 16, 18]  # every matched film once, the unmatched one out
    assert set(ids[:3]) == {2, 16, 18}  # the member's even block ranks above the odd films
    assert [p.score for p in ranked.picks] == sorted((p.score for p in ranked.picks), reverse=True)
    assert ranked.positions == {3: 1, 16: 2, 5: 4, 18: 5, 2: 7}
    assert all(p.reasons for p in ranked.picks)
    assert [u["name"] for u in unmatched_titles(listed)] == ["Nowhere Film"]


def test_the_tonight_filters_apply_to_a_ranked_list():
    catalog = block_catalog()
    model = fit(corpus(), catalog, HybridSettings(l2=2.0, blend={"ease": 1.0}, als_factors=0))
    member = Member.from_matched(matched(catalog, {2: 5.0}))
    titles = tuple(ProfileFilm(title=f"Film {i}", year=1990 + i, watched=False) for i in (3, 4, 20, 21))
    listed = match_profile(Profile("list", "titles", titles), CatalogIndex(catalog.films))
    ranked = rank_list(model.bind(catalog), member, catalog, listed, Filters.from_request({"year_max": 2000}), TODAY)
    assert sorted(p.film.film_id for p in ranked.picks) == [3, 4] and ranked.filtered_out == 2


def test_a_list_with_nothing_matched_names_the_titles_that_failed():
    titles = parse_list_text("Not A Film (1901)\nAlso Not")[0]
    listed = match_profile(Profile("list", "titles", tuple(titles)), CatalogIndex(block_catalog().films))
    error = no_match_error(check_from_list("Not A Film (1901)\nAlso Not"), unmatched_titles(listed))
    assert error.status == 400 and error.code == "list_unmatched"
    assert "Not A Film (1901)" in error.message and "Also Not" in error.message


def test_a_ranked_lists_films_not_out_yet_come_after_every_released_film():
    catalog = block_catalog()
    model = fit(corpus(), catalog, HybridSettings(l2=2.0, blend={"ease": 1.0, "taste": 1.0}, als_factors=0))
    member = Member.from_matched(matched(catalog, {f: 5.0 for f in range(2, 15, 2)}))  # loves even films
    titles = tuple(ProfileFilm(title=f"Film {i}", year=1990 + i, watched=False) for i in (3, 24, 5, 16))
    listed = match_profile(Profile("list", "titles", titles), CatalogIndex(catalog.films))
    everything_out = rank_list(model.bind(catalog), member, catalog, listed, Filters(), TODAY)
    assert [p.film.film_id for p in everything_out.picks][:2] in ([24, 16], [16, 24])
    before_2014 = rank_list(model.bind(catalog), member, catalog, listed, Filters(), date(2013, 6, 1))
    assert [p.film.film_id for p in before_2014.picks][-1] == 24 and before_2014.not_out_yet == 1
    assert [p.film.film_id for p in before_2014.picks][0] == 16
