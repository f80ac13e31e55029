"""The film catalog as arrays: ids, years, runtimes, popularity, obscurity, quality, genres.

Filters, content similarity, cold start and ranking all work on these arrays, so a
20,000-film catalog is filtered and scored without a Python loop per film.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from services.domain import Film

# Bayesian average: a film's mean is shrunk towards the catalog mean as if it
# had this many extra votes at that mean.
TMDB_PRIOR_VOTES = 250.0
CORPUS_PRIOR_RATINGS = 10.0
DEFAULT_PRIOR_MEAN = 6.5

GENRE_ALIASES = {
    "sci-fi": "science fiction",
    "scifi": "science fiction",
    "science-fiction": "science fiction",
    "film-noir": "film noir",
    "musical": "music",
    "biography": "biography",
    "tv movie": "tv movie",
    "animated": "animation",
    "romcom": "romance",
}
GENRE_LABELS = {
    "science fiction": "Science Fiction",
    "film noir": "Film Noir",
    "tv movie": "TV Movie",
}


def canonical_genre(name: str) -> str:
    """Return the genre's lower-case canonical key, folding IMDb and TMDB spellings together."""
    key = " ".join(str(name).strip().lower().replace("_", " ").split())
    return GENRE_ALIASES.get(key, key)


def genre_label(key: str) -> str:
    """Return the display name of a canonical genre key."""
    return GENRE_LABELS.get(key, key.title())


def bayesian_average(mean: np.ndarray, count: np.ndarray, prior_mean: float, prior_count: float) -> np.ndarray:
    """Shrink means towards prior_mean by prior_count pseudo-votes; films with no votes get the prior."""
    mean = np.nan_to_num(np.asarray(mean, dtype=np.float64), nan=prior_mean)
    count = np.nan_to_num(np.asarray(count, dtype=np.float64), nan=0.0)
    return (mean * count + prior_mean * prior_count) / (count + prior_count)


def percentile_from_top(values: np.ndarray) -> np.ndarray:
    """Return 0-100 per value: the share of values strictly greater (0 = the most popular)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return np.zeros(0)
    ordered = np.sort(values)
    greater = values.size - np.searchsorted(ordered, values, side="right")
    return 100.0 * greater / max(1, values.size - 1) if values.size > 1 else np.zeros(1)


class Catalog:
    """Films plus vectorised views of their fields, in the order given."""

    def __init__(self, films: Iterable[Film]) -> None:
        self.films: tuple[Film, ...] = tuple(films)
        n = len(self.films)
        self.film_ids = np.fromiter((f.film_id for f in self.films), dtype=np.int64, count=n)
        self._index = {int(fid): i for i, fid in enumerate(self.film_ids)}
        self.years = np.array([np.nan if f.year is None else f.year for f in self.films], dtype=np.float64)
        self.runtimes = np.array(
            [np.nan if not f.runtime else f.runtime for f in self.films], dtype=np.float64)
        self.corpus_counts = np.array([f.corpus_count for f in self.films], dtype=np.float64)
        self.corpus_means = np.array(
            [np.nan if f.corpus_mean is None else f.corpus_mean for f in self.films], dtype=np.float64)
        self.vote_counts = np.array(
            [np.nan if f.vote_count is None else f.vote_count for f in self.films], dtype=np.float64)
        self.vote_averages = np.array(
            [np.nan if f.vote_average is None else f.vote_average for f in self.films], dtype=np.float64)
        self.is_movie = np.array([f.media_type == "movie" for f in self.films], dtype=bool)
        self.obscurity = self._obscurity()
        self.quality = self._quality()
        genre_keys = sorted({canonical_genre(g) for f in self.films for g in f.genres})
        self.genre_keys: tuple[str, ...] = tuple(genre_keys)
        self._genre_column = {g: j for j, g in enumerate(genre_keys)}
        rows, cols = [], []
        for i, film in enumerate(self.films):
            for g in {canonical_genre(g) for g in film.genres}:
                rows.append(i)
                cols.append(self._genre_column[g])
        self.genre_matrix = sp.csr_matrix(
            (np.ones(len(rows), dtype=bool), (rows, cols)), shape=(n, len(genre_keys)), dtype=bool)

    def __len__(self) -> int:
        return len(self.films)

    def by_id(self, film_id: int) -> Film | None:
        """Return the film with this id, or None."""
        index = self._index.get(int(film_id))
        return None if index is None else self.films[index]

    def index_of(self, film_id: int) -> int | None:
        """Return the film's position in the catalog, or None."""
        return self._index.get(int(film_id))

    def indices_of(self, film_ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Return positions for many film ids, -1 where a film is not in the catalog."""
        get = self._index.get
        return np.fromiter((get(int(f), -1) for f in film_ids), dtype=np.int64, count=len(film_ids))

    def genre_mask(self, genres: Iterable[str]) -> np.ndarray:
        """Return a boolean mask of films carrying at least one of these genres."""
        columns = [self._genre_column[c] for c in {canonical_genre(g) for g in genres} if c in self._genre_column]
        if not columns:
            return np.zeros(len(self.films), dtype=bool)
        return np.asarray(self.genre_matrix[:, columns].sum(axis=1)).ravel() > 0

    def _obscurity(self) -> np.ndarray:
        """Return 0-100 per film: 0 the most-voted film, 100 the least (TMDB votes, else corpus count)."""
        out = percentile_from_top(self.corpus_counts)
        has_votes = ~np.isnan(self.vote_counts)
        if has_votes.any():
            out[has_votes] = percentile_from_top(self.vote_counts[has_votes])
        return out

    def _quality(self) -> np.ndarray:
        """Return each film's Bayesian-average rating, 0-10 (TMDB votes when known, else the corpus)."""
        prior_corpus = _weighted_mean(self.corpus_means, self.corpus_counts)
        prior_tmdb = _weighted_mean(self.vote_averages, self.vote_counts)
        quality = bayesian_average(self.corpus_means, self.corpus_counts, prior_corpus, CORPUS_PRIOR_RATINGS)
        has_votes = ~np.isnan(self.vote_counts) & ~np.isnan(self.vote_averages)
        if has_votes.any():
            quality[has_votes] = bayesian_average(
                self.vote_averages[has_votes], self.vote_counts[has_votes], prior_tmdb, TMDB_PRIOR_VOTES)
        return quality


def _weighted_mean(means: np.ndarray, counts: np.ndarray) -> float:
    """Return the count-weighted mean of the known means, or DEFAULT_PRIOR_MEAN."""
    known = ~np.isnan(means) & ~np.isnan(counts) & (counts > 0)
    if not known.any():
        return DEFAULT_PRIOR_MEAN
    return float(np.average(means[known], weights=counts[known]))
