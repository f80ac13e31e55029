"""Offline evaluation: the hybrid against strong baselines on one seeded held-out split.

Protocol (services.holdout): keep users with >= 5 ratings; hold out a seeded random
20% of each user's ratings (at least one); relevant = held-out films rated >= 0.7 x
the scale (the largest rating seen); users without a relevant held-out film are
skipped; every film the user has not rated in training is ranked.

Every model's hyperparameters are chosen on an inner split of the training part
(same protocol, another seed), never on the test part.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
import scipy.sparse as sp

from services import holdout
from services.content_vectors import ContentModel
from services.domain import Film
from services.catalog import Catalog
from services.recsys import Corpus, HybridModel, HybridSettings, MemberRows, fit, quick_settings
from services.recsys.blend import walk_grid
from services.recsys.collaborative import HEAD_ITEMS
from services.recsys.fitting import bare_catalog
from services.recsys.training import CONTENT_PRESENCE, CONTENT_TASTE, build_training_data
from services.baselines import (
    AlsModel,
    BprModel,
    EaseModel,
    ItemKnnModel,
    PopularityModel,
    Rp3BetaModel,
    SansaModel,
    array_bytes,
    binary,
    interaction_matrix,
)

ALL_MODELS = ("hybrid", "hybrid_quick", "popularity", "item_knn", "rp3beta", "ease", "als", "bpr", "sansa",
              "content")
HYBRIDS = ("hybrid", "hybrid_quick")  # the full model, and the quick one a fresh install answers with first
# BPR's tuning refits it about eight times (minutes on a million ratings), and SANSA needs packages
# the app does not (scikit-sparse, sansa): both are measured only when named in --models.
DEFAULT_MODELS = ("hybrid", "hybrid_quick", "popularity", "item_knn", "rp3beta", "ease", "als", "content")
LATENCY_USERS = 200  # users timed one at a time for recommend_ms
TUNING_USERS = 2000  # held-out users scored per hyperparameter trial
INNER_SEED_OFFSET = 1
EASE_L2_START = 400.0
EASE_L2_STEP = 2.5
EASE_L2_MAX_STEPS = 4
KNN_NEIGHBOURS = (50, 200, 800, 3200)
ALS_ALPHAS = (1.0, 4.0, 16.0, 64.0)
ALS_REGULARIZATIONS = (0.1, 1.0, 10.0, 100.0, 1000.0)
ALS_FACTORS = (32, 64, 128)
ALS_START = {"alpha": 4.0, "regularization": 10.0, "factors": 64}
# Coordinate search, one hyperparameter at a time; regularisation is revisited last
# because the best value moves with alpha and the number of factors.
ALS_SEARCH = (("regularization", ALS_REGULARIZATIONS), ("alpha", ALS_ALPHAS), ("factors", ALS_FACTORS),
              ("regularization", ALS_REGULARIZATIONS))
RP3_START = {"alpha": 1.0, "beta": 0.5, "neighbours": 200}
# The popularity penalty matters most and interacts with the walk's exponent: revisited last.
RP3_SEARCH = (("beta", (0.0, 0.25, 0.5, 0.75)), ("neighbours", (50, 200, 800)), ("alpha", (0.5, 0.75, 1.0)),
              ("beta", (0.0, 0.25, 0.5, 0.75)))
BPR_START = {"factors": 64, "learning_rate": 0.05, "regularization": 0.01, "fold_in_regularization": 1.0,
             "fold_in_alpha": 4.0}
# The fold-in settings need no refit, so they are searched first and again after the fit's settings move.
BPR_FOLD_IN = ("fold_in_regularization", "fold_in_alpha")
BPR_SEARCH = (("fold_in_regularization", (0.1, 1.0, 10.0, 100.0)), ("fold_in_alpha", (1.0, 4.0, 16.0)),
              ("learning_rate", (0.01, 0.05, 0.1)), ("regularization", (0.001, 0.01, 0.1)),
              ("factors", (32, 64, 128)), ("fold_in_regularization", (0.1, 1.0, 10.0, 100.0)))
SANSA_START = {"l2": 400.0, "density": 0.02}
SANSA_SEARCH = (("l2", (100.0, 400.0, 1000.0, 2500.0)), ("density", (0.005, 0.02, 0.08)))
SCORE_CHUNK = 512
ITEM_ITEM_MODELS = ("ease", "item_knn")  # dense item x item: capped at HEAD_ITEMS films, as the hybrid's EASE


@dataclass(frozen=True)
class Dataset:
    """Ratings of users with enough ratings, as dense indices."""

    users: np.ndarray
    items: np.ndarray
    ratings: np.ndarray
    user_ids: np.ndarray
    item_ids: np.ndarray
    scale: float


def prepare(
    users: Sequence, items: Sequence, ratings: Sequence, min_ratings: int = holdout.MIN_USER_RATINGS
) -> Dataset:
    """Drop unrated rows and repeats (the last one wins), keep users with enough ratings."""
    users = np.asarray(users)
    items = np.asarray(items)
    ratings = np.asarray(ratings, dtype=np.float64)
    ok = ~np.isnan(ratings)
    users, items, ratings = users[ok], items[ok], ratings[ok]
    user_ids, u = np.unique(users, return_inverse=True)
    item_ids, i = np.unique(items, return_inverse=True)
    key = u.astype(np.int64) * max(1, item_ids.size) + i
    _, last = np.unique(key[::-1], return_index=True)
    keep = np.sort(key.size - 1 - last)
    u, i, ratings = u[keep], i[keep], ratings[keep]
    enough = np.bincount(u, minlength=user_ids.size) >= min_ratings
    ok = enough[u]
    u, i, ratings = u[ok], i[ok], ratings[ok]
    kept_users, u = np.unique(u, return_inverse=True)
    kept_items, i = np.unique(i, return_inverse=True)
    scale = float(ratings.max()) if ratings.size else 1.0
    return Dataset(
        users=u.astype(np.int64), items=i.astype(np.int64), ratings=ratings.astype(np.float32),
        user_ids=user_ids[kept_users], item_ids=item_ids[kept_items], scale=scale if scale > 0 else 1.0,
    )


@dataclass(frozen=True)
class Scorer:
    """A fitted model as a function from user rows to scores over every item."""

    score_rows: Callable[[np.ndarray], np.ndarray]  # user indices -> users x items
    fit_s: float
    details: dict
    nbytes: int | None = None  # bytes of the arrays the fitted model keeps


def _presence(n_users: int, n_items: int, users: np.ndarray, items: np.ndarray) -> sp.csr_matrix:
    """Return the binary users x items matrix of these rows."""
    return interaction_matrix(users, items, np.ones(users.size, dtype=np.float32), (n_users, n_items))


def _ndcg_of(score_rows: Callable[[np.ndarray], np.ndarray], users: np.ndarray, seen: sp.csr_matrix,
             relevant: sp.csr_matrix, k: int) -> float:
    """Return mean NDCG@k of a scorer on these users."""
    total = 0.0
    for start in range(0, users.size, SCORE_CHUNK):
        chunk = users[start:start + SCORE_CHUNK]
        scores = np.array(score_rows(chunk), dtype=np.float32)
        holdout.mask_seen(scores, seen[chunk])
        _, ndcg = holdout.recall_ndcg(holdout.top_k(scores, k), relevant[chunk], k)
        total += float(ndcg.sum())
    return total / max(1, users.size)


def coordinate_search(trial: Callable[[dict], float], start: Mapping, search: Iterable[tuple[str, Iterable]]
                      ) -> tuple[dict, dict]:
    """Move one setting at a time to its best value; return (settings, score of every setting tried)."""
    params = dict(start)
    trials: dict[tuple, float] = {}
    for key, grid in search:
        scores = {}
        for value in grid:
            candidate = dict(params, **{key: value})
            label = tuple(sorted(candidate.items()))
            if label not in trials:
                trials[label] = trial(candidate)
            scores[value] = trials[label]
        params[key] = max(scores, key=lambda v: scores[v])
    return params, trials


def _inner(train_users, train_items, train_ratings, n_users, n_items, scale, seed, rng):
    """Return (inner split, tuning users, inner presence) for hyperparameter choice."""
    split = holdout.holdout_split(train_users, train_items, train_ratings, n_users, n_items, scale, seed)
    users = split.eval_users
    if users.size > TUNING_USERS:
        users = np.sort(rng.choice(users, TUNING_USERS, replace=False))
    presence = _presence(n_users, n_items, split.train_users, split.train_items)
    return split, users, presence


def _build_baselines(
    names: Iterable[str], presence: sp.csr_matrix, inner_presence: sp.csr_matrix, tune_users: np.ndarray,
    inner_relevant: sp.csr_matrix, content_rows: sp.csr_matrix | None, content: ContentModel | None,
    k: int, seed: int,
) -> dict[str, Scorer]:
    """Tune each baseline on the inner split, then fit it on the full training part."""
    out: dict[str, Scorer] = {}
    n_items = presence.shape[1]
    full_presence, full_inner = presence, inner_presence
    columns = None
    if n_items > HEAD_ITEMS:
        # Dense item x item models keep the most-watched films, as the hybrid's EASE does.
        counts = np.diff(presence.tocsc().indptr)
        columns = np.sort(np.argsort(-counts, kind="stable")[:HEAD_ITEMS])
    inner_seen = binary(inner_presence)

    def inner_ndcg(model) -> float:
        """Return a baseline's NDCG on the inner split (scores widened to every item)."""
        def score(u: np.ndarray) -> np.ndarray:
            values = model.score(inner_presence[u])
            return _widen(values, columns, n_items) if narrow else values
        return _ndcg_of(score, tune_users, inner_seen, inner_relevant, k)

    def tuned(make: Callable[[object], object], candidates: Iterable) -> tuple[object, dict]:
        trials = {value: inner_ndcg(make(value).fit(inner_presence)) for value in candidates}
        return max(trials, key=lambda v: trials[v]), trials

    for name in names:
        started = time.perf_counter()
        details: dict = {}
        narrow = columns is not None and name in ITEM_ITEM_MODELS
        presence = full_presence[:, columns] if narrow else full_presence
        inner_presence = full_inner[:, columns] if narrow else full_inner
        if name == "popularity":
            model = PopularityModel()
        elif name == "item_knn":
            best, trials = tuned(lambda n: ItemKnnModel(neighbours=n), KNN_NEIGHBOURS)
            details = {"neighbours": best, "trials": trials}
            model = ItemKnnModel(neighbours=best)
        elif name == "ease":
            trials = {}

            def ease_trial(l2: float) -> float:
                trials[l2] = inner_ndcg(EaseModel(l2).fit(inner_presence))
                return trials[l2]

            best = walk_grid(ease_trial, EASE_L2_START, EASE_L2_STEP, EASE_L2_MAX_STEPS)
            details = {"l2": best, "trials": trials}
            model = EaseModel(best)
        elif name == "als":
            params, trials = coordinate_search(
                lambda p: inner_ndcg(AlsModel(random_state=seed, **p).fit(inner_presence)), ALS_START, ALS_SEARCH)
            details = {**params, "trials": len(trials)}
            model = AlsModel(random_state=seed, **params)
        elif name == "rp3beta":
            params, trials = coordinate_search(
                lambda p: inner_ndcg(Rp3BetaModel(**p).fit(inner_presence)), RP3_START, RP3_SEARCH)
            details = {**params, "trials": len(trials)}
            model = Rp3BetaModel(**params)
        elif name == "sansa":
            params, trials = coordinate_search(
                lambda p: inner_ndcg(SansaModel(**p).fit(inner_presence)), SANSA_START, SANSA_SEARCH)
            details = {**params, "trials": len(trials)}
            model = SansaModel(**params)
        elif name == "bpr":
            fitted: dict[tuple, BprModel] = {}

            def bpr_trial(p: dict) -> float:
                fit_key = tuple(sorted((k, v) for k, v in p.items() if k not in BPR_FOLD_IN))
                if fit_key not in fitted:
                    fitted[fit_key] = BprModel(random_state=seed, **dict(fit_key)).fit(inner_presence)
                candidate = fitted[fit_key]
                candidate.fold_in_regularization = p["fold_in_regularization"]
                candidate.fold_in_alpha = p["fold_in_alpha"]
                return inner_ndcg(candidate)

            params, trials = coordinate_search(bpr_trial, BPR_START, BPR_SEARCH)
            fitted.clear()
            details = {**params, "trials": len(trials)}
            model = BprModel(random_state=seed, **params)
        elif name == "content":
            if content is None or content_rows is None:
                continue
            fit_s = time.perf_counter() - started
            out[name] = Scorer(lambda u: content.batch_scores(content_rows[u]), fit_s, {})
            continue
        else:
            continue
        tune_s = time.perf_counter() - started
        fit_started = time.perf_counter()
        model.fit(presence)
        fit_s = time.perf_counter() - fit_started
        details["tune_s"] = round(tune_s, 3)
        if narrow:
            details["items_modelled"] = int(columns.size)
            out[name] = Scorer(lambda u, m=model, p=presence: _widen(m.score(p[u]), columns, n_items), fit_s,
                               details, model.nbytes)
        else:
            out[name] = Scorer(lambda u, m=model, p=presence: m.score(p[u]), fit_s, details, model.nbytes)
    return out


def _widen(scores: np.ndarray, columns: np.ndarray, n_items: int) -> np.ndarray:
    """Place scores over a subset of items into all items; the others rank below them."""
    out = np.repeat(scores.min(axis=1, keepdims=True) - 1.0, n_items, axis=1)
    out[:, columns] = scores
    return out


def _latency_ms(score_rows: Callable[[np.ndarray], np.ndarray], users: np.ndarray, seen: sp.csr_matrix,
                k: int) -> tuple[float, float]:
    """Time recommending to single users (score, mask, top-k); return (p50, p95) in ms."""
    times = []
    for user in users:
        started = time.perf_counter()
        scores = np.array(score_rows(np.array([user])), dtype=np.float32)
        holdout.mask_seen(scores, seen[[user]])
        holdout.top_k(scores, k)
        times.append((time.perf_counter() - started) * 1000.0)
    if not times:
        return 0.0, 0.0
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def evaluate(
    users: Sequence,
    items: Sequence,
    ratings: Sequence,
    k: int = holdout.DEFAULT_K,
    seed: int = 0,
    item_meta: Sequence[Film] | Mapping | None = None,
    models: Iterable[str] | None = None,
) -> dict:
    """Run the protocol on these ratings and return the JSON-able report.

    item_meta: Films (film_id = item id) or a mapping item id -> Film, used by the
    content features; without it content-based scoring is left out.
    """
    data = prepare(users, items, ratings)
    names = [n for n in (DEFAULT_MODELS if models is None else tuple(models)) if n in ALL_MODELS]
    n_users, n_items = int(data.user_ids.size), int(data.item_ids.size)
    report: dict = {"k": k, "users": n_users, "items": n_items, "eval_users": 0, "scale": data.scale,
                    "seed": seed, "models": {}}
    if n_users == 0:
        return report
    split = holdout.holdout_split(data.users, data.items, data.ratings, n_users, n_items, data.scale, seed)
    report["eval_users"] = int(split.eval_users.size)
    if split.eval_users.size == 0:
        return report
    films = _films_for(item_meta, data.item_ids)
    content = ContentModel(films) if films is not None else None
    train = build_training_data(split.train_users, split.train_items, split.train_ratings, n_users, n_items,
                                data.scale)
    content_rows = (CONTENT_PRESENCE * train.presence + CONTENT_TASTE * train.centred).tocsr()
    presence = binary(train.presence)
    rng = np.random.default_rng(seed)
    inner_split, tune_users, inner_presence = _inner(
        split.train_users, split.train_items, split.train_ratings, n_users, n_items, data.scale,
        seed + INNER_SEED_OFFSET, rng)

    scorers: dict[str, Scorer] = {}
    for name in HYBRIDS:
        if name not in names:
            continue
        started = time.perf_counter()
        settings = HybridSettings(seed=seed + INNER_SEED_OFFSET)
        hybrid = fit(Corpus(split.train_users, split.train_items, split.train_ratings, data.scale),
                     _catalog(films, n_items), quick_settings(settings) if name == "hybrid_quick" else settings)
        fit_s = time.perf_counter() - started
        scorers[name] = Scorer(hybrid_scorer(hybrid, train), fit_s, _hybrid_details(hybrid),
                               array_bytes(*hybrid.to_arrays().values()))
    scorers.update(_build_baselines(
        [n for n in names if n not in HYBRIDS], presence, inner_presence, tune_users, inner_split.relevant,
        content_rows if content is not None else None, content, k, seed))

    latency_users = split.eval_users
    if latency_users.size > LATENCY_USERS:
        latency_users = np.sort(rng.choice(latency_users, LATENCY_USERS, replace=False))
    for name in names:
        if name not in scorers:
            if name == "content":
                report["models"]["content"] = {"skipped": "no item metadata given"}
            continue
        scorer = scorers[name]
        recalls, ndcgs = [], []
        for start in range(0, split.eval_users.size, SCORE_CHUNK):
            chunk = split.eval_users[start:start + SCORE_CHUNK]
            scores = np.array(scorer.score_rows(chunk), dtype=np.float32)
            holdout.mask_seen(scores, presence[chunk])
            recall, ndcg = holdout.recall_ndcg(holdout.top_k(scores, k), split.relevant[chunk], k)
            recalls.append(recall)
            ndcgs.append(ndcg)
        p50, p95 = _latency_ms(scorer.score_rows, latency_users, presence, k)
        report["models"][name] = {
            "recall": round(float(np.concatenate(recalls).mean()), 5),
            "ndcg": round(float(np.concatenate(ndcgs).mean()), 5),
            "fit_s": round(scorer.fit_s, 3),
            "recommend_ms_p50": round(p50, 3),
            "recommend_ms_p95": round(p95, 3),
            **({"model_bytes": scorer.nbytes} if scorer.nbytes is not None else {}),
            **({"params": scorer.details} if scorer.details else {}),
        }
    return report


def hybrid_scorer(model: HybridModel, train) -> Callable[[np.ndarray], np.ndarray]:
    """Return a scorer that folds users in from their training rows through HybridModel.score."""
    def score_rows(u: np.ndarray) -> np.ndarray:
        return model.score(MemberRows(train.presence[u], train.centred[u]))
    return score_rows


def _catalog(films: list[Film] | None, n_items: int) -> Catalog:
    """Return the evaluation's catalog: one film per dense item index, in item order."""
    return Catalog(films) if films is not None else bare_catalog(np.arange(n_items))


def _hybrid_details(model: HybridModel) -> dict:
    """Return what the hybrid chose, for the report."""
    report = model.report
    details = {"l2": model.l2, "blend": {k: round(v, 4) for k, v in model.blend.items() if v}}
    if report is not None:
        details["validation_ndcg"] = None if np.isnan(report.validation_ndcg) else round(report.validation_ndcg, 5)
        details["l2_trials"] = {str(k): round(v, 5) for k, v in report.l2_trials.items()}
        details["als_regularization"] = report.als_regularization
        details["als_trials"] = {str(k): round(v, 5) for k, v in report.als_trials.items()}
        details["neighbours_beta"] = report.neighbours_beta
    return details


def _films_for(item_meta: Sequence[Film] | Mapping | None, item_ids: np.ndarray) -> list[Film] | None:
    """Return one Film per item, in item order, with film_id = dense item index."""
    if not item_meta:
        return None
    values = item_meta.values() if isinstance(item_meta, Mapping) else item_meta
    by_id = {}
    for film in values:
        by_id[film.film_id] = film
        by_id[str(film.film_id)] = film
    out = []
    for index, item in enumerate(item_ids.tolist()):
        film = by_id.get(item) or by_id.get(str(item))
        if film is None:
            film = Film(film_id=index, title="")
        out.append(_with_id(film, index))
    return out


def _with_id(film: Film, film_id: int) -> Film:
    """Return the film renumbered to the dense item index."""
    return replace(film, film_id=film_id)


COLD_MODELS = ("hybrid", "content", "genre_overlap", "random")


def evaluate_cold_items(
    users: Sequence,
    items: Sequence,
    ratings: Sequence,
    fraction: float = 0.2,
    k: int = holdout.DEFAULT_K,
    seed: int = 0,
    item_meta: Sequence[Film] | Mapping | None = None,
) -> dict:
    """Hold out every rating of a seeded share of films and rank those films per user from content alone.

    The model is fitted on the other films' ratings; for each user with a relevant rating
    of a held-out film, only the held-out films are ranked, by the order the app gives films
    nobody rated (`HybridModel.unrated_order`). Baselines of the same run:
    the content profile alone, overlap of genres with the user's liked films, random order.
    """
    data = prepare(users, items, ratings)
    n_users, n_items = int(data.user_ids.size), int(data.item_ids.size)
    report: dict = {"k": k, "users": n_users, "items": n_items, "cold_items": 0, "eval_users": 0,
                    "fraction": fraction, "seed": seed, "models": {}}
    if n_users == 0 or n_items < 2:
        return report
    rng = np.random.default_rng(seed)
    cold = np.zeros(n_items, dtype=bool)
    cold[rng.choice(n_items, max(1, int(round(fraction * n_items))), replace=False)] = True
    cold_cols = np.flatnonzero(cold)
    report["cold_items"] = int(cold_cols.size)
    held = cold[data.items]
    train_u, train_i, train_r = data.users[~held], data.items[~held], data.ratings[~held]
    liked_rows = held & (data.ratings >= holdout.RELEVANT_FRACTION * data.scale)
    relevant = interaction_matrix(data.users[liked_rows], data.items[liked_rows],
                                  np.ones(int(liked_rows.sum()), dtype=np.float32), (n_users, n_items))
    enough = np.bincount(train_u, minlength=n_users) >= holdout.MIN_USER_RATINGS
    eval_users = np.flatnonzero(enough & (np.diff(relevant.indptr) > 0))
    report["eval_users"] = int(eval_users.size)
    if eval_users.size == 0:
        return report
    films = _films_for(item_meta, data.item_ids)
    catalog = _catalog(films, n_items)
    train = build_training_data(train_u, train_i, train_r, n_users, n_items, data.scale)
    started = time.perf_counter()
    model = fit(Corpus(train_u, train_i, train_r, data.scale), catalog, HybridSettings(seed=seed + INNER_SEED_OFFSET))
    fit_s = time.perf_counter() - started
    content = ContentModel(catalog.films)
    content_rows = (CONTENT_PRESENCE * train.presence + CONTENT_TASTE * train.centred).tocsr()
    genres = catalog.genre_matrix.astype(np.float32).tocsr()
    liked_train = (train.ratings >= np.float32(holdout.RELEVANT_FRACTION - 1e-6)).astype(np.float32)
    noise = np.random.default_rng(seed + 7)
    scorers: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "hybrid": lambda u: model.unrated_order(MemberRows(train.presence[u], train.centred[u]))[:, cold_cols],
        "content": lambda u: content.batch_scores(content_rows[u])[:, cold_cols],
        "genre_overlap": lambda u: np.asarray(((liked_train[u] @ genres) @ genres[cold_cols].T).toarray()),
        "random": lambda u: noise.random((u.size, cold_cols.size)).astype(np.float32),
    }
    cold_relevant = relevant[:, cold_cols].tocsr()
    for name in COLD_MODELS:
        ndcgs, recalls = [], []
        for start in range(0, eval_users.size, SCORE_CHUNK):
            chunk = eval_users[start:start + SCORE_CHUNK]
            scores = np.array(scorers[name](chunk), dtype=np.float32)
            recall, ndcg = holdout.recall_ndcg(holdout.top_k(scores, k), cold_relevant[chunk], k)
            recalls.append(recall)
            ndcgs.append(ndcg)
        report["models"][name] = {"recall": round(float(np.concatenate(recalls).mean()), 5),
                                  "ndcg": round(float(np.concatenate(ndcgs).mean()), 5)}
    report["models"]["hybrid"]["fit_s"] = round(fit_s, 3)
    return report
