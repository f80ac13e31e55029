"""Ranking and diversity: a shortlist by score, then varied picks by maximal marginal relevance.

One diversity loop serves both personal picks and cold-start (mood) picks.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from services.catalog import Catalog
from services.content_vectors import ContentModel
from services.domain import ScoredFilm

POOL_PER_PICK = 8
MIN_POOL = 150
MATCH_FLOOR = 50.0  # a pick scoring zero reads as this match; the best pick reads 99


def pool_size(count: int) -> int:
    """How many of the best-scored films the diversity pass chooses `count` picks from."""
    return max(MIN_POOL, count * POOL_PER_PICK)


def shortlist(scores: np.ndarray, allowed: np.ndarray, count: int) -> np.ndarray:
    """Return the best-scored allowed positions, best first, enough to diversify `count` picks."""
    candidates = np.flatnonzero(allowed)
    if candidates.size == 0 or count <= 0:
        return np.zeros(0, dtype=np.int64)
    size = min(candidates.size, pool_size(count))
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
                       order_by: np.ndarray | None = None, keep: int | None = None,
                       extra: np.ndarray | None = None) -> np.ndarray:
    """Return scores on which films nobody rated take about `share` of any top list.

    Their blended scores lack every collaborative part, so they are not on the rated films'
    scale. They are ordered among themselves by `order_by` (default: their scores), and
    the j-th best of them takes a score just below the rated film at rank (j + 1/2)(1 - share)/share.

    With `keep`, only what a top list of at most `keep` films can reach is placed: the `keep`
    best films nobody rated and those at the catalog positions in `extra` (films another source
    lifts), each exactly where the full order puts it; every other film nobody rated goes below
    all of them. That needs partitions, not sorts of the whole catalog.
    """
    out = scores.astype(np.float64)
    warm = np.flatnonzero(allowed & rated)
    cold = np.flatnonzero(allowed & ~rated)
    if share <= 0.0 or warm.size == 0 or cold.size == 0:
        return out
    key = -(out if order_by is None else np.asarray(order_by, dtype=np.float64))[cold]
    if keep is None or keep >= cold.size:
        top = np.argsort(key, kind="stable")
        rank, rest = np.arange(cold.size), None
    else:
        top = _first_in_order(key, keep)
        rank = np.arange(top.size)
        lifted = np.zeros(cold.size, dtype=bool)
        if extra is not None and len(extra):
            lifted[np.searchsorted(cold, extra[np.isin(extra, cold)])] = True
        lifted[top] = False
        deep = np.flatnonzero(lifted)
        # Where the stable order puts a lifted film: every film keyed before it, and ties earlier in the catalog.
        rank = np.concatenate([rank, [int(np.count_nonzero(key < key[d]) + np.count_nonzero(key[:d] == key[d]))
                                      for d in deep]]).astype(np.int64)
        top = np.concatenate([top, deep])
        rest = np.ones(cold.size, dtype=bool)
        rest[top] = False
    slots = np.minimum(((rank + 0.5) * (1.0 - share) / share).astype(np.int64), warm.size - 1)
    deepest = int(slots.max())
    warm_key = -out[warm]
    if deepest + 1 >= warm.size or keep is None:
        ladder = -np.sort(warm_key)
    else:
        ladder = -np.sort(np.partition(warm_key, deepest)[:deepest + 1])
    below = 1e-6 * max(1.0, float(np.abs(out[warm]).max()))
    placed = ladder[slots] - below * (1.0 + rank / cold.size)
    out[cold[top]] = placed
    if rest is not None and rest.any():
        out[cold[rest]] = float(placed.min()) - below
    return out


def _first_in_order(key: np.ndarray, count: int) -> np.ndarray:
    """Positions of the `count` smallest keys, in the order a stable sort of all of them gives."""
    kth = np.partition(key, count - 1)[count - 1]
    before = np.flatnonzero(key < kth)
    chosen = np.concatenate([before, np.flatnonzero(key == kth)[:count - before.size]])
    return chosen[np.lexsort((chosen, key[chosen]))]


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
