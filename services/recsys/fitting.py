"""Fitting: choose hyperparameters and the blend on held-out users, then refit on everything.

The inner model used to learn the blend is a HybridModel too, scored through the same
`features` path the served model uses, so the blend is learned on what ships.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any, Mapping

import numpy as np
import scipy.sparse as sp

from services import holdout
from services.catalog import Catalog
from services.domain import Film
from services.baselines import AlsModel, apply_item_weights, binary, ease_inverse, gram
from services.recsys.blend import (
    ANCHOR_FEATURE,
    FEATURES,
    BlendProblem,
    blend_problem,
    learn_blend,
    ranking_ndcg,
    rows_ndcg,
    stack_problems,
    walk_grid,
)
from services.recsys.collaborative import (
    ALS_ALPHA,
    ALS_FACTORS,
    ALS_ITERATIONS,
    ALS_REGULARIZATION_START,
    ALS_REGULARIZATION_STEP,
    ALS_TRIAL_ITERATIONS,
    HEAD_ITEMS,
    KEPT_NEIGHBOURS,
    MIN_HEAD_USERS,
    GramSpectrum,
    ease_pair,
    ease_pair_from_inverse,
    ease_pair_from_kernel_inverse,
    fit_als,
    head_items,
    one_blas_thread,
)
from services.recsys.content import MAPPING_L2, fit_mapping
from services.recsys.members import MemberRows
from services.recsys.neighbours import NEIGHBOURS_BETA, NEIGHBOURS_KEPT, co_rating_neighbours
from services.recsys.model import FitReport, HybridModel
from services.recsys.training import (
    CONTENT_PRESENCE,
    CONTENT_TASTE,
    Corpus,
    SignalWeights,
    TrainingData,
    build_training_data,
    dense_ids,
    item_priors,
    positions,
)

FULL, QUICK = "full", "quick"
QUICK_HEAD_ITEMS = 3000  # films the quick model's EASE covers: its solve takes a second, not a minute
L2_START = 400.0
L2_STEP = 2.5
L2_MAX_STEPS = 4
BLEND_USERS = 4000  # held-out users used to choose hyperparameters and learn the blend
BLEND_CHUNK = 250  # held-out users scored at once while building the blend problem
CALIBRATION_STEPS = 25
CALIBRATION_RIDGE = 1.0
BETA_STEP = 1.4  # the neighbours' popularity penalty is walked by this factor...
BETA_MIN, BETA_MAX = 0.1, 1.0  # ...within these bounds
TUNE_USERS = 50_000  # members (a seeded sample) whose ratings tuning fits on; the final refit uses all


@dataclass(frozen=True)
class HybridSettings:
    """Settings for fitting; the defaults are the production ones (every value searched on held-out users)."""

    kind: str = FULL  # FULL, or QUICK: the model a fresh install answers with while the full one fits
    l2: float | None = None  # None: searched on held-out users
    l2_start: float = L2_START
    l2_step: float = L2_STEP
    l2_max_steps: int = L2_MAX_STEPS
    als_factors: int = ALS_FACTORS  # 0 leaves ALS out
    als_alpha: float = ALS_ALPHA
    als_iterations: int = ALS_ITERATIONS
    als_regularization: float | None = None  # None: searched on held-out users
    kept_neighbours: int = KEPT_NEIGHBOURS
    head_items: int = HEAD_ITEMS
    min_head_users: int = MIN_HEAD_USERS
    blend_users: int = BLEND_USERS
    tune_users: int = TUNE_USERS
    blend: Mapping[str, float] | None = None  # None: learned on held-out users
    signals: SignalWeights = SignalWeights()
    content_presence: float = CONTENT_PRESENCE
    content_taste: float = CONTENT_TASTE
    mapping_l2: float = MAPPING_L2
    neighbours_kept: int = NEIGHBOURS_KEPT  # 0 leaves the co-rating neighbours out
    neighbours_beta: float | None = None  # None: searched on held-out users
    match: tuple[float, float] | None = None  # calibration (slope, intercept) kept from tuning; None: learned
    seed: int = 0


def quick_settings(base: HybridSettings = HybridSettings()) -> HybridSettings:
    """The quick model's shape: a small head and no ALS, so it fits in seconds; values searched unless given."""
    return replace(base, kind=QUICK, head_items=QUICK_HEAD_ITEMS, als_factors=0)


# When no tuned values are stored at all: a quick model with fixed values (a blend learned on the
# embedded corpus once), for tests and demos; it fits in seconds.
QUICK_SETTINGS = replace(quick_settings(), l2=400.0, neighbours_beta=NEIGHBOURS_BETA, blend={
    "ease": 1.0, "ease_liked": 1.0, "neighbours": 0.5, "popularity": -1.5, "quality": 0.5, "content": 1.25})

# What tuning chooses, as the tuned-settings file records it; everything else keeps its default.
TUNED_FIELDS = ("kind", "head_items", "l2", "als_factors", "als_regularization", "neighbours_kept",
                "neighbours_beta", "blend", "match")


def tuned_settings(settings: HybridSettings, model: HybridModel) -> HybridSettings:
    """`settings` with every value the fit searched replaced by the one it chose (fitting again searches nothing)."""
    report = model.report
    return replace(
        settings, l2=model.l2, blend=dict(model.blend),
        als_regularization=model.als_regularization if settings.als_factors else settings.als_regularization,
        neighbours_beta=report.neighbours_beta if report and report.neighbours_beta is not None
        else settings.neighbours_beta if settings.neighbours_beta is not None else NEIGHBOURS_BETA,
        match=(model.match_slope, model.match_intercept))


def settings_record(settings: HybridSettings) -> dict[str, Any]:
    """The tuned values of settings as plain JSON-able data."""
    record = {name: getattr(settings, name) for name in TUNED_FIELDS}
    record["blend"] = None if settings.blend is None else {k: float(v) for k, v in settings.blend.items()}
    record["match"] = None if settings.match is None else [float(v) for v in settings.match]
    return record


def settings_from_record(record: Mapping[str, Any]) -> HybridSettings:
    """The settings a `settings_record` describes; ValueError names what is malformed."""
    unknown = sorted(set(record) - set(TUNED_FIELDS))
    if unknown:
        raise ValueError(f"unknown setting {unknown[0]!r}")
    values: dict[str, Any] = {}
    try:
        for name, value in record.items():
            if name == "kind":
                if value not in (FULL, QUICK):
                    raise ValueError(f"kind must be {FULL!r} or {QUICK!r}")
                values[name] = value
            elif name == "blend":
                values[name] = None if value is None else {str(k): float(v) for k, v in dict(value).items()}
            elif name == "match":
                values[name] = None if value is None else (float(value[0]), float(value[1]))
            elif name in ("head_items", "als_factors", "neighbours_kept"):
                values[name] = int(value)
            else:
                values[name] = None if value is None else float(value)
    except (TypeError, IndexError, KeyError) as exc:
        raise ValueError(f"malformed setting ({exc})") from None
    unknown_features = sorted(set(values.get("blend") or ()) - set(FEATURES))
    if unknown_features:
        raise ValueError(f"unknown blend feature {unknown_features[0]!r}")
    return HybridSettings(**values)


def bare_catalog(film_ids: np.ndarray) -> Catalog:
    """Return a catalog of films known only by id (for corpora without item metadata)."""
    return Catalog(Film(film_id=int(i), title="") for i in np.asarray(film_ids).tolist())


def fit(corpus: Corpus, catalog: Catalog | None = None, settings: HybridSettings = HybridSettings()
        ) -> HybridModel:
    """Fit the hybrid on a corpus and return it serving `catalog` (film ids = corpus item ids)."""
    started = time.perf_counter()
    users = np.asarray(corpus.users)
    ratings = np.asarray(corpus.ratings, dtype=np.float32)
    unrated = corpus.unrated
    extra_users = np.zeros(0, dtype=users.dtype) if unrated is None else np.asarray(unrated[0])
    _, user_index = dense_ids(np.concatenate([users, extra_users]))
    n_users = int(user_index.max()) + 1 if user_index.size else 0
    everything = [np.asarray(corpus.items, dtype=np.int64)]
    if unrated is not None:
        everything.append(np.asarray(unrated[1], dtype=np.int64))
    item_ids = np.unique(np.concatenate(everything))
    if catalog is None:
        catalog = bare_catalog(item_ids)
    item_pos, _ = positions(item_ids, corpus.items)
    rated_users = user_index[: users.size]
    extra = None
    if unrated is not None and extra_users.size:
        extra_pos, _ = positions(item_ids, unrated[1])
        extra = (user_index[users.size:], extra_pos, np.asarray(unrated[2], dtype=bool))
    n_items = int(item_ids.size)

    def data_for(u: np.ndarray, i: np.ndarray, r: np.ndarray) -> TrainingData:
        return build_training_data(u, i, r, n_users, n_items, corpus.scale, settings.signals, extra)

    full = data_for(rated_users, item_pos, ratings)
    users_per_film = np.diff(full.presence.tocsc().indptr)
    head = head_items(users_per_film, settings.head_items, settings.min_head_users)
    to_catalog = _catalog_columns(item_ids, catalog)

    l2 = settings.l2 if settings.l2 is not None else settings.l2_start
    als_reg = settings.als_regularization if settings.als_regularization is not None \
        else ALS_REGULARIZATION_START
    blend = dict(settings.blend) if settings.blend is not None else {name: 1.0 for name in FEATURES}
    use_als = bool(settings.als_factors) and blend.get("als", 0.0) != 0.0
    use_neighbours = bool(settings.neighbours_kept) and blend.get("neighbours", 0.0) != 0.0
    beta = settings.neighbours_beta if settings.neighbours_beta is not None else NEIGHBOURS_BETA
    validation = float("nan")
    match_slope, match_intercept = settings.match if settings.match is not None else (0.0, 0.0)
    l2_trials: dict[float, float] = {}
    als_trials: dict[float, float] = {}
    beta_trials: dict[float, float] = {}
    tune = settings.blend is None or settings.l2 is None or (use_als and settings.als_regularization is None) \
        or (use_neighbours and settings.neighbours_beta is None)
    sample = np.ones(rated_users.size, dtype=bool)
    if n_users > settings.tune_users:
        # Tuning ranks hyperparameters; a large sample of members ranks them as all would, for less.
        chosen = np.zeros(n_users, dtype=bool)
        chosen[np.random.default_rng(settings.seed).choice(n_users, settings.tune_users, replace=False)] = True
        sample = chosen[rated_users]
    split = holdout.holdout_split(rated_users[sample], item_pos[sample], ratings[sample], n_users, n_items,
                                  corpus.scale, settings.seed)
    if tune and split.eval_users.size:
        val_users = split.eval_users
        if val_users.size > settings.blend_users:
            rng = np.random.default_rng(settings.seed)
            val_users = np.sort(rng.choice(val_users, settings.blend_users, replace=False))
        inner = data_for(split.train_users, split.train_items, split.train_ratings)
        inner_presence = binary(inner.presence)
        seen = inner_presence[val_users]
        relevant = split.relevant[val_users]
        active = np.flatnonzero(np.diff(inner_presence.indptr))  # members with films in the inner split
        inner_head = inner_presence[active][:, head]
        inner_liked = inner.liked[active][:, head]
        seen_head, relevant_head = seen[:, head], relevant[:, head]
        best_inverse: list[np.ndarray] = []
        spectrum = None
        if settings.l2 is None and inner_head.shape[0] < inner_head.shape[1]:
            # Fewer members than films: one eigendecomposition of the members' Gram serves every L2.
            spectrum = GramSpectrum(inner_head)
            coordinates = spectrum.coordinates(seen_head, _rows_in(active, val_users))

            def l2_trial(value: float) -> float:
                l2_trials[value] = ranking_ndcg(spectrum.scores(coordinates, value), seen_head, relevant_head)
                return l2_trials[value]
        else:
            inner_gram = gram(inner_head)

            def l2_trial(value: float) -> float:
                inverse = ease_inverse(inner_gram, value)
                # x @ B = -(x @ P) / diag(P) away from the seen films, without building B.
                scores = apply_item_weights(seen_head, inverse) / -np.diag(inverse)[None, :]
                l2_trials[value] = ranking_ndcg(scores, seen_head, relevant_head)
                if l2_trials[value] >= max(l2_trials.values()):
                    best_inverse[:] = [inverse]
                return l2_trials[value]

        if settings.l2 is None:
            l2 = walk_grid(l2_trial, settings.l2_start, settings.l2_step, settings.l2_max_steps)
        else:
            l2_trial(l2)
        inner_gram = coordinates = None
        # What the blend's inner model needs of the spectrum, which is let go before ALS is tuned.
        kernel_inverse = spectrum.kernel_inverse(l2) if spectrum is not None and settings.blend is None else None
        spectrum = None
        inner_factors = np.zeros((n_items, 0), dtype=np.float32)
        if use_als:
            fitted: dict[float, AlsModel] = {}

            def als_trial(value: float) -> float:
                model = AlsModel(settings.als_factors, value, settings.als_alpha, ALS_TRIAL_ITERATIONS,
                                 settings.seed).fit(inner_presence)
                with one_blas_thread():  # the fold-in solves one small system per member
                    als_trials[value] = rows_ndcg(lambda rows: model.score(inner.presence[val_users[rows]]),
                                                  seen, relevant)
                fitted[value] = model
                return als_trials[value]

            if settings.als_regularization is None:
                als_reg = walk_grid(als_trial, ALS_REGULARIZATION_START, ALS_REGULARIZATION_STEP, 2,
                                    low=1e-3, high=1e5)
            else:
                als_trial(als_reg)
            inner_factors = fitted[als_reg].item_factors
            fitted.clear()
        inner_neighbours = None
        if use_neighbours:
            walked: dict[float, sp.csr_matrix] = {}

            def beta_trial(value: float) -> float:
                weights = co_rating_neighbours(inner.presence, settings.neighbours_kept, value)
                beta_trials[value] = rows_ndcg(
                    lambda rows: apply_item_weights(inner.presence[val_users[rows]], weights), seen, relevant)
                walked[value] = weights
                return beta_trials[value]

            if settings.neighbours_beta is None:
                beta = walk_grid(beta_trial, NEIGHBOURS_BETA, BETA_STEP, 2, low=BETA_MIN, high=BETA_MAX)
            elif settings.blend is None:
                beta_trial(beta)
            inner_neighbours = walked.get(beta)
            walked.clear()
        if settings.blend is None:
            if kernel_inverse is not None:
                ease_w, liked_w = ease_pair_from_kernel_inverse(kernel_inverse, inner_head, inner_liked, l2,
                                                                settings.kept_neighbours)
            else:
                ease_w, liked_w = ease_pair_from_inverse(best_inverse.pop(), inner_head, inner_liked,
                                                         settings.kept_neighbours)
            popularity, quality = item_priors(inner)
            inner_model = HybridModel(
                item_ids=item_ids, head=head, scale=float(corpus.scale), weights_ease=ease_w,
                weights_liked=liked_w, item_factors=inner_factors, popularity=popularity, quality=quality,
                mapping=_mapping(catalog, item_ids, inner_factors, users_per_film, settings),
                weights_neighbours=inner_neighbours,
                blend={name: 1.0 for name in FEATURES if (name != "als" or inner_factors.shape[1])
                       and (name != "neighbours" or inner_neighbours is not None)},
                l2=float(l2), als_regularization=float(als_reg), als_alpha=settings.als_alpha,
                signals=settings.signals, content_presence=settings.content_presence,
                content_taste=settings.content_taste, catalog=catalog)
            held = _held_out(split, val_users, item_ids, catalog, corpus.scale)
            problem, held_features = _blend_problem(inner_model, inner, val_users, seen, relevant, to_catalog,
                                                    held)
            blend, validation = learn_blend(problem)
            held_scores = sum(np.float32(w) * held_features[n] for n, w in blend.items() if n in held_features)
            match_slope, match_intercept = calibrate(np.asarray(held_scores, dtype=np.float64), held[2])
        best_inverse.clear()

    ease_w, liked_w = ease_pair(full.presence[:, head], full.liked[:, head], l2, settings.kept_neighbours)
    item_factors = np.zeros((n_items, 0), dtype=np.float32)
    if settings.als_factors and blend.get("als", 0.0) != 0.0:
        item_factors = fit_als(full.presence, settings.als_factors, als_reg, settings.als_alpha,
                               settings.als_iterations, settings.seed)
    neighbours = None
    if settings.neighbours_kept and blend.get("neighbours", 0.0) != 0.0:
        neighbours = co_rating_neighbours(full.presence, settings.neighbours_kept, beta)
    popularity, quality = item_priors(full)
    report = FitReport(
        l2=float(l2), als_regularization=float(als_reg) if item_factors.shape[1] else None, blend=blend,
        validation_ndcg=validation, l2_trials=l2_trials, als_trials=als_trials,
        fit_s=time.perf_counter() - started, neighbours_beta=float(beta) if neighbours is not None else None,
        beta_trials=beta_trials, match=(match_slope, match_intercept))
    return HybridModel(
        item_ids=item_ids, head=head, scale=float(corpus.scale), weights_ease=ease_w, weights_liked=liked_w,
        item_factors=item_factors, popularity=popularity, quality=quality,
        mapping=_mapping(catalog, item_ids, item_factors, users_per_film, settings),
        blend=blend, l2=float(l2), als_regularization=float(als_reg), als_alpha=settings.als_alpha,
        signals=settings.signals, content_presence=settings.content_presence,
        content_taste=settings.content_taste, weights_neighbours=neighbours, n_users=n_users,
        n_ratings=int(ratings.size),
        match_slope=match_slope, match_intercept=match_intercept, report=report, catalog=catalog,
        kind=settings.kind)


def _mapping(catalog: Catalog, item_ids: np.ndarray, factors: np.ndarray, users_per_film: np.ndarray,
             settings: HybridSettings):
    """Fit the content -> factors map on the corpus's films the catalog describes."""
    if factors.shape[1] == 0:
        return None
    films = [catalog.by_id(int(i)) for i in item_ids.tolist()]
    return fit_mapping(films, factors, users_per_film, settings.mapping_l2)


def _rows_in(rows: np.ndarray, wanted: np.ndarray) -> np.ndarray | None:
    """Return where each wanted row sits in the sorted `rows`, or None when one is missing."""
    where = np.minimum(np.searchsorted(rows, wanted), max(rows.size - 1, 0))
    return where if rows.size and bool((rows[where] == wanted).all()) else None


def _catalog_columns(item_ids: np.ndarray, catalog: Catalog) -> sp.csr_matrix:
    """Return the items x catalog matrix that moves corpus columns to catalog positions."""
    where = catalog.indices_of(item_ids)
    inside = where >= 0
    return sp.csr_matrix((np.ones(int(inside.sum()), dtype=np.float32), (np.flatnonzero(inside), where[inside])),
                         shape=(item_ids.size, len(catalog)))


def _held_out(split, val_users: np.ndarray, item_ids: np.ndarray, catalog: Catalog, scale: float
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (row in val_users, catalog position, rated highly) of the validation users' held-out films."""
    row_of = np.full(int(split.test_users.max()) + 1 if split.test_users.size else 0, -1, dtype=np.int64)
    inside = val_users[val_users < row_of.size]
    row_of[inside] = np.searchsorted(val_users, inside)
    rows = row_of[split.test_users] if split.test_users.size else np.zeros(0, dtype=np.int64)
    cols = catalog.indices_of(item_ids[split.test_items]) if split.test_items.size else np.zeros(0, np.int64)
    keep = (rows >= 0) & (cols >= 0)
    liked = split.test_ratings[keep] >= np.float32(holdout.RELEVANT_FRACTION * scale)
    return rows[keep], cols[keep], liked


def calibrate(scores: np.ndarray, liked: np.ndarray, steps: int = CALIBRATION_STEPS) -> tuple[float, float]:
    """Fit P(liked) = sigmoid(a x score + b) by Newton's method; (0, 0) when there is nothing to fit."""
    if scores.size < 2 or liked.all() or not liked.any():
        return 0.0, 0.0
    x = np.column_stack([scores, np.ones_like(scores)])
    y = liked.astype(np.float64)
    theta = np.zeros(2)
    # A small ridge on the slope: where held-out films separate perfectly (a small corpus) the slope
    # would grow without bound and every match read 99%; with thousands of held-out films it is negligible.
    ridge = np.diag([CALIBRATION_RIDGE, 1e-6])
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ theta)))
        hessian = (x * (p * (1 - p))[:, None]).T @ x + ridge
        theta -= np.linalg.solve(hessian, x.T @ (p - y) + ridge @ theta)
    return float(theta[0]), float(theta[1])


def _blend_problem(model: HybridModel, inner: TrainingData, val_users: np.ndarray, seen: sp.csr_matrix,
                   relevant: sp.csr_matrix, to_catalog: sp.csr_matrix,
                   held: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[BlendProblem, dict]:
    """Return the blend problem of the validation users (built a chunk at a time) and features at held-out films."""
    pieces = []
    held_rows, held_cols, _ = held
    held_features: dict[str, list] = {}
    where: list[np.ndarray] = []
    for start in range(0, val_users.size, BLEND_CHUNK):
        chunk = val_users[start:start + BLEND_CHUNK]
        rows = MemberRows((inner.presence[chunk] @ to_catalog).tocsr(), (inner.centred[chunk] @ to_catalog).tocsr())
        features = model.features(rows)
        piece_seen = (seen[start:start + BLEND_CHUNK] @ to_catalog).tocsr()
        piece_relevant = (relevant[start:start + BLEND_CHUNK] @ to_catalog).tocsr()
        pieces.append(blend_problem(features, piece_seen, piece_relevant))
        mine = (held_rows >= start) & (held_rows < start + chunk.size)
        where.append(np.flatnonzero(mine))
        for name, values in features.items():
            gathered = values[held_cols[mine]] if values.ndim == 1 else values[held_rows[mine] - start,
                                                                               held_cols[mine]]
            held_features.setdefault(name, []).append(gathered)
    problem = stack_problems(pieces)
    positions = np.concatenate(where)
    gathered = {}
    for name, values in held_features.items():
        gathered[name] = np.zeros(held_rows.size, dtype=np.float32)
        gathered[name][positions] = np.concatenate(values)
    return problem, gathered


__all__ = ["ANCHOR_FEATURE", "FULL", "QUICK", "QUICK_SETTINGS", "HybridSettings", "bare_catalog", "fit",
           "quick_settings", "settings_from_record", "settings_record", "tuned_settings"]
