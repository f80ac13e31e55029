"""The held-out protocol shared by evaluation and by every tuning step: split, rank, score.

Per user with at least MIN_USER_RATINGS ratings, a seeded random HOLDOUT_FRACTION of
the ratings (at least one) is held out. Relevant = held-out films rated at least
RELEVANT_FRACTION x the scale. Users with no relevant held-out film are skipped.
Every film the user has not rated in training is ranked; Recall@K is
hits / min(K, relevant) and NDCG@K uses binary gains.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from services.bands import map_bands

MIN_USER_RATINGS = 5
HOLDOUT_FRACTION = 0.2
RELEVANT_FRACTION = 0.7
DEFAULT_K = 20


@dataclass(frozen=True)
class Split:
    """Training rows, held-out rows and the users to score, all as dense indices."""

    train_users: np.ndarray
    train_items: np.ndarray
    train_ratings: np.ndarray
    test_users: np.ndarray
    test_items: np.ndarray
    test_ratings: np.ndarray
    eval_users: np.ndarray  # users with at least one relevant held-out film, ascending
    relevant: sp.csr_matrix  # users x items, 1 where held out and relevant


def holdout_counts(n_ratings: np.ndarray, fraction: float = HOLDOUT_FRACTION) -> np.ndarray:
    """Return how many ratings each user holds out: round(fraction x n), at least one."""
    return np.maximum(1, np.floor(n_ratings * fraction + 0.5)).astype(np.int64)


def holdout_split(
    users: np.ndarray,
    items: np.ndarray,
    ratings: np.ndarray,
    n_users: int,
    n_items: int,
    scale: float,
    seed: int,
    min_ratings: int = MIN_USER_RATINGS,
    fraction: float = HOLDOUT_FRACTION,
    relevant_fraction: float = RELEVANT_FRACTION,
) -> Split:
    """Hold out a seeded random fraction of each eligible user's ratings.

    Users with fewer than `min_ratings` keep everything in training. The result
    does not depend on the order of the input rows.
    """
    users = np.asarray(users, dtype=np.int64)
    items = np.asarray(items, dtype=np.int64)
    ratings = np.asarray(ratings, dtype=np.float32)
    order = np.lexsort((items, users))
    users, items, ratings = users[order], items[order], ratings[order]
    per_user = np.bincount(users, minlength=n_users)
    rng = np.random.default_rng(seed)
    shuffled = np.lexsort((rng.random(users.size), users))
    sorted_users = users[shuffled]
    starts = np.searchsorted(sorted_users, sorted_users, side="left")
    position = np.arange(sorted_users.size) - starts
    held = (position < holdout_counts(per_user, fraction)[sorted_users]) & (per_user[sorted_users] >= min_ratings)
    test = np.zeros(users.size, dtype=bool)
    test[shuffled] = held
    is_relevant = test & (ratings >= relevant_fraction * scale)
    relevant = sp.csr_matrix(
        (np.ones(int(is_relevant.sum()), dtype=np.float32), (users[is_relevant], items[is_relevant])),
        shape=(n_users, n_items),
    )
    eval_users = np.flatnonzero(np.diff(relevant.indptr) > 0)
    return Split(
        train_users=users[~test], train_items=items[~test], train_ratings=ratings[~test],
        test_users=users[test], test_items=items[test], test_ratings=ratings[test],
        eval_users=eval_users, relevant=relevant,
    )


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Return the indices of each row's k best scores, best first (big arrays a band of rows per core)."""
    k = min(k, scores.shape[1])
    parts = map_bands(lambda band: _top_k(scores[band], k), scores.shape[0], scores.size)
    return parts[0] if len(parts) == 1 else np.vstack(parts)


def best_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Return the indices of each row's k best scores, in no particular order (big arrays in bands)."""
    k = min(k, scores.shape[1])
    parts = map_bands(lambda band: np.argpartition(-scores[band], k - 1, axis=1)[:, :k], scores.shape[0],
                      scores.size)
    return parts[0] if len(parts) == 1 else np.vstack(parts)


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    best = np.take_along_axis(scores, part, axis=1)
    return np.take_along_axis(part, np.argsort(-best, axis=1, kind="stable"), axis=1)


def mask_seen(scores: np.ndarray, seen_rows: sp.csr_matrix) -> np.ndarray:
    """Set the score of every film a row has already rated to -inf, in place."""
    coo = seen_rows.tocoo()
    scores[coo.row, coo.col] = -np.inf
    return scores


def recall_ndcg(ranked: np.ndarray, relevant_rows: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Return per-row Recall@K and NDCG@K (binary gain) of ranked item lists."""
    ranked = ranked[:, :k]
    relevant_rows = relevant_rows.tocsr()
    n_relevant = np.diff(relevant_rows.indptr)
    # Look each ranked film up among the row's relevant ones: (row, item) keys, sorted.
    n_cols = max(relevant_rows.shape[1], 1)
    wanted = np.repeat(np.arange(relevant_rows.shape[0], dtype=np.int64), n_relevant) * n_cols
    wanted += relevant_rows.indices
    wanted.sort()
    keys = np.arange(ranked.shape[0], dtype=np.int64)[:, None] * n_cols + ranked
    where = np.minimum(np.searchsorted(wanted, keys), max(wanted.size - 1, 0))
    hits = wanted[where] == keys if wanted.size else np.zeros(ranked.shape, dtype=bool)
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.concatenate([[0.0], np.cumsum(discount)])[np.minimum(k, n_relevant)]
    denominator = np.minimum(k, n_relevant).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(denominator > 0, hits.sum(axis=1) / denominator, 0.0)
        ndcg = np.where(ideal > 0, (hits * discount[: ranked.shape[1]]).sum(axis=1) / ideal, 0.0)
    return recall, ndcg
