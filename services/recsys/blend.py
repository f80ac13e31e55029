"""Blend learning: standardised features, and weights chosen by held-out NDCG.

Hyperparameters (EASE L2, ALS regularisation) and the blend weights are chosen on
held-out users of an inner split of the training data, never on what is evaluated.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
import scipy.sparse as sp

from services import holdout

FEATURES = ("ease", "ease_liked", "taste", "als", "neighbours", "popularity", "quality", "content")
ANCHOR_FEATURE = "ease_liked"
BLEND_STEPS = (1.0, 0.5, 0.25, 0.125)
BLEND_LIMIT = 32.0
BLEND_K = holdout.DEFAULT_K
BLEND_CANDIDATES = 200  # shortlist per feature and user while searching the blend
L2_MIN, L2_MAX = 10.0, 100_000.0
STD_FLOOR = 1e-6
NDCG_CHUNK_ROWS = 500  # users ranked at once when a trial scores every film


def standardise(values: np.ndarray) -> np.ndarray:
    """Centre and scale each row (a 1-D array is one row) to unit standard deviation."""
    values = np.array(values, dtype=np.float32)
    if values.ndim == 1:
        std = float(values.std())
        return (values - np.float32(values.mean())) / np.float32(max(std, STD_FLOOR))
    values -= values.mean(axis=1, keepdims=True)
    values /= np.maximum(values.std(axis=1, keepdims=True), np.float32(STD_FLOOR))
    return values


def ranking_ndcg(scores: np.ndarray, seen: sp.csr_matrix, relevant: sp.csr_matrix, k: int = BLEND_K) -> float:
    """Return the mean NDCG@k of score rows, seen films excluded (scores are overwritten)."""
    return rows_ndcg(lambda rows: scores[rows], seen, relevant, k, chunk=max(1, scores.shape[0]))


def rows_ndcg(score_rows: Callable[[slice], np.ndarray], seen: sp.csr_matrix, relevant: sp.csr_matrix,
              k: int = BLEND_K, chunk: int = NDCG_CHUNK_ROWS) -> float:
    """Return the mean NDCG@k of rows scored `chunk` at a time by `score_rows(rows)`, seen films excluded.

    Scoring every film for thousands of users at once would hold users x films floats
    several times over (the scores, their ranking); a chunk at a time holds one chunk's.
    """
    per_row = []
    for start in range(0, seen.shape[0], chunk):
        rows = slice(start, start + chunk)
        scores = holdout.mask_seen(score_rows(rows), seen[rows])
        per_row.append(holdout.recall_ndcg(holdout.top_k(scores, k), relevant[rows], k)[1])
    ndcg = np.concatenate(per_row) if per_row else np.zeros(0)
    return float(ndcg.mean()) if ndcg.size else 0.0


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
    seen = seen.tocsr()
    for values in features.values():
        if values.ndim == 1:
            # Shared priors may get negative weights, so their bottom films are shortlisted too.
            lists += [_unseen_first(values * np.float32(sign), seen, per_feature) for sign in (1.0, -1.0)]
            continue
        masked = np.array(values, dtype=np.float32)
        holdout.mask_seen(masked, seen)
        lists.append(holdout.best_k(masked, per_feature))
    candidates = np.sort(np.concatenate(lists, axis=1), axis=1)
    repeated = np.zeros(candidates.shape, dtype=bool)
    repeated[:, 1:] = candidates[:, 1:] == candidates[:, :-1]
    seen_coo = seen.tocoo()
    seen_keys = np.sort(seen_coo.row.astype(np.int64) * n_items + seen_coo.col)
    keys = np.arange(n_rows, dtype=np.int64)[:, None] * n_items + candidates
    where = np.minimum(np.searchsorted(seen_keys, keys), max(seen_keys.size - 1, 0))
    is_seen = (seen_keys[where] == keys) if seen_keys.size else np.zeros(keys.shape, dtype=bool)
    # Each row's usable films first; the width shrinks to the most any row has (every trial ranks less).
    barred = repeated | is_seen
    order = np.argsort(barred, axis=1, kind="stable")[:, :max(1, int((~barred).sum(axis=1).max(initial=0)))]
    candidates = np.take_along_axis(candidates, order, axis=1)
    barred = np.take_along_axis(barred, order, axis=1)
    gathered = {}
    for name, values in features.items():
        gathered[name] = values[candidates] if values.ndim == 1 else np.take_along_axis(values, candidates, axis=1)
    penalty = np.where(barred, -np.inf, 0.0).astype(np.float32)
    return BlendProblem(candidates, gathered, penalty, relevant)


def _unseen_first(values: np.ndarray, seen: sp.csr_matrix, count: int) -> np.ndarray:
    """Each row's `count` best films of one shared score, films the row has seen left out (rows x count).

    The same order serves every row: only its head, as long as `count` plus the most
    films any row has seen, is looked at.
    """
    order = np.argsort(-values, kind="stable")
    most_seen = int(np.diff(seen.indptr).max(initial=0))
    head = order[:min(order.size, count + most_seen)]
    barred = seen[:, head].toarray() != 0
    return head[np.argsort(barred, axis=1, kind="stable")[:, :count]]


def stack_problems(pieces: list[BlendProblem]) -> BlendProblem:
    """Return the blend problems of consecutive groups of users as one, narrower rows padded with barred films."""
    width = max(p.candidates.shape[1] for p in pieces)

    def padded(array: np.ndarray, fill: float) -> np.ndarray:
        extra = width - array.shape[1]
        return array if extra == 0 else np.pad(array, ((0, 0), (0, extra)), constant_values=fill)

    return BlendProblem(
        candidates=np.vstack([padded(p.candidates, 0) for p in pieces]),
        features={n: np.vstack([padded(p.features[n], 0.0) for p in pieces]) for n in pieces[0].features},
        penalty=np.vstack([padded(p.penalty, -np.inf) for p in pieces]),
        relevant=sp.vstack([p.relevant for p in pieces]).tocsr(),
    )


def blend_total(problem: BlendProblem, weights: Mapping[str, float]) -> np.ndarray:
    """Return the weighted sum of features over the shortlists (-inf where a film is barred)."""
    total = problem.penalty.copy()
    for name, weight in weights.items():
        if weight != 0.0 and name in problem.features:
            total += np.float32(weight) * problem.features[name]
    return total


def blend_ndcg(problem: BlendProblem, weights: Mapping[str, float], k: int = BLEND_K) -> float:
    """Return the mean NDCG@k of a weighted sum of features over the shortlists."""
    return total_ndcg(problem, blend_total(problem, weights), k)


def total_ndcg(problem: BlendProblem, total: np.ndarray, k: int = BLEND_K) -> float:
    """Return the mean NDCG@k of ranking each shortlist by `total`."""
    ranked = np.take_along_axis(problem.candidates, holdout.top_k(total, k), axis=1)
    _, ndcg = holdout.recall_ndcg(ranked, problem.relevant, k)
    return float(ndcg.mean()) if ndcg.size else 0.0


def learn_blend(problem: BlendProblem, k: int = BLEND_K) -> tuple[dict[str, float], float]:
    """Find blend weights by coordinate ascent on held-out NDCG, the anchor feature fixed at 1."""
    names = [n for n in FEATURES if n in problem.features]
    anchor = ANCHOR_FEATURE if ANCHOR_FEATURE in names else names[0]
    weights = {n: (1.0 if n == anchor else 0.0) for n in names}
    total = blend_total(problem, weights)
    best = total_ndcg(problem, total, k)
    trial_total = np.empty_like(total)
    for step in BLEND_STEPS:
        improved = True
        while improved:
            improved = False
            for name in names:
                if name == anchor:
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
                    # One weight moves: add its change to the current sum rather than summing every feature.
                    np.multiply(problem.features[name], np.float32(trial[name] - current), out=trial_total)
                    trial_total += total
                    score = total_ndcg(problem, trial_total, k)
                    if score > best + 1e-9:
                        best, weights, improved = score, trial, True
                        total, trial_total = trial_total, total
                        break
    return weights, best
