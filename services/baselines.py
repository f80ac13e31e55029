"""Collaborative models over a user x item matrix: popularity, item-kNN, RP3beta, EASE, SANSA, ALS and BPR.

Every model has `fit(matrix)`, `score(rows) -> dense scores`, where `rows` is a
CSR matrix of users (known or new) over the same items, and `nbytes`, the size of
the arrays it keeps. Scoring a new member is a fold-in: EASE, item-kNN and RP3beta
multiply the member's item vector by an item x item matrix, ALS and BPR solve the
member's factors against fixed item factors. Nothing is retrained at request time.
"""
from __future__ import annotations

import logging

import numpy as np
import scipy.linalg
import scipy.linalg.lapack
import scipy.sparse as sp

from services.bands import map_bands

DEFAULT_EASE_L2 = 500.0
DEFAULT_SANSA_DENSITY = 0.02
DEFAULT_KNN_NEIGHBOURS = 100
KNN_SHRINK = 10.0
DEFAULT_ALS_FACTORS = 64
DEFAULT_ALS_REGULARIZATION = 0.05
DEFAULT_ALS_ALPHA = 2.0
DEFAULT_ALS_ITERATIONS = 15
ALS_THREADS = 2
DEFAULT_RP3_ALPHA = 1.0
DEFAULT_RP3_BETA = 0.5
DEFAULT_RP3_NEIGHBOURS = 200
DEFAULT_BPR_FACTORS = 64
DEFAULT_BPR_LEARNING_RATE = 0.05
DEFAULT_BPR_REGULARIZATION = 0.01
DEFAULT_BPR_ITERATIONS = 100
DEFAULT_BPR_FOLD_IN_REGULARIZATION = 1.0
DEFAULT_BPR_FOLD_IN_ALPHA = 4.0
SCORE_CHUNK_ROWS = 1024  # users densified at once when scoring in bulk
# A sparse multiply-add (scipy, one thread) costs roughly this many dense BLAS ones.
SPARSE_OP_COST = 400.0
BLOCK_ROWS = 1024  # rows of an item x item matrix processed at once, to bound temporaries


class InteractionPattern:
    """Where (row, col) pairs land in a CSR matrix, the last of a repeated pair winning: worked out once
    (one sort) for several matrices of values over the same pairs."""

    def __init__(self, rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        self.shape = (int(shape[0]), int(shape[1]))
        key = rows * self.shape[1] + cols
        order = np.argsort(key, kind="stable")  # a repeated pair keeps the order it was given in
        key = key[order]
        last = np.ones(order.size, dtype=bool)
        last[:-1] = key[1:] != key[:-1]
        del key
        self.take = order[last]
        del order, last
        self.indptr = np.zeros(self.shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows[self.take], minlength=self.shape[0]), out=self.indptr[1:])
        index_type = np.int32 if max(self.shape[1], self.take.size) < 2**31 else np.int64
        self.indices = cols[self.take].astype(index_type)
        self.indptr = self.indptr.astype(index_type)

    def matrix(self, values: np.ndarray) -> sp.csr_matrix:
        """Return the float32 CSR matrix of these values (one per pair, as given), indices sorted."""
        data = np.asarray(values, dtype=np.float32)[self.take]
        matrix = sp.csr_matrix((data, self.indices.copy(), self.indptr.copy()), shape=self.shape)
        matrix.has_sorted_indices = True
        return matrix


def interaction_matrix(
    rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple[int, int]
) -> sp.csr_matrix:
    """Build a float32 CSR matrix, keeping the last value given for a repeated (row, col)."""
    return InteractionPattern(rows, cols, shape).matrix(values)


def binary(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Return a copy with every stored entry set to 1."""
    out = matrix.copy().astype(np.float32)
    out.data[:] = 1.0
    return out


def sparse_times_dense(rows: sp.csr_matrix, weights: np.ndarray) -> np.ndarray:
    """Multiply sparse rows by a dense item x item matrix, through BLAS in chunks."""
    out = np.empty((rows.shape[0], weights.shape[1]), dtype=np.float32)
    for start in range(0, rows.shape[0], SCORE_CHUNK_ROWS):
        block = rows[start:start + SCORE_CHUNK_ROWS]
        # A dense block goes through BLAS: far faster than scipy's sparse x dense.
        out[start:start + block.shape[0]] = block.toarray() @ weights
    return out


def apply_item_weights(rows: sp.csr_matrix, weights: np.ndarray | sp.csr_matrix) -> np.ndarray:
    """Return rows @ weights as a dense float32 array, for dense or sparse weights."""
    if sp.issparse(weights):
        parts = map_bands(lambda band: np.asarray((rows[band] @ weights).toarray(), dtype=np.float32),
                          rows.shape[0], rows.shape[0] * weights.shape[1])
        return parts[0] if len(parts) == 1 else np.vstack(parts)
    if rows.shape[0] == 1:
        row = rows.getrow(0)
        return (row.data[None, :] @ weights[row.indices]).astype(np.float32)
    return sparse_times_dense(rows, weights)


def array_bytes(*arrays: np.ndarray | sp.spmatrix) -> int:
    """Return the bytes held by dense arrays and by the data and index arrays of sparse ones."""
    total = 0
    for array in arrays:
        if sp.issparse(array):
            total += sum(int(getattr(array, name).nbytes) for name in ("data", "indices", "indptr")
                         if hasattr(array, name))
        else:
            total += int(np.asarray(array).nbytes)
    return total


def gram(matrix: sp.csr_matrix, other: sp.csr_matrix | None = None) -> np.ndarray:
    """Return matrix.T @ other (or matrix.T @ matrix) as a dense float32 array."""
    other_matrix = matrix if other is None else other
    row_nnz = np.diff(matrix.indptr).astype(np.float64)
    other_nnz = np.diff(other_matrix.indptr).astype(np.float64)
    sparse_cost = float(row_nnz @ other_nnz) * SPARSE_OP_COST
    dense_cost = float(matrix.shape[0]) * matrix.shape[1] * other_matrix.shape[1]
    if sparse_cost < dense_cost:
        product = matrix.T.tocsr() @ other_matrix
        return np.asarray(product.toarray(), dtype=np.float32)
    out = np.zeros((matrix.shape[1], other_matrix.shape[1]), dtype=np.float32)
    for start in range(0, matrix.shape[0], SCORE_CHUNK_ROWS):
        left = matrix[start:start + SCORE_CHUNK_ROWS].toarray()
        right = left if other is None else other_matrix[start:start + SCORE_CHUNK_ROWS].toarray()
        out += left.T @ right
    return out


def ease_inverse(gram_matrix: np.ndarray, l2: float, overwrite: bool = False) -> np.ndarray:
    """Return P = (G + l2 I)^-1 in float32 through a Cholesky factorisation (G overwritten if allowed)."""
    regularised = gram_matrix if overwrite else np.array(gram_matrix, dtype=np.float32, copy=True)
    regularised[np.diag_indices_from(regularised)] += np.float32(l2)
    # G is symmetric, so its transpose is the same matrix in the Fortran order LAPACK
    # works in: factor and invert in place, then mirror the computed triangle.
    factor, info = scipy.linalg.lapack.spotrf(regularised.T, lower=0, clean=0, overwrite_a=1)
    if info == 0:
        factor, info = scipy.linalg.lapack.spotri(factor, lower=0, overwrite_c=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"Gram matrix plus l2={l2} is not positive definite (LAPACK info {info})")
    inverse = factor.T  # C order; its lower triangle holds the result
    _mirror_lower(inverse)
    return inverse


def _mirror_lower(matrix: np.ndarray) -> None:
    """Copy the lower triangle over the upper one in place, a block of rows at a time."""
    n = matrix.shape[0]
    for start in range(0, n, BLOCK_ROWS):
        end = min(n, start + BLOCK_ROWS)
        block = matrix[start:end, start:end]
        block[...] = np.tril(block) + np.tril(block, -1).T
        matrix[start:end, end:] = matrix[end:, start:end].T


def ease_from_inverse(inverse: np.ndarray, cross: np.ndarray | None = None, overwrite: bool = False) -> np.ndarray:
    """Return EASE's item x item weights (zero diagonal) from P = (X^T X + l2 I)^-1.

    With `cross` = X^T Y the model learns to predict Y from X (for instance liked
    films from watched ones) under the same zero-diagonal constraint:
    B = P X^T Y - P diag(g), g_j = (P X^T Y)_jj / P_jj.
    Without it, Y = X and this is Steck's EASE: B = -P / diag(P).
    """
    diagonal = np.diag(inverse).copy()
    if cross is None:
        weights = inverse if overwrite else inverse.copy()
        weights /= -diagonal[None, :]
    else:
        weights = inverse @ cross.astype(np.float32, copy=False)
        gamma = np.diag(weights) / diagonal
        for start in range(0, weights.shape[0], BLOCK_ROWS):
            weights[start:start + BLOCK_ROWS] -= inverse[start:start + BLOCK_ROWS] * gamma[None, :]
    np.fill_diagonal(weights, 0.0)
    return weights


def ease_weights(gram_matrix: np.ndarray, l2: float, cross: np.ndarray | None = None) -> np.ndarray:
    """Return EASE weights for G = X^T X (and optional X^T Y) in closed form."""
    return ease_from_inverse(ease_inverse(gram_matrix, l2), cross, overwrite=True)


def keep_strongest(weights: np.ndarray, per_row: int) -> np.ndarray | sp.csr_matrix:
    """Keep each row's `per_row` largest-magnitude weights as a CSR matrix (dense if all fit)."""
    n_rows, n_cols = weights.shape
    if per_row >= n_cols:
        return weights
    index = np.empty((n_rows, per_row), dtype=np.int32)
    values = np.empty((n_rows, per_row), dtype=np.float32)

    def strongest(rows: slice) -> None:
        for start in range(rows.start, rows.stop, BLOCK_ROWS):
            end = min(rows.stop, start + BLOCK_ROWS)
            block = weights[start:end]
            top = np.argpartition(-np.abs(block), per_row - 1, axis=1)[:, :per_row]
            top.sort(axis=1)
            index[start:end] = top
            values[start:end] = np.take_along_axis(block, top, axis=1)

    map_bands(strongest, n_rows, weights.size)
    indptr = np.arange(0, n_rows * per_row + 1, per_row, dtype=np.int64)
    out = sp.csr_matrix((values.ravel(), index.ravel(), indptr), shape=weights.shape, dtype=np.float32)
    out.eliminate_zeros()
    return out


class PopularityModel:
    """Rank films by how many users have them: the same list for everyone."""

    name = "popularity"

    def __init__(self) -> None:
        self.counts = np.zeros(0, dtype=np.float32)

    def fit(self, matrix: sp.csr_matrix) -> PopularityModel:
        """Count users per item."""
        self.counts = np.asarray((matrix != 0).sum(axis=0), dtype=np.float32).ravel()
        return self

    def score(self, rows: sp.csr_matrix) -> np.ndarray:
        """Return the item counts for every row."""
        return np.broadcast_to(self.counts, (rows.shape[0], self.counts.size)).copy()

    @property
    def nbytes(self) -> int:
        """Return the bytes of the arrays kept."""
        return array_bytes(self.counts)


class ItemKnnModel:
    """Item-item cosine neighbourhoods on binary presence, `neighbours` kept per item."""

    name = "item_knn"

    def __init__(self, neighbours: int = DEFAULT_KNN_NEIGHBOURS, shrink: float = KNN_SHRINK) -> None:
        self.neighbours = neighbours
        self.shrink = shrink
        self.similarity: np.ndarray | sp.csr_matrix = np.zeros((0, 0), dtype=np.float32)

    def fit(self, matrix: sp.csr_matrix) -> ItemKnnModel:
        """Compute shrunk cosine similarities and keep the strongest neighbours of each item."""
        presence = binary(matrix)
        co = gram(presence)
        norms = np.sqrt(np.diag(co)).astype(np.float32)
        co /= norms[:, None] * norms[None, :] + np.float32(self.shrink)
        np.fill_diagonal(co, 0.0)
        # Row i holds the items that film i points to, as in EASE's layout.
        self.similarity = keep_strongest(co, self.neighbours)
        return self

    def score(self, rows: sp.csr_matrix) -> np.ndarray:
        """Sum the neighbours' similarities over each row's films."""
        return apply_item_weights(binary(rows), self.similarity)

    @property
    def nbytes(self) -> int:
        """Return the bytes of the arrays kept."""
        return array_bytes(self.similarity)


class Rp3BetaModel:
    """RP3beta (Paudel et al. 2016): three-step random-walk item similarities, popular targets penalised.

    The walk goes film i -> a member who has i -> film j, each step chosen uniformly
    and raised to the power `alpha`; the probability of reaching j is divided by
    popularity(j) ** beta. Each film keeps its `neighbours` most probable targets, so
    the weights are sparse: films x neighbours, never films x films.
    """

    name = "rp3beta"

    def __init__(self, alpha: float = DEFAULT_RP3_ALPHA, beta: float = DEFAULT_RP3_BETA,
                 neighbours: int = DEFAULT_RP3_NEIGHBOURS) -> None:
        self.alpha = alpha
        self.beta = beta
        self.neighbours = neighbours
        self.similarity = sp.csr_matrix((0, 0), dtype=np.float32)

    def fit(self, matrix: sp.csr_matrix) -> Rp3BetaModel:
        """Compute the walk probabilities a block of source films at a time and keep the strongest."""
        presence = binary(matrix)
        n_items = presence.shape[1]
        user_degree = np.diff(presence.indptr).astype(np.float32)
        item_degree = np.asarray(presence.sum(axis=0), dtype=np.float32).ravel()
        with np.errstate(divide="ignore"):
            user_step = np.where(user_degree > 0, user_degree ** -self.alpha, 0.0).astype(np.float32)
            item_step = np.where(item_degree > 0, item_degree ** -self.alpha, 0.0).astype(np.float32)
            penalty = np.where(item_degree > 0, item_degree ** -self.beta, 0.0).astype(np.float32)
        # Binary entries, so (row-normalised P)^alpha is the degree^-alpha scaling of each row.
        to_items = sp.diags(user_step) @ presence
        by_item = presence.tocsc()
        keep = max(1, min(self.neighbours, n_items))
        blocks = []
        for start in range(0, n_items, BLOCK_ROWS):
            end = min(n_items, start + BLOCK_ROWS)
            walk = gram(by_item[:, start:end].tocsr(), to_items.tocsr())
            walk *= item_step[start:end, None]
            walk *= penalty[None, :]
            walk[np.arange(end - start), np.arange(start, end)] = 0.0
            blocks.append(sp.csr_matrix(keep_strongest(walk, keep)))
        self.similarity = sp.vstack(blocks, format="csr", dtype=np.float32) if blocks else \
            sp.csr_matrix((0, n_items), dtype=np.float32)
        self.similarity.eliminate_zeros()
        return self

    def score(self, rows: sp.csr_matrix) -> np.ndarray:
        """Sum the walk probabilities from each row's films."""
        return apply_item_weights(binary(rows), self.similarity)

    @property
    def nbytes(self) -> int:
        """Return the bytes of the arrays kept."""
        return array_bytes(self.similarity)


class EaseModel:
    """Steck's EASE (2019) on binary presence: one closed-form item x item matrix."""

    name = "ease"

    def __init__(self, l2: float = DEFAULT_EASE_L2) -> None:
        self.l2 = l2
        self.weights = np.zeros((0, 0), dtype=np.float32)

    def fit(self, matrix: sp.csr_matrix) -> EaseModel:
        """Solve for the weights from the binary Gram matrix."""
        self.weights = ease_weights(gram(binary(matrix)), self.l2)
        return self

    def score(self, rows: sp.csr_matrix) -> np.ndarray:
        """Return rows @ B on binary presence."""
        return apply_item_weights(binary(rows), self.weights)

    @property
    def nbytes(self) -> int:
        """Return the bytes of the arrays kept."""
        return array_bytes(self.weights)


class SansaModel:
    """SANSA (Spišák et al. 2023): EASE's weights approximated by two sparse factors, over every film.

    A candidate for catalogs too large for a dense EASE, measured by `evaluate --models sansa`
    only; the `sansa` package (and `scikit-sparse` with SuiteSparse's CHOLMOD) is not one of
    the app's requirements. `density` is the share of a films x films matrix each factor keeps.
    """

    name = "sansa"

    def __init__(self, l2: float = DEFAULT_EASE_L2, density: float = DEFAULT_SANSA_DENSITY) -> None:
        self.l2 = l2
        self.density = density
        self.weights: tuple[sp.csr_matrix, sp.csr_matrix] | None = None

    @staticmethod
    def package():
        """Return the optional `sansa` module, or raise a RuntimeError saying how to install it."""
        try:
            import sansa
        except ImportError as exc:
            raise RuntimeError("the sansa candidate needs `pip install scikit-sparse sansa` "
                               "(and SuiteSparse's CHOLMOD, libsuitesparse-dev on Debian)") from exc
        return sansa

    def fit(self, matrix: sp.csr_matrix) -> SansaModel:
        """Factor the binary Gram approximately and keep the two sparse factors."""
        sansa = self.package()
        # sansa warns on every fit that a sparse target density is cheaper by another factoriser
        logging.getLogger("sansa").setLevel(logging.ERROR)
        config = sansa.SANSAConfig(
            l2=self.l2, weight_matrix_density=self.density,
            gramian_factorizer_config=sansa.CHOLMODGramianFactorizerConfig(),
            lower_triangle_inverter_config=sansa.UMRUnitLowerTriangleInverterConfig(scans=1, finetune_steps=5))
        self.weights = sansa.SANSA(config).fit(binary(matrix).astype(np.float32)).weights
        return self

    def score(self, rows: sp.csr_matrix) -> np.ndarray:
        """Return rows @ W^T @ W_r, the two sparse factors applied in turn."""
        latent = binary(rows) @ self.weights[0]
        return np.asarray((latent @ self.weights[1]).toarray(), dtype=np.float32)

    @property
    def nbytes(self) -> int:
        """Return the bytes of the arrays kept."""
        return array_bytes(*self.weights) if self.weights is not None else 0


class AlsModel:
    """Implicit-feedback ALS (Hu, Koren, Volinsky 2008) fitted with `implicit`, folded in with numpy."""

    name = "als"

    def __init__(
        self,
        factors: int = DEFAULT_ALS_FACTORS,
        regularization: float = DEFAULT_ALS_REGULARIZATION,
        alpha: float = DEFAULT_ALS_ALPHA,
        iterations: int = DEFAULT_ALS_ITERATIONS,
        random_state: int = 0,
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.random_state = random_state
        self.item_factors = np.zeros((0, factors), dtype=np.float32)

    def fit(self, matrix: sp.csr_matrix) -> AlsModel:
        """Fit item factors on confidence 1 + alpha for every watched film."""
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        confidence = binary(matrix)
        # implicit reads each stored value as the full confidence c (c - 1 weighs the Gram term).
        confidence.data[:] = np.float32(1.0 + self.alpha)
        # implicit runs its own threads; a multi-threaded BLAS underneath slows it down
        # (and implicit warns about it when the model is created).
        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=1.0,
                iterations=self.iterations,
                calculate_training_loss=False,
                num_threads=ALS_THREADS,
                random_state=self.random_state,
            )
            model.fit(confidence, show_progress=False)
        self.item_factors = np.ascontiguousarray(model.item_factors, dtype=np.float32)
        return self

    def user_factors(self, rows: sp.csr_matrix) -> np.ndarray:
        """Solve each row's factors against the fixed item factors (one ALS half-step)."""
        return als_fold_in(self.item_factors, rows, self.regularization, self.alpha)

    def score(self, rows: sp.csr_matrix) -> np.ndarray:
        """Return folded-in user factors times item factors."""
        return self.user_factors(binary(rows)) @ self.item_factors.T

    @property
    def nbytes(self) -> int:
        """Return the bytes of the arrays kept."""
        return array_bytes(self.item_factors)


class BprModel:
    """Bayesian Personalised Ranking (Rendle et al. 2009) fitted with `implicit`, folded in by least squares.

    BPR learns item vectors (the last one of each is an item bias) from sampled
    (watched, unwatched) pairs. It has no closed-form step for a member it never saw,
    so a new member's vector is the ALS user step against the fixed BPR item vectors:
    confidence 1 + `fold_in_alpha` on watched films, ridge `fold_in_regularization`.
    """

    name = "bpr"

    def __init__(
        self,
        factors: int = DEFAULT_BPR_FACTORS,
        learning_rate: float = DEFAULT_BPR_LEARNING_RATE,
        regularization: float = DEFAULT_BPR_REGULARIZATION,
        iterations: int = DEFAULT_BPR_ITERATIONS,
        fold_in_regularization: float = DEFAULT_BPR_FOLD_IN_REGULARIZATION,
        fold_in_alpha: float = DEFAULT_BPR_FOLD_IN_ALPHA,
        random_state: int = 0,
    ) -> None:
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.fold_in_regularization = fold_in_regularization
        self.fold_in_alpha = fold_in_alpha
        self.random_state = random_state
        self.item_factors = np.zeros((0, factors + 1), dtype=np.float32)

    def fit(self, matrix: sp.csr_matrix) -> BprModel:
        """Fit item vectors on sampled pairs of watched and unwatched films."""
        from implicit.cpu.bpr import BayesianPersonalizedRanking
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, "blas"):
            model = BayesianPersonalizedRanking(
                factors=self.factors,
                learning_rate=self.learning_rate,
                regularization=self.regularization,
                iterations=self.iterations,
                num_threads=ALS_THREADS,
                random_state=self.random_state,
            )
            model.fit(binary(matrix), show_progress=False)
        self.item_factors = np.ascontiguousarray(model.item_factors, dtype=np.float32)
        return self

    def user_factors(self, rows: sp.csr_matrix) -> np.ndarray:
        """Solve each row's vector against the fixed item vectors."""
        return als_fold_in(self.item_factors, rows, self.fold_in_regularization, self.fold_in_alpha)

    def score(self, rows: sp.csr_matrix) -> np.ndarray:
        """Return folded-in user vectors times item vectors."""
        return self.user_factors(binary(rows)) @ self.item_factors.T

    @property
    def nbytes(self) -> int:
        """Return the bytes of the arrays kept."""
        return array_bytes(self.item_factors)


def als_fold_in(item_factors: np.ndarray, rows: sp.csr_matrix, regularization: float, alpha: float) -> np.ndarray:
    """Return user factors solved against fixed item factors, confidence 1 + alpha x |value|.

    This is the ALS user step (Hu, Koren, Volinsky 2008) for users the model never saw:
    (V^T V + V^T (C - I) V + reg I) u = V^T C p.
    """
    k = item_factors.shape[1]
    base = item_factors.T @ item_factors + np.float32(regularization) * np.eye(k, dtype=np.float32)
    out = np.zeros((rows.shape[0], k), dtype=np.float32)
    rows = rows.tocsr()
    for r in range(rows.shape[0]):
        start, end = rows.indptr[r], rows.indptr[r + 1]
        if start == end:
            continue
        index = rows.indices[start:end]
        weight = np.abs(rows.data[start:end]).astype(np.float32) * np.float32(alpha)
        local = item_factors[index]
        system = base + (local.T * weight) @ local
        out[r] = np.linalg.solve(system, local.T @ (1.0 + weight))
    return out
