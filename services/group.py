"""Group night: films none of the members has seen, in an order that suits the whole group; pure, no I/O.

Each member's model scores are standardised over the catalog (z, in that member's own spread), then
for every film

    group score = mean of z  -  MISERY_WEIGHT x sum over members of max(0, MISERY_FLOOR - z)

so a film one member is likely to dislike pays for it however much the others like it, and a film
any member is very likely to dislike (z below VETO) ranks after every film nobody is expected to
dislike. The average keeps the evening fair; the misery term keeps one strong dislike from being
averaged away. Films not out yet are never picked.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Sequence

import numpy as np

from services.catalog import Catalog
from services.domain import Film
from services.filters import Filters
from services.releases import unreleased_mask
from services.together_request import personal
from services.recsys.content import catalog_content
from services.recsys.members import Member
from services.recsys.ranking import diversify, shortlist

MISERY_FLOOR = -0.5  # standard deviations below a member's average film
MISERY_WEIGHT = 1.0
VETO = -1.5
VETO_PENALTY = 1000.0


@dataclass(frozen=True)
class MemberView:
    """One member's side of a group pick."""

    name: str
    match: int  # 1-99: the member's calibrated chance of rating it highly, else their percentile
    z: float
    reason: str | None


@dataclass(frozen=True)
class GroupPick:
    film: Film
    score: float
    members: tuple[MemberView, ...]


def standardise_rows(scores: np.ndarray) -> np.ndarray:
    """Each row in its own standard deviations from its own mean."""
    scores = np.asarray(scores, dtype=np.float64)
    mean = scores.mean(axis=1, keepdims=True)
    std = scores.std(axis=1, keepdims=True)
    return (scores - mean) / np.where(std > 0, std, 1.0)


def group_scores(z: np.ndarray) -> np.ndarray:
    """The group score of every film from members x films standardised scores (see the module doc)."""
    z = np.asarray(z, dtype=np.float64)
    misery = np.clip(MISERY_FLOOR - z, 0.0, None).sum(axis=0)
    score = z.mean(axis=0) - MISERY_WEIGHT * misery
    score[(z < VETO).any(axis=0)] -= VETO_PENALTY
    return score


def _meter(served, raw: np.ndarray, z_row: np.ndarray, picks: np.ndarray) -> np.ndarray:
    """Per pick, the member's chance of liking it (calibrated when the model is), else their percentile."""
    chance = served.match(raw[picks])
    if chance is not None:
        return np.asarray(chance, dtype=np.int64)
    order = np.sort(z_row)
    return np.clip(np.round(100.0 * np.searchsorted(order, z_row[picks]) / max(order.size, 1)), 1, 99).astype(np.int64)


def group_picks(served, catalog: Catalog, members: Sequence[Member], names: Sequence[str], filters: Filters,
                count: int, today: date) -> list[GroupPick]:
    """Up to `count` varied films none of the members has seen, best for the group first, each explained per member.

    `served` is a HybridModel bound to `catalog`; films not out yet on `today` are never picked.
    """
    raw = np.vstack([served.score(m) for m in members])
    z = standardise_rows(raw)
    total = group_scores(z)
    watchlists = set().union(*(m.watchlist_ids for m in members))
    allowed = filters.mask(catalog, watchlists)
    seen = catalog.indices_of(list(set().union(*(m.seen_ids for m in members))))
    allowed[seen[seen >= 0]] = False
    allowed &= catalog.is_movie & ~unreleased_mask(catalog, today)
    pool = shortlist(total.astype(np.float32), allowed, count)
    picks = np.asarray(diversify(catalog, catalog_content(catalog), pool, total[pool], count, filters.diversity,
                                 filters.max_per_director), dtype=np.int64)
    picks = picks[np.argsort(-total[picks], kind="stable")]
    meters = [_meter(served, raw[i], z[i], picks) for i in range(len(members))]
    out = []
    for k, index in enumerate(picks.tolist()):
        film = catalog.films[index]
        views = []
        for i, (member, name) in enumerate(zip(members, names)):
            reasons = served.explain(member, film.film_id).reasons
            views.append(MemberView(name, int(meters[i][k]), round(float(z[i, index]), 3),
                                    personal(reasons[0], name) if reasons else None))
        out.append(GroupPick(film, float(total[index]), tuple(views)))
    return out
