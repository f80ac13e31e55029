"""Ranking and diversity: a shortlist by score, then varied picks by maximal marginal relevance.

One diversity loop serves both personal picks and cold-start (mood) picks.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from services.catalog import Catalog
from services.content import ContentModel
from services.domain import ScoredFilm

POOL_PER_PICK = 8
MIN_POOL = 150
MATCH_FLOOR = 50.0  # a pick scoring zero reads as this match; the best pick reads 99


def shortlist(scores: np.ndarray, allowed: np.ndarray, count: int) -> np.ndarray:
    """Return the best-scored allowed positions, best first, enough to diversify `count` picks."""
    candidates = np.flatnonzero(allowed)
    if candidates.size == 0 or count <= 0:
        return np.zeros(0, dtype=np.int64)
    size = min(candidates.size, max(MIN_POOL, count * POOL_PER_PICK))
    pool = candidates[np.argpartition(-scores[candidates], size - 1)[:size]]
    return pool[np.argsort(-scores[pool], kind="stable")]


def diversify(catalog: Catalog, content: ContentModel, pool: np.ndarray, scores: np.ndarray, count: int,
              diversity: float, max_per_director: int, max_decade_share: float | None = None) -> list[int]:
    """Pick `count` catalog positions from a ranked pool by maximal marginal relevance.

    Relevance is the rank in the pool (blended scores are spiky: a few huge ones would
    make every other film look equally irrelevant). Each director has at most
    `max_per_director` films (0: no cap); with `max_decade_share`, no decade takes more
    than that share of the picks while other films remain.
    """
    if pool.size == 0 or count <= 0:
        return []
    order = np.argsort(-scores, kind="stable")
    relevance = np.empty(pool.size, dtype=np.float32)
    relevance[order] = 1.0 - np.arange(pool.size, dtype=np.float32) / max(pool.size, 1)
    similarity = content.similarity(pool, pool) if diversity > 0 else None
    decade_cap = max(1, int(np.ceil(max_decade_share * count))) if max_decade_share else None
    chosen: list[int] = []
    max_sim = np.zeros(pool.size, dtype=np.float32)
    available = np.ones(pool.size, dtype=bool)
    per_director: dict[str, int] = {}
    per_decade: dict[int, int] = {}
    while len(chosen) < count and available.any():
        value = (1.0 - diversity) * relevance - diversity * max_sim
        value[~available] = -np.inf
        best = int(np.argmax(value))
        available[best] = False
        film = catalog.films[pool[best]]
        if max_per_director and any(per_director.get(d, 0) >= max_per_director for d in film.directors):
            continue
        decade = (film.year or 0) // 10
        if decade_cap is not None and per_decade.get(decade, 0) >= decade_cap \
                and available.sum() >= count - len(chosen):
            continue
        for director in film.directors:
            per_director[director] = per_director.get(director, 0) + 1
        per_decade[decade] = per_decade.get(decade, 0) + 1
        chosen.append(int(pool[best]))
        if similarity is not None:
            np.maximum(max_sim, similarity[best], out=max_sim)
    return chosen


def match_percents(picks: Sequence[ScoredFilm]) -> list[int]:
    """Return a 1-99 match per pick: the model's calibrated one, else relative to the best pick (99)."""
    if not picks:
        return []
    if all(p.match is not None for p in picks):
        return [int(p.match) for p in picks]
    best = max(p.score for p in picks)
    if best <= 0:
        return [int(MATCH_FLOOR) for _ in picks]
    return [int(round(min(99.0, max(1.0, MATCH_FLOOR + (99.0 - MATCH_FLOOR) * p.score / best)))) for p in picks]
