"""Taste match and group night on a tiny catalog whose right answers are known."""
from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from services.compare import agreements, closeness, shared_favourites, taste_match
from services.errors import BadRequest
from services.filters import Filters
from services.group import VETO_PENALTY, group_picks, group_scores, standardise_rows
from services.together_request import GROUP, YEAR_REVIEW, personal, validate_together
from services.recommend_request import RequestLimits
from services.recsys import HybridSettings, Member, fit
from tests.unit.test_recsys import block_catalog, corpus, matched

SETTINGS = HybridSettings(l2=2.0, blend={"ease": 1.0, "taste": 1.0}, als_factors=0)
TODAY = date(2026, 12, 6)  # every film of the block catalog (1991-2014) is out


@pytest.fixture(scope="module")
def world():
    catalog = block_catalog()
    return catalog, fit(corpus(), catalog, SETTINGS).bind(catalog)


def member(catalog, ratings):
    return Member.from_matched(matched(catalog, ratings))


def test_a_member_compared_with_themself_is_a_100_percent_match(world):
    catalog, served = world
    sam = member(catalog, {2: 5.0, 4: 4.5, 6: 4.0, 3: 1.0, 5: 2.0})
    scores = served.score(sam)
    match = taste_match(sam, sam, scores, scores)
    assert match.percent == 100 and match.agreement == 1.0 and match.closeness == pytest.approx(1.0)
    agree, disagree = agreements(sam, sam)
    assert disagree == [] and agree[0]["stars"] == [5.0, 5.0]


def test_opposite_tastes_match_less_than_alike_ones(world):
    catalog, served = world
    evens = member(catalog, {f: 5.0 for f in range(2, 13, 2)} | {f: 0.5 for f in range(1, 12, 2)})
    odds = member(catalog, {f: 0.5 for f in range(2, 13, 2)} | {f: 5.0 for f in range(1, 12, 2)})
    alike = member(catalog, {f: 4.5 for f in range(2, 13, 2)} | {f: 1.0 for f in range(1, 12, 2)})
    apart = taste_match(evens, odds, served.score(evens), served.score(odds))
    close = taste_match(evens, alike, served.score(evens), served.score(alike))
    assert apart.agreement == 0.0 and apart.shared_rated == 12
    assert apart.percent == round(100 * (10 / 22) * apart.closeness) < 30
    assert close.percent > 70 and close.agreement == pytest.approx(1 - 0.5 / 4.5)
    assert apart.weight == pytest.approx(12 / 22)
    _, disagree = agreements(evens, odds)
    assert len(disagree) == 5 and all(row["difference"] == 4.5 for row in disagree)


def test_with_no_film_in_common_the_match_is_the_models_closeness(world):
    catalog, served = world
    a, b = member(catalog, {2: 5.0, 4: 5.0}), member(catalog, {6: 5.0, 8: 5.0})
    match = taste_match(a, b, served.score(a), served.score(b))
    assert match.agreement is None and match.percent == round(100 * match.closeness)
    assert closeness(np.arange(5.0), -np.arange(5.0)) == pytest.approx(0.0)


def test_shared_favourite_directors_are_those_both_love():
    catalog = block_catalog()
    a = member(catalog, {2: 5.0, 4: 5.0, 6: 4.0, 14: 5.0})  # films 2-12 are by Ann Even
    b = member(catalog, {8: 4.5, 10: 2.0, 14: 1.0})
    assert shared_favourites(a, b, "directors") == [{"name": "Ann Even", "films": [3, 1]}]
    assert shared_favourites(a, b, "genres") == [{"name": "Drama", "films": [4, 1]}]


def test_one_members_strong_dislike_is_not_averaged_away():
    # films: vetoed by the third member, liked by all, lukewarm, disliked (not vetoed) by the third
    z = np.array([[3.0, 1.0, 0.4, 2.0], [3.0, 1.0, 0.4, 2.0], [-2.0, 0.2, 0.4, -1.2]])
    means = z.mean(axis=0)
    assert means[0] > means[3] > means[1]  # a plain average would put films 0 and 3 first
    scores = group_scores(z)
    assert list(np.argsort(-scores)) == [1, 2, 3, 0]
    assert scores[0] < -VETO_PENALTY / 2 and scores[3] == pytest.approx(means[3] - 0.7)


def test_a_film_one_member_rated_one_in_ten_does_not_top_the_groups_list(world):
    catalog, served = world
    fans = [member(catalog, {f: 5.0 for f in range(2, 21, 2)}) for _ in range(2)]
    # The third loves odd films and rated film 22 1/10: the even block the others love is what they dislike.
    critic = member(catalog, {f: 5.0 for f in range(1, 12, 2)} | {22: 0.5, 20: 0.5, 18: 0.5})
    members = [*fans, critic]
    picks = group_picks(served, catalog, members, ["Ann", "Bo", "Cy"], Filters(), 6, TODAY)
    ids = [p.film.film_id for p in picks]
    assert 22 not in ids
    assert ids[0] != 24  # the fans' favourite unseen film, which the critic would dislike
    plain = standardise_rows(np.vstack([served.score(m) for m in members])).mean(axis=0)
    assert plain[catalog.index_of(24)] > plain[catalog.index_of(ids[0])]  # a plain average would pick 24
    seen = set().union(*(m.seen_ids for m in members))
    assert not seen & set(ids)
    assert all(len(p.members) == 3 and all(1 <= v.match <= 99 for v in p.members) for p in picks)
    assert all(v.reason is None or "you" not in v.reason.split() for p in picks for v in p.members)


def test_reasons_are_rewritten_about_the_member():
    assert personal("Because you rated Heat ★★★★★", "Sam") == "Because Sam rated Heat ★★★★★"
    assert personal("Your favourite director", "Sam") == "Sam's favourite director"


LIMITS = RequestLimits()


@pytest.mark.parametrize("names, code", [(["alice"], "too_few_members"), (["a"] * 9, "too_many_members"),
                                         (["alice", "Alice"], "duplicate_member")])
def test_a_group_of_the_wrong_size_or_with_a_member_twice_is_refused(names, code):
    with pytest.raises(BadRequest) as caught:
        validate_together(GROUP, {}, names, [], LIMITS)
    assert caught.value.code == code


def test_a_group_keeps_its_members_in_order_and_carries_them_for_a_worker():
    group = validate_together(GROUP, {"count": 5}, ["alice", "bob", "cy"], [], LIMITS)
    assert group.names == ["alice", "bob", "cy"] and group.count == 5
    assert group.kind == "group" and group.fields["members"] == ["alice", "bob", "cy"]


@pytest.mark.parametrize("year", ["1700", "2024.5", True, "next"])
def test_a_year_in_review_refuses_a_year_that_is_not_one(year):
    with pytest.raises(BadRequest) as caught:
        validate_together(YEAR_REVIEW, {"year": year}, ["alice"], [], LIMITS)
    assert caught.value.code == "invalid_year"
