"""The hybrid: fitting on held-out users, folding members in, filtering, diversity, reasons."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from services.catalog import Catalog
from services.domain import Film, MatchedFilm, ProfileFilm
from services.filters import Filters
from services.hybrid import (
    HybridSettings,
    SignalWeights,
    fit_hybrid,
    is_cold_start,
    learn_blend,
    member_films,
    member_signals,
    recommend,
    stars_text,
)

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


def matched(catalog: Catalog, ratings: dict[int, float | None], **flags) -> list[MatchedFilm]:
    return [MatchedFilm(ProfileFilm(title=f"Film {fid}", rating=stars, **flags), catalog.by_id(fid))
            for fid, stars in ratings.items()]


def test_the_withheld_film_of_the_members_block_ranks_first():
    users, items, ratings = block_ratings()
    model = fit_hybrid(users, items, ratings, 10.0, settings=HybridSettings(seed=0, als_factors=4))
    member = np.zeros(model.n_items, dtype=np.float32)
    member[[model.index_of(f) for f in (2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22)]] = 1.0  # all evens but 24
    presence = sp.csr_matrix(member)
    centred = sp.csr_matrix(np.zeros_like(member))
    scores = model.score(presence, centred)[0]
    scores[member > 0] = -np.inf
    assert model.item_ids[np.argmax(scores)] == 24
    assert model.report is not None and model.report.l2_trials


def test_the_same_seed_fits_the_same_model():
    users, items, ratings = block_ratings(seed=3)
    first = fit_hybrid(users, items, ratings, 10.0, settings=HybridSettings(seed=5, als_factors=0))
    second = fit_hybrid(users, items, ratings, 10.0, settings=HybridSettings(seed=5, als_factors=0))
    assert first.blend == second.blend and first.l2 == second.l2
    assert np.array_equal(first.weights_liked.toarray() if hasattr(first.weights_liked, "toarray")
                          else first.weights_liked,
                          second.weights_liked.toarray() if hasattr(second.weights_liked, "toarray")
                          else second.weights_liked)


def test_a_low_rating_pushes_the_films_neighbours_down():
    users, items, ratings = block_ratings()
    model = fit_hybrid(users, items, ratings, 10.0, settings=FIXED)
    catalog = block_catalog()
    neighbours = [f for f in range(4, N_ITEMS + 1, 2)]

    def score_of_neighbours(stars_for_film_2: float) -> float:
        member = matched(catalog, {2: stars_for_film_2, 1: 3.0, 3: 3.0, 5: 3.0, 7: 3.0})
        picks = recommend(model, catalog, member, Filters(max_per_director=0, diversity=0.0), 20)
        return float(np.mean([p.score for p in picks if p.film.film_id in neighbours]))

    assert score_of_neighbours(1.0) < score_of_neighbours(5.0)


def test_blend_learning_weights_the_feature_that_finds_held_out_films():
    rng = np.random.default_rng(0)
    n_users, n_items = 50, 40
    relevant = sp.csr_matrix((rng.random((n_users, n_items)) < 0.1).astype(np.float32))
    seen = sp.csr_matrix((n_users, n_items), dtype=np.float32)
    informative = relevant.toarray() + rng.normal(0, 0.3, (n_users, n_items)).astype(np.float32)
    features = {
        "ease_liked": rng.normal(size=(n_users, n_items)).astype(np.float32),
        "taste": informative,
        "popularity": rng.normal(size=n_items).astype(np.float32),
    }
    weights, ndcg = learn_blend(features, seen, relevant, k=5)
    assert weights["ease_liked"] == 1.0
    assert weights["taste"] >= 2.0
    assert ndcg > 0.5


def test_recommendations_are_unseen_and_explained_with_the_members_own_film():
    users, items, ratings = block_ratings()
    model = fit_hybrid(users, items, ratings, 10.0, settings=FIXED)
    catalog = block_catalog()
    member = matched(catalog, {2: 5.0, 4: 4.5, 6: 4.0, 8: 5.0, 10: 4.0, 1: 1.0})
    picks = recommend(model, catalog, member, Filters(), 5)
    assert picks
    assert not {p.film.film_id for p in picks} & {1, 2, 4, 6, 8, 10}
    assert picks[0].film.film_id % 2 == 0
    assert picks[0].reasons[0].startswith("Because you rated Film ")
    assert "★" in picks[0].reasons[0]
    assert set(picks[0].contributions) >= {"collaborative", "content", "popularity", "quality", "tmdb"}


def test_no_filtered_film_is_ever_recommended():
    users, items, ratings = block_ratings()
    model = fit_hybrid(users, items, ratings, 10.0, settings=FIXED)
    catalog = block_catalog()
    member = matched(catalog, {2: 5.0, 4: 4.5, 6: 4.0, 8: 5.0, 10: 4.0})
    watchlist = [MatchedFilm(ProfileFilm(title="Film 13", watched=False, watchlist=True), catalog.by_id(13))]
    for request in ({"genres": "Comedy"}, {"exclude_genres": "Drama"}, {"year_min": 2005},
                    {"decade": "1990s"}, {"max_runtime": 100}, {"watchlist": "only"}):
        filters = Filters.from_request(request)
        for pick in recommend(model, catalog, member + watchlist, filters, 10):
            index = catalog.index_of(pick.film.film_id)
            assert filters.allows(pick.film, float(catalog.obscurity[index]), pick.film.film_id == 13), request


def test_no_more_than_two_films_per_director_unless_asked():
    users, items, ratings = block_ratings()
    model = fit_hybrid(users, items, ratings, 10.0, settings=FIXED)
    catalog = block_catalog()
    member = matched(catalog, {14: 5.0, 16: 4.5, 18: 4.0, 20: 5.0, 22: 4.0})
    capped = recommend(model, catalog, member, Filters(genres=("drama",)), 10)
    assert sum("Ann Even" in p.film.directors for p in capped) == 2
    uncapped = recommend(model, catalog, member, Filters(genres=("drama",), max_per_director=0), 10)
    assert sum("Ann Even" in p.film.directors for p in uncapped) == 6


def test_a_tmdb_candidate_outside_the_corpus_is_scored_and_keeps_its_reason():
    users, items, ratings = block_ratings()
    model = fit_hybrid(users, items, ratings, 10.0, settings=FIXED)
    catalog = block_catalog(extra=1)  # film 25 has no ratings at all
    assert model.index_of(25) is None
    member = matched(catalog, {2: 5.0, 4: 4.5, 6: 4.0, 8: 5.0})
    reason = "TMDB recommends it alongside Film 2"
    picks = recommend(model, catalog, member, Filters(), 30, extra_candidates={25: reason})
    extra = [p for p in picks if p.film.film_id == 25]
    assert extra and reason in extra[0].reasons
    assert extra[0].contributions["tmdb"] > 0


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


def test_folding_one_member_in_gives_the_same_features_as_batch_scoring():
    users, items, ratings = block_ratings()
    settings = HybridSettings(l2=2.0, blend={"ease": 1.0, "ease_liked": 1.0, "taste": 1.0, "als": 1.0},
                              als_factors=3, als_regularization=0.5, kept_neighbours=8)
    model = fit_hybrid(users, items, ratings, 10.0, settings=settings)
    cols = np.array([model.index_of(f) for f in (2, 4, 7)])
    presence = np.array([1.0, 0.7, 1.0], dtype=np.float32)
    centred = np.array([0.2, 0.0, -0.3], dtype=np.float32)
    single = model.member_raw_features(cols, presence, centred)
    zeros = np.zeros(cols.size, dtype=np.int64)
    batch = model.raw_features(sp.csr_matrix((presence, (zeros, cols)), shape=(1, model.n_items)),
                               sp.csr_matrix((centred, (zeros, cols)), shape=(1, model.n_items)))
    assert set(single) == set(batch) == {"ease", "ease_liked", "taste", "als"}
    for name in single:
        assert np.allclose(single[name], np.ravel(batch[name]), atol=1e-5), name


def test_match_reads_99_for_the_best_pick_and_less_for_weaker_ones():
    from services.domain import ScoredFilm
    from services.hybrid import match_percents

    film = Film(film_id=1, title="x")
    picks = [ScoredFilm(film, 10.0), ScoredFilm(film, 5.0), ScoredFilm(film, -1.0)]
    assert match_percents(picks) == [99, 74, 45]
    assert match_percents([]) == []
