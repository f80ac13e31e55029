"""Training data: a rating corpus as users x films matrices, and the films' priors.

A corpus holds ratings (any numeric scale) plus, optionally, films members watched
or liked without rating them. Users and films become dense indices; films are
positions in the model's film list.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from services import holdout
from services.catalog import bayesian_average
from services.baselines import InteractionPattern

LIKE_FRACTION = holdout.RELEVANT_FRACTION
QUALITY_PRIOR_RATINGS = 10.0
CONTENT_PRESENCE = 0.3  # every seen film adds this much to the content profile...
CONTENT_TASTE = 3.0  # ...plus this times its rating centred on the member's mean


@dataclass(frozen=True)
class SignalWeights:
    """How strongly each kind of member activity counts when a member is folded in."""

    # watched, liked and liked_rating were tuned by bench/signals.py on held-out ratings
    # (MovieTweetings and the synthetic 1M set); watchlist, rewatch and like_bonus have
    # no corpus to tune on and stay conservative.
    rated: float = 1.0
    liked: float = 1.2  # presence weight of a like without a rating
    watched: float = 0.5  # watched (or logged) without a rating
    watchlist: float = 0.15  # intent, not a viewing
    rewatch: float = 1.2  # multiplies presence of a film watched more than once
    liked_rating: float = 0.95  # a like without a rating reads as this share of the scale
    like_bonus: float = 0.05  # added to a rated film's centred value when it is also liked


@dataclass(frozen=True)
class Corpus:
    """Ratings by (user id, film id) on a 0-`scale` scale, and films seen without a rating."""

    users: np.ndarray
    items: np.ndarray  # film ids, as the catalog numbers them
    ratings: np.ndarray
    scale: float
    unrated: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # (users, film ids, liked)

    @property
    def n_ratings(self) -> int:
        return int(np.asarray(self.ratings).size)


@dataclass(frozen=True)
class TrainingData:
    """Activity as users x films matrices; films are positions in the model's film list."""

    presence: sp.csr_matrix  # 1 per rated film, a signal weight per unrated one
    liked: sp.csr_matrix  # 1 where the film is liked (rated >= LIKE_FRACTION, or liked)
    centred: sp.csr_matrix  # rating / scale minus the user's mean; liked_rating - mean for likes
    ratings: sp.csr_matrix  # rating / scale, rated films only
    scale: float


def build_training_data(
    users: np.ndarray,
    items: np.ndarray,
    ratings: np.ndarray,
    n_users: int,
    n_items: int,
    scale: float,
    signals: SignalWeights = SignalWeights(),
    unrated: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> TrainingData:
    """Build the matrices the model is fitted from; users and items are dense indices.

    `unrated` holds (users, items, liked) for films watched or liked without a rating.
    """
    users = np.asarray(users, dtype=np.int64)
    items = np.asarray(items, dtype=np.int64)
    normalised = np.asarray(ratings, dtype=np.float32) / np.float32(scale)
    counts = np.bincount(users, minlength=n_users)
    means = (np.bincount(users, weights=normalised, minlength=n_users) / np.maximum(counts, 1)).astype(np.float32)
    presence = np.ones(users.size, dtype=np.float32)
    liked = (normalised >= np.float32(LIKE_FRACTION - 1e-6)).astype(np.float32)
    centred = normalised - means[users]
    shape = (n_users, int(n_items))
    pattern = InteractionPattern(users, items, shape)
    rated_matrix = pattern.matrix(normalised)
    if unrated is not None and np.asarray(unrated[0]).size:
        extra_users = np.asarray(unrated[0], dtype=np.int64)
        extra_items = np.asarray(unrated[1], dtype=np.int64)
        extra_liked = np.asarray(unrated[2], dtype=bool)
        # Rated rows come last so that a rating wins over an unrated entry for the same film.
        users = np.concatenate([extra_users, users])
        items = np.concatenate([extra_items, items])
        presence = np.concatenate([np.where(extra_liked, signals.liked, signals.watched), presence])
        liked = np.concatenate([extra_liked.astype(np.float32), liked])
        centred = np.concatenate([
            np.where(extra_liked, np.float32(signals.liked_rating) - means[extra_users], 0.0), centred])
        pattern = InteractionPattern(users, items, shape)
    del users, items
    liked_matrix = pattern.matrix(liked)
    liked_matrix.eliminate_zeros()
    return TrainingData(
        presence=pattern.matrix(presence),
        liked=liked_matrix,
        centred=pattern.matrix(centred),
        ratings=rated_matrix,
        scale=float(scale),
    )


def item_priors(data: TrainingData) -> tuple[np.ndarray, np.ndarray]:
    """Return (log1p popularity, Bayesian-average quality on the 0-1 scale) per film."""
    counts = np.diff(data.presence.tocsc().indptr).astype(np.float64)
    ratings_csc = data.ratings.tocsc()
    rated = np.diff(ratings_csc.indptr).astype(np.float64)
    sums = np.asarray(ratings_csc.sum(axis=0), dtype=np.float64).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(rated > 0, sums / np.maximum(rated, 1), np.nan)
    prior = float(sums.sum() / rated.sum()) if rated.sum() else LIKE_FRACTION
    quality = bayesian_average(means, rated, prior, QUALITY_PRIOR_RATINGS)
    return np.log1p(counts).astype(np.float32), quality.astype(np.float32)


def dense_ids(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (unique values, dense index of each value)."""
    unique, inverse = np.unique(np.asarray(values), return_inverse=True)
    return unique, inverse.astype(np.int64).ravel()


def positions(ids: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (position of each wanted id in the sorted ids, mask of ids found)."""
    wanted = np.asarray(wanted, dtype=np.int64)
    if ids.size == 0:
        return np.zeros(wanted.size, dtype=np.int64), np.zeros(wanted.size, dtype=bool)
    pos = np.searchsorted(ids, wanted)
    found = (pos < ids.size) & (ids[np.minimum(pos, ids.size - 1)] == wanted)
    return np.where(found, pos, 0).astype(np.int64), found
