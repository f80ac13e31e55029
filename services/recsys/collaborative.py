"""Collaborative parts: EASE over the most-watched films, implicit ALS over every film with activity.

EASE (one item x item solve) is the strongest model where films have many members,
but its Gram matrix is dense, so it covers at most HEAD_ITEMS films: the head.
ALS factors cover every film anyone in the corpus has watched, so the long tail is
scored too, and content-predicted factors extend it to films nobody watched.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from services.model import (
    AlsModel,
    binary,
    ease_from_inverse,
    ease_inverse,
    gram,
    keep_strongest,
)

HEAD_ITEMS = 10_000  # films EASE covers: a dense float32 Gram of this size is 400 MB
KEPT_NEIGHBOURS = 1024  # strongest weights kept per film in the served EASE matrices
ALS_FACTORS = 64
ALS_ALPHA = 8.0
ALS_ITERATIONS = 15
ALS_TRIAL_ITERATIONS = 10  # enough to rank regularisation values while tuning
ALS_REGULARIZATION_START = 100.0
ALS_REGULARIZATION_STEP = 10.0


def head_items(users_per_film: np.ndarray, limit: int = HEAD_ITEMS, min_users: int = 1) -> np.ndarray:
    """Return the positions (ascending) of the `limit` films with most members, at least min_users each."""
    eligible = np.flatnonzero(users_per_film >= min_users)
    if eligible.size > limit:
        order = np.argsort(-users_per_film[eligible], kind="stable")[:limit]
        eligible = eligible[order]
    return np.sort(eligible).astype(np.int64)


def ease_pair_from_inverse(inverse: np.ndarray, presence: sp.csr_matrix, liked: sp.csr_matrix, kept: int
                           ) -> tuple:
    """Return (binary EASE weights, watched-to-liked EASE weights) from P, consuming P."""
    liked_weights = keep_strongest(ease_from_inverse(inverse, gram(presence, liked)), kept)
    return keep_strongest(ease_from_inverse(inverse, overwrite=True), kept), liked_weights


def ease_pair(presence: sp.csr_matrix, liked: sp.csr_matrix, l2: float, kept: int) -> tuple:
    """Return both EASE weight matrices over these columns: one Gram, one inverse."""
    presence = binary(presence)
    inverse = ease_inverse(gram(presence), l2, overwrite=True)
    return ease_pair_from_inverse(inverse, presence, liked, kept)


def fit_als(presence: sp.csr_matrix, factors: int, regularization: float, alpha: float, iterations: int,
            seed: int) -> np.ndarray:
    """Return ALS item factors fitted on binary presence."""
    return AlsModel(factors, regularization, alpha, iterations, seed).fit(binary(presence)).item_factors


def fold_in(factors: np.ndarray, base: np.ndarray, cols: np.ndarray, weights: np.ndarray, alpha: float,
            per_film: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Solve one member's factors against fixed item factors; return (user factors, A^-1 V_m^T).

    The ALS user step for a member the model never saw (Hu, Koren, Volinsky 2008):
    (V^T V + reg I + V_m^T (C_m - I) V_m) u = V_m^T C_m 1, with C = 1 + alpha |w|.
    The second result, times each film's confidence, says how much each of the
    member's films moves every score: what explanations are made of (None without
    `per_film`, which spares scoring a member of thousands of films a k x m solve).
    """
    k = factors.shape[1]
    if cols.size == 0 or k == 0:
        return np.zeros(k, dtype=np.float32), np.zeros((k, cols.size), dtype=np.float32)
    local = factors[cols].astype(np.float64)
    weight = np.abs(weights).astype(np.float64) * alpha
    system = base + (local.T * weight) @ local
    if not per_film:
        return np.linalg.solve(system, local.T @ (1.0 + weight)).astype(np.float32), None
    solved = np.linalg.solve(system, local.T)  # A^-1 V_m^T, k x m
    user = solved @ (1.0 + weight)
    return user.astype(np.float32), solved.astype(np.float32)


def fold_in_rows(factors: np.ndarray, base: np.ndarray, presence: sp.csr_matrix, alpha: float) -> np.ndarray:
    """Return user factors for many rows (columns index `factors`)."""
    presence = presence.tocsr()
    out = np.zeros((presence.shape[0], factors.shape[1]), dtype=np.float32)
    for r in range(presence.shape[0]):
        start, end = presence.indptr[r], presence.indptr[r + 1]
        if start < end:
            out[r] = fold_in(factors, base, presence.indices[start:end], presence.data[start:end], alpha,
                             per_film=False)[0]
    return out
