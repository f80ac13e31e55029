"""Collaborative parts: EASE over the most-watched films, implicit ALS over every film with activity.

EASE (one item x item solve) is the strongest model where films have many members,
but its Gram matrix is dense, so it covers at most HEAD_ITEMS films: the head.
ALS factors cover every film anyone in the corpus has watched, so the long tail is
scored too, and content-predicted factors extend it to films nobody watched.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

import scipy.linalg
from threadpoolctl import threadpool_limits

from services.baselines import (
    AlsModel,
    binary,
    ease_from_inverse,
    ease_inverse,
    gram,
    keep_strongest,
)

BLOCK_ROWS = 1024  # rows of a films x films matrix updated at once
HEAD_ITEMS = 10_000  # films EASE covers: a dense float32 Gram of this size is 400 MB
# ...and only films this many members have: below it EASE's weights are noise, and the co-rating
# neighbours carry those films (on MovieTweetings 2016, a 5,300-film head scores as the 10,000-film one).
MIN_HEAD_USERS = 10
KEPT_NEIGHBOURS = 256  # strongest weights kept per film in the served EASE matrices (1,024 measured no better)
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
    """Return both EASE weight matrices over these columns: one Gram, one inverse.

    With fewer members than films the inverse is taken on the members' side
    (a members x members matrix), which gives the same weights for less.
    """
    presence = binary(presence)
    if presence.shape[0] < presence.shape[1]:
        return ease_pair_from_kernel_inverse(ease_inverse(member_gram(presence), l2, overwrite=True), presence,
                                             liked, l2, kept)
    inverse = ease_inverse(gram(presence), l2, overwrite=True)
    return ease_pair_from_inverse(inverse, presence, liked, kept)


def member_gram(presence: sp.csr_matrix) -> np.ndarray:
    """Return K = X X^T (members x members) as a dense float32 array."""
    return gram(presence.T.tocsr())


def ease_pair_from_kernel_inverse(kernel_inverse: np.ndarray, presence: sp.csr_matrix, liked: sp.csr_matrix,
                                  l2: float, kept: int) -> tuple:
    """Return both EASE weight matrices from M = (X X^T + l2 I)^-1, consuming M.

    By the Woodbury identity P = (X^T X + l2 I)^-1 = (I - X^T M X) / l2, and
    P X^T Y = X^T M Y, so neither the films' Gram matrix nor its inverse is formed
    by a factorisation: two products with the members x films matrices do it.
    """
    dense = presence.toarray()  # members x films, float32 (fewer members than films)
    mx = kernel_inverse @ dense  # M X
    del kernel_inverse
    inverse = dense.T @ mx  # X^T M X
    del dense
    cross = mx.T @ liked.toarray()  # X^T M Y = P X^T Y
    del mx
    inverse *= np.float32(-1.0 / l2)
    inverse[np.diag_indices_from(inverse)] += np.float32(1.0 / l2)
    diagonal = np.diag(inverse).copy()
    gamma = np.diag(cross) / diagonal
    for start in range(0, cross.shape[0], BLOCK_ROWS):
        cross[start:start + BLOCK_ROWS] -= inverse[start:start + BLOCK_ROWS] * gamma[None, :]
    np.fill_diagonal(cross, 0.0)
    liked_weights = keep_strongest(cross, kept)
    del cross
    return keep_strongest(ease_from_inverse(inverse, overwrite=True), kept), liked_weights


class GramSpectrum:
    """The eigendecomposition of a binary matrix's Gram, from which every L2's EASE inverse is cheap.

    With X^T X = V diag(w) V^T and Z = diag(sqrt(w)) V^T (or, from the members' side,
    X X^T = U diag(w) U^T and Z = U^T X), P(l2) = (X^T X + l2 I)^-1 = I / l2 - Z^T diag(d) Z
    with d = 1 / (l2 (w + l2)). One eigendecomposition of the smaller of the two Gram
    matrices serves every L2 tried: each trial is then a product, not a factorisation.
    """

    def __init__(self, presence: sp.csr_matrix) -> None:
        presence = binary(presence)
        self.n_rows, self.n_films = presence.shape
        self.from_members = self.n_rows < self.n_films
        square = member_gram(presence) if self.from_members else gram(presence)
        values, vectors = scipy.linalg.eigh(square, overwrite_a=True, check_finite=False, driver="evd")
        del square
        self.values = np.maximum(values, 0.0).astype(np.float64)
        if self.from_members:
            self.member_vectors = vectors  # U, members x r
            self.basis = np.ascontiguousarray((presence.T @ vectors).T, dtype=np.float32)  # Z = U^T X
        else:
            self.member_vectors = None
            self.basis = np.ascontiguousarray(vectors.T * np.sqrt(self.values)[:, None], dtype=np.float32)

    def _d(self, l2: float) -> np.ndarray:
        return 1.0 / (l2 * (self.values + l2))

    def diagonal(self, l2: float) -> np.ndarray:
        """Return diag(P(l2)) in float64."""
        d = self._d(l2)
        out = np.full(self.n_films, 1.0 / l2)
        for start in range(0, d.size, BLOCK_ROWS):
            block = self.basis[start:start + BLOCK_ROWS].astype(np.float64)
            out -= d[start:start + BLOCK_ROWS] @ (block * block)
        return out

    def coordinates(self, rows: sp.csr_matrix, members: np.ndarray | None = None) -> np.ndarray:
        """Return X_rows Z^T (rows x r); `members` names the rows of X they are, when they are."""
        if self.from_members and members is not None:
            kernel_rows = self.member_vectors[members] * self.values.astype(np.float32)[None, :]  # K_rows U
            return np.ascontiguousarray(kernel_rows, dtype=np.float32)
        return np.asarray(binary(rows) @ self.basis.T, dtype=np.float32)

    def scores(self, coordinates: np.ndarray, l2: float) -> np.ndarray:
        """Return EASE's x @ B for rows with these coordinates, exact wherever x is 0 (seen films differ)."""
        weighted = coordinates * self._d(l2).astype(np.float32)[None, :]
        out = weighted @ self.basis  # -(x @ P) away from x's own films
        out /= self.diagonal(l2).astype(np.float32)[None, :]
        return out

    def inverse(self, l2: float) -> np.ndarray:
        """Return P(l2) as a dense float32 films x films matrix."""
        scaled = self.basis * np.sqrt(self._d(l2)).astype(np.float32)[:, None]
        out = scaled.T @ scaled
        out *= np.float32(-1.0)
        out[np.diag_indices_from(out)] += np.float32(1.0 / l2)
        return out

    def kernel_inverse(self, l2: float) -> np.ndarray:
        """Return M(l2) = (X X^T + l2 I)^-1 (members' side only)."""
        if self.member_vectors is None:
            raise ValueError("the spectrum was taken on the films' side")
        vectors = self.member_vectors
        return (vectors * (1.0 / (self.values + l2)).astype(np.float32)[None, :]) @ vectors.T


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
    # A^-1 V_m^T, k x m: the k x k inverse times V_m^T costs a third of solving for m right-hand sides.
    solved = np.linalg.inv(system) @ local.T
    user = solved @ (1.0 + weight)
    return user.astype(np.float32), solved.astype(np.float32)


def one_blas_thread():
    """A context in which BLAS runs on one thread.

    For a Python loop of small solves (one k x k system per member) BLAS threads only
    add synchronisation: measured 20x slower in wall time on a busy 2-core machine.
    """
    return threadpool_limits(1, "blas")


def fold_in_rows(factors: np.ndarray, base: np.ndarray, presence: sp.csr_matrix, alpha: float) -> np.ndarray:
    """Return user factors for many rows (columns index `factors`)."""
    presence = presence.tocsr()
    out = np.zeros((presence.shape[0], factors.shape[1]), dtype=np.float32)
    if presence.shape[0] == 1:
        return _fold_in_each(factors, base, presence, alpha, out)
    with one_blas_thread():
        return _fold_in_each(factors, base, presence, alpha, out)


def _fold_in_each(factors: np.ndarray, base: np.ndarray, presence: sp.csr_matrix, alpha: float,
                  out: np.ndarray) -> np.ndarray:
    for r in range(presence.shape[0]):
        start, end = presence.indptr[r], presence.indptr[r + 1]
        if start < end:
            out[r] = fold_in(factors, base, presence.indices[start:end], presence.data[start:end], alpha,
                             per_film=False)[0]
    return out
