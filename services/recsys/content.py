"""Content and cold films: catalog content vectors, and a map from content to collaborative factors.

Films nobody in the corpus rated have no collaborative factors. `ContentMapping`
learns, on the films that do, a ridge regression from content terms (genres,
directors, cast, keywords, decade, countries, language) to the factor model's item
space, so an unrated film gets predicted factors and is scored by the same
fold-in and the same blend as every other film.
"""
from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from services.catalog import Catalog
from services.content_vectors import ContentModel, film_features, term_vectors
from services.domain import Film

MAPPING_MAX_TERMS = 4000  # most frequent content terms the mapping learns a direction for
MAPPING_MIN_FILMS = 2  # a term on fewer rated films than this teaches the mapping nothing
MAPPING_MIN_USERS = 3  # films with fewer members than this have noisy factors: left out of fitting
MAPPING_L2 = 5.0
AFFINITY_SHRINK = 2.0  # a term on this many of the member's films counts half of its mean rating
AFFINITY_LIFT = 0.1  # weight of how much more often than the catalog a member's films carry a term
AFFINITY_ROWS = 32  # members scored at once (each holds dense rows over the content terms)

_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def catalog_content(catalog: Catalog) -> ContentModel:
    """Return the catalog's content vectors, built once per catalog object (extended from its parent's)."""
    with _LOCK:
        model = _CACHE.get(catalog)
        if model is None:
            parent = catalog.parent
            base = _CACHE.get(parent[0]) if parent is not None else None
            model = base.extended(catalog.films[parent[1]:]) if base is not None else ContentModel(catalog.films)
            _CACHE[catalog] = model
        return model


def _terms(film: Film) -> dict[str, tuple[str, float]]:
    """Return a film's content terms as key -> (group, raw weight)."""
    out = {}
    for group, values in film_features(film).items():
        for value, raw in values:
            out[f"{group}:{value}"] = (group, raw)
    return out


@dataclass(frozen=True)
class ContentMapping:
    """Ridge weights from content terms to item factors: factors ~ mean + vector(film) @ weights."""

    terms: np.ndarray  # str, "group:value"
    idf: np.ndarray  # float32 per term
    weights: np.ndarray  # terms x factors
    mean: np.ndarray  # factors

    def vectors(self, films: Sequence[Film]) -> sp.csr_matrix:
        """Return unit-length term vectors of films over the mapping's terms (groups weighted as content)."""
        column = {tuple(t.split(":", 1)): j for j, t in enumerate(self.terms.tolist())}
        return term_vectors(films, column, self.idf.astype(np.float64))

    def predict(self, films: Sequence[Film]) -> np.ndarray:
        """Return predicted factors for films (the mean factors for a film with no known terms)."""
        vectors = self.vectors(films)
        return np.asarray(vectors @ self.weights, dtype=np.float32) + self.mean[None, :]


def fit_mapping(films: Sequence[Film | None], factors: np.ndarray, users_per_film: np.ndarray,
                l2: float = MAPPING_L2) -> ContentMapping | None:
    """Fit the content -> factors ridge on films with enough members; None without content or factors."""
    if factors.shape[1] == 0:
        return None
    usable = [i for i, f in enumerate(films) if f is not None and users_per_film[i] >= MAPPING_MIN_USERS]
    counts: dict[str, int] = {}
    for i in usable:
        for key, (_, raw) in _terms(films[i]).items():
            if raw == 1.0:
                counts[key] = counts.get(key, 0) + 1
    common = sorted((k for k, c in counts.items() if c >= MAPPING_MIN_FILMS), key=lambda k: (-counts[k], k))
    common = common[:MAPPING_MAX_TERMS]
    if not common or len(usable) < 2:
        return None
    df = np.array([counts[k] for k in common], dtype=np.float64)
    idf = (np.log((len(usable) + 1) / (df + 1)) + 1.0).astype(np.float32)
    k = factors.shape[1]
    empty = ContentMapping(np.array(common, dtype=np.str_), idf, np.zeros((len(common), k), np.float32),
                           np.zeros(k, np.float32))
    x = empty.vectors([films[i] for i in usable])
    target = factors[usable].astype(np.float64)
    mean = target.mean(axis=0)
    gram = (x.T @ x).toarray().astype(np.float64)
    gram[np.diag_indices_from(gram)] += l2
    rhs = np.asarray(x.T @ (target - mean), dtype=np.float64)
    weights = scipy.linalg.solve(gram, rhs, assume_a="pos")
    return ContentMapping(empty.terms, idf, weights.astype(np.float32), mean.astype(np.float32))


def term_affinity(content: ContentModel, presence: sp.csr_matrix, centred: sp.csr_matrix) -> np.ndarray:
    """Score every catalog film for each member row by the member's affinity to its content terms.

    A term's affinity is the member's mean centred rating over their films that carry it
    (shrunk towards 0 for terms on few films) plus a share of how over-represented it is
    among those films against the catalog (the actor a member keeps seeking out, the decade
    they mostly watch). A film scores the sum of its terms' affinities. Unlike a summed
    profile, a director on three films the member loved is not drowned by a genre on two
    hundred. Rows are members (columns are catalog positions); the result is rows x films.
    """
    binary = content.binary
    seen = presence.tocsr(copy=True)
    seen.data = (seen.data > 0).astype(np.float32)
    seen.eliminate_zeros()
    centred = centred.tocsr()
    films_each = np.asarray(seen.sum(axis=1), dtype=np.float64).ravel()
    share = content.doc_freq / max(1, content.n_films)
    out = np.empty((seen.shape[0], content.n_films), dtype=np.float32)
    for start in range(0, seen.shape[0], AFFINITY_ROWS):
        rows = slice(start, start + AFFINITY_ROWS)
        count = np.asarray((seen[rows] @ binary).toarray(), dtype=np.float64)  # member films carrying each term
        total = np.asarray((centred[rows] @ binary).toarray(), dtype=np.float64)
        lift = np.log((count + 0.5) / (films_each[rows, None] * share[None, :] + 0.5))
        affinity = total / (count + AFFINITY_SHRINK) + AFFINITY_LIFT * np.maximum(lift, 0.0)
        affinity[count == 0] = 0.0
        out[rows] = np.asarray(binary @ affinity.T.astype(np.float32)).T
    return out
