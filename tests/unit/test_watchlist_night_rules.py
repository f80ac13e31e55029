"""Watchlist night on a tiny catalog whose right answers are known: the order, the films left out, and why."""
from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from services.domain import ProfileFilm
from services.errors import BadRequest
from services.filters import Filters
from services.group import (
    WATCHLIST_BONUS,
    NightPicks,
    group_picks,
    night_order,
    nothing_to_pick,
    watchlist_bonus,
    watchlist_note,
    watchlist_picks,
    watchlist_read,
)
from services.recommend_request import RequestLimits
from services.recsys import HybridSettings, Member, fit
from services.together_request import COMPARE, GROUP, WATCHLISTS, check_group_list, validate_together
from tests.unit.test_recsys import block_catalog, corpus, matched

SETTINGS = HybridSettings(l2=2.0, blend={"ease": 1.0, "taste": 1.0}, als_factors=0)
TODAY = date(2026, 12, 6)  # every film of the block catalog (1991-2014) is out
NAMES = ["Ann", "Bo", "Cy"]


@pytest.fixture(scope="module")
def world():
    catalog = block_catalog()
    return catalog, fit(corpus(), catalog, SETTINGS).bind(catalog)


def fans(catalog, count: int = 3) -> list[Member]:
    """Members who rated the even films 2-20 five stars: they should like 22 and 24, and not the odd films."""
    return [Member.from_matched(matched(catalog, {f: 5.0 for f in range(2, 21, 2)})) for _ in range(count)]


def ids(night: NightPicks) -> list[int]:
    return [p.film.film_id for p in night.picks]


# ----- the ordering rule ------------------------------------------------------------------------

def test_a_film_on_every_watchlist_gains_the_whole_bonus_and_one_on_a_single_watchlist_none():
    assert watchlist_bonus(np.array([1, 2, 3]), 3).tolist() == [0.0, WATCHLIST_BONUS / 2, WATCHLIST_BONUS]
    assert watchlist_bonus(np.array([2]), 2).tolist() == [WATCHLIST_BONUS]
    assert watchlist_bonus(np.array([1, 5]), 5).tolist() == [0.0, WATCHLIST_BONUS]


def test_more_watchlists_reorder_films_of_a_similar_score_but_never_lift_a_disliked_one_above_a_loved_one():
    group = np.array([1.0, 0.8, -0.5, 2.0, 0.3])  # 3 is loved, 2 is disliked by someone
    holders = np.array([1, 3, 3, 1, 2])
    order = night_order(group, holders, members=3).tolist()
    assert order == [3, 1, 0, 4, 2]
    assert order.index(1) < order.index(0), "0.2 apart, the film on every watchlist goes first"
    assert order.index(2) > order.index(3) and order.index(2) > order.index(0), "a disliked film stays below"


def test_films_of_the_same_night_score_go_by_how_many_watchlists_hold_them():
    group = np.array([0.75, 0.5, 1.0])
    holders = np.array([2, 3, 1])  # night scores: 1.0, 1.0, 1.0
    assert night_order(group, holders, members=3).tolist() == [1, 0, 2]


# ----- the night over a model -------------------------------------------------------------------

def test_a_film_on_three_of_three_watchlists_that_all_three_should_like_tops_the_night(world):
    catalog, served = world
    watchlists = [{24, 3, 21}, {24, 5, 22}, {24, 7}]
    night = watchlist_picks(served, catalog, fans(catalog), NAMES, watchlists, [], Filters(), 10, TODAY)
    assert ids(night)[0] == 24
    assert night.picks[0].on_watchlists == ("Ann", "Bo", "Cy")
    assert all(v.match > 80 for v in night.picks[0].members)
    assert sorted(ids(night)) == [3, 5, 7, 21, 22, 24], "exactly the films on the watchlists"
    assert set(ids(night)[-3:]) == {3, 5, 7}, "the odd films they should dislike come last"
    assert dict((p.film.film_id, p.on_watchlists) for p in night.picks)[22] == ("Bo",)
    assert [p.score for p in night.picks] == sorted((p.score for p in night.picks), reverse=True)
    assert (night.listed, night.seen, night.not_out_yet, night.filtered_out) == (6, 0, (), 0)


def test_a_film_one_member_has_already_watched_never_appears(world):
    catalog, served = world
    members = fans(catalog, 2) + [Member.from_matched(matched(catalog, {1: 4.0, 22: None}, watched=True))]
    watchlists = [{22, 24}, {1}, {24}]  # Cy has seen 22 (watched, no rating) and rated 1
    night = watchlist_picks(served, catalog, members, NAMES, watchlists, [], Filters(), 10, TODAY)
    assert ids(night) == [24]
    assert (night.listed, night.seen) == (3, 2)


def test_a_film_a_member_logged_under_the_same_title_and_year_counts_as_seen(world):
    catalog, served = world
    logged = [ProfileFilm(title="Film 22", year=2012, rating=3.0)]  # matched to no film of the catalog
    night = watchlist_picks(served, catalog, fans(catalog), NAMES, [{22, 24}, set(), set()], logged, Filters(), 10,
                            TODAY)
    assert ids(night) == [24] and night.seen == 1


def test_a_film_not_out_yet_is_never_a_pick_of_the_night(world):
    catalog, served = world
    before_2014 = date(2013, 6, 1)  # film 24 is of 2014
    night = watchlist_picks(served, catalog, fans(catalog), NAMES, [{24, 22}, {24}, set()], [], Filters(), 10,
                            before_2014)
    assert ids(night) == [22]
    assert [f.film_id for f in night.not_out_yet] == [24] and night.listed == 2


def test_the_tonight_filters_apply_to_the_watchlists(world):
    catalog, served = world
    night = watchlist_picks(served, catalog, fans(catalog), NAMES, [{22, 24, 3}, set(), set()], [],
                            Filters.from_request({"year_max": 2012}), 10, TODAY)
    assert sorted(ids(night)) == [3, 22] and night.filtered_out == 1


def test_count_keeps_the_top_of_the_night(world):
    catalog, served = world
    night = watchlist_picks(served, catalog, fans(catalog), NAMES, [{24, 3, 21}, {24, 5, 22}, {24, 7}], [],
                            Filters(), 2, TODAY)
    assert ids(night) == [24, 22] and night.listed == 6


def test_a_group_night_over_the_catalog_never_picks_a_film_not_out_yet(world):
    catalog, served = world
    members = fans(catalog)
    assert 24 in [p.film.film_id for p in group_picks(served, catalog, members, NAMES, Filters(), 4, TODAY)]
    later = [p.film.film_id for p in group_picks(served, catalog, members, NAMES, Filters(), 4, date(2013, 6, 1))]
    assert 24 not in later and later


# ----- notes and the empty night ----------------------------------------------------------------

def test_a_member_whose_watchlist_letterboxd_would_not_serve_is_named_in_a_note():
    assert not watchlist_read("rss") and watchlist_read("fresh") and watchlist_read("export")
    assert "would not serve sam's watchlist" in watchlist_note("sam", "rss")
    assert "sam's watchlist is the copy" in watchlist_note("sam", "stale_cache")
    assert watchlist_note("sam", "fresh") is None and watchlist_note("sam", "export") is None


def empty_night(listed: int = 0, seen: int = 0, not_out_yet: tuple = ()) -> NightPicks:
    return NightPicks((), listed, seen, not_out_yet, 0)


def test_a_night_with_nothing_to_pick_is_a_400_that_says_why():
    unread = nothing_to_pick(["ann", "bo"], ["ann", "bo"], 0, [], empty_night())
    assert unread.status == 400 and unread.code == "no_watchlist_films"
    assert "would not serve the watchlists of ann and bo" in unread.message
    empty = nothing_to_pick(["bo"], ["ann", "bo", "cy"], 0, [], empty_night())
    assert empty.message.startswith("Nothing is on any of your watchlists (Letterboxd would not serve bo's)")
    unknown = nothing_to_pick([], ["ann", "bo"], 2, [{"name": "Zzqx", "year": 2031, "reason": "not in catalog"}],
                              empty_night())
    assert "None of the 2 films on your watchlists is one we know: Zzqx (2031)." == unknown.message
    spent = nothing_to_pick([], ["ann", "bo"], 3, [], empty_night(3, 2, (object(),)))
    assert "2 one of you has seen, 1 not out yet" in spent.message


# ----- the request -----------------------------------------------------------------------------

def test_a_groups_from_list_is_watchlists_or_nothing():
    assert check_group_list(" Watchlists ") == WATCHLISTS and check_group_list("") is None
    with pytest.raises(BadRequest) as caught:
        check_group_list("https://letterboxd.com/a/list/b/")
    assert caught.value.code == "invalid_from_list"
    group = validate_together(GROUP, {"from_list": "watchlists"}, ["alice", "bob"], [], RequestLimits())
    assert group.from_list == WATCHLISTS and group.fields["from_list"] == "watchlists"
    assert validate_together(COMPARE, {"from_list": "watchlists"}, ["alice", "bob"], [], RequestLimits()).from_list \
        is None
