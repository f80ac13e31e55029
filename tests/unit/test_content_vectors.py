"""Content similarity over genres, people, keywords, decades and places."""
from __future__ import annotations

import numpy as np

from services.content_vectors import ContentModel, shared_people
from services.domain import Film


def films() -> list[Film]:
    return [
        Film(film_id=1, title="Arrival", year=2016, genres=("Drama", "Sci-Fi"), directors=("Denis Villeneuve",),
             cast=("Amy Adams",), keywords=("alien", "language")),
        Film(film_id=2, title="Blade Runner 2049", year=2017, genres=("Sci-Fi",), directors=("Denis Villeneuve",),
             cast=("Ryan Gosling",), keywords=("dystopia",)),
        Film(film_id=3, title="Enemy", year=2013, genres=("Mystery", "Thriller"), directors=("Denis Villeneuve",),
             cast=("Jake Gyllenhaal",)),
        Film(film_id=4, title="Notting Hill", year=1999, genres=("Comedy", "Romance"), directors=("Roger Michell",),
             cast=("Julia Roberts",)),
        Film(film_id=5, title="Contact", year=1997, genres=("Drama", "Sci-Fi"), directors=("Robert Zemeckis",),
             keywords=("alien",)),
        Film(film_id=6, title="Unknown", year=None),
    ]


def test_vectors_have_unit_length_except_for_featureless_films():
    matrix = ContentModel(films()).matrix
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)))
    assert np.allclose(norms.ravel()[:5], 1.0)
    assert norms.ravel()[5] == 0.0


def test_a_film_sharing_director_genre_and_decade_is_the_most_similar():
    model = ContentModel(films())
    similarity = model.similarity(np.array([0]), np.arange(6))[0]
    assert np.argsort(-similarity)[1] == 1  # Blade Runner 2049, after Arrival itself
    assert similarity[3] < similarity[4] < similarity[1]


def test_similarities_worked_out_densely_equal_the_sparse_product(monkeypatch):
    model = ContentModel(films())
    pool, others = np.array([4, 0, 2, 1]), np.array([3, 5, 0])
    expected = (model.matrix[pool] @ model.matrix[pool].T).toarray()
    assert np.allclose(model.similarity(pool, pool), expected, atol=1e-6)  # a pool against itself
    assert np.allclose(model.similarity(pool, others),
                       (model.matrix[pool] @ model.matrix[others].T).toarray(), atol=1e-6)
    monkeypatch.setattr("services.content_vectors.DENSE_SIMILARITY_CELLS", 0)  # the sparse product alone
    assert np.allclose(model.similarity(pool, pool), expected, atol=1e-6)


def test_a_profile_of_a_disliked_film_points_away_from_it():
    model = ContentModel(films())
    scores = model.scores(model.profile(np.array([0, 3]), np.array([1.0, -1.0])))
    assert scores[1] > 0 > scores[3]


def test_batch_scores_match_single_profiles():
    import scipy.sparse as sp

    model = ContentModel(films())
    rows = sp.csr_matrix(np.array([[1.0, 0, 0, 0.5, 0, 0], [0, 0, 0, 0, 2.0, 0]], dtype=np.float32))
    batch = model.batch_scores(rows)
    single = model.scores(model.profile(np.array([0, 3]), np.array([1.0, 0.5])))
    assert np.allclose(batch[0], single, atol=1e-6)


def test_an_empty_profile_scores_zero():
    model = ContentModel(films())
    assert not model.scores(model.profile(np.array([], dtype=np.int64), np.array([]))).any()


def test_shared_people_counts_loved_films_per_person():
    candidate = Film(film_id=9, title="Dune", directors=("Denis Villeneuve",), cast=("Rebecca Ferguson",))
    assert shared_people(candidate, films()[:3], "directors") == [("Denis Villeneuve", 3)]
    assert shared_people(candidate, films()[:3], "cast") == []


def test_appended_films_get_the_vectors_of_the_vocabulary_they_join():
    arrival, *others = films()
    base = ContentModel(others)
    extended = base.extended([arrival])
    assert extended.n_films == len(others) + 1
    assert (extended.matrix[:-1] != base.matrix).nnz == 0, "the films already held keep their vectors"
    vector = extended.matrix[-1].toarray().ravel()
    assert abs(float(vector @ vector) - 1.0) < 1e-5
    assert extended.similarity([len(others)], [0])[0, 0] > extended.similarity([len(others)], [2])[0, 0], \
        "Arrival sits nearer Blade Runner 2049 (director, genre, decade) than Notting Hill"
    twin = base.extended([others[0]])
    np.testing.assert_allclose(twin.matrix[-1].toarray(), base.matrix[0].toarray(), atol=1e-6)
