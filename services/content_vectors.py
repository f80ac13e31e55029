"""Content similarity: films as weighted feature vectors, members as rating-weighted profiles.

Features come from whatever the catalog knows: genres, directors, cast, keywords,
decade, countries, language (offline only genres and year). Within a group each
value is weighted by its inverse document frequency, each group is scaled to its
weight, and every film vector has unit length, so a score is a cosine.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
import scipy.sparse as sp

from services.catalog import canonical_genre
from services.domain import Film

TOP_BILLED_CAST = 6
NEIGHBOUR_DECADE_WEIGHT = 0.5  # a 1990s film is a little like an 1980s one
DENSE_SIMILARITY_CELLS = 4_000_000  # films x terms they use, up to which similarities are worked out densely


@dataclass(frozen=True)
class ContentWeights:
    """How much each feature group counts in a film's vector."""

    genre: float = 1.0
    director: float = 1.0
    cast: float = 0.6
    keyword: float = 0.7
    decade: float = 0.5
    country: float = 0.3
    language: float = 0.3


def film_features(film: Film) -> dict[str, list[tuple[str, float]]]:
    """Return a film's feature values per group, each with its raw weight."""
    groups: dict[str, list[tuple[str, float]]] = {
        "genre": [(g, 1.0) for g in dict.fromkeys(canonical_genre(g) for g in film.genres)],
        "director": [(d.strip().lower(), 1.0) for d in dict.fromkeys(film.directors) if d.strip()],
        "cast": [(c.strip().lower(), 1.0) for c in list(dict.fromkeys(film.cast))[:TOP_BILLED_CAST] if c.strip()],
        "keyword": [(k.strip().lower(), 1.0) for k in dict.fromkeys(film.keywords) if k.strip()],
        "country": [(c.strip().upper(), 1.0) for c in dict.fromkeys(film.countries) if c.strip()],
        "language": [(film.language.strip().lower(), 1.0)] if film.language else [],
        "decade": [],
    }
    if film.year:
        decade = film.year // 10 * 10
        groups["decade"] = [
            (str(decade), 1.0),
            (str(decade - 10), NEIGHBOUR_DECADE_WEIGHT),
            (str(decade + 10), NEIGHBOUR_DECADE_WEIGHT),
        ]
    return groups


GROUP_NAMES = tuple(ContentWeights.__dataclass_fields__)
_GROUP_INDEX = {name: g for g, name in enumerate(GROUP_NAMES)}


def _unit_rows(rows: list[int], cols: list[int], raws: list[float], gids: list[int], idf: np.ndarray,
               shape: tuple[int, int], weights: ContentWeights) -> sp.csr_matrix:
    """Return the film x term matrix: raw x idf, each (film, group) block scaled to its group's weight,
    each row scaled to unit length."""
    row_array = np.asarray(rows, dtype=np.int64)
    col_array = np.asarray(cols, dtype=np.int64)
    group_array = np.asarray(gids, dtype=np.int64)
    vals = np.asarray(raws, dtype=np.float64) * idf[col_array]
    block = row_array * len(GROUP_NAMES) + group_array
    block_norm = np.sqrt(np.bincount(block, weights=vals * vals, minlength=shape[0] * len(GROUP_NAMES)))
    group_weight = np.array([getattr(weights, name) for name in GROUP_NAMES], dtype=np.float64)
    if vals.size:
        vals *= group_weight[group_array] / block_norm[block]
    matrix = sp.csr_matrix((vals.astype(np.float32), (row_array, col_array)), shape=shape, dtype=np.float32)
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    return (sp.diags(np.where(norms > 0, 1.0 / np.maximum(norms, 1e-12), 0.0).astype(np.float32)) @ matrix).tocsr()


def _entries(films: Sequence[Film], column_of: Callable[[tuple[str, str], float], int | None]
             ) -> tuple[list[int], list[int], list[float], list[int]]:
    """Return (rows, columns, raw weights, group ids) of films' features; `column_of` maps a
    (group, value) term and its raw weight to a column, or None to leave the term out."""
    rows: list[int] = []
    cols: list[int] = []
    raws: list[float] = []
    gids: list[int] = []
    for i, film in enumerate(films):
        for group, values in film_features(film).items():
            g = _GROUP_INDEX[group]
            for value, raw in values:
                j = column_of((group, value), raw)
                if j is not None:
                    rows.append(i)
                    cols.append(j)
                    raws.append(raw)
                    gids.append(g)
    return rows, cols, raws, gids


def term_vectors(films: Sequence[Film], column: Mapping[tuple[str, str], int], idf: np.ndarray,
                 weights: ContentWeights = ContentWeights()) -> sp.csr_matrix:
    """Return unit-length vectors of films over a fixed vocabulary ((group, value) -> column); other terms drop."""
    entries = _entries(films, lambda key, raw: column.get(key))
    return _unit_rows(*entries, idf, (len(films), len(idf)), weights)


class ContentModel:
    """Unit-length sparse feature vectors for a list of films, in the order given."""

    def __init__(self, films: Sequence[Film], weights: ContentWeights = ContentWeights()) -> None:
        self.weights = weights
        vocabulary: dict[tuple[str, str], int] = {}
        doc_freq: list[int] = []

        def grow(key: tuple[str, str], raw: float) -> int:
            column = vocabulary.get(key)
            if column is None:
                column = vocabulary[key] = len(vocabulary)
                doc_freq.append(0)
            if raw == 1.0:
                doc_freq[column] += 1
            return column

        entries = _entries(films, grow)
        n = max(1, len(films))
        self.idf = np.log((n + 1) / (np.asarray(doc_freq, dtype=np.float64) + 1)) + 1.0
        self._set(_unit_rows(*entries, self.idf, (len(films), len(vocabulary)), weights))
        self.vocabulary = vocabulary

    def _set(self, matrix: sp.csr_matrix) -> None:
        self.matrix: sp.csr_matrix = matrix.tocsr()
        self.matrix_t: sp.csr_matrix = self.matrix.T.tocsr()

    def extended(self, films: Sequence[Film]) -> ContentModel:
        """Return a model with these films' vectors appended, over this model's vocabulary and weights.

        Terms the vocabulary lacks (a new director, say) are left out until the catalog is rebuilt."""
        out = ContentModel.__new__(ContentModel)
        out.weights, out.vocabulary, out.idf = self.weights, self.vocabulary, self.idf
        out._set(sp.vstack([self.matrix, term_vectors(films, self.vocabulary, self.idf, self.weights)]))
        return out

    @property
    def binary(self) -> sp.csr_matrix:
        """Films x terms, 1 where a film carries a term (computed once)."""
        binary = getattr(self, "_binary", None)
        if binary is None:
            binary = self.matrix.copy()
            binary.data = np.ones_like(binary.data)
            self._binary = binary
        return binary

    @property
    def doc_freq(self) -> np.ndarray:
        """How many films carry each term (computed once)."""
        freq = getattr(self, "_doc_freq", None)
        if freq is None:
            freq = self._doc_freq = np.asarray(self.binary.sum(axis=0), dtype=np.float64).ravel()
        return freq

    @property
    def n_films(self) -> int:
        return self.matrix.shape[0]

    def profile(self, indices: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Return the weighted sum of these films' vectors (a member's taste profile)."""
        indices = np.asarray(indices, dtype=np.int64)
        if indices.size == 0:
            return np.zeros(self.matrix.shape[1], dtype=np.float32)
        picked = self.matrix[indices]
        return np.asarray(picked.T @ np.asarray(weights, dtype=np.float32), dtype=np.float32).ravel()

    def scores(self, profile: np.ndarray) -> np.ndarray:
        """Return the cosine of every film with the profile (0 for an empty profile)."""
        norm = float(np.linalg.norm(profile))
        if norm == 0.0:
            return np.zeros(self.matrix.shape[0], dtype=np.float32)
        return np.asarray(self.matrix @ (profile / norm), dtype=np.float32).ravel()

    def batch_scores(self, weighted_rows: sp.csr_matrix) -> np.ndarray:
        """Return users x films cosines for users given as film-weight rows."""
        profiles = np.asarray((weighted_rows @ self.matrix).toarray(), dtype=np.float32)
        norms = np.linalg.norm(profiles, axis=1, keepdims=True)
        profiles /= np.where(norms > 0, norms, 1.0)
        return np.asarray((self.matrix @ profiles.T).T, dtype=np.float32)

    def similarity(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Return the cosine similarity of films a (rows) with films b (columns)."""
        same = a is b  # films against themselves (diversifying a pool): their rows are read once
        rows = self.matrix[np.asarray(a)]
        columns = rows if same else self.matrix[np.asarray(b)]
        # A few hundred films share a term or two almost pairwise (a language, a decade): the product is
        # dense, and quicker worked out densely over just the terms they use.
        terms = np.unique(rows.indices) if same else np.union1d(rows.indices, columns.indices)
        if (rows.shape[0] + columns.shape[0]) * terms.size > DENSE_SIMILARITY_CELLS:
            return np.asarray((rows @ columns.T).toarray(), dtype=np.float32)
        dense = _over_terms(rows, terms)
        return dense @ (dense if same else _over_terms(columns, terms)).T


def _over_terms(rows: sp.csr_matrix, terms: np.ndarray) -> np.ndarray:
    """Rows as dense float32 arrays over `terms` (sorted term columns holding every term the rows use)."""
    out = np.zeros((rows.shape[0], terms.size), dtype=np.float32)
    out[np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr)), np.searchsorted(terms, rows.indices)] = rows.data
    return out


def shared_people(
    candidate: Film, loved: Iterable[Film], field: str
) -> list[tuple[str, int]]:
    """Return (name, how many loved films share it) for the candidate's directors or cast, most first."""
    names = list(dict.fromkeys(getattr(candidate, field)))
    if field == "cast":
        names = names[:TOP_BILLED_CAST]
    counts = {name: 0 for name in names}
    for film in loved:
        theirs = set(getattr(film, field))
        for name in names:
            if name in theirs:
                counts[name] += 1
    return sorted(((n, c) for n, c in counts.items() if c > 0), key=lambda nc: (-nc[1], names.index(nc[0])))
