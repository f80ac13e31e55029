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


UNRATED_TRUST = 0.6  # picks nobody rated get this share of the member's own share of such films...
UNRATED_SHARE_MAX = 0.5  # ...and never more than half of a list


def unrated_share(member_positions: np.ndarray, rated: np.ndarray) -> float:
    """The share of picks for films nobody in the corpus rated: follows how much of the member's own
    films (catalog positions, -1 when unmatched) nobody rated, so a diary of recent films gets recent picks."""
    known = member_positions[member_positions >= 0]
    if known.size == 0:
        return 0.0
    return min(UNRATED_SHARE_MAX, UNRATED_TRUST * float((~rated[known]).mean()))


def interleave_unrated(scores: np.ndarray, allowed: np.ndarray, rated: np.ndarray, share: float,
                       order_by: np.ndarray | None = None) -> np.ndarray:
    """Return scores on which films nobody rated take about `share` of any top list.

    Their blended scores lack every collaborative part, so they are not on the rated films'
    scale. They are ordered among themselves by `order_by` (default: their scores), and
    the j-th best of them takes a score just below the rated film at rank (j + 1/2)(1 - share)/share.
    """
    out = scores.astype(np.float64)
    warm = np.flatnonzero(allowed & rated)
    cold = np.flatnonzero(allowed & ~rated)
    if share <= 0.0 or warm.size == 0 or cold.size == 0:
        return out
    ladder = np.sort(out[warm])[::-1]
    order = cold[np.argsort(-(out if order_by is None else order_by)[cold], kind="stable")]
    slots = np.minimum(((np.arange(order.size) + 0.5) * (1.0 - share) / share).astype(np.int64), ladder.size - 1)
    below = 1e-6 * max(1.0, float(np.abs(ladder).max()))
    out[order] = ladder[slots] - below * (1.0 + np.arange(order.size) / order.size)
    return out


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
