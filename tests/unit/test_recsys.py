"""The recommender model: fitting on held-out users, folding members in, ranking, reasons, cold films."""
from __future__ import annotations

import numpy as np
import pytest

from infra.export_reader import read_upload
from services import evaluation
from services.export_import import profile_from_export
from services.matching import CatalogIndex, match_profile
from services.catalog import Catalog
from services.domain import Film, MatchedFilm, ProfileFilm
from services.filters import Filters
from services.recsys import (
    Corpus,
    HybridModel,
    HybridSettings,
    Member,
    MemberRows,
    SignalWeights,
    fit,
    is_cold_start,
    match_percents,
    member_films,
    member_signals,
    recommend_films,
    stars_text,
)
from services.recsys.blend import blend_problem, learn_blend
from services.recsys.training import build_training_data

N_ITEMS = 24
FIXED = HybridSettings(l2=2.0, blend={"ease": 1.0, "ease_liked": 1.0, "taste": 1.0, "popularity": 0.1},
                       als_factors=0, kept_neighbours=8)


def block_ratings(n_users: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Even users watch and love even films (ids 1..24), odd users odd films; a few stray low ratings."""
    rng = np.random.default_rng(seed)
    users, items, ratings = [], [], []
    for u in range(n_users):
        for film_id in range(1, N_ITEMS + 1):
            own = (film_id % 2) == (u % 2)
            if own and rng.random() < 0.8:
                users.append(u), items.append(film_id), ratings.append(float(rng.choice([8, 9, 10])))
            elif not own and rng.random() < 0.1:
                users.append(u), items.append(film_id), ratings.append(float(rng.choice([2, 3])))
    return np.array(users), np.array(items), np.array(ratings)


def block_catalog(extra: int = 0) -> Catalog:
    films = []
    for film_id in range(1, N_ITEMS + 1 + extra):
        even = film_id % 2 == 0
        films.append(Film(
            film_id=film_id, title=f"Film {film_id}", year=1990 + film_id,
            genres=("Drama",) if even else ("Comedy",),
            directors=("Ann Even",) if even and film_id <= 12 else (f"Director {film_id}",),
            corpus_count=30, corpus_mean=8.0,
        ))
    return Catalog(films)


def corpus(seed: int = 0) -> Corpus:
    return Corpus(*block_ratings(seed=seed), scale=10.0)


def matched(catalog: Catalog, ratings: dict[int, float | None], **flags) -> list[MatchedFilm]:
    return [MatchedFilm(ProfileFilm(title=f"Film {fid}", rating=stars, **flags), catalog.by_id(fid))
            for fid, stars in ratings.items()]


def test_the_withheld_film_of_the_members_block_ranks_first():
    catalog = block_catalog()
    model = fit(corpus(), catalog, HybridSettings(seed=0, als_factors=4))
    member = Member.from_matched(matched(catalog, {f: 5.0 for f in range(2, 23, 2)}))  # all evens but 24
    scores = model.score(member)
    scores[catalog.indices_of(list(range(2, 23, 2)))] = -np.inf
    assert catalog.film_ids[np.argmax(scores)] == 24
    assert model.report is not None and model.report.l2_trials


def test_with_fewer_members_than_films_the_withheld_film_still_ranks_first():
    # 20 members, 24 films: L2 is tuned from the members' Gram and EASE is fitted through it.
    catalog = block_catalog()
    model = fit(Corpus(*block_ratings(n_users=20), scale=10.0), catalog, HybridSettings(seed=0, als_factors=4))
    member = Member.from_matched(matched(catalog, {f: 5.0 for f in range(2, 23, 2)}))
    scores = model.score(member)
    scores[catalog.indices_of(list(range(2, 23, 2)))] = -np.inf
    assert catalog.film_ids[np.argmax(scores)] == 24
    assert model.report is not None and len(model.report.l2_trials) >= 2


def test_the_same_seed_fits_the_same_model():
    first = fit(corpus(3), block_catalog(), HybridSettings(seed=5, als_factors=0))
    second = fit(corpus(3), block_catalog(), HybridSettings(seed=5, als_factors=0))
    assert first.blend == second.blend and first.l2 == second.l2
    dense = [m.weights_liked.toarray() if hasattr(m.weights_liked, "toarray") else m.weights_liked
             for m in (first, second)]
    assert np.array_equal(*dense)


def test_a_film_rated_one_star_pushes_its_neighbours_down():
    catalog = block_catalog()
    model = fit(corpus(), catalog, FIXED)
    neighbours = catalog.indices_of(list(range(4, N_ITEMS + 1, 2)))

    def score_of_neighbours(stars_for_film_2: float) -> float:
        member = Member.from_matched(matched(catalog, {2: stars_for_film_2, 1: 3.0, 3: 3.0, 5: 3.0, 7: 3.0}))
        return float(model.score(member)[neighbours].mean())

    assert score_of_neighbours(0.5) < score_of_neighbours(5.0)


def test_blend_learning_weights_the_feature_that_finds_held_out_films():
    rng = np.random.default_rng(0)
    n_users, n_items = 50, 40
    import scipy.sparse as sp

    relevant = sp.csr_matrix((rng.random((n_users, n_items)) < 0.1).astype(np.float32))
    seen = sp.csr_matrix((n_users, n_items), dtype=np.float32)
    informative = relevant.toarray() + rng.normal(0, 0.3, (n_users, n_items)).astype(np.float32)
    features = {
        "ease_liked": rng.normal(size=(n_users, n_items)).astype(np.float32),
        "taste": informative,
        "popularity": rng.normal(size=n_items).astype(np.float32),
    }
    weights, ndcg = learn_blend(blend_problem(features, seen, relevant), k=5)
    assert weights["ease_liked"] == 1.0
    assert weights["taste"] >= 2.0
    assert ndcg > 0.5


def test_recommendations_are_unseen_and_name_the_members_own_film_first():
    catalog = block_catalog()
    model = fit(corpus(), catalog, FIXED)
    member = matched(catalog, {2: 5.0, 4: 4.5, 6: 4.0, 8: 5.0, 10: 4.0, 1: 1.0})
    picks = recommend_films(model, catalog, member, Filters(), 5)
    assert picks
    assert not {p.film.film_id for p in picks} & {1, 2, 4, 6, 8, 10}
    assert picks[0].film.film_id % 2 == 0
    assert picks[0].reasons[0].startswith("Because you rated Film ")
    assert "★" in picks[0].reasons[0]
    assert set(picks[0].contributions) >= {"collaborative", "content", "popularity", "quality", "tmdb"}


def test_a_pick_carried_by_one_rated_film_names_that_film_first():
    # Film 24 is watched only by members who watched film 22; nothing else links them.
    users, items, ratings = [], [], []
    for u in range(40):
        for film_id in range(1, 21):
            if (u + film_id) % 3 == 0:
                users.append(u), items.append(film_id), ratings.append(6.0)
        if u < 20:
            users += [u, u]
            items += [22, 24]
            ratings += [9.0, 9.0]
    catalog = block_catalog()
    model = fit(Corpus(np.array(users), np.array(items), np.array(ratings), 10.0), catalog,
                HybridSettings(l2=1.0, blend={"ease": 1.0, "ease_liked": 1.0}, als_factors=0))
    member = Member.from_matched(matched(catalog, {22: 4.5, 3: 3.0, 6: 3.0, 9: 3.0, 12: 3.0}))
    served = model.bind(catalog)
    ids, _ = served.recommend(member, 3, Filters(max_per_director=0, diversity=0.0))
    assert ids[0] == 24
    assert served.explain(member, 24).reasons[0] == "Because you rated Film 22 ★★★★½"


def test_picks_explained_together_read_as_each_explained_alone():
    catalog = block_catalog()
    model = fit(corpus(), catalog, FIXED)
    rated = {2: 5.0, 4: 4.5, 6: 4.0, 8: 5.0, 10: 4.0, 13: 2.0}
    member = Member.from_matched(matched(catalog, rated))
    # The guard keeps every other film; only the first three kept are explained, in one batch.
    picks = recommend_films(model, catalog, member, Filters(), 8, keep=lambda films: films[::2], explained=3)
    assert len(picks) == 3
    for pick in picks:
        alone = model.bind(catalog).explain(Member.from_matched(matched(catalog, rated)), pick.film.film_id)
        assert pick.reasons == alone.reasons
        assert pick.contributions == pytest.approx(alone.contributions, abs=1e-5)


def test_no_filtered_film_is_ever_recommended():
    catalog = block_catalog()
    model = fit(corpus(), catalog, FIXED)
    member = matched(catalog, {2: 5.0, 4: 4.5, 6: 4.0, 8: 5.0, 10: 4.0})
    watchlist = [MatchedFilm(ProfileFilm(title="Film 13", watched=False, watchlist=True), catalog.by_id(13))]
    for request in ({"genres": "Comedy"}, {"exclude_genres": "Drama"}, {"year_min": 2005},
                    {"decade": "1990s"}, {"max_runtime": 100}, {"watchlist": "only"}):
        filters = Filters.from_request(request)
        for pick in recommend_films(model, catalog, member + watchlist, filters, 10):
            index = catalog.index_of(pick.film.film_id)
            assert filters.allows(pick.film, float(catalog.obscurity[index]), pick.film.film_id == 13), request


def test_excluded_films_are_never_recommended():
    catalog = block_catalog()
    model = fit(corpus(), catalog, FIXED)
    member = Member.from_matched(matched(catalog, {2: 5.0, 4: 4.5, 6: 4.0, 8: 5.0, 10: 4.0}))
    ids, scores = model.recommend(member, 5, exclude={12, 14})
    assert ids.size == 5 and not {12, 14} & set(ids.tolist())
    assert np.all(np.diff(scores) <= 1e-6) or Filters().diversity > 0


def test_no_more_than_two_films_per_director_unless_asked():
    catalog = block_catalog()
    model = fit(corpus(), catalog, FIXED)
    member = matched(catalog, {14: 5.0, 16: 4.5, 18: 4.0, 20: 5.0, 22: 4.0})
    capped = recommend_films(model, catalog, member, Filters(genres=("drama",)), 10)
    assert sum("Ann Even" in p.film.directors for p in capped) == 2
    uncapped = recommend_films(model, catalog, member, Filters(genres=("drama",), max_per_director=0), 10)
    assert sum("Ann Even" in p.film.directors for p in uncapped) == 6


def test_a_tmdb_candidate_outside_the_corpus_is_scored_and_keeps_its_reason():
    catalog = block_catalog(extra=1)  # film 25 has no ratings at all
    model = fit(corpus(), catalog, FIXED)
    assert model.index_of(25) is None
    member = matched(catalog, {2: 5.0, 4: 4.5, 6: 4.0, 8: 5.0})
    reason = "TMDB recommends it alongside Film 2"
    picks = recommend_films(model, catalog, member, Filters(), 30, boost={25: reason})
    extra = [p for p in picks if p.film.film_id == 25]
    assert extra and reason in extra[0].reasons
    assert extra[0].contributions["tmdb"] > 0


def test_a_boosted_pick_is_listed_and_matched_by_its_own_score_not_the_boost():
    catalog = block_catalog()
    model = fit(corpus(), catalog, HybridSettings(seed=0, als_factors=0))
    member = matched(catalog, {2: 5.0, 4: 4.5, 6: 4.0, 8: 5.0, 10: 4.0})
    plain = {p.film.film_id: p for p in recommend_films(model, catalog, member, Filters(), 12)}
    weakest = min(plain.values(), key=lambda p: p.score).film.film_id
    boosted = recommend_films(model, catalog, member, Filters(), 12, boost={weakest: "TMDB recommends it"})
    again = next(p for p in boosted if p.film.film_id == weakest)
    assert again.score == plain[weakest].score and again.match == plain[weakest].match
    assert [p.score for p in boosted] == sorted((p.score for p in boosted), reverse=True)


def test_an_unrated_film_by_a_director_the_member_loves_ranks_above_an_unrelated_one():
    films = list(block_catalog().films)
    films += [Film(film_id=25, title="New Even", year=2024, genres=("Drama",), directors=("Ann Even",)),
              Film(film_id=26, title="New Other", year=2024, genres=("Drama",), directors=("Someone Else",))]
    catalog = Catalog(films)
    settings = HybridSettings(l2=2.0, blend={"ease_liked": 1.0, "als": 1.0, "content": 1.0}, als_factors=4,
                              als_regularization=1.0, kept_neighbours=8)
    model = fit(corpus(), catalog, settings)
    assert model.index_of(25) is None and model.index_of(26) is None
    member = Member.from_matched(matched(catalog, {2: 5.0, 4: 5.0, 6: 4.5, 8: 5.0, 1: 2.0, 3: 2.0}))
    scores = model.score(member)
    assert scores[catalog.index_of(25)] > scores[catalog.index_of(26)]
    reasons = model.explain(member, 25).reasons
    assert any(r.startswith("Directed by Ann Even, like") for r in reasons)


def test_evaluate_scores_a_user_exactly_as_the_app_scores_the_same_films_as_an_export():
    users, items, ratings = block_ratings()
    catalog = block_catalog()
    settings = HybridSettings(l2=2.0, blend={"ease": 1.0, "taste": 1.0, "als": 0.5, "content": 0.5,
                                             "popularity": -0.2, "quality": 0.3},
                              als_factors=3, als_regularization=0.5, kept_neighbours=8)
    item_index = items - 1  # dense item index = catalog position
    model = fit(Corpus(users, items, ratings, 10.0), catalog, settings)
    train = build_training_data(users, item_index, ratings, 60, N_ITEMS, 10.0)
    offline = evaluation.hybrid_scorer(model, train)(np.array([7]))[0]
    mine = users == 7
    lines = ["Date,Name,Year,Letterboxd URI,Rating"] + [
        f"2024-01-01,Film {f},{1990 + f},https://boxd.it/x{f},{r / 2.0:g}" for f, r in zip(items[mine], ratings[mine])]
    export = read_upload("\n".join(lines).encode(), "ratings.csv", 1 << 20)
    matched_films = match_profile(profile_from_export(export), CatalogIndex(catalog.films))
    assert sum(m.film is not None for m in matched_films) == int(mine.sum())
    served = model.bind(catalog).score(Member.from_matched(matched_films))
    assert np.allclose(offline, served, atol=1e-4)
    assert np.argsort(-offline)[:10].tolist() == np.argsort(-served)[:10].tolist()


def test_a_member_with_fewer_than_five_films_is_a_cold_start():
    catalog = block_catalog()
    assert is_cold_start(matched(catalog, {1: 4.0, 2: 3.0, 3: None, 4: None}))
    assert not is_cold_start(matched(catalog, {1: 4.0, 2: 3.0, 3: None, 4: None, 5: 2.0}))
    assert is_cold_start(matched(catalog, {f: None for f in range(1, 9)}, watched=False, watchlist=True))


def test_signals_weigh_ratings_above_watches_above_watchlist():
    catalog = block_catalog()
    entries = [
        MatchedFilm(ProfileFilm(title="a", rating=5.0), catalog.by_id(1)),
        MatchedFilm(ProfileFilm(title="b", rating=1.0), catalog.by_id(2)),
        MatchedFilm(ProfileFilm(title="c", liked=True), catalog.by_id(3)),
        MatchedFilm(ProfileFilm(title="d"), catalog.by_id(4)),
        MatchedFilm(ProfileFilm(title="e", watched=False, watchlist=True), catalog.by_id(5)),
        MatchedFilm(ProfileFilm(title="f", rewatch=True), catalog.by_id(6)),
        MatchedFilm(ProfileFilm(title="unmatched"), None),
    ]
    films = member_films(entries)
    assert len(films) == 6
    presence, centred = member_signals(films, SignalWeights())
    assert presence[0] == presence[1] > presence[3] > presence[4] > 0
    assert presence[5] > presence[3]
    assert centred[0] > 0 > centred[1]
    assert centred[2] > 0 and centred[3] == 0


def test_stars_read_as_letterboxd_shows_them():
    assert stars_text(5.0) == "★★★★★"
    assert stars_text(3.5) == "★★★½"
    assert stars_text(0.5) == "½"


def test_one_member_and_a_batch_of_rows_score_the_same():
    catalog = block_catalog()
    settings = HybridSettings(l2=2.0, blend={"ease": 1.0, "ease_liked": 1.0, "taste": 1.0, "als": 1.0},
                              als_factors=3, als_regularization=0.5, kept_neighbours=8)
    model = fit(corpus(), catalog, settings)
    member = Member.from_matched(matched(catalog, {2: 4.0, 4: 3.5, 7: 2.0}))
    rows, _, _, _ = model.member_rows(member)
    import scipy.sparse as sp

    batch = MemberRows(sp.vstack([rows.presence, rows.presence]).tocsr(),
                       sp.vstack([rows.centred, rows.centred]).tocsr())
    assert np.allclose(model.score(batch)[1], model.score(member), atol=1e-5)


def test_a_model_survives_its_arrays_to_half_precision_with_the_same_picks():
    catalog = block_catalog(extra=1)
    settings = HybridSettings(l2=2.0, blend={"ease": 1.0, "als": 1.0, "neighbours": 1.0, "content": 0.5},
                              als_factors=3, als_regularization=0.5, kept_neighbours=8, neighbours_beta=0.5)
    model = fit(corpus(), catalog, settings)
    arrays = model.to_arrays()
    again = HybridModel.from_arrays(arrays, catalog)
    member = Member.from_matched(matched(catalog, {2: 4.0, 4: 3.5, 7: 2.0}))
    assert arrays["neighbours_data"].dtype == np.float16 and arrays["ease_indices"].dtype == np.uint16
    assert np.allclose(model.score(member), again.score(Member(member.films)), atol=0.01)
    assert model.recommend(member, 5)[0].tolist() == again.recommend(Member(member.films), 5)[0].tolist()


def test_match_reads_99_for_the_best_pick_and_less_for_weaker_ones():
    from services.domain import ScoredFilm

    film = Film(film_id=1, title="x")
    picks = [ScoredFilm(film, 10.0), ScoredFilm(film, 5.0), ScoredFilm(film, -1.0)]
    assert match_percents(picks) == [99, 74, 45]
    assert match_percents([]) == []


def test_the_match_is_a_calibrated_chance_that_orders_the_list():
    catalog = block_catalog()
    model = fit(corpus(), catalog, HybridSettings(seed=0, als_factors=0))
    assert model.match_slope > 0
    member = matched(catalog, {2: 5.0, 4: 4.5, 6: 4.0, 8: 5.0, 10: 4.0, 1: 1.0})
    picks = recommend_films(model, catalog, member, Filters(), 8)
    shown = match_percents(picks)
    assert shown == [p.match for p in picks] and all(1 <= m <= 99 for m in shown)
    assert shown == sorted(shown, reverse=True)
    assert [p.score for p in picks] == sorted((p.score for p in picks), reverse=True)
    # Films of the member's own block are likely liked; the other block's are not.
    evens = [p.match for p in picks if p.film.film_id % 2 == 0]
    odds = [p.match for p in picks if p.film.film_id % 2 == 1]
    assert evens and odds and min(evens) > max(odds)


def test_a_film_added_to_the_catalog_after_fitting_is_scored_without_a_rebuild():
    catalog = block_catalog()
    # A blend that reads content: films nobody rated are scored from it.
    model = fit(corpus(), catalog, HybridSettings(seed=0, als_factors=4, l2=2.0, als_regularization=0.5,
                                                  blend={"ease_liked": 1.0, "als": 1.0, "content": 1.0}))
    newcomer = Film(film_id=500, title="New Even", year=2024, genres=("Drama",), directors=("Ann Even",))
    extended = catalog.extended([newcomer])
    served, fresh = model.bind(extended), model.bind(Catalog(list(catalog.films) + [newcomer]))
    model.bind(catalog).prepare()
    member = Member.from_matched(matched(catalog, {f: 5.0 for f in (2, 4, 6, 8)}))
    scores, expected = served.score(member), fresh.score(member)
    assert served._view().content is not fresh._view().content, "the extended view came from the parent's"
    assert np.argsort(-scores)[:6].tolist() == np.argsort(-expected)[:6].tolist()
    assert scores[extended.index_of(500)] > scores[extended.index_of(1)], "the newcomer is near the member's films"
    lover = Member.from_matched(matched(catalog, {2: 5.0}) + [MatchedFilm(ProfileFilm(title="New Even", rating=5.0),
                                                                        newcomer)])
    assert served.score(lover)[extended.index_of(500)] != 0.0
    assert served.recommend(member, 6, Filters())[0].tolist() == fresh.recommend(member, 6, Filters())[0].tolist()


def test_a_catalog_extended_twice_in_one_run_is_served_from_the_full_catalogs_view():
    import gc

    catalog = block_catalog()
    model = fit(corpus(), catalog, HybridSettings(seed=0, als_factors=4))
    model.bind(catalog).prepare()
    first = catalog.extended([Film(film_id=500, title="New Even", year=2024, genres=("Drama",))])
    second = first.extended([Film(film_id=501, title="Newer Odd", year=2025, genres=("Comedy",))])
    del first  # the run let go of its first extension, whose view was never derived
    gc.collect()
    served = model.bind(second)
    assert served._view().base is model.bind(catalog)._view().base, "extended, not built again"
    member = Member.from_matched(matched(catalog, {f: 5.0 for f in (2, 4, 6, 8)}))
    fresh = model.bind(Catalog(list(second.films)))
    assert served.recommend(member, 6, Filters())[0].tolist() == fresh.recommend(member, 6, Filters())[0].tolist()


def test_films_nobody_rated_take_the_members_share_of_a_list_in_their_own_order():
    from services.recsys.ranking import interleave_unrated, unrated_share

    rated = np.array([True] * 6 + [False] * 4)
    assert unrated_share(np.array([0, 1, 2, -1]), rated) == 0.0, "a member of rated films only gets none"
    assert unrated_share(np.array([6, 7, 8, 9, 0]), rated) == 0.48  # 0.6 x 4/5
    assert unrated_share(np.array([6, 7, 8, 9]), rated) == 0.5, "never more than half"
    assert unrated_share(np.array([-1, -1]), rated) == 0.0
    scores = np.array([9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 0.3, 0.1, 0.2, -1.0])
    allowed = np.ones(10, dtype=bool)
    allowed[9] = False
    out = interleave_unrated(scores, allowed, rated, 0.5)
    order = np.argsort(-out, kind="stable")[:9].tolist()
    assert order == [0, 6, 1, 8, 2, 7, 3, 4, 5], "one unrated film after each rated one, best unrated first"
    np.testing.assert_array_equal(out[rated], scores[rated])
    assert out[9] == scores[9], "films not allowed are left alone"
    np.testing.assert_array_equal(interleave_unrated(scores, allowed, rated, 0.0), scores)



def test_interleaving_only_what_a_top_list_reaches_gives_the_full_orders_top_list():
    from services.recsys.ranking import interleave_unrated

    rng = np.random.default_rng(3)
    for trial in range(30):
        n = 2000
        rated = rng.random(n) < 0.3
        scores = np.round(rng.normal(size=n), 1)  # rounded: many ties
        order_by = np.round(rng.normal(size=n), 1)
        allowed = rng.random(n) < 0.9
        lifted = rng.choice(n, 5, replace=False)
        share = float(rng.uniform(0.05, 0.5))
        full = interleave_unrated(scores, allowed, rated, share, order_by)
        part = interleave_unrated(scores, allowed, rated, share, order_by, keep=40, extra=lifted)
        placed = set(np.flatnonzero(part != full).tolist())
        cold = np.flatnonzero(allowed & ~rated)
        best_cold = cold[np.argsort(-full[cold], kind="stable")[:40]]
        assert not placed & (set(best_cold.tolist()) | set(lifted.tolist()) | set(np.flatnonzero(rated).tolist()))
        full[lifted] += 1.0
        part[lifted] += 1.0
        top_full = np.argsort(-np.where(allowed, full, -np.inf), kind="stable")[:40]
        top_part = np.argsort(-np.where(allowed, part, -np.inf), kind="stable")[:40]
        assert top_full.tolist() == top_part.tolist(), f"trial {trial}"

def test_a_member_of_unrated_films_gets_unrated_picks_and_one_of_rated_films_none():
    catalog = block_catalog(extra=6)  # films 25-30 exist in the catalog but nobody rated them
    model = fit(corpus(), catalog, HybridSettings(seed=0, als_factors=4))
    rated_member = Member.from_matched(matched(catalog, {f: 5.0 for f in (2, 4, 6, 8, 10)}))
    recent_member = Member.from_matched(matched(catalog, {f: 5.0 for f in (2, 26, 28, 4, 30)}))
    rated_ids, _ = model.recommend(rated_member, 8, Filters())
    recent_ids, _ = model.recommend(recent_member, 8, Filters())
    assert not set(rated_ids.tolist()) & set(range(25, 31))
    assert set(recent_ids.tolist()) & set(range(25, 31))


def test_the_best_of_many_films_are_the_first_of_a_stable_sort():
    from services.recsys.explain import _best

    rng = np.random.default_rng(3)
    for _ in range(200):
        values = rng.integers(0, 4, size=rng.integers(1, 12)).astype(np.float32)
        positions = np.flatnonzero(rng.random(values.size) < 0.7)
        for count in (1, 2, 3):
            expected = positions[np.argsort(-values[positions], kind="stable")][:count]
            assert _best(positions, values, count).tolist() == expected.tolist()
def test_more_like_a_film_finds_unseen_films_of_its_own_block_ordered_by_the_members_score():
    from services.recsys.similar import more_like

    catalog = block_catalog()
    model = fit(corpus(), catalog, HybridSettings(seed=0, als_factors=4)).bind(catalog)
    member = Member.from_matched(matched(catalog, {2: 5.0, 4: 4.5, 6: 4.0, 1: 3.0, 3: 3.0}))
    ids, scores = more_like(model, member, 5, 4, exclude=[7])
    assert len(ids) == 4 and all(int(i) % 2 == 1 for i in ids), "films like an odd film are odd films"
    assert not {1, 3, 5, 7} & set(ids.tolist()), "seen, the film itself and excluded films never come back"
    assert list(scores) == sorted(scores, reverse=True)
    evens, _ = more_like(model, member, 8, 3)
    assert all(int(i) % 2 == 0 for i in evens) and not {2, 4, 6, 8} & set(evens.tolist())


def test_a_director_on_three_loved_films_outweighs_a_genre_on_many_for_films_nobody_rated():
    import scipy.sparse as sp

    from services.content_vectors import ContentModel
    from services.recsys.content import term_affinity

    films = [Film(film_id=i, title=f"Drama {i}", year=2015, genres=("Drama",), directors=(f"D{i}",))
             for i in range(40)]
    films += [Film(film_id=100 + i, title=f"Vega {i}", year=2015, genres=("Comedy",), directors=("Ana Vega",))
              for i in range(3)]
    films += [Film(film_id=200, title="New Vega", year=2016, genres=("Comedy",), directors=("Ana Vega",)),
              Film(film_id=201, title="New Drama", year=2016, genres=("Drama",), directors=("Someone",)),
              Film(film_id=202, title="New Low", year=2016, genres=("Comedy",), directors=("Bo Low",)),
              Film(film_id=203, title="Low One", year=2015, genres=("Comedy",), directors=("Bo Low",))]
    content = ContentModel(films)
    member = list(range(30)) + [40, 41, 42, 46]  # 30 dramas a little above average, Vega's three loved, Low's one hated
    centred = [0.05] * 30 + [0.4, 0.4, 0.4, -0.5]
    shape = (1, len(films))
    presence = sp.csr_matrix((np.ones(len(member), np.float32), ([0] * len(member), member)), shape=shape)
    taste = sp.csr_matrix((np.array(centred, np.float32), ([0] * len(member), member)), shape=shape)
    scores = term_affinity(content, presence, taste)[0]
    assert scores[43] > scores[44], "the loved director's new film beats one more drama"
    assert scores[45] < scores[44], "the hated director's new film comes below an unrelated one"
    twice = term_affinity(content, sp.vstack([presence, presence]).tocsr(), sp.vstack([taste, taste]).tocsr())
    np.testing.assert_allclose(twice, np.vstack([scores, scores]), rtol=1e-6)


def test_evaluate_ranks_cold_films_as_the_app_orders_films_nobody_rated():
    catalog = block_catalog(extra=6)
    model = fit(corpus(), catalog, HybridSettings(seed=0, als_factors=4, blend={"ease": 1.0, "content": 1.0}))
    member = Member.from_matched(matched(catalog, {f: 5.0 for f in (2, 26, 28, 4, 30)}))
    view = model._view()
    state = model._state(member)
    single = model._unrated_order(view, state, state.total)
    np.testing.assert_allclose(model.unrated_order(state.rows)[0], single, rtol=1e-5, atol=1e-5)
    assert not np.allclose(single, state.total), "the content part is replaced by the term affinity"


def test_the_most_telling_films_are_the_liked_then_highest_rated_then_most_logged():
    from services.recsys import most_telling

    entries = [
        ProfileFilm("Watchlisted", 2020, watched=False, watchlist=True),
        ProfileFilm("Watched once", 2020, watched_dates=("2024-01-01",)),
        ProfileFilm("Watched twice", 2020, watched_dates=("2023-01-01", "2024-02-01")),
        ProfileFilm("Rated 2", 2020, rating=2.0),
        ProfileFilm("Rated 4.5", 2020, rating=4.5),
        ProfileFilm("Liked, rated 3", 2020, rating=3.0, liked=True),
    ]
    titles = [e.title for e in most_telling(entries, 10)]
    assert titles == ["Liked, rated 3", "Rated 4.5", "Rated 2", "Watched twice", "Watched once", "Watchlisted"]
    assert [e.title for e in most_telling(entries, 2)] == ["Liked, rated 3", "Rated 4.5"]
    assert most_telling(entries, 0) == []
