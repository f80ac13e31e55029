"""Collaborative models on tiny data with known right answers."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from services import baselines as model_module
from services.baselines import (
    AlsModel,
    BprModel,
    EaseModel,
    ItemKnnModel,
    PopularityModel,
    Rp3BetaModel,
    SansaModel,
    als_fold_in,
    array_bytes,
    ease_from_inverse,
    ease_inverse,
    ease_weights,
    gram,
    interaction_matrix,
    keep_strongest,
)


def checkerboard(n_users: int = 40, n_items: int = 20) -> sp.csr_matrix:
    """Even users watch even items, odd users odd items: a two-block world."""
    rows, cols = [], []
    for u in range(n_users):
        for i in range(n_items):
            if u % 2 == i % 2:
                rows.append(u)
                cols.append(i)
    return interaction_matrix(np.array(rows), np.array(cols), np.ones(len(rows)), (n_users, n_items))


def withheld_row(matrix: sp.csr_matrix, user: int, item: int) -> sp.csr_matrix:
    """Return the user's row without one of their items."""
    row = matrix[user].toarray()
    row[0, item] = 0
    return sp.csr_matrix(row)


def rank_of(scores: np.ndarray, item: int, seen: np.ndarray) -> int:
    """Return the 0-based rank of item among the unseen items."""
    masked = np.where(seen, -np.inf, scores)
    return int((masked > masked[item]).sum())


@pytest.mark.parametrize("make", [
    lambda: EaseModel(l2=1.0),
    lambda: ItemKnnModel(neighbours=5),
    lambda: AlsModel(factors=4, regularization=0.1, alpha=2.0, iterations=10, random_state=0),
    lambda: Rp3BetaModel(alpha=1.0, beta=0.5, neighbours=5),
    lambda: BprModel(factors=4, iterations=50, random_state=0),
], ids=["ease", "item_knn", "als", "rp3beta", "bpr"])
def test_withheld_item_of_the_users_block_ranks_first(make):
    matrix = checkerboard()
    model = make().fit(matrix)
    row = withheld_row(matrix, user=4, item=6)
    scores = model.score(row)[0]
    seen = row.toarray()[0] > 0
    assert rank_of(scores, 6, seen) == 0
    # Every item of the other block ranks below every item of the user's block.
    own = [i for i in range(20) if i % 2 == 0 and not seen[i]]
    other = [i for i in range(20) if i % 2 == 1]
    assert scores[own].min() > scores[other].max()


def test_sansa_ranks_the_withheld_item_of_the_users_block_first():
    pytest.importorskip("sansa", reason="the optional sansa candidate is not installed")
    matrix = checkerboard()
    model = SansaModel(l2=1.0, density=0.5).fit(matrix)
    row = withheld_row(matrix, user=4, item=6)
    scores = model.score(row)[0]
    seen = row.toarray()[0] > 0
    assert rank_of(scores, 6, seen) == 0
    assert model.nbytes > 0


def test_popularity_gives_everyone_the_most_watched_film_first():
    matrix = interaction_matrix(np.array([0, 1, 2, 0]), np.array([3, 3, 3, 1]), np.ones(4), (3, 5))
    scores = PopularityModel().fit(matrix).score(sp.csr_matrix((2, 5)))
    assert scores.shape == (2, 5)
    assert list(np.argsort(-scores[0])[:2]) == [3, 1]


def assert_each_column_solves_its_ridge_regression(weights, x, y, penalty):
    """Column j of B solves min ||y_j - X_{-j} b||^2 + penalty ||b||^2 with b_j = 0."""
    n = x.shape[1]
    for j in range(n):
        others = [i for i in range(n) if i != j]
        a = x[:, others]
        direct = np.linalg.solve(a.T @ a + penalty * np.eye(n - 1), a.T @ y[:, j])
        assert np.allclose(weights[others, j], direct, atol=1e-4)
        assert weights[j, j] == 0.0


def test_ease_matches_the_constrained_least_squares_solution():
    rng = np.random.default_rng(0)
    x = (rng.random((30, 8)) < 0.4).astype(np.float32)
    assert_each_column_solves_its_ridge_regression(ease_weights(x.T @ x, 2.0), x, x, 2.0)


def test_ease_with_a_target_predicts_the_target_from_the_input():
    rng = np.random.default_rng(1)
    x = (rng.random((40, 6)) < 0.5).astype(np.float32)
    y = x * (rng.random((40, 6)) < 0.6)
    weights = ease_from_inverse(ease_inverse(x.T @ x, 1.5), x.T @ y)
    assert_each_column_solves_its_ridge_regression(weights, x, y, 1.5)


def test_cholesky_inverse_matches_numpy():
    rng = np.random.default_rng(2)
    a = rng.random((50, 37)).astype(np.float32)
    inverse = ease_inverse(a.T @ a, 3.0)
    assert np.allclose(inverse, np.linalg.inv(a.T @ a + 3.0 * np.eye(37)), atol=1e-5)
    assert np.allclose(inverse, inverse.T)


def test_gram_is_the_same_through_sparse_and_dense_paths(monkeypatch):
    matrix = sp.random(60, 25, density=0.3, format="csr", random_state=3, dtype=np.float32)
    other = sp.random(60, 25, density=0.2, format="csr", random_state=4, dtype=np.float32)
    expected = (matrix.T @ other).toarray()
    monkeypatch.setattr(model_module, "SPARSE_OP_COST", 0.0)
    assert np.allclose(gram(matrix, other), expected, atol=1e-5)
    monkeypatch.setattr(model_module, "SPARSE_OP_COST", 1e12)
    assert np.allclose(gram(matrix, other), expected, atol=1e-5)


def test_interaction_matrix_keeps_the_last_value_of_a_repeated_pair():
    matrix = interaction_matrix(np.array([0, 0, 1]), np.array([2, 2, 0]), np.array([3.0, 7.0, 5.0]), (2, 3))
    assert matrix[0, 2] == 7.0
    assert matrix.nnz == 2


def test_keep_strongest_keeps_each_rows_largest_magnitudes():
    weights = np.array([[0.1, -5.0, 2.0, 0.3], [4.0, 0.0, -0.2, 1.0]], dtype=np.float32)
    kept = keep_strongest(weights, 2).toarray()
    assert kept.tolist() == [[0.0, -5.0, 2.0, 0.0], [4.0, 0.0, 0.0, 1.0]]


def test_als_fold_in_of_a_training_user_lands_near_their_fitted_taste():
    matrix = checkerboard()
    model = AlsModel(factors=4, regularization=0.1, alpha=2.0, iterations=10, random_state=0).fit(matrix)
    folded = als_fold_in(model.item_factors, matrix[[2, 3]], 0.1, 2.0)
    scores = folded @ model.item_factors.T
    assert scores[0, ::2].mean() > scores[0, 1::2].mean()
    assert scores[1, 1::2].mean() > scores[1, ::2].mean()


def test_an_empty_row_scores_zero_everywhere():
    matrix = checkerboard()
    empty = sp.csr_matrix((1, matrix.shape[1]), dtype=np.float32)
    assert not EaseModel(1.0).fit(matrix).score(empty).any()
    assert not AlsModel(factors=2, iterations=2).fit(matrix).score(empty).any()


def test_rp3beta_keeps_at_most_its_neighbours_per_film_and_never_the_film_itself():
    rng = np.random.default_rng(5)
    matrix = sp.csr_matrix((rng.random((60, 30)) < 0.3).astype(np.float32))
    model = Rp3BetaModel(neighbours=4).fit(matrix)
    assert sp.issparse(model.similarity) and model.similarity.shape == (30, 30)
    assert np.diff(model.similarity.indptr).max() <= 4
    assert not model.similarity.diagonal().any()
    assert model.nbytes == array_bytes(model.similarity) < 30 * 30 * 4


def test_rp3beta_is_the_three_step_walk_divided_by_the_targets_popularity():
    # Users 0-2 watch films 0 and 1; users 1-3 also watch film 2.
    matrix = interaction_matrix(np.array([0, 0, 1, 1, 1, 2, 2, 2, 3]), np.array([0, 1, 0, 1, 2, 0, 1, 2, 2]),
                                np.ones(9), (4, 3))
    weights = Rp3BetaModel(alpha=1.0, beta=0.5, neighbours=3).fit(matrix).similarity.toarray()
    # From film 0 (3 members): a member uniformly, then one of their films uniformly.
    walk_0_to_1 = (1 / 3) * (1 / 2 + 1 / 3 + 1 / 3)
    walk_0_to_2 = (1 / 3) * (1 / 3 + 1 / 3)
    assert weights[0, 1] == pytest.approx(walk_0_to_1 / 3 ** 0.5, rel=1e-5)
    assert weights[0, 2] == pytest.approx(walk_0_to_2 / 3 ** 0.5, rel=1e-5)
    unpenalised = Rp3BetaModel(alpha=1.0, beta=0.0, neighbours=3).fit(matrix).similarity.toarray()
    assert unpenalised[0, 1] == pytest.approx(walk_0_to_1, rel=1e-5)


def test_rp3beta_penalty_lets_a_rare_film_overtake_a_popular_one():
    # Film 0's members all hold the popular film 1; two of them also hold the rare film 2.
    rows = [0, 0, 0, 1, 1, 1, 2, 2] + list(range(3, 13))
    cols = [0, 1, 2, 0, 1, 2, 0, 1] + [1] * 10
    matrix = interaction_matrix(np.array(rows), np.array(cols), np.ones(len(rows)), (13, 3))
    plain = Rp3BetaModel(beta=0.0, neighbours=2).fit(matrix).similarity.toarray()
    penalised = Rp3BetaModel(beta=1.0, neighbours=2).fit(matrix).similarity.toarray()
    assert plain[0, 1] > plain[0, 2]
    assert penalised[0, 2] > penalised[0, 1]


def test_bpr_keeps_one_vector_per_film_with_its_bias():
    matrix = checkerboard()
    model = BprModel(factors=3, iterations=5, random_state=0).fit(matrix)
    assert model.item_factors.shape == (20, 4)
    assert model.nbytes == 20 * 4 * 4
    empty = sp.csr_matrix((1, 20), dtype=np.float32)
    assert not model.score(empty).any()
