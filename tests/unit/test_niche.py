"""Niche tastes: films only a few members rated, always together, are collaborative evidence too."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from services.catalog import Catalog
from services.domain import Film, MatchedFilm, ProfileFilm
from services.filters import Filters
from services.recsys import Corpus, HybridSettings, Member, fit, recommend_films
from services.recsys.neighbours import co_rating_neighbours

POPULAR, CLUSTERS, CLUSTER_SIZE, CLUB = 300, 30, 10, 3


def niche_corpus(seed: int = 0):
    """Popular films many members rate, and clusters of tail films each rated by the same three members."""
    rng = np.random.default_rng(seed)
    users, items, ratings = [], [], []
    weights = 1.0 / np.arange(1, POPULAR + 1)
    for member in range(500):
        for film in rng.choice(POPULAR, 25, replace=False, p=weights / weights.sum()):
            users.append(member), items.append(int(film) + 1), ratings.append(float(rng.integers(4, 11)))
    for cluster in range(CLUSTERS):
        club = rng.choice(500, CLUB, replace=False)
        for k in range(CLUSTER_SIZE):
            film = POPULAR + cluster * CLUSTER_SIZE + k + 1
            for member in club:
                users.append(int(member)), items.append(film), ratings.append(float(rng.integers(7, 11)))
    films = [Film(film_id=f, title=f"Film {f}", year=1990 + f % 30, genres=("Drama",))
             for f in range(1, POPULAR + CLUSTERS * CLUSTER_SIZE + 1)]
    return Corpus(np.array(users), np.array(items), np.array(ratings), 10.0), Catalog(films)


def cluster_films(cluster: int) -> list[int]:
    return [POPULAR + cluster * CLUSTER_SIZE + k + 1 for k in range(CLUSTER_SIZE)]


def test_films_rated_together_by_the_same_few_members_are_each_others_strongest_neighbours():
    presence = sp.csr_matrix(np.array([[1, 1, 1, 1, 0], [1, 1, 1, 0, 1], [1, 1, 1, 0, 0], [0, 0, 0, 1, 1],
                                       [0, 0, 0, 1, 1], [0, 0, 0, 1, 1]], dtype=np.float32))
    weights = co_rating_neighbours(presence, kept=2).toarray()
    assert np.allclose(weights.sum(axis=1), 1.0) and np.all(np.diag(weights) == 0)
    assert set(np.flatnonzero(weights[0])) == {1, 2}, "films 0, 1, 2 are always rated together"
    assert weights[3, 4] > weights[3, 0], "film 3 is rated with film 4 by three members, with film 0 by one"


def test_a_member_whose_favourites_are_a_small_co_rated_group_is_recommended_the_rest_of_it():
    corpus, catalog = niche_corpus()
    model = fit(corpus, catalog, HybridSettings(seed=0, als_factors=4, head_items=100))
    group = cluster_films(7)
    favourites = group[:5]
    matched = [MatchedFilm(ProfileFilm(title=f"Film {f}", rating=5.0), catalog.by_id(f)) for f in favourites]
    matched += [MatchedFilm(ProfileFilm(title=f"Film {f}", rating=3.0), catalog.by_id(f)) for f in (1, 2, 3)]
    picks = recommend_films(model, catalog, matched, Filters(), 5)
    assert model.blend.get("neighbours", 0.0) > 0
    assert len({p.film.film_id for p in picks} & set(group[5:])) >= 4, [p.film.film_id for p in picks]
    # Explained by the member's own films, though each of them carries only a part of the pick.
    assert all(p.reasons[0].startswith("Because you rated Film ") for p in picks if p.film.film_id in group)


def test_without_co_rating_neighbours_the_same_member_gets_little_of_the_group():
    corpus, catalog = niche_corpus()
    model = fit(corpus, catalog, HybridSettings(seed=0, als_factors=4, head_items=100, neighbours_kept=0))
    group = cluster_films(7)
    matched = [MatchedFilm(ProfileFilm(title=f"Film {f}", rating=5.0), catalog.by_id(f)) for f in group[:5]]
    ids, _ = model.bind(catalog).recommend(Member.from_matched(matched), 5)
    assert len(set(ids.tolist()) & set(group[5:])) <= 2, "the test corpus needs the neighbours to be niche"
