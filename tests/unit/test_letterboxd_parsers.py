"""Letterboxd parsers on the real reference pages and on small pages written in the same structure."""
from __future__ import annotations

from pathlib import Path

import pytest

from infra.http import UpstreamBadResponse
from infra.letterboxd_parsers import (
    FilmEntry,
    merge_lists,
    parse_film_page,
    parse_films_page,
    parse_members_page,
    parse_rss,
    split_name_year,
)
from infra.letterboxd_sources import merge_rss, profile_from_json, profile_to_json
from services.domain import Profile, ProfileFilm
from tests.fakes import letterboxd_pages as pages
from tests.fakes.world import Logged, build_world

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "fixtures" / "letterboxd"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/fixtures is not present")

WORLD = build_world(popular_members=3)
CINE = WORLD.members["cinephile"]
FILMS = {f.key: f for f in WORLD.films}


def shared(name: str) -> str:
    return (SHARED / name).read_text(encoding="utf-8")


def grid(markup: str = "current", rows: list[tuple[int, Logged | None]] | None = None, page: int = 1,
         pages_: int = 1, total: int | None = None) -> str:
    rows = rows if rows is not None else [(lg.key, lg) for lg in CINE.films[:6]]
    films = [(FILMS[k], lg) for k, lg in rows]
    return pages.films_page(CINE, "films", films, page, pages_, total or len(films), markup=markup)


# ----- the real reference pages ------------------------------------------------------------


@needs_shared
def test_real_films_page_has_72_films_63_rated_and_2_pages():
    page = parse_films_page(shared("user_films_page1.html"))
    assert len(page.films) == 72
    assert sum(1 for f in page.films if f.rating is not None) == 63
    assert page.page_count == 2
    assert page.next_url == "/samtestacct/films/page/2/"
    assert page.total == 79


@needs_shared
def test_real_films_page_reads_titles_years_ids_ratings_and_the_members_likes():
    page = parse_films_page(shared("user_films_page1.html"))
    first = page.films[0]
    assert first == FilmEntry(slug="anniversary-2025", title="Anniversary", year=2025, letterboxd_id="1015194",
                              rating=2.5, liked=False)
    assert all(f.rating is None or 0.5 <= f.rating <= 5 for f in page.films)
    # The member liked 27 films; the viewer's own overlay likes must not leak in.
    assert sum(f.liked for f in page.films) == 27
    assert len({f.slug for f in page.films}) == 72


@needs_shared
def test_real_watchlist_page_has_20_films_and_declares_20():
    page = parse_films_page(shared("user_watchlist_page1.html"))
    assert len(page.films) == 20 and page.total == 20 and page.page_count == 1
    assert all(f.rating is None for f in page.films)


@needs_shared
def test_real_popular_members_page_lists_30_members_from_the_table_only():
    members = parse_members_page(shared("members_popular_page1.html"))
    assert len(members.usernames) == 30
    assert members.usernames[:2] == ("schaffrillas", "kurstboy")
    assert members.next_url == "/members/popular/this/week/page/2/"


@needs_shared
def test_real_film_page_gives_tmdb_and_imdb_ids_directors_genres_and_rating():
    film = parse_film_page(shared("film_page.html"))
    assert film.tmdb_id == 467244 and film.tmdb_type == "movie" and film.imdb_id == "tt7160372"
    assert film.title == "The Zone of Interest" and film.year == 2023
    assert film.directors == ("Jonathan Glazer",)
    assert film.genres == ("Drama", "History", "War")
    assert film.rating == 3.86 and film.rating_count == 871061
    assert film.slug == "the-zone-of-interest" and film.letterboxd_id == "398800"


@needs_shared
def test_real_film_page_without_json_ld_still_gives_ids_and_degrades_the_rest():
    film = parse_film_page(shared("film_page_missing_data.html"))
    assert film.tmdb_id == 467244 and film.imdb_id == "tt7160372"
    assert film.title == "The Zone of Interest" and film.year == 2023
    assert film.genres == () and film.rating is None
    assert film.directors == ("Jonathan Glazer",)


# ----- pages we write in the same structure --------------------------------------------------


def test_current_markup_gives_ratings_as_stars_and_likes_from_viewing_data():
    rows = [(0, Logged(0, 4.5, liked=True)), (1, Logged(1, None)), (3, Logged(3, 0.5))]
    page = parse_films_page(grid(rows=rows))
    assert [(f.slug, f.rating, f.liked) for f in page.films] == [
        ("fight-club", 4.5, True), ("inception", None, False), ("spirited-away", 0.5, False)]


def test_viewer_overlay_likes_are_not_the_members_likes():
    # Film key 3 gets the viewer's overlay like in the fake markup (key % 7 == 3).
    page = parse_films_page(grid(rows=[(3, Logged(3, 3.0, liked=False))]))
    assert "like-link icon-liked" in grid(rows=[(3, Logged(3, 3.0))])
    assert page.films[0].liked is False


def test_older_poster_container_markup_is_parsed_too():
    rows = [(0, Logged(0, 5.0, liked=True)), (7, Logged(7, 2.0))]
    page = parse_films_page(grid("legacy", rows=rows))
    assert [(f.slug, f.title, f.year, f.rating, f.liked, f.letterboxd_id) for f in page.films] == [
        ("fight-club", "Fight Club", 1999, 5.0, True, str(FILMS[0].lb_id)),
        ("drive-2011", "Drive", 2011, 2.0, False, str(FILMS[7].lb_id))]


def test_unknown_markup_is_flagged_instead_of_read_as_an_empty_list():
    page = parse_films_page(grid("changed"))
    assert page.films == () and page.recognised is False


def test_an_empty_profile_is_recognised_as_empty():
    page = parse_films_page(grid(rows=[]))
    assert page.films == () and page.recognised is True and page.page_count == 1


def test_page_count_is_the_largest_page_number_even_with_gaps():
    page = parse_films_page(grid(page=5, pages_=12, total=12 * 6))
    assert page.page_count == 12 and page.next_url == "/cinephile/films/page/6/"


def test_titles_with_their_own_parentheses_keep_them():
    assert split_name_year("Bōken (The Adventure) (1970)") == ("Bōken (The Adventure)", 1970)
    assert split_name_year("Untitled Project") == ("Untitled Project", None)


def test_an_xss_title_is_read_back_as_plain_text():
    xss = next(f for f in WORLD.films if f.title.startswith("<img"))
    page = parse_films_page(grid(rows=[(xss.key, Logged(xss.key, 3.0))]))
    assert page.films[0].title == "<img src=x onerror=alert(1)>"


def test_members_page_ignores_links_outside_the_member_table():
    members = [WORLD.members[n] for n in WORLD.popular]
    parsed = parse_members_page(pages.members_page(members, 1, 2))
    assert parsed.usernames == tuple(WORLD.popular)
    assert parsed.next_url == "/members/popular/this/week/page/2/"


def test_our_film_page_round_trips_ids_and_json_ld():
    film = FILMS[26]
    parsed = parse_film_page(pages.film_page(film, WORLD.cast(film)))
    assert (parsed.tmdb_id, parsed.imdb_id, parsed.directors, parsed.year) == (329865, "tt2543164",
                                                                               ("Denis Villeneuve",), 2016)


def test_rss_gives_one_entry_per_film_with_tmdb_ids_and_skips_list_items():
    films = parse_rss(pages.rss(CINE, FILMS, "https://letterboxd.com"))
    assert len(films) == len(CINE.diary)
    premiere = next(f for f in films if f.title == "The Premiere Year")
    assert premiere.tmdb_id == 990002 and premiere.year == 2019 and premiere.rating == 4.0
    assert premiere.watched_dates == ("2025-11-01",) and premiere.slug == "the-premiere-year"
    fight = next(f for f in films if f.title == "Fight Club")
    assert fight.rewatch and fight.liked and fight.rating == 5.0


RSS_TWO_LOGS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:letterboxd="https://letterboxd.com" xmlns:tmdb="https://themoviedb.org"><channel>
<item><title>Arrival, 2016 - ★★★★½</title><link>https://letterboxd.com/u/film/arrival-2016/1/</link>
<letterboxd:watchedDate>2025-10-02</letterboxd:watchedDate><letterboxd:rewatch>Yes</letterboxd:rewatch>
<letterboxd:filmTitle>Arrival</letterboxd:filmTitle><letterboxd:filmYear>2016</letterboxd:filmYear>
<letterboxd:memberRating>4.5</letterboxd:memberRating><tmdb:movieId>329865</tmdb:movieId></item>
<item><title>Arrival, 2016 - ★★★</title><link>https://letterboxd.com/u/film/arrival-2016/</link>
<letterboxd:watchedDate>2024-01-05</letterboxd:watchedDate><letterboxd:rewatch>No</letterboxd:rewatch>
<letterboxd:filmTitle>Arrival</letterboxd:filmTitle><letterboxd:filmYear>2016</letterboxd:filmYear>
<letterboxd:memberRating>3.0</letterboxd:memberRating><tmdb:movieId>329865</tmdb:movieId></item>
<item><title>Her, 2013</title><link>https://letterboxd.com/u/film/her/</link>
<letterboxd:watchedDate>2023-03-01</letterboxd:watchedDate><letterboxd:rewatch>No</letterboxd:rewatch>
<letterboxd:filmTitle>Her</letterboxd:filmTitle><letterboxd:filmYear>2013</letterboxd:filmYear>
<tmdb:movieId>152601</tmdb:movieId></item>
</channel></rss>"""


def test_rss_rewatches_merge_into_one_film_with_the_newest_rating_and_every_date():
    films = parse_rss(RSS_TWO_LOGS)
    assert len(films) == 2
    arrival, her = films
    assert arrival.rating == 4.5 and arrival.rewatch and arrival.watched_dates == ("2024-01-05", "2025-10-02")
    assert arrival.slug == "arrival-2016" and arrival.tmdb_id == 329865
    assert her.rating is None and her.watched


def test_rss_that_is_not_xml_is_a_bad_response():
    with pytest.raises(UpstreamBadResponse):
        parse_rss("<html><body>Just a moment...</body>")


def test_rss_entities_are_not_expanded():
    bomb = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            '<rss xmlns:letterboxd="https://letterboxd.com"><channel><item>'
            '<letterboxd:filmTitle>&b;</letterboxd:filmTitle></item></channel></rss>')
    films = parse_rss(bomb)
    assert all("aaaaaaaaaa" not in f.title for f in films)


def test_films_likes_and_watchlist_merge_into_distinct_films():
    a = FilmEntry("arrival-2016", "Arrival", 2016, "1", 4.0)
    b = FilmEntry("her", "Her", 2013, "2", None, liked=True)
    c = FilmEntry("heat-1995", "Heat", 1995, "3")
    d = FilmEntry("up-2009", "Up", 2009, "4")
    merged = merge_lists([a, b], likes=[b, c], watchlist=[a, d])
    by_slug = {f.slug: f for f in merged}
    assert len(merged) == 4
    assert by_slug["arrival-2016"].rating == 4.0 and by_slug["arrival-2016"].watchlist
    assert by_slug["heat-1995"].liked and by_slug["heat-1995"].watched
    assert not by_slug["up-2009"].watched and by_slug["up-2009"].watchlist


def test_a_profile_survives_the_cache_round_trip():
    profile = Profile("u", "live", (ProfileFilm("Her", 2013, 4.0, watched_dates=("2024-01-01",), slug="her"),), 3)
    assert profile_from_json(profile_to_json(profile)) == profile


def test_rss_entries_overlay_a_cached_profile():
    cached = Profile("u", "live", (ProfileFilm("Arrival", 2016, 3.0, slug="arrival-2016"),), 1)
    rss = Profile("u", "rss", parse_rss(RSS_TWO_LOGS))
    merged = merge_rss(cached, rss)
    assert merged.source == "rss" and len(merged.films) == 2
    assert merged.films[0].rating == 4.5 and merged.films[0].tmdb_id == 329865
