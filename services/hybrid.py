"""The hybrid recommender: collaborative, taste, popularity, quality and content scores blended.

Features for a member over the model's films:
  ease        binary EASE: films watched by people who watched what you watched
  ease_liked  EASE trained to predict *liked* films (rated >= LIKE_FRACTION of the scale)
              from watched ones
  taste       the same weights applied to your ratings centred on your own mean, so a
              film you rated 2/10 pushes its neighbours down
  als         implicit ALS, folded in from your films
  popularity  log of how many members have the film
  quality     Bayesian average of the film's ratings
  content     cosine of the film with your rating-weighted content profile
Each feature is standardised (per member for the personal ones). The EASE L2, the
ALS regularisation and the blend weights are all chosen on held-out users (an
inner split of the training data), then the model is refitted on everything.
"""
from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Callable, Mapping, NamedTuple, Sequence

import numpy as np
import scipy.sparse as sp

from services import holdout
from services.catalog import Catalog, bayesian_average, canonical_genre, genre_label
from services.content import TOP_BILLED_CAST, ContentModel
from services.domain import Film, MatchedFilm, ScoredFilm
from services.filters import Filters
from services.model import (
    AlsModel,
    als_fold_in,
    apply_item_weights,
    binary,
    ease_from_inverse,
    ease_inverse,
    gram,
    interaction_matrix,
    keep_strongest,
)

FEATURES = ("ease", "ease_liked", "taste", "als", "popularity", "quality", "content")
ANCHOR_FEATURE = "ease_liked"
LIKE_FRACTION = holdout.RELEVANT_FRACTION
QUALITY_PRIOR_RATINGS = 10.0
L2_START = 400.0
L2_STEP = 2.5
L2_MAX_STEPS = 4
L2_MIN, L2_MAX = 10.0, 100_000.0
ALS_FACTORS = 64
ALS_ALPHA = 8.0
ALS_ITERATIONS = 15
ALS_TRIAL_ITERATIONS = 10  # enough to rank regularisation values while tuning
ALS_REGULARIZATION_START = 100.0
ALS_REGULARIZATION_STEP = 10.0
KEPT_NEIGHBOURS = 1024  # strongest weights kept per film in the served matrices
MAX_MODEL_ITEMS = 10_000  # three dense item x item float32 matrices must fit in memory
MIN_ITEM_USERS = 2  # a film one member rated teaches the item x item weights nothing
BLEND_USERS = 2000  # held-out users used to choose hyperparameters and learn the blend
BLEND_STEPS = (1.0, 0.5, 0.25, 0.125)
BLEND_LIMIT = 32.0
BLEND_K = holdout.DEFAULT_K
BLEND_CANDIDATES = 200  # shortlist per feature and user while searching the blend
CONTENT_PRESENCE = 0.3  # every seen film adds this much to the content profile...
CONTENT_TASTE = 3.0  # ...plus this times its rating centred on the member's mean
STD_FLOOR = 1e-6


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
class FitReport:
    """What fitting chose and how long it took."""

    l2: float
    als_regularization: float | None
    blend: Mapping[str, float]
    validation_ndcg: float
    l2_trials: Mapping[float, float]
    als_trials: Mapping[float, float]
    fit_s: float


@dataclass(frozen=True, eq=False)
class HybridModel:
    """A fitted hybrid: item ids, item x item weights, ALS item factors, item priors, blend."""

    item_ids: np.ndarray  # int64, the films the collaborative part knows, ascending
    scale: float
    weights_ease: np.ndarray | sp.csr_matrix
    weights_liked: np.ndarray | sp.csr_matrix
    item_factors: np.ndarray  # items x factors; 0 columns when the blend has no ALS
    popularity: np.ndarray  # log1p(count) per item
    quality: np.ndarray  # Bayesian average per item, 0-1 (share of the scale)
    blend: Mapping[str, float]
    l2: float
    als_regularization: float = 0.0
    als_alpha: float = ALS_ALPHA
    signals: SignalWeights = SignalWeights()
    content_presence: float = CONTENT_PRESENCE
    content_taste: float = CONTENT_TASTE
    n_users: int = 0
    n_ratings: int = 0
    report: FitReport | None = None
    _index: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    _derived: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._index.update({int(item): i for i, item in enumerate(self.item_ids)})

    @property
    def n_items(self) -> int:
        return int(self.item_ids.size)

    def index_of(self, item: int) -> int | None:
        """Return the model's index for an item id, or None when the model does not know it."""
        return self._index.get(int(item))

    def indices_of(self, items: Sequence[int] | np.ndarray) -> np.ndarray:
        """Return model indices for item ids, -1 where unknown."""
        get = self._index.get
        return np.fromiter((get(int(i), -1) for i in items), dtype=np.int64, count=len(items))

    def uses(self, name: str) -> bool:
        """Return whether the blend gives this feature any weight."""
        return float(self.blend.get(name, 0.0)) != 0.0

    def raw_features(
        self, presence: sp.csr_matrix, centred: sp.csr_matrix, content: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """Return the blend's features before standardisation (priors as 1-D arrays)."""
        out: dict[str, np.ndarray] = {}
        if self.uses("ease"):
            out["ease"] = apply_item_weights(presence, self.weights_ease)
        if self.uses("ease_liked"):
            out["ease_liked"] = apply_item_weights(presence, self.weights_liked)
        if self.uses("taste"):
            out["taste"] = apply_item_weights(centred, self.weights_liked)
        if self.uses("als") and self.item_factors.shape[1]:
            users = als_fold_in(self.item_factors, presence, self.als_regularization, self.als_alpha)
            out["als"] = users @ self.item_factors.T
        if self.uses("popularity"):
            out["popularity"] = self.popularity
        if self.uses("quality"):
            out["quality"] = self.quality
        if content is not None and self.uses("content"):
            out["content"] = np.atleast_2d(content)
        return out

    def member_raw_features(self, cols: np.ndarray, presence: np.ndarray, centred: np.ndarray
                            ) -> dict[str, np.ndarray]:
        """Return raw features (1-D over items) for one member given as item indices and values.

        The same numbers as raw_features on a one-row matrix, with each weight
        matrix's rows gathered once for both the presence and the centred values.
        """
        out: dict[str, np.ndarray] = {}
        values = np.vstack([presence, centred]).astype(np.float32)
        if self.uses("ease"):
            out["ease"] = _gather_dot(self.weights_ease, cols, values[:1])[0]
        if self.uses("ease_liked") or self.uses("taste"):
            both = _gather_dot(self.weights_liked, cols, values)
            if self.uses("ease_liked"):
                out["ease_liked"] = both[0]
            if self.uses("taste"):
                out["taste"] = both[1]
        if self.uses("als") and self.item_factors.shape[1]:
            row = sp.csr_matrix((presence, (np.zeros(cols.size, dtype=np.int64), cols)), shape=(1, self.n_items))
            users = als_fold_in(self.item_factors, row, self.als_regularization, self.als_alpha)
            out["als"] = (users @ self.item_factors.T)[0]
        if self.uses("popularity"):
            out["popularity"] = self.popularity
        if self.uses("quality"):
            out["quality"] = self.quality
        return out

    def transposed(self, name: str) -> np.ndarray | sp.csr_matrix:
        """Return a weight matrix transposed (row j = what feeds film j), built once."""
        if name not in self._derived:
            weights = self.weights_ease if name == "ease" else self.weights_liked
            self._derived[name] = weights.T.tocsr() if sp.issparse(weights) else np.ascontiguousarray(weights.T)
        return self._derived[name]

    def feature_scores(
        self, presence: sp.csr_matrix, centred: sp.csr_matrix, content: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """Return each standardised feature: users x items, priors as 1-D arrays."""
        return {name: standardise(values) for name, values in self.raw_features(presence, centred, content).items()}

    def score(
        self, presence: sp.csr_matrix, centred: sp.csr_matrix, content: np.ndarray | None = None
    ) -> np.ndarray:
        """Return the blended score of every item for each row."""
        total = np.zeros((presence.shape[0], self.n_items), dtype=np.float32)
        for name, values in self.feature_scores(presence, centred, content).items():
            total += np.float32(self.blend[name]) * values
        return total


def _gather_dot(weights: np.ndarray | sp.csr_matrix, cols: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Return values @ weights[cols] (values: k x len(cols)) as a dense k x items array."""
    if cols.size == 0:
        return np.zeros((values.shape[0], weights.shape[1]), dtype=np.float32)
    rows = weights[cols]
    if sp.issparse(rows):
        return np.asarray((rows.T @ values.T).T, dtype=np.float32)
    return values @ rows


def standardise(values: np.ndarray) -> np.ndarray:
    """Centre and scale each row (a 1-D array is one row) to unit standard deviation."""
    values = np.array(values, dtype=np.float32)
    if values.ndim == 1:
        std = float(values.std())
        return (values - np.float32(values.mean())) / np.float32(max(std, STD_FLOOR))
    values -= values.mean(axis=1, keepdims=True)
    values /= np.maximum(values.std(axis=1, keepdims=True), np.float32(STD_FLOOR))
    return values


@dataclass(frozen=True)
class TrainingData:
    """Activity as users x items matrices; items are positions in item_ids."""

    presence: sp.csr_matrix  # 1 per rated film, a signal weight per unrated one
    liked: sp.csr_matrix  # 1 where the film is liked (rated >= LIKE_FRACTION, or liked)
    centred: sp.csr_matrix  # rating / scale minus the user's mean; liked_rating - mean for likes
    ratings: sp.csr_matrix  # rating / scale, rated films only
    content_rows: sp.csr_matrix  # weight of each film in the user's content profile
    item_ids: np.ndarray
    scale: float


def build_training_data(
    users: np.ndarray,
    items: np.ndarray,
    ratings: np.ndarray,
    n_users: int,
    item_ids: np.ndarray,
    scale: float,
    signals: SignalWeights = SignalWeights(),
    unrated: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    content_presence: float = CONTENT_PRESENCE,
    content_taste: float = CONTENT_TASTE,
) -> TrainingData:
    """Build the matrices the features are fitted from; users and items are dense indices.

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
    shape = (n_users, int(np.asarray(item_ids).size))
    rated_matrix = interaction_matrix(users, items, normalised, shape)
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
    presence = presence.astype(np.float32)
    centred = centred.astype(np.float32)
    liked_matrix = interaction_matrix(users, items, liked, shape)
    liked_matrix.eliminate_zeros()
    return TrainingData(
        presence=interaction_matrix(users, items, presence, shape),
        liked=liked_matrix,
        centred=interaction_matrix(users, items, centred, shape),
        ratings=rated_matrix,
        content_rows=interaction_matrix(users, items, content_presence * presence + content_taste * centred, shape),
        item_ids=np.asarray(item_ids),
        scale=float(scale),
    )


def item_priors(data: TrainingData) -> tuple[np.ndarray, np.ndarray]:
    """Return (log1p popularity, Bayesian-average quality on the 0-1 scale) per item."""
    counts = np.asarray((data.presence != 0).sum(axis=0), dtype=np.float64).ravel()
    rated = np.diff(data.ratings.tocsc().indptr).astype(np.float64)
    sums = np.asarray(data.ratings.sum(axis=0), dtype=np.float64).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(rated > 0, sums / np.maximum(rated, 1), np.nan)
    prior = float(sums.sum() / rated.sum()) if rated.sum() else LIKE_FRACTION
    quality = bayesian_average(means, rated, prior, QUALITY_PRIOR_RATINGS)
    return np.log1p(counts).astype(np.float32), quality.astype(np.float32)


def ease_pair(data: TrainingData, l2: float, kept: int) -> tuple:
    """Return (binary EASE weights, watched-to-liked EASE weights), one inverse, strongest kept."""
    presence = binary(data.presence)
    inverse = ease_inverse(gram(presence), l2, overwrite=True)
    return _pair_from_inverse(inverse, presence, data.liked, kept)


def _pair_from_inverse(inverse: np.ndarray, presence: sp.csr_matrix, liked: sp.csr_matrix, kept: int) -> tuple:
    """Return both EASE weight matrices from P, consuming P."""
    liked_weights = keep_strongest(ease_from_inverse(inverse, gram(presence, liked)), kept)
    return keep_strongest(ease_from_inverse(inverse, overwrite=True), kept), liked_weights


def validation_features(
    ease: np.ndarray | sp.csr_matrix,
    liked: np.ndarray | sp.csr_matrix,
    popularity: np.ndarray,
    quality: np.ndarray,
    data: TrainingData,
    users: np.ndarray,
    content: ContentModel | None,
    als: AlsModel | None = None,
) -> dict[str, np.ndarray]:
    """Return every standardised feature for these users (popularity and quality as 1-D rows)."""
    presence = data.presence[users]
    out = {
        "ease": standardise(apply_item_weights(presence, ease)),
        "ease_liked": standardise(apply_item_weights(presence, liked)),
        "taste": standardise(apply_item_weights(data.centred[users], liked)),
        "popularity": standardise(popularity),
        "quality": standardise(quality),
    }
    if als is not None:
        out["als"] = standardise(als.score(presence))
    if content is not None:
        out["content"] = standardise(content.batch_scores(data.content_rows[users]))
    return out


def ranking_ndcg(scores: np.ndarray, seen: sp.csr_matrix, relevant: sp.csr_matrix, k: int = BLEND_K) -> float:
    """Return the mean NDCG@k of score rows, seen films excluded (scores are overwritten)."""
    holdout.mask_seen(scores, seen)
    _, ndcg = holdout.recall_ndcg(holdout.top_k(scores, k), relevant, k)
    return float(ndcg.mean()) if ndcg.size else 0.0


@dataclass(frozen=True)
class BlendProblem:
    """Held-out users' features on a shortlist of films per user, for fast blend search."""

    candidates: np.ndarray  # users x width, item indices
    features: Mapping[str, np.ndarray]  # name -> users x width standardised values
    penalty: np.ndarray  # users x width, -inf for seen films and repeated candidates, else 0
    relevant: sp.csr_matrix


def blend_problem(
    features: Mapping[str, np.ndarray], seen: sp.csr_matrix, relevant: sp.csr_matrix,
    per_feature: int = BLEND_CANDIDATES,
) -> BlendProblem:
    """Shortlist each user's films as the union of every feature's top films.

    A film outside every feature's top `per_feature` can hardly reach a blend's
    top K, so the search ranks a few hundred films per user instead of all of them.
    """
    n_rows, n_items = seen.shape
    per_feature = min(per_feature, n_items)
    lists = []
    for values in features.values():
        # Shared priors may get negative weights, so their bottom films are shortlisted too.
        for sign in ((1.0, -1.0) if values.ndim == 1 else (1.0,)):
            masked = np.array(np.broadcast_to(values * np.float32(sign), (n_rows, n_items)), dtype=np.float32)
            holdout.mask_seen(masked, seen)
            lists.append(holdout.top_k(masked, per_feature))
    candidates = np.sort(np.concatenate(lists, axis=1), axis=1)
    repeated = np.zeros(candidates.shape, dtype=bool)
    repeated[:, 1:] = candidates[:, 1:] == candidates[:, :-1]
    seen_dense_keys = seen.tocoo()
    seen_keys = np.sort(seen_dense_keys.row.astype(np.int64) * n_items + seen_dense_keys.col)
    keys = np.arange(n_rows, dtype=np.int64)[:, None] * n_items + candidates
    where = np.minimum(np.searchsorted(seen_keys, keys), max(seen_keys.size - 1, 0))
    is_seen = (seen_keys[where] == keys) if seen_keys.size else np.zeros(keys.shape, dtype=bool)
    gathered = {}
    for name, values in features.items():
        gathered[name] = values[candidates] if values.ndim == 1 else np.take_along_axis(values, candidates, axis=1)
    penalty = np.where(repeated | is_seen, -np.inf, 0.0).astype(np.float32)
    return BlendProblem(candidates, gathered, penalty, relevant)


def blend_ndcg(problem: BlendProblem, weights: Mapping[str, float], k: int = BLEND_K) -> float:
    """Return the mean NDCG@k of a weighted sum of features over the shortlists."""
    total = problem.penalty.copy()
    for name, weight in weights.items():
        if weight != 0.0 and name in problem.features:
            total += np.float32(weight) * problem.features[name]
    ranked = np.take_along_axis(problem.candidates, holdout.top_k(total, k), axis=1)
    _, ndcg = holdout.recall_ndcg(ranked, problem.relevant, k)
    return float(ndcg.mean()) if ndcg.size else 0.0


def learn_blend(
    features: Mapping[str, np.ndarray], seen: sp.csr_matrix, relevant: sp.csr_matrix, k: int = BLEND_K
) -> tuple[dict[str, float], float]:
    """Find blend weights by coordinate ascent on held-out NDCG, the anchor feature fixed at 1."""
    problem = blend_problem(features, seen, relevant)
    names = [n for n in FEATURES if n in features]
    weights = {n: (1.0 if n == ANCHOR_FEATURE else 0.0) for n in names}
    best = blend_ndcg(problem, weights, k)
    for step in BLEND_STEPS:
        improved = True
        while improved:
            improved = False
            for name in names:
                if name == ANCHOR_FEATURE:
                    continue
                current = weights[name]
                # Additive steps move a weight through zero; doubling reaches large ratios quickly.
                candidates = [current + step, current - step]
                if current != 0.0 and step == BLEND_STEPS[0]:
                    candidates += [current * 2.0, current / 2.0]
                for candidate in candidates:
                    trial = dict(weights)
                    trial[name] = float(np.clip(candidate, -BLEND_LIMIT, BLEND_LIMIT))
                    if trial[name] == current:
                        continue
                    score = blend_ndcg(problem, trial, k)
                    if score > best + 1e-9:
                        best, weights, improved = score, trial, True
                        break
    return weights, best


@dataclass(frozen=True)
class HybridSettings:
    """Settings for fitting; the defaults are the production ones."""

    l2: float | None = None  # None: searched on held-out users
    l2_start: float = L2_START
    l2_step: float = L2_STEP
    l2_max_steps: int = L2_MAX_STEPS
    als_factors: int = ALS_FACTORS  # 0 leaves ALS out
    als_alpha: float = ALS_ALPHA
    als_iterations: int = ALS_ITERATIONS
    als_regularization: float | None = None  # None: searched on held-out users
    kept_neighbours: int = KEPT_NEIGHBOURS
    max_items: int = MAX_MODEL_ITEMS
    min_item_users: int = MIN_ITEM_USERS  # without an item universe, rarer films are left to content
    blend_users: int = BLEND_USERS
    blend: Mapping[str, float] | None = None  # None: learned on held-out users
    signals: SignalWeights = SignalWeights()
    content_presence: float = CONTENT_PRESENCE
    content_taste: float = CONTENT_TASTE
    seed: int = 0


# For tests and demos: no held-out tuning (a blend learned on the embedded corpus), no
# ALS, at most 3,000 films. Trains in seconds; production uses HybridSettings().
QUICK_SETTINGS = HybridSettings(
    l2=400.0, blend={"ease": 1.0, "ease_liked": 1.0, "popularity": -1.5, "quality": 0.5, "content": 1.25},
    als_factors=0, max_items=3000)


def _dense_ids(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (unique values, dense index of each value)."""
    unique, inverse = np.unique(np.asarray(values), return_inverse=True)
    return unique, inverse.astype(np.int64)


def _positions(item_ids: np.ndarray, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (position of each item in the sorted item_ids, mask of items found)."""
    items = np.asarray(items, dtype=np.int64)
    if item_ids.size == 0:
        return np.zeros(items.size, dtype=np.int64), np.zeros(items.size, dtype=bool)
    pos = np.searchsorted(item_ids, items)
    found = (pos < item_ids.size) & (item_ids[np.minimum(pos, item_ids.size - 1)] == items)
    return pos.astype(np.int64), found


def walk_grid(trial: Callable[[float], float], start: float, step: float, max_steps: int,
              low: float = L2_MIN, high: float = L2_MAX) -> float:
    """Walk a geometric grid from start in whichever direction improves; return the best value."""
    current = start
    best = trial(current)
    for direction in (step, 1.0 / step):
        moved = False
        for _ in range(max_steps):
            candidate = float(np.clip(current * direction, low, high))
            if candidate == current:
                break
            value = trial(candidate)
            if value <= best:
                break
            current, best, moved = candidate, value, True
        if moved:
            break
    return current


def fit_hybrid(
    users: np.ndarray,
    items: np.ndarray,
    ratings: np.ndarray,
    scale: float,
    films: Sequence[Film] | None = None,
    unrated: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    item_universe: np.ndarray | None = None,
    settings: HybridSettings = HybridSettings(),
) -> HybridModel:
    """Fit the hybrid: choose hyperparameters and blend on held-out users, then refit on everything.

    `items` are item ids (film ids); `films` (film_id = item id) feed the content
    feature; `unrated` = (users, items, liked) for films seen without a rating;
    `item_universe` lists ids to cover even without ratings (zero columns).
    """
    started = time.perf_counter()
    users = np.asarray(users)
    ratings = np.asarray(ratings, dtype=np.float32)
    extra_users = np.zeros(0, dtype=users.dtype) if unrated is None else np.asarray(unrated[0])
    user_ids, user_index = _dense_ids(np.concatenate([users, extra_users]))
    n_users = int(user_ids.size)
    item_ids = _model_items(np.asarray(items, dtype=np.int64), unrated, item_universe, settings.max_items,
                            settings.min_item_users)
    item_pos, known = _positions(item_ids, items)
    rated_users, item_pos, ratings = user_index[: users.size][known], item_pos[known], ratings[known]
    extra = None
    if unrated is not None and extra_users.size:
        extra_pos, ok = _positions(item_ids, unrated[1])
        extra = (user_index[users.size:][ok], extra_pos[ok], np.asarray(unrated[2], dtype=bool)[ok])
    content = _content_model(films, item_ids)

    def data_for(u: np.ndarray, i: np.ndarray, r: np.ndarray) -> TrainingData:
        return build_training_data(u, i, r, n_users, item_ids, scale, settings.signals, extra,
                                   settings.content_presence, settings.content_taste)

    l2 = settings.l2 if settings.l2 is not None else settings.l2_start
    als_reg = settings.als_regularization if settings.als_regularization is not None else ALS_REGULARIZATION_START
    blend = dict(settings.blend) if settings.blend is not None else {ANCHOR_FEATURE: 1.0}
    validation = float("nan")
    l2_trials: dict[float, float] = {}
    als_trials: dict[float, float] = {}
    tune = settings.blend is None or settings.l2 is None or (
        settings.als_factors and settings.als_regularization is None and blend.get("als", 0.0) != 0.0)
    split = holdout.holdout_split(rated_users, item_pos, ratings, n_users, item_ids.size, scale, settings.seed)
    if tune and split.eval_users.size:
        val_users = split.eval_users
        if val_users.size > settings.blend_users:
            rng = np.random.default_rng(settings.seed)
            val_users = np.sort(rng.choice(val_users, settings.blend_users, replace=False))
        inner = data_for(split.train_users, split.train_items, split.train_ratings)
        inner_presence = binary(inner.presence)
        seen = inner_presence[val_users]
        relevant = split.relevant[val_users]
        inner_gram = gram(inner_presence)
        best_inverse: list[np.ndarray] = []

        def l2_trial(value: float) -> float:
            inverse = ease_inverse(inner_gram, value)
            # x @ B = -(x @ P) / diag(P) away from the seen films, without building B.
            scores = apply_item_weights(seen, inverse) / -np.diag(inverse)[None, :]
            l2_trials[value] = ranking_ndcg(scores, seen, relevant)
            if l2_trials[value] >= max(l2_trials.values()):
                best_inverse[:] = [inverse]
            return l2_trials[value]

        if settings.l2 is None:
            l2 = walk_grid(l2_trial, settings.l2_start, settings.l2_step, settings.l2_max_steps)
        else:
            l2_trial(l2)
        del inner_gram
        als_model = None
        if settings.als_factors and (settings.blend is None or blend.get("als", 0.0) != 0.0):
            fitted: dict[float, AlsModel] = {}

            def als_trial(value: float) -> float:
                model = AlsModel(settings.als_factors, value, settings.als_alpha, ALS_TRIAL_ITERATIONS,
                                 settings.seed).fit(inner_presence)
                als_trials[value] = ranking_ndcg(model.score(inner.presence[val_users]), seen, relevant)
                fitted[value] = model
                return als_trials[value]

            if settings.als_regularization is None:
                als_reg = walk_grid(als_trial, ALS_REGULARIZATION_START, ALS_REGULARIZATION_STEP, 2,
                                    low=1e-3, high=1e5)
            else:
                als_trial(als_reg)
            als_model = fitted[als_reg]
            fitted.clear()
        if settings.blend is None:
            ease_w, liked_w = _pair_from_inverse(best_inverse.pop(), inner_presence, inner.liked,
                                                 settings.kept_neighbours)
            popularity, quality = item_priors(inner)
            features = validation_features(ease_w, liked_w, popularity, quality, inner, val_users, content,
                                           als_model)
            del ease_w, liked_w
            blend, validation = learn_blend(features, seen, relevant)
            del features
        best_inverse.clear()

    full = data_for(rated_users, item_pos, ratings)
    ease_w, liked_w = ease_pair(full, l2, settings.kept_neighbours)
    item_factors = np.zeros((item_ids.size, 0), dtype=np.float32)
    if settings.als_factors and blend.get("als", 0.0) != 0.0:
        item_factors = AlsModel(settings.als_factors, als_reg, settings.als_alpha, settings.als_iterations,
                                settings.seed).fit(binary(full.presence)).item_factors
    popularity, quality = item_priors(full)
    fit_s = time.perf_counter() - started
    report = FitReport(
        l2=float(l2), als_regularization=float(als_reg) if item_factors.shape[1] else None, blend=blend,
        validation_ndcg=validation, l2_trials=l2_trials, als_trials=als_trials, fit_s=fit_s)
    return HybridModel(
        item_ids=item_ids, scale=float(scale), weights_ease=ease_w, weights_liked=liked_w,
        item_factors=item_factors, popularity=popularity, quality=quality, blend=blend, l2=float(l2),
        als_regularization=float(als_reg), als_alpha=settings.als_alpha, signals=settings.signals,
        content_presence=settings.content_presence, content_taste=settings.content_taste,
        n_users=n_users, n_ratings=int(ratings.size), report=report,
    )


def _model_items(
    items: np.ndarray,
    unrated: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    universe: np.ndarray | None,
    max_items: int,
    min_count: int = 1,
) -> np.ndarray:
    """Return the item ids the model covers, ascending.

    With a universe: all of it. Otherwise the items with at least min_count users.
    Either way at most max_items, the most active first.
    """
    everything = [items] if unrated is None else [items, np.asarray(unrated[1], dtype=np.int64)]
    ids, counts = np.unique(np.concatenate(everything), return_counts=True)
    if universe is None and min_count > 1 and (counts >= min_count).any():
        ids, counts = ids[counts >= min_count], counts[counts >= min_count]
    if universe is not None:
        universe = np.unique(np.asarray(universe, dtype=np.int64))
        full = np.zeros(universe.size, dtype=np.int64)
        pos = np.searchsorted(universe, ids)
        inside = (pos < universe.size) & (universe[np.minimum(pos, universe.size - 1)] == ids)
        full[pos[inside]] = counts[inside]
        ids, counts = universe, full
    if ids.size > max_items:
        keep = np.sort(np.argsort(-counts, kind="stable")[:max_items])
        ids = ids[keep]
    return ids.astype(np.int64)


def _content_model(films: Sequence[Film] | None, item_ids: np.ndarray) -> ContentModel | None:
    """Return a content model over the model's items in order, or None without metadata."""
    if not films:
        return None
    by_id = {int(f.film_id): f for f in films}
    ordered = [by_id.get(int(i)) or Film(film_id=int(i), title="") for i in item_ids]
    return ContentModel(ordered)


# ---------------------------------------------------------------------------
# Serving: fold a member in, blend over the whole catalog, filter, diversify, explain.

COLD_START_MIN_FILMS = 5
EXTRA_CANDIDATE_BONUS = 1.0  # standardised units added for TMDB's recommended/similar films
POOL_PER_PICK = 8
MIN_POOL = 150
LOVED_STARS = 4.0  # a film rated this or higher (or liked) counts as loved
SOLE_REASON_SHARE = 0.3  # below this share of the collaborative score no single film is named
MATCH_FLOOR = 50.0  # a pick scoring zero reads as this match; the best pick reads 99
HIGH_QUALITY = 7.5  # Bayesian average (0-10) worth mentioning
MIN_VOTES_TO_QUOTE = 20


class MemberFilm(NamedTuple):
    """One catalog film with everything the member did with it."""

    film: Film
    stars: float | None
    liked: bool
    rewatch: bool
    watched: bool
    watchlist: bool


def member_films(matched: Sequence[MatchedFilm]) -> list[MemberFilm]:
    """Merge a member's matched entries into one record per catalog film."""
    order: list[int] = []
    films: dict[int, Film] = {}
    stars: dict[int, float] = {}
    flags: dict[int, list[bool]] = {}
    for item in matched:
        film = item.film
        if film is None:
            continue
        entry = item.entry
        key = film.film_id
        record = flags.get(key)
        if record is None:
            order.append(key)
            films[key] = film
            record = flags[key] = [False, False, False, False]
        if entry.rating is not None:
            stars[key] = float(entry.rating)
        record[0] = record[0] or bool(entry.liked)
        record[1] = record[1] or bool(entry.rewatch) or len(entry.watched_dates) > 1
        record[2] = record[2] or bool(entry.watched)
        record[3] = record[3] or bool(entry.watchlist)
    return [MemberFilm(films[k], stars.get(k), *flags[k]) for k in order]


def is_cold_start(matched: Sequence[MatchedFilm]) -> bool:
    """Return whether a member has too few films seen for personal recommendations."""
    return sum(1 for m in member_films(matched) if m.watched or m.stars is not None or m.liked) < COLD_START_MIN_FILMS


def member_signals(films: Sequence[MemberFilm], signals: SignalWeights, scale_fraction_per_star: float = 0.2
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Return (presence weight, centred rating) per member film, on the model's 0-1 rating scale."""
    rated = np.array([f.stars for f in films if f.stars is not None], dtype=np.float64) * scale_fraction_per_star
    mean = float(rated.mean()) if rated.size else LIKE_FRACTION
    presence = np.zeros(len(films), dtype=np.float32)
    centred = np.zeros(len(films), dtype=np.float32)
    for i, f in enumerate(films):
        if f.stars is not None:
            presence[i] = signals.rated
            centred[i] = f.stars * scale_fraction_per_star - mean + (signals.like_bonus if f.liked else 0.0)
        elif f.liked:
            presence[i] = signals.liked
            centred[i] = signals.liked_rating - mean
        elif f.watched:
            presence[i] = signals.watched
        elif f.watchlist:
            presence[i] = signals.watchlist
        if f.rewatch:
            presence[i] *= signals.rewatch
    return presence, centred


@dataclass
class _CatalogCache:
    """What is derived from a catalog once: content vectors, and model positions for one model."""

    content: ContentModel
    model: object = None
    positions: np.ndarray | None = None


_CATALOG_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_CATALOG_LOCK = threading.Lock()


def _catalog_cache(catalog: Catalog) -> _CatalogCache:
    """Return the catalog's cache entry, building its content model on first use."""
    with _CATALOG_LOCK:
        entry = _CATALOG_CACHE.get(catalog)
        if entry is None:
            entry = _CatalogCache(ContentModel(catalog.films))
            _CATALOG_CACHE[catalog] = entry
        return entry


def content_model_for(catalog: Catalog) -> ContentModel:
    """Return the catalog's content model, built once per catalog object."""
    return _catalog_cache(catalog).content


def catalog_positions(catalog: Catalog, model: HybridModel) -> np.ndarray:
    """Return each model item's position in the catalog (-1 if absent), computed once per pair."""
    entry = _catalog_cache(catalog)
    with _CATALOG_LOCK:
        if entry.model is not model or entry.positions is None:
            entry.positions = catalog.indices_of(model.item_ids)
            entry.model = model
        return entry.positions


def match_percents(picks: Sequence[ScoredFilm]) -> list[int]:
    """Return a 1-99 match per pick, relative to the member's best pick (which reads 99)."""
    if not picks:
        return []
    best = max(p.score for p in picks)
    if best <= 0:
        return [MATCH_FLOOR for _ in picks]
    return [int(round(min(99.0, max(1.0, MATCH_FLOOR + (99.0 - MATCH_FLOOR) * p.score / best)))) for p in picks]


def warm_up(model: HybridModel, catalog: Catalog) -> None:
    """Build what the first request would otherwise build: content vectors, positions, transposes."""
    content_model_for(catalog)
    catalog_positions(catalog, model)
    for name in ("ease", "liked"):
        model.transposed(name)


@dataclass(frozen=True)
class _Scored:
    """Everything scored for one member over the catalog, kept for explanations."""

    total: np.ndarray  # catalog-length blended score
    parts: dict  # feature -> catalog-length weighted contribution
    films: list  # MemberFilm
    catalog_index: np.ndarray  # member film -> catalog position (-1 unknown)
    model_index: np.ndarray  # member film -> model position (-1 unknown)
    presence: np.ndarray
    centred: np.ndarray
    std: dict  # CF feature -> member's standard deviation (for contributions)


def score_member(model: HybridModel, catalog: Catalog, films: Sequence[MemberFilm]) -> _Scored:
    """Blend every feature for a member over every catalog film."""
    presence, centred = member_signals(films, model.signals, 2.0 / model.scale if model.scale else 0.2)
    film_ids = [f.film.film_id for f in films]
    model_index = model.indices_of(film_ids) if films else np.zeros(0, dtype=np.int64)
    catalog_index = catalog.indices_of(film_ids) if films else np.zeros(0, dtype=np.int64)
    in_model = model_index >= 0
    cols = model_index[in_model]
    catalog_pos_of_model = catalog_positions(catalog, model)
    on_catalog = catalog_pos_of_model >= 0
    n = len(catalog)
    parts: dict[str, np.ndarray] = {}
    std: dict[str, float] = {}
    for name, raw in model.member_raw_features(cols, presence[in_model], centred[in_model]).items():
        values = np.asarray(raw, dtype=np.float32).ravel()
        mean, spread = float(values.mean()), max(float(values.std()), STD_FLOOR)
        std[name] = spread
        # Films outside the model take the value an unknown film would have: raw 0.
        full = np.full(n, (0.0 - mean) / spread, dtype=np.float32)
        if name == "quality":
            full = (catalog.quality.astype(np.float32) / np.float32(10.0) - mean) / spread
        full[catalog_pos_of_model[on_catalog]] = (values[on_catalog] - mean) / spread
        parts[name] = np.float32(model.blend[name]) * full
    if model.uses("content") and films:
        content = content_model_for(catalog)
        known = catalog_index >= 0
        weights = model.content_presence * presence + model.content_taste * centred
        scores = content.scores(content.profile(catalog_index[known], weights[known]))
        if float(scores.std()) > 0:
            parts["content"] = np.float32(model.blend["content"]) * standardise(scores)
    total = np.zeros(n, dtype=np.float32)
    for values in parts.values():
        total += values
    return _Scored(total, parts, list(films), catalog_index, model_index, presence, centred, std)


def recommend(
    model: HybridModel,
    catalog: Catalog,
    matched: Sequence[MatchedFilm],
    filters: Filters,
    count: int,
    extra_candidates: Mapping[int, str] | None = None,
) -> list[ScoredFilm]:
    """Return up to `count` ScoredFilms, best first, with reasons naming the member's own films."""
    extra_candidates = extra_candidates or {}
    films = member_films(matched)
    scored = score_member(model, catalog, films)
    total = scored.total.copy()
    bonus = np.zeros(len(catalog), dtype=np.float32)
    for film_id in extra_candidates:
        index = catalog.index_of(film_id)
        if index is not None:
            bonus[index] = EXTRA_CANDIDATE_BONUS
    total += bonus
    watchlist_ids = {f.film.film_id for f in films if f.watchlist}
    allowed = filters.mask(catalog, watchlist_ids)
    seen = scored.catalog_index[[(f.watched or f.stars is not None or f.liked) for f in films]] if films else []
    seen = np.asarray(seen, dtype=np.int64)
    allowed[seen[seen >= 0]] = False
    if not allowed.any() or count <= 0:
        return []
    candidates = np.flatnonzero(allowed)
    pool_size = min(candidates.size, max(MIN_POOL, count * POOL_PER_PICK))
    pool = candidates[np.argpartition(-total[candidates], pool_size - 1)[:pool_size]]
    pool = pool[np.argsort(-total[pool], kind="stable")]
    picks = diversify(catalog, pool, total[pool], count, filters.diversity, filters.max_per_director)
    explainer = _Explainer(model, catalog, scored, extra_candidates, picks)
    out = []
    for index in picks:
        reasons, contributions = explainer.explain(int(index))
        contributions["tmdb"] = float(bonus[index])
        out.append(ScoredFilm(film=catalog.films[index], score=float(total[index]), reasons=tuple(reasons),
                              contributions=contributions))
    return out


def diversify(catalog: Catalog, pool: np.ndarray, scores: np.ndarray, count: int, diversity: float,
              max_per_director: int) -> list[int]:
    """Pick `count` films from a ranked pool by maximal marginal relevance, capping films per director."""
    if pool.size == 0:
        return []
    content = content_model_for(catalog)
    # Rank, not raw score: blended scores are spiky, and a few huge ones would make every
    # other film look equally irrelevant next to them.
    order = np.argsort(-scores, kind="stable")
    relevance = np.empty(pool.size, dtype=np.float32)
    relevance[order] = 1.0 - np.arange(pool.size, dtype=np.float32) / max(pool.size, 1)
    similarity = content.similarity(pool, pool) if diversity > 0 else None
    chosen: list[int] = []
    max_sim = np.zeros(pool.size, dtype=np.float32)
    available = np.ones(pool.size, dtype=bool)
    per_director: dict[str, int] = {}
    while len(chosen) < count and available.any():
        value = (1.0 - diversity) * relevance - diversity * max_sim
        value[~available] = -np.inf
        best = int(np.argmax(value))
        available[best] = False
        film = catalog.films[pool[best]]
        if max_per_director and any(per_director.get(d, 0) >= max_per_director for d in film.directors):
            continue
        for director in film.directors:
            per_director[director] = per_director.get(director, 0) + 1
        chosen.append(int(pool[best]))
        if similarity is not None:
            np.maximum(max_sim, similarity[best], out=max_sim)
    return chosen


def stars_text(stars: float) -> str:
    """Return Letterboxd-style stars: 4.5 -> "★★★★½"."""
    whole = int(stars)
    return "★" * whole + ("½" if stars - whole >= 0.5 else "")


def _member_action(film: MemberFilm) -> str:
    """Return how to say what the member did with a film."""
    title = film.film.title
    if film.stars is not None:
        return f"you rated {title} {stars_text(film.stars)}"
    if film.liked:
        return f"you liked {title}"
    if film.watched:
        return f"you watched {title}"
    return f"{title} is on your watchlist"


CF_FEATURES = ("ease", "ease_liked", "taste", "als")


class _Explainer:
    """Turn a member's score contributions for chosen films into readable reasons."""

    def __init__(self, model: HybridModel, catalog: Catalog, scored: _Scored, extra: Mapping[int, str],
                 picks: Sequence[int]) -> None:
        self.model = model
        self.catalog = catalog
        self.scored = scored
        self.extra = extra
        self.loved = [f.film for f in scored.films if f.liked or (f.stars is not None and f.stars >= LOVED_STARS)]
        self.loved_genres: dict[str, int] = {}
        self.loved_people: dict[str, dict[str, list[str]]] = {"directors": {}, "cast": {}}
        for film in self.loved:
            for genre in {canonical_genre(g) for g in film.genres}:
                self.loved_genres[genre] = self.loved_genres.get(genre, 0) + 1
            for field_name, people in self.loved_people.items():
                for name in set(getattr(film, field_name)):
                    people.setdefault(name, []).append(film.title)
        self.per_film: dict[int, np.ndarray] = {}
        rows = np.flatnonzero(scored.model_index >= 0)
        pick_model = model.indices_of([catalog.films[p].film_id for p in picks]) if len(picks) else np.zeros(0)
        if rows.size and np.any(pick_model >= 0):
            cols = np.maximum(pick_model, 0)
            member_rows = scored.model_index[rows]
            contribution = np.zeros((rows.size, len(picks)), dtype=np.float32)
            for name, matrix, values in (
                ("ease", "ease", scored.presence[rows]),
                ("ease_liked", "liked", scored.presence[rows]),
                ("taste", "liked", scored.centred[rows]),
            ):
                if not model.uses(name):
                    continue
                # Rows of the transpose are the picks' columns: a small gather, then the member's films.
                block = model.transposed(matrix)[cols]
                block = (block.toarray() if sp.issparse(block) else np.asarray(block))[:, member_rows].T
                contribution += (np.float32(model.blend[name]) / np.float32(scored.std[name])
                                 * values[:, None] * block)
            for k, pick in enumerate(picks):
                if pick_model[k] >= 0:
                    full = np.zeros(len(scored.films), dtype=np.float32)
                    full[rows] = contribution[:, k]
                    self.per_film[int(pick)] = full

    def explain(self, index: int) -> tuple[list[str], dict[str, float]]:
        """Return (reasons, contributions by source) for one catalog film."""
        parts = self.scored.parts
        contributions = {
            "collaborative": float(sum(parts[n][index] for n in CF_FEATURES if n in parts)),
            "content": float(parts["content"][index]) if "content" in parts else 0.0,
            "popularity": float(parts["popularity"][index]) if "popularity" in parts else 0.0,
            "quality": float(parts["quality"][index]) if "quality" in parts else 0.0,
        }
        film = self.catalog.films[index]
        ranked: list[tuple[float, str]] = []
        ranked.extend(self._collaborative(index, contributions["collaborative"]))
        ranked.extend(self._content(film, contributions["content"]))
        quality = self._quality(index)
        if quality:
            ranked.append((max(contributions["quality"], 0.05), quality))
        if film.film_id in self.extra:
            ranked.append((EXTRA_CANDIDATE_BONUS, self.extra[film.film_id]))
        ranked.sort(key=lambda pair: -pair[0])
        reasons = list(dict.fromkeys(text for _, text in ranked if text))[:3]
        if not reasons:
            reasons = ["A strong match for your taste overall"]
        return reasons, contributions

    def _collaborative(self, index: int, total: float) -> list[tuple[float, str]]:
        """Name the member's film that pushed this one most, or their taste neighbours."""
        per_film = self.per_film.get(index)
        if per_film is None or total <= 0:
            return []
        positive = per_film[per_film > 0].sum()
        als = float(self.scored.parts["als"][index]) if "als" in self.scored.parts else 0.0
        order = np.argsort(-per_film)
        top = int(order[0]) if order.size else -1
        out = []
        if top >= 0 and per_film[top] > 0 and per_film[top] >= SOLE_REASON_SHARE * (positive + max(als, 0.0)):
            text = f"Because {_member_action(self.scored.films[top])}"
            if order.size > 1 and per_film[order[1]] >= 0.6 * per_film[top]:
                second = self.scored.films[int(order[1])]
                if second.stars is not None and self.scored.films[top].stars is not None:
                    text += f" and {second.film.title} {stars_text(second.stars)}"
            out.append((total, text))
        else:
            out.append((total, "Popular with members whose taste matches yours"))
        return out

    def _content(self, film: Film, contribution: float) -> list[tuple[float, str]]:
        """Explain content similarity through shared directors, cast and genres."""
        out = []
        weight = max(contribution, 0.0)
        directors = self._shared(film, "directors")
        if directors:
            name, titles = directors[0]
            text = (f"Shares director {name} with {titles[0]}, which you loved" if len(titles) == 1
                    else f"Shares director {name} with {len(titles)} films you loved")
            out.append((weight + 0.5, text))
        cast = self._shared(film, "cast")
        if cast and len(cast[0][1]) >= 2:
            out.append((weight + 0.2, f"Stars {cast[0][0]}, as do {len(cast[0][1])} films you loved"))
        if contribution > 0 and film.genres:
            theirs = dict.fromkeys(canonical_genre(g) for g in film.genres)
            shared = sorted((g for g in theirs if g in self.loved_genres), key=lambda g: -self.loved_genres[g])[:2]
            if shared:
                out.append((contribution, f"Matches your taste for {' and '.join(genre_label(g) for g in shared)}"))
        return out

    def _shared(self, film: Film, field_name: str) -> list[tuple[str, list[str]]]:
        """Return (person, titles of loved films with them) for the film's directors or top cast."""
        names = list(dict.fromkeys(getattr(film, field_name)))
        if field_name == "cast":
            names = names[:TOP_BILLED_CAST]
        people = self.loved_people[field_name]
        found = [(name, people[name]) for name in names if name in people]
        return sorted(found, key=lambda pair: -len(pair[1]))

    def _quality(self, index: int) -> str | None:
        """Quote the film's rating when it is high and backed by enough votes."""
        catalog = self.catalog
        votes, average = catalog.vote_counts[index], catalog.vote_averages[index]
        if not np.isnan(votes) and not np.isnan(average) and votes >= MIN_VOTES_TO_QUOTE:
            if catalog.quality[index] >= HIGH_QUALITY:
                return f"Highly rated: {average:.1f}/10 from {int(votes):,} votes"
            return None
        count, mean = catalog.corpus_counts[index], catalog.corpus_means[index]
        if not np.isnan(mean) and count >= MIN_VOTES_TO_QUOTE and catalog.quality[index] >= HIGH_QUALITY:
            return f"Rated {mean:.1f}/10 by {int(count):,} members"
        return None
