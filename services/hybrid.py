"""The hybrid recommender: collaborative, taste, popularity, quality and content scores blended.

Features for a member over the model's films:
  ease        binary EASE: films watched by people who watched what you watched
  ease_liked  EASE trained to predict *liked* films (rated >= LIKE_FRACTION of the scale)
              from watched ones
  taste       the same weights applied to your ratings centred on your own mean, so a
              film you rated 2/10 pushes its neighbours down
  popularity  log of how many members have the film
  quality     Bayesian average of the film's ratings
  content     cosine of the film with your rating-weighted content profile
Each feature is standardised (per member for personal ones), and the blend weights
are learned by coordinate ascent on NDCG of held-out users, never set by hand.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

import numpy as np
import scipy.sparse as sp

from services import holdout
from services.catalog import bayesian_average
from services.content import ContentModel
from services.domain import Film
from services.model import (
    apply_item_weights,
    binary,
    ease_from_inverse,
    ease_inverse,
    gram,
    interaction_matrix,
    keep_strongest,
)

FEATURES = ("ease", "ease_liked", "taste", "popularity", "quality", "content")
PERSONAL_FEATURES = ("ease", "ease_liked", "taste", "content")
ANCHOR_FEATURE = "ease_liked"
LIKE_FRACTION = holdout.RELEVANT_FRACTION
QUALITY_PRIOR_RATINGS = 10.0
L2_START = 400.0
L2_STEP = 2.5
L2_MAX_STEPS = 4
L2_MIN, L2_MAX = 10.0, 100_000.0
KEPT_NEIGHBOURS = 1024  # strongest weights kept per film in the served matrices
MAX_MODEL_ITEMS = 10_000  # three dense item x item float32 matrices must fit in memory
BLEND_USERS = 2000  # held-out users used to learn the blend
BLEND_STEPS = (1.0, 0.5, 0.25, 0.125)
BLEND_LIMIT = 8.0
BLEND_K = holdout.DEFAULT_K
CONTENT_PRESENCE = 0.3  # every seen film adds this much to the content profile...
CONTENT_TASTE = 3.0  # ...plus this times its rating centred on the member's mean
STD_FLOOR = 1e-6


@dataclass(frozen=True)
class SignalWeights:
    """How strongly each kind of member activity counts when a member is folded in."""

    rated: float = 1.0
    liked: float = 1.0  # presence weight of a like without a rating
    watched: float = 0.7  # watched (or logged) without a rating
    watchlist: float = 0.15  # intent, not a viewing
    rewatch: float = 1.2  # multiplies presence of a film watched more than once
    liked_rating: float = 0.9  # a like without a rating reads as this share of the scale
    like_bonus: float = 0.05  # added to a rated film's centred value when it is also liked


@dataclass(frozen=True)
class FitReport:
    """What fitting chose and how long it took."""

    l2: float
    blend: Mapping[str, float]
    validation_ndcg: float
    l2_trials: Mapping[float, float]
    fit_s: float


@dataclass
class HybridModel:
    """A fitted hybrid: item ids, item x item weights, item priors and the learned blend."""

    item_ids: np.ndarray  # int64, the films the collaborative part knows, ascending
    scale: float
    weights_ease: np.ndarray | sp.csr_matrix
    weights_liked: np.ndarray | sp.csr_matrix
    popularity: np.ndarray  # log1p(count) per item
    quality: np.ndarray  # Bayesian average, 0-scale
    blend: dict[str, float]
    l2: float
    signals: SignalWeights = field(default_factory=SignalWeights)
    content_presence: float = CONTENT_PRESENCE
    content_taste: float = CONTENT_TASTE
    n_users: int = 0
    n_ratings: int = 0
    report: FitReport | None = None

    def __post_init__(self) -> None:
        self._index = {int(item): i for i, item in enumerate(self.item_ids)}

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

    def feature_scores(
        self, presence: sp.csr_matrix, centred: sp.csr_matrix, content: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """Return each standardised feature as users x items arrays."""
        out: dict[str, np.ndarray] = {}
        if self.blend.get("ease", 0.0) != 0.0:
            out["ease"] = _standardise_rows(apply_item_weights(presence, self.weights_ease))
        if self.blend.get("ease_liked", 0.0) != 0.0:
            out["ease_liked"] = _standardise_rows(apply_item_weights(presence, self.weights_liked))
        if self.blend.get("taste", 0.0) != 0.0:
            out["taste"] = _standardise_rows(apply_item_weights(centred, self.weights_liked))
        n = presence.shape[0]
        if self.blend.get("popularity", 0.0) != 0.0:
            out["popularity"] = np.broadcast_to(_standardise(self.popularity), (n, self.n_items))
        if self.blend.get("quality", 0.0) != 0.0:
            out["quality"] = np.broadcast_to(_standardise(self.quality), (n, self.n_items))
        if content is not None and self.blend.get("content", 0.0) != 0.0:
            out["content"] = _standardise_rows(content)
        return out

    def score(
        self, presence: sp.csr_matrix, centred: sp.csr_matrix, content: np.ndarray | None = None
    ) -> np.ndarray:
        """Return the blended score of every item for each row."""
        total = np.zeros((presence.shape[0], self.n_items), dtype=np.float32)
        for name, values in self.feature_scores(presence, centred, content).items():
            total += np.float32(self.blend[name]) * values
        return total


def _standardise(values: np.ndarray) -> np.ndarray:
    """Return values centred and divided by their standard deviation."""
    values = np.asarray(values, dtype=np.float32)
    std = float(values.std())
    return (values - np.float32(values.mean())) / np.float32(max(std, STD_FLOOR))


def _standardise_rows(values: np.ndarray) -> np.ndarray:
    """Standardise each row in place (a member's scores on a common scale)."""
    values = np.asarray(values, dtype=np.float32)
    values -= values.mean(axis=1, keepdims=True)
    std = values.std(axis=1, keepdims=True)
    values /= np.maximum(std, np.float32(STD_FLOOR))
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


def ease_pair(data: TrainingData, l2: float) -> tuple[np.ndarray, np.ndarray]:
    """Return (binary EASE weights, watched-to-liked EASE weights) sharing one inverse."""
    presence = binary(data.presence)
    inverse = ease_inverse(gram(presence), l2, overwrite=True)
    liked_weights = ease_from_inverse(inverse, gram(presence, data.liked))
    return ease_from_inverse(inverse, overwrite=True), liked_weights


def _rows(matrix: sp.csr_matrix, rows: np.ndarray) -> sp.csr_matrix:
    """Return the given rows of a CSR matrix."""
    return matrix[rows]


def validation_features(
    ease: np.ndarray | sp.csr_matrix,
    liked: np.ndarray | sp.csr_matrix,
    popularity: np.ndarray,
    quality: np.ndarray,
    data: TrainingData,
    users: np.ndarray,
    content: ContentModel | None,
) -> dict[str, np.ndarray]:
    """Return every standardised feature for these users (popularity and quality as 1-D rows)."""
    presence = _rows(data.presence, users)
    out = {
        "ease": _standardise_rows(apply_item_weights(presence, ease)),
        "ease_liked": _standardise_rows(apply_item_weights(presence, liked)),
        "taste": _standardise_rows(apply_item_weights(_rows(data.centred, users), liked)),
        "popularity": _standardise(popularity),
        "quality": _standardise(quality),
    }
    if content is not None:
        out["content"] = _standardise_rows(content.batch_scores(_rows(data.content_rows, users)))
    return out


def blend_ndcg(
    features: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    seen: sp.csr_matrix,
    relevant: sp.csr_matrix,
    k: int = BLEND_K,
) -> float:
    """Return the mean NDCG@k of the weighted sum of features (1-D features apply to every row)."""
    total = np.zeros((seen.shape[0], seen.shape[1]), dtype=np.float32)
    for name, weight in weights.items():
        if weight != 0.0 and name in features:
            total += np.float32(weight) * features[name]
    holdout.mask_seen(total, seen)
    _, ndcg = holdout.recall_ndcg(holdout.top_k(total, k), relevant, k)
    return float(ndcg.mean()) if ndcg.size else 0.0


def learn_blend(
    features: Mapping[str, np.ndarray], seen: sp.csr_matrix, relevant: sp.csr_matrix, k: int = BLEND_K
) -> tuple[dict[str, float], float]:
    """Find blend weights by coordinate ascent on held-out NDCG, the anchor feature fixed at 1."""
    names = [n for n in FEATURES if n in features]
    weights = {n: (1.0 if n == ANCHOR_FEATURE else 0.0) for n in names}
    best = blend_ndcg(features, weights, seen, relevant, k)
    for step in BLEND_STEPS:
        improved = True
        while improved:
            improved = False
            for name in names:
                if name == ANCHOR_FEATURE:
                    continue
                for delta in (step, -step):
                    trial = dict(weights)
                    trial[name] = float(np.clip(weights[name] + delta, -BLEND_LIMIT, BLEND_LIMIT))
                    if trial[name] == weights[name]:
                        continue
                    value = blend_ndcg(features, trial, seen, relevant, k)
                    if value > best + 1e-9:
                        best, weights, improved = value, trial, True
                        break
    return weights, best


@dataclass(frozen=True)
class HybridSettings:
    """Settings for fitting; the defaults are the production ones."""

    l2: float | None = None  # None: searched on held-out users
    l2_start: float = L2_START
    l2_step: float = L2_STEP
    l2_max_steps: int = L2_MAX_STEPS
    kept_neighbours: int = KEPT_NEIGHBOURS
    max_items: int = MAX_MODEL_ITEMS
    blend_users: int = BLEND_USERS
    blend: Mapping[str, float] | None = None  # None: learned on held-out users
    signals: SignalWeights = SignalWeights()
    content_presence: float = CONTENT_PRESENCE
    content_taste: float = CONTENT_TASTE
    seed: int = 0


def _dense_ids(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (unique values, dense index of each value)."""
    unique, inverse = np.unique(np.asarray(values), return_inverse=True)
    return unique, inverse.astype(np.int64)


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
    """Fit the hybrid: search the L2 and learn the blend on held-out users, then refit on everything.

    `items` are item ids (film ids). `films` (film_id = item id) feed the content feature.
    `item_universe` lists ids to cover even without ratings (they get zero columns).
    """
    started = time.perf_counter()
    users = np.asarray(users)
    items = np.asarray(items, dtype=np.int64)
    ratings = np.asarray(ratings, dtype=np.float32)
    extra_users = np.zeros(0, dtype=users.dtype) if unrated is None else np.asarray(unrated[0])
    user_ids, user_index = _dense_ids(np.concatenate([users, extra_users]))
    n_users = user_ids.size
    rated_users, unrated_users = user_index[: users.size], user_index[users.size:]
    item_ids = _model_items(items, unrated, item_universe, settings.max_items)
    item_pos = np.searchsorted(item_ids, items)
    known = (item_pos < item_ids.size) & (item_ids[np.minimum(item_pos, item_ids.size - 1)] == items)
    rated_users, item_pos, ratings = rated_users[known], item_pos[known], ratings[known]
    extra = None
    if unrated is not None and unrated_users.size:
        extra_items = np.searchsorted(item_ids, np.asarray(unrated[1], dtype=np.int64))
        ok = (extra_items < item_ids.size) & (
            item_ids[np.minimum(extra_items, item_ids.size - 1)] == np.asarray(unrated[1]))
        extra = (unrated_users[ok], extra_items[ok], np.asarray(unrated[2], dtype=bool)[ok])

    content = _content_model(films, item_ids)

    def data_for(u: np.ndarray, i: np.ndarray, r: np.ndarray) -> TrainingData:
        return build_training_data(
            u, i, r, n_users, item_ids, scale, settings.signals, extra,
            settings.content_presence, settings.content_taste)

    split = holdout.holdout_split(
        rated_users, item_pos, ratings, n_users, item_ids.size, scale, settings.seed)
    inner = data_for(split.train_users, split.train_items, split.train_ratings)
    rng = np.random.default_rng(settings.seed)
    val_users = split.eval_users
    if val_users.size > settings.blend_users:
        val_users = np.sort(rng.choice(val_users, settings.blend_users, replace=False))
    seen = _rows(binary(inner.presence), val_users)
    relevant = _rows(split.relevant, val_users)
    popularity, quality = item_priors(inner)

    trials: dict[float, float] = {}
    best_pair: tuple | None = None

    def trial(l2: float) -> float:
        nonlocal best_pair
        pair = tuple(keep_strongest(w, settings.kept_neighbours) for w in ease_pair(inner, l2))
        liked_scores = _standardise_rows(apply_item_weights(_rows(inner.presence, val_users), pair[1]))
        holdout.mask_seen(liked_scores, seen)
        _, ndcg = holdout.recall_ndcg(holdout.top_k(liked_scores, BLEND_K), relevant, BLEND_K)
        trials[l2] = float(ndcg.mean()) if ndcg.size else 0.0
        if trials[l2] >= max(trials.values()):
            best_pair = pair
        return trials[l2]

    if settings.l2 is not None or val_users.size == 0:
        l2 = settings.l2 if settings.l2 is not None else settings.l2_start
        if settings.blend is None and val_users.size:
            trial(l2)
    else:
        l2 = _search_l2(trial, settings)
    if settings.blend is not None:
        blend, validation = dict(settings.blend), float("nan")
    elif val_users.size == 0 or best_pair is None:
        blend, validation = {ANCHOR_FEATURE: 1.0}, float("nan")
    else:
        ease_w, liked_w = best_pair
        best_pair = None
        features = validation_features(ease_w, liked_w, popularity, quality, inner, val_users, content)
        blend, validation = learn_blend(features, seen, relevant)
        del features

    full = data_for(rated_users, item_pos, ratings)
    ease_w, liked_w = ease_pair(full, l2)
    ease_w = keep_strongest(ease_w, settings.kept_neighbours)
    liked_w = keep_strongest(liked_w, settings.kept_neighbours)
    popularity, quality = item_priors(full)
    fit_s = time.perf_counter() - started
    return HybridModel(
        item_ids=item_ids, scale=float(scale), weights_ease=ease_w, weights_liked=liked_w,
        popularity=popularity, quality=quality, blend=blend, l2=float(l2), signals=settings.signals,
        content_presence=settings.content_presence, content_taste=settings.content_taste,
        n_users=int(n_users), n_ratings=int(ratings.size),
        report=FitReport(l2=float(l2), blend=blend, validation_ndcg=validation, l2_trials=trials, fit_s=fit_s),
    )


def _search_l2(trial, settings: HybridSettings) -> float:
    """Walk a geometric grid of L2 values in the improving direction until NDCG stops rising."""
    current = settings.l2_start
    best = trial(current)
    for direction in (settings.l2_step, 1.0 / settings.l2_step):
        moved = False
        for _ in range(settings.l2_max_steps):
            candidate = float(np.clip(current * direction, L2_MIN, L2_MAX))
            if candidate == current:
                break
            value = trial(candidate)
            if value <= best:
                break
            current, best, moved = candidate, value, True
        if moved:
            break
    return current


def _model_items(
    items: np.ndarray,
    unrated: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    universe: np.ndarray | None,
    max_items: int,
) -> np.ndarray:
    """Return the item ids the model covers: the most active ones, at most max_items, ascending."""
    everything = [items] if unrated is None else [items, np.asarray(unrated[1], dtype=np.int64)]
    ids, counts = np.unique(np.concatenate(everything), return_counts=True)
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
