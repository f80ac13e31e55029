"""Films like one film, for one member: close to it in content and in the corpus's taste space, then ranked
by the member's own score (the one the match reads), so the list and its match figures agree."""
from __future__ import annotations

from typing import Iterable

import numpy as np

from services.filters import Filters
from services.recsys.members import Member
from services.recsys.model import HybridModel

PERSONAL_WEIGHT = 0.5  # how much the member's taste counts against closeness to the film when choosing the pool


def _standardise(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    inside = values[mask]
    if inside.size < 2:
        return np.zeros_like(values)
    spread = float(inside.std()) or 1.0
    return (values - float(inside.mean())) / spread


def closeness(model: HybridModel, film_id: int) -> np.ndarray:
    """How close every catalog film is to one film: content cosine plus taste-factor cosine, standardised."""
    view = model._view()
    anchor = view.catalog.index_of(film_id)
    if anchor is None:
        raise KeyError(f"film {film_id} is not in the catalog the model serves")
    everything = np.ones(len(view.catalog), dtype=bool)
    content = np.asarray((view.content.matrix @ view.content.matrix[anchor].T).toarray(), dtype=np.float32).ravel()
    total = _standardise(content, everything)
    factors = view.factors
    if factors.shape[1]:
        norms = np.linalg.norm(factors, axis=1)
        norms[norms == 0] = 1.0
        taste = (factors @ factors[anchor]) / (norms * norms[anchor])
        total = total + _standardise(taste.astype(np.float32), everything)
    return total


def more_like(model: HybridModel, member: Member, film_id: int, count: int, filters: Filters | None = None,
              exclude: Iterable[int] = ()) -> tuple[np.ndarray, np.ndarray]:
    """Return (film ids, the member's scores) of up to `count` unseen films like `film_id`, best score first.

    The pool is the films closest to `film_id` (nudged by the member's taste); the member's seen films,
    the film itself and `exclude` are never returned.
    """
    filters = filters or Filters()
    view = model._view()
    catalog = view.catalog
    personal = model._state(member).total
    allowed = filters.mask(catalog, member.watchlist_ids)
    banned = catalog.indices_of(list(set(exclude) | member.seen_ids | {film_id}))
    allowed[banned[banned >= 0]] = False
    if not allowed.any() or count <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    choose = closeness(model, film_id) + PERSONAL_WEIGHT * _standardise(personal, allowed)
    choose[~allowed] = -np.inf
    size = min(int(allowed.sum()), count)
    pool = np.argpartition(-choose, size - 1)[:size]
    pool = pool[np.argsort(-personal[pool], kind="stable")]
    return catalog.film_ids[pool], personal[pool]
