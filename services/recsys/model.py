"""The hybrid model object: what `evaluate` measures and what the app serves, one scoring path.

    model = fit(corpus, catalog, settings)          # services.recsys.fitting
    model.score(member)                             # blended score of every catalog film
    model.recommend(member, count, filters, exclude) -> (film ids, scores)
    model.explain(member, film_id)                  -> Explanation(reasons, contributions)
    model.to_arrays() / HybridModel.from_arrays(arrays, catalog)   # np.savez, no pickle

Features over the catalog's films, each standardised per member, then blended:
  ease        binary EASE over the head (the most-watched films)
  ease_liked  EASE trained to predict liked films from watched ones
  taste       the same weights applied to ratings centred on the member's mean,
              so a film rated 2/10 pushes its neighbours down
  neighbours  co-rating neighbours (a random walk on the member-film graph) over every rated film,
              however few members rated it: the long tail's collaborative evidence
  als         implicit ALS folded in; films nobody rated get factors predicted
              from their content, so they are scored by the same fold-in
  popularity  log of how many members have the film
  quality     Bayesian average of the film's ratings
  content     cosine of the film with the member's rating-weighted content profile
"""
from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field, fields, replace
from typing import Any, Iterable, Mapping, NamedTuple, Sequence

import numpy as np
import scipy.sparse as sp

from services.catalog import Catalog
from services.content_vectors import ContentModel
from services.filters import Filters
from services.baselines import apply_item_weights, interaction_matrix
from services.recsys.blend import STD_FLOOR
from services.recsys.collaborative import fold_in, fold_in_rows
from services.recsys.content import ContentMapping, catalog_content, term_affinity
from services.recsys.explain import Explanation, LovedIndex, quality_text, reasons_for
from services.recsys.members import Member, MemberRows, member_signals
from services.recsys.ranking import diversify, interleave_unrated, pool_size, shortlist, unrated_share
from services.recsys.training import CONTENT_PRESENCE, CONTENT_TASTE, SignalWeights

FORMAT_VERSION = 3
BOOST = 1.0  # standardised units added to films another source (TMDB) recommends alongside the member's
CF_FEATURES = ("ease", "ease_liked", "taste", "als", "neighbours")
ITEM_FEATURES = ("ease", "ease_liked", "taste")


class ModelFormatError(ValueError):
    """Arrays that do not describe a model of this format."""


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
    neighbours_beta: float | None = None
    beta_trials: Mapping[float, float] = field(default_factory=dict)
    match: tuple[float, float] = (0.0, 0.0)  # the calibration's (slope, intercept)


@dataclass(frozen=True, eq=False)
class _View:
    """What the model derives once for one catalog."""

    catalog: Catalog
    content: ContentModel
    head_catalog: np.ndarray  # catalog position of each head film, -1 when the catalog lacks it
    head_of: np.ndarray  # catalog position -> head index, -1 outside the head
    factors: np.ndarray  # catalog x factors: ALS factors, or predicted from content for unrated films
    base: np.ndarray  # V^T V + reg I over the model's rated films (float64)
    popularity: np.ndarray
    quality: np.ndarray
    rated: np.ndarray  # catalog films with corpus activity
    item_catalog: np.ndarray  # catalog position of each corpus film, -1 when the catalog lacks it
    item_of: np.ndarray  # catalog position -> corpus film, -1 for films nobody rated
    # Priors standardised and weighted, the same for every member: feature -> (values, spread), on first use.
    priors: dict = field(default_factory=dict)


@dataclass(eq=False)
class _State:
    """One member scored over one catalog, kept for recommend and explain."""

    total: np.ndarray
    parts: dict
    std: dict
    index: np.ndarray  # catalog position per member film (-1 unmatched)
    presence: np.ndarray
    centred: np.ndarray
    rows: MemberRows
    boost: dict = field(default_factory=dict)
    explain_cache: dict = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class HybridModel:
    """A fitted hybrid: collaborative arrays over the corpus's films, a blend, and the catalog it serves."""

    item_ids: np.ndarray  # int64, films with corpus activity, ascending
    head: np.ndarray  # positions in item_ids that EASE covers, ascending
    scale: float
    weights_ease: np.ndarray | sp.csr_matrix  # head x head
    weights_liked: np.ndarray | sp.csr_matrix
    item_factors: np.ndarray  # items x factors; 0 columns when the blend has no ALS
    popularity: np.ndarray  # log1p(members) per item
    quality: np.ndarray  # Bayesian average per item, 0-1
    mapping: ContentMapping | None
    blend: Mapping[str, float]
    l2: float
    als_regularization: float = 0.0
    als_alpha: float = 8.0
    signals: SignalWeights = SignalWeights()
    content_presence: float = CONTENT_PRESENCE
    content_taste: float = CONTENT_TASTE
    weights_neighbours: sp.csr_matrix | None = None  # corpus films x corpus films, see neighbours.py
    n_users: int = 0
    n_ratings: int = 0
    match_slope: float = 0.0  # P(rated highly) = sigmoid(slope x score + intercept); 0: not calibrated
    match_intercept: float = 0.0
    report: FitReport | None = None
    catalog: Catalog | None = None
    kind: str = "full"  # "full", or "quick": the model that answers while the full one fits
    _views: dict = field(default_factory=dict, repr=False, compare=False)
    _lock: Any = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def n_items(self) -> int:
        return int(self.item_ids.size)

    def uses(self, name: str) -> bool:
        """Return whether the blend gives this feature any weight."""
        return float(self.blend.get(name, 0.0)) != 0.0

    def index_of(self, film_id: int) -> int | None:
        """Return the collaborative index of a film, or None when nobody in the corpus has it."""
        pos = int(np.searchsorted(self.item_ids, film_id))
        return pos if pos < self.item_ids.size and self.item_ids[pos] == film_id else None

    # -- the catalog the model serves ------------------------------------------------------

    def bind(self, catalog: Catalog) -> HybridModel:
        """Return this model serving `catalog` (films nobody rated are scored from content)."""
        if catalog is self.catalog:
            return self
        bound = replace(self, catalog=catalog)
        object.__setattr__(bound, "_views", self._views)
        object.__setattr__(bound, "_lock", self._lock)
        return bound

    def _view(self) -> _View:
        catalog = self.catalog
        if catalog is None:
            raise ValueError("the model serves no catalog: bind(catalog) first")
        key = id(catalog)
        with self._lock:
            entry = self._views.get(key)
            if entry is not None and entry[0]() is catalog:
                return entry[1]
            view = None
            parent = catalog.parent
            if parent is not None:
                held = self._views.get(id(parent[0]))
                if held is not None and held[0]() is parent[0]:
                    view = self._extend_view(held[1], catalog, parent[1])
            if view is None:
                view = self._build_view(catalog)
            for stale in [k for k, v in self._views.items() if isinstance(k, int) and v[0]() is None]:
                del self._views[stale]
            self._views[key] = (weakref.ref(catalog), view)
            return view

    def _build_view(self, catalog: Catalog) -> _View:
        n = len(catalog)
        pos = np.searchsorted(self.item_ids, catalog.film_ids) if self.item_ids.size else np.zeros(n, np.int64)
        pos = np.minimum(pos, max(self.item_ids.size - 1, 0))
        rated = (self.item_ids[pos] == catalog.film_ids) if self.item_ids.size else np.zeros(n, dtype=bool)
        catalog_of_item = np.full(self.n_items, -1, dtype=np.int64)
        catalog_of_item[pos[rated]] = np.flatnonzero(rated)
        head_catalog = catalog_of_item[self.head]
        present = head_catalog >= 0
        head_of = np.full(n, -1, dtype=np.int64)
        head_of[head_catalog[present]] = np.flatnonzero(present)
        k = self.item_factors.shape[1]
        factors = np.zeros((n, k), dtype=np.float32)
        factors[rated] = self.item_factors[pos[rated]]
        cold = np.flatnonzero(~rated)
        if k and self.mapping is not None and cold.size:
            factors[cold] = self.mapping.predict([catalog.films[i] for i in cold])
        base = self.item_factors.T.astype(np.float64) @ self.item_factors.astype(np.float64)
        base[np.diag_indices_from(base)] += self.als_regularization
        popularity = np.zeros(n, dtype=np.float32)
        popularity[rated] = self.popularity[pos[rated]]
        quality = (np.nan_to_num(catalog.quality, nan=0.0) / 10.0).astype(np.float32)
        quality[rated] = self.quality[pos[rated]]
        item_of = np.where(rated, pos, -1).astype(np.int64)
        return _View(catalog, catalog_content(catalog), head_catalog, head_of, factors, base,
                     popularity, quality, rated, catalog_of_item, item_of)

    def _extend_view(self, view: _View, catalog: Catalog, start: int) -> _View | None:
        """The view of a catalog that appends films to `view`'s; None when an appended film is one the
        model rated (its collaborative rows then need the full build)."""
        added = catalog.films[start:]
        ids = catalog.film_ids[start:]
        if self.item_ids.size:
            pos = np.minimum(np.searchsorted(self.item_ids, ids), self.item_ids.size - 1)
            if bool((self.item_ids[pos] == ids).any()):
                return None
        n_new = len(added)
        k = self.item_factors.shape[1]
        new_factors = (self.mapping.predict(list(added)) if k and self.mapping is not None
                       else np.zeros((n_new, k), dtype=np.float32))
        rated = np.concatenate([view.rated, np.zeros(n_new, dtype=bool)])
        quality = (np.nan_to_num(catalog.quality, nan=0.0) / 10.0).astype(np.float32)
        quality[rated] = view.quality[view.rated]
        return _View(catalog, catalog_content(catalog), view.head_catalog,
                     np.concatenate([view.head_of, np.full(n_new, -1, dtype=np.int64)]),
                     np.vstack([view.factors, new_factors.astype(np.float32)]), view.base,
                     np.concatenate([view.popularity, np.zeros(n_new, dtype=np.float32)]), quality, rated,
                     view.item_catalog, np.concatenate([view.item_of, np.full(n_new, -1, dtype=np.int64)]))

    def prepare(self) -> HybridModel:
        """Derive what scoring and explaining need for the bound catalog now rather than on the first member."""
        self._view()
        for name, weights in (("ease", self.weights_ease), ("liked", self.weights_liked),
                              ("neighbours", self.weights_neighbours)):
            if weights is not None and sp.issparse(weights):
                self._columns(name, weights)
        return self

    # -- scoring -----------------------------------------------------------------------------

    def member_rows(self, member: Member) -> tuple[MemberRows, np.ndarray, np.ndarray, np.ndarray]:
        """Return (one row over the catalog, catalog position, presence, centred per member film)."""
        view = self._view()
        films = member.films
        presence, centred = member_signals(films, self.signals, 2.0 / self.scale if self.scale else 0.2)
        index = view.catalog.indices_of([f.film.film_id for f in films]) if films else np.zeros(0, np.int64)
        known = index >= 0
        zeros = np.zeros(int(known.sum()), dtype=np.int64)
        shape = (1, len(view.catalog))
        p = interaction_matrix(zeros, index[known], presence[known], shape)
        p.eliminate_zeros()
        c = interaction_matrix(zeros, index[known], centred[known], shape)
        return MemberRows(p, c), index, presence, centred

    def _raw(self, view: _View, rows: MemberRows) -> dict[str, np.ndarray | _Placed]:
        """Return each used feature before standardisation (rows x catalog, priors 1-D; the item x item
        features placed on the catalog columns their films hold)."""
        out: dict[str, np.ndarray | _Placed] = {}
        size = len(view.catalog)
        present = view.head_catalog >= 0
        if any(self.uses(name) for name in ITEM_FEATURES):
            head_presence = _columns_moved(rows.presence, view.head_of, self.head.size)
            head_centred = _columns_moved(rows.centred, view.head_of, self.head.size)
            for name, values, weights in (("ease", head_presence, self.weights_ease),
                                          ("ease_liked", head_presence, self.weights_liked),
                                          ("taste", head_centred, self.weights_liked)):
                if self.uses(name):
                    out[name] = _Placed(apply_item_weights(values, weights)[:, present], view.head_catalog[present],
                                        size)
        if self.uses("neighbours") and self.weights_neighbours is not None:
            scores = apply_item_weights(_columns_moved(rows.presence, view.item_of, self.n_items),
                                        self.weights_neighbours)
            present = view.item_catalog >= 0
            out["neighbours"] = _Placed(scores[:, present], view.item_catalog[present], size)
        if self.uses("als") and view.factors.shape[1]:
            users = fold_in_rows(view.factors, view.base, rows.presence, self.als_alpha)
            out["als"] = users @ view.factors.T
        if self.uses("popularity"):
            out["popularity"] = view.popularity
        if self.uses("quality"):
            out["quality"] = view.quality
        if self.uses("content"):
            weighted = self.content_presence * rows.presence + self.content_taste * rows.centred
            out["content"] = view.content.batch_scores(sp.csr_matrix(weighted))
        return out

    def _parts(self, view: _View, rows: MemberRows) -> tuple[dict, dict]:
        """Return each feature standardised and weighted by the blend, and each row's spread."""
        parts, spread = {}, {}
        for name, values in self._raw(view, rows).items():
            if isinstance(values, _Placed) or values.ndim > 1:
                parts[name], spread[name] = _standardised(values, float(self.blend[name]))
                continue
            prior = view.priors.get(name)
            if prior is None:  # read-only: every member's scores share these arrays
                prior = _standardised(values, float(self.blend[name]))
                prior[0].setflags(write=False)
                view.priors[name] = prior
            parts[name], spread[name] = prior
        return parts, spread

    def features(self, rows: MemberRows) -> dict[str, np.ndarray]:
        """Return every used feature standardised (rows x catalog; priors 1-D), before blend weights."""
        return {name: _standardised(values)[0] for name, values in self._raw(self._view(), rows).items()}

    def _state(self, member: Member) -> _State:
        view = self._view()
        key = ("state", id(self), id(view))
        state = member.cache.get(key)
        if state is None:
            rows, index, presence, centred = self.member_rows(member)
            parts, spread = self._parts(view, rows)
            total = np.zeros(len(view.catalog), dtype=np.float32)
            for values in parts.values():
                total += np.ravel(values) if values.ndim == 1 else values[0]
            state = _State(total, {k: (v if v.ndim == 1 else v[0]) for k, v in parts.items()},
                           {k: float(np.ravel(v)[0]) for k, v in spread.items()}, index, presence, centred, rows)
            member.cache[key] = state
        return state

    def score(self, member: Member | MemberRows) -> np.ndarray:
        """Return the blended score of every catalog film: a vector for a Member, rows for MemberRows."""
        if isinstance(member, MemberRows):
            return self._total(self._view(), member)[1]
        return self._state(member).total.copy()

    def _total(self, view: _View, rows: MemberRows) -> tuple[dict, np.ndarray]:
        """Return (weighted parts, their sum) for member rows (rows x films)."""
        parts, _ = self._parts(view, rows)
        total = np.zeros((rows.n, len(view.catalog)), dtype=np.float32)
        for values in parts.values():
            total += values
        return parts, total

    def recommend(self, member: Member, count: int, filters: Filters | None = None,
                  exclude: Iterable[int] = (), boost: Mapping[int, str] | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
        """Return (film ids, scores) of up to `count` varied picks, best first.

        Films the member has seen and films in `exclude` are never picked; `boost`
        maps film ids another source recommends to the reason it gives.
        """
        filters = filters or Filters()
        view = self._view()
        catalog = view.catalog
        state = self._state(member)
        allowed = filters.mask(catalog, member.watchlist_ids)
        banned = catalog.indices_of(list(set(exclude) | member.seen_ids))
        allowed[banned[banned >= 0]] = False
        own = state.total
        state.boost = dict(boost or {})
        lifted = np.array([i for i in (catalog.index_of(film_id) for film_id in state.boost) if i is not None],
                          dtype=np.int64)
        share = unrated_share(state.index, view.rated)
        if share > 0:
            own = interleave_unrated(own, allowed, view.rated, share, self._unrated_order(view, state, own),
                                     keep=pool_size(count), extra=lifted)
        total = own.copy()
        total[lifted] += BOOST
        pool = shortlist(total, allowed, count)
        picks = np.asarray(diversify(catalog, view.content, pool, total[pool], count, filters.diversity,
                                     filters.max_per_director), dtype=np.int64)
        # The boost and diversity choose which films; they are listed by the model's own score (films nobody
        # rated at their interleaved place), the one the calibrated match reads, so the match shown agrees
        # with the order and means the same for every pick.
        picks = picks[np.argsort(-own[picks], kind="stable")]
        state.explain_cache["picks"] = picks  # explained next: their per-film parts are worked out together
        return catalog.film_ids[picks], own[picks]

    def explaining(self, member: Member, film_ids: Sequence[int]) -> None:
        """Say which films `explain` is asked about next, so their per-film parts are worked out together
        (by default: the picks `recommend` last returned)."""
        view = self._view()
        index = view.catalog.indices_of(list(film_ids))
        cache = self._state(member).explain_cache
        cache["picks"] = index[index >= 0]
        cache.pop("batch", None)

    def _unrated_order(self, view: _View, state: _State, total: np.ndarray) -> np.ndarray:
        """Scores that order films nobody rated among themselves: the blend, with the content part taken
        from the member's affinity to each film's terms (`term_affinity`)."""
        if "content" not in state.parts:
            return total
        return self._with_affinity(view, total[None, :], {"content": state.parts["content"][None, :]},
                                   state.rows)[0]

    def _with_affinity(self, view: _View, total: np.ndarray, parts: Mapping[str, np.ndarray],
                       rows: MemberRows) -> np.ndarray:
        """Return `total` with its content part replaced by the standardised term affinity (rows x films)."""
        affinity = term_affinity(view.content, rows.presence, rows.centred)
        mean = affinity.mean(axis=1, keepdims=True)
        std = np.maximum(affinity.std(axis=1, keepdims=True), np.float32(STD_FLOOR))
        return total - parts["content"] + np.float32(self.blend["content"]) * (affinity - mean) / std

    def unrated_order(self, rows: MemberRows) -> np.ndarray:
        """Return, for many members at once, the scores that order films nobody rated among themselves
        (what `recommend` uses to interleave them; `evaluate --cold-items` ranks cold films by it)."""
        view = self._view()
        parts, total = self._total(view, rows)
        if "content" not in parts:
            return total
        return self._with_affinity(view, total, parts, rows)

    def explain(self, member: Member, film_id: int) -> Explanation:
        """Return the reasons a film suits the member, and its score split by source."""
        view = self._view()
        catalog = view.catalog
        index = catalog.index_of(film_id)
        if index is None:
            raise KeyError(f"film {film_id} is not in the catalog the model serves")
        state = self._state(member)
        parts = state.parts
        boost = BOOST if film_id in state.boost else 0.0
        contributions = {
            "collaborative": float(sum(parts[n][index] for n in CF_FEATURES if n in parts)),
            "content": float(parts["content"][index]) if "content" in parts else 0.0,
            "popularity": float(parts["popularity"][index]) if "popularity" in parts else 0.0,
            "quality": float(parts["quality"][index]) if "quality" in parts else 0.0,
            "tmdb": float(boost),
        }
        cache = state.explain_cache
        if "known" not in cache:  # the member's catalog-known films, once for every pick explained
            known = np.flatnonzero(state.index >= 0)
            films = [member.films[i] for i in known]
            cache["known"] = (known, films, LovedIndex.of(films, catalog.origin_shares()))
        known, films, loved = cache["known"]
        per_film = self._per_film(view, state, known, index)
        reasons = reasons_for(catalog.films[index], films, per_film, quality_text(catalog, index),
                              state.boost.get(film_id), loved)
        return Explanation(tuple(reasons), contributions)

    def _per_film(self, view: _View, state: _State, known: np.ndarray, index: int) -> np.ndarray:
        """Return how much each of the member's (catalog-known) films added to one film's score."""
        if known.size == 0:
            return np.zeros(0, dtype=np.float32)
        cols = state.index[known]
        presence, centred = state.presence[known], state.centred[known]
        batch = self._batch(view, state, cols, presence, centred, index)
        return batch["per_film"][batch["at"][index]]

    def _batch(self, view: _View, state: _State, cols: np.ndarray, presence: np.ndarray, centred: np.ndarray,
               index: int) -> dict:
        """What each member film adds to the score of each film being explained: the picks `recommend` last
        returned, all at once (a few products), or one film explained on its own."""
        cache = state.explain_cache
        batch = cache.get("batch")
        if batch is not None and index in batch["at"]:
            return batch
        picks = cache.get("picks")
        targets = picks if picks is not None and index in set(picks.tolist()) else np.array([index], np.int64)
        batch = {"at": {int(t): k for k, t in enumerate(targets.tolist())}}
        out = np.zeros((targets.size, cols.size), dtype=np.float32)
        # The item x item parts: each target's column read at the member's films, one product per matrix.
        matrices = {"ease": self.weights_ease, "liked": self.weights_liked, "neighbours": self.weights_neighbours}
        for name, matrix, values, of in (("ease", "ease", presence, view.head_of),
                                         ("ease_liked", "liked", presence, view.head_of),
                                         ("taste", "liked", centred, view.head_of),
                                         ("neighbours", "neighbours", presence, view.item_of)):
            if name in state.parts and matrices[matrix] is not None:
                weights = matrices[matrix]
                columns = self._columns(matrix, weights) if sp.issparse(weights) else weights
                out += np.float32(self.blend[name] / state.std[name]) * _read_columns(
                    columns, of[targets], of[cols], values)
        if "als" in state.parts:
            if "als" not in cache:
                keep = presence != 0
                _, solved = fold_in(view.factors, view.base, cols[keep], presence[keep], self.als_alpha)
                cache["als"] = (keep, solved, 1.0 + np.abs(presence[keep]) * self.als_alpha)
            keep, solved, confidence = cache["als"]
            out[:, keep] += np.float32(self.blend["als"] / state.std["als"]) * confidence * (
                view.factors[targets] @ solved)
        if "content" in state.parts:
            if "content" not in cache:
                weights = self.content_presence * presence + self.content_taste * centred
                vectors = view.content.matrix[cols]
                cache["content"] = (weights, vectors, float(np.linalg.norm(np.asarray(vectors.T @ weights).ravel())))
            weights, vectors, norm = cache["content"]
            if norm > 0:
                cosine = np.asarray((view.content.matrix[targets] @ vectors.T).toarray(), dtype=np.float32)
                out += np.float32(self.blend["content"] / state.std["content"] / norm) * weights * cosine
        batch["per_film"] = out
        cache["batch"] = batch
        return batch

    def _columns(self, name: str, weights: sp.csr_matrix) -> sp.csc_matrix:
        """The matrix in columns, converted once per model."""
        key = ("columns", name)
        with self._lock:
            columns = self._views.get(key)
            if columns is None:
                columns = self._views[key] = weights.tocsc()
        return columns

    def match(self, scores: np.ndarray) -> np.ndarray | None:
        """Return the calibrated chance (1-99 %) that a member rates films of these scores highly.

        Learned on held-out members' held-out films: the same number means the same
        chance for every member. None when the model was fitted without held-out users.
        """
        if self.match_slope == 0.0:
            return None
        chance = 1.0 / (1.0 + np.exp(-(self.match_slope * np.asarray(scores, dtype=np.float64)
                                       + self.match_intercept)))
        return np.clip(np.round(100.0 * chance), 1, 99).astype(np.int64)

    # -- files ---------------------------------------------------------------------------------

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Return the model as plain numpy arrays (for np.savez; nothing needs pickle).

        Weights are kept in half precision and sparse indices in the narrowest integer type
        that holds them: scoring reads them back as float32, and the ranking it gives is the
        one the full-precision weights give (the quality protocol measures the same NDCG).
        """
        arrays: dict[str, np.ndarray] = {
            "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
            "item_ids": np.asarray(self.item_ids, dtype=np.int64),
            "head": np.asarray(self.head, dtype=np.int64),
            "item_factors": np.asarray(self.item_factors, dtype=np.float16),
            "popularity": np.asarray(self.popularity, dtype=np.float32),
            "quality": np.asarray(self.quality, dtype=np.float32),
            "blend_names": np.array(list(self.blend), dtype=np.str_),
            "blend_values": np.array(list(self.blend.values()), dtype=np.float64),
            "signal_names": np.array([f.name for f in fields(SignalWeights)], dtype=np.str_),
            "signal_values": np.array([getattr(self.signals, f.name) for f in fields(SignalWeights)],
                                      dtype=np.float64),
            "numbers_names": np.array(list(_NUMBERS), dtype=np.str_),
            "numbers_values": np.array([float(getattr(self, n)) for n in _NUMBERS], dtype=np.float64),
            "kind": np.array(self.kind, dtype=np.str_),
        }
        if self.mapping is not None:
            arrays.update(mapping_terms=self.mapping.terms, mapping_idf=self.mapping.idf,
                          mapping_weights=self.mapping.weights, mapping_mean=self.mapping.mean)
        for name, weights in (("ease", self.weights_ease), ("liked", self.weights_liked),
                              ("neighbours", self.weights_neighbours)):
            if weights is not None:
                arrays.update(_packed(name, weights))
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], catalog: Catalog | None = None) -> HybridModel:
        """Rebuild a model from to_arrays() output (or an open .npz); KeyError names a missing array."""
        version = int(arrays["format_version"])
        if version != FORMAT_VERSION:
            raise ModelFormatError(f"format version {version}, expected {FORMAT_VERSION}")
        numbers = dict(zip(arrays["numbers_names"].tolist(), arrays["numbers_values"].tolist()))
        signals = dict(zip(arrays["signal_names"].tolist(), arrays["signal_values"].tolist()))
        known = {f.name for f in fields(SignalWeights)}
        mapping = None
        if "mapping_terms" in arrays:
            mapping = ContentMapping(np.asarray(arrays["mapping_terms"]), np.asarray(arrays["mapping_idf"]),
                                     np.asarray(arrays["mapping_weights"]), np.asarray(arrays["mapping_mean"]))
        return cls(
            item_ids=np.asarray(arrays["item_ids"], dtype=np.int64),
            head=np.asarray(arrays["head"], dtype=np.int64),
            weights_ease=_unpacked("ease", arrays), weights_liked=_unpacked("liked", arrays),
            weights_neighbours=_unpacked("neighbours", arrays) if "neighbours_shape" in arrays
            or "neighbours_dense" in arrays else None,
            item_factors=np.asarray(arrays["item_factors"], dtype=np.float32),
            popularity=np.asarray(arrays["popularity"], dtype=np.float32),
            quality=np.asarray(arrays["quality"], dtype=np.float32),
            mapping=mapping,
            blend=dict(zip(arrays["blend_names"].tolist(), arrays["blend_values"].tolist())),
            signals=SignalWeights(**{k: v for k, v in signals.items() if k in known}),
            catalog=catalog,
            kind=str(arrays["kind"]),
            **{name: (int(numbers[name]) if name in ("n_users", "n_ratings") else float(numbers[name]))
               for name in _NUMBERS if name in numbers},
        )


def _columns_moved(rows: sp.csr_matrix, where: np.ndarray, width: int) -> sp.csr_matrix:
    """Rows over the catalog as rows over another film list: column c goes to where[c], dropped where -1
    (what multiplying by a catalog x films selection matrix gives, without the product)."""
    rows = rows.tocsr()
    moved = where[rows.indices]
    inside = moved >= 0
    row_of = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
    indptr = np.zeros(rows.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(row_of[inside], minlength=rows.shape[0]), out=indptr[1:])
    out = sp.csr_matrix((rows.data[inside], moved[inside], indptr), shape=(rows.shape[0], width))
    out.sum_duplicates()
    return out


def _read_columns(columns: sp.csc_matrix | np.ndarray, targets: np.ndarray, rows: np.ndarray,
                  values: np.ndarray) -> np.ndarray:
    """targets x member films: entry (t, j) is values[j] x matrix[rows[j], targets[t]], 0 where either index
    is -1 (a film outside the matrix's films)."""
    out = np.zeros((targets.size, rows.size), dtype=np.float32)
    inside_t, inside_r = np.flatnonzero(targets >= 0), np.flatnonzero(rows >= 0)
    if inside_t.size == 0 or inside_r.size == 0:
        return out
    picked = columns[:, targets[inside_t]]  # the matrix's rows x the targets inside it
    if sp.issparse(picked):
        # The member's films as a rows x films selection carrying their values: one sparse product.
        select = sp.csr_matrix((values[inside_r].astype(np.float32), (rows[inside_r], inside_r)),
                               shape=(columns.shape[0], rows.size))
        out[inside_t] = (picked.T.tocsr() @ select).toarray()
    else:
        out[np.ix_(inside_t, inside_r)] = picked[rows[inside_r]].T * values[inside_r][None, :]
    return out


class _Placed(NamedTuple):
    """A feature known on a few catalog columns and 0 on every other: rows x those columns, and where they go."""

    values: np.ndarray
    columns: np.ndarray  # distinct catalog positions
    size: int  # the catalog's


def _standardised(values: np.ndarray | _Placed, weight: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Each row (a 1-D array is one row) centred, scaled to unit spread and times `weight`; and the spread.

    A member's feature arrays are freshly made and used once: they are worked in place, two passes
    and no temporaries the size of the catalog (priors, shared by every member, are copied first).
    A placed feature is read on its columns alone, its zeros counted, and written out once.
    """
    if isinstance(values, _Placed):
        return _standardised_placed(values, weight)
    values = np.asarray(values, dtype=np.float32)
    shared = values.ndim == 1
    axis = None if shared else 1
    mean = values.mean(axis=axis, dtype=np.float64, keepdims=not shared)
    squares = np.einsum("ij,ij->i", values, values, dtype=np.float64)[:, None] if not shared \
        else np.dot(values.astype(np.float64), values.astype(np.float64))
    variance = np.maximum(squares / values.shape[-1] - mean * mean, 0.0)
    std = np.maximum(np.sqrt(variance), STD_FLOOR).astype(np.float32)
    out = values.copy() if shared else values
    out -= mean.astype(np.float32)
    out *= (np.float32(weight) / std)
    return out, std


def _standardised_placed(placed: _Placed, weight: float) -> tuple[np.ndarray, np.ndarray]:
    """`_standardised` of a placed feature (its values, freshly made, are worked in place)."""
    values = np.asarray(placed.values, dtype=np.float32)
    mean = values.sum(axis=1, dtype=np.float64, keepdims=True) / placed.size
    squares = np.einsum("ij,ij->i", values, values, dtype=np.float64)[:, None]
    variance = np.maximum(squares / placed.size - mean * mean, 0.0)
    std = np.maximum(np.sqrt(variance), STD_FLOOR).astype(np.float32)
    mean, scale = mean.astype(np.float32), np.float32(weight) / std
    out = np.empty((values.shape[0], placed.size), dtype=np.float32)
    out[:] = (np.float32(0.0) - mean) * scale  # every film the feature does not reach
    values -= mean
    values *= scale
    out[:, placed.columns] = values
    return out, std


def _packed(name: str, weights: np.ndarray | sp.spmatrix) -> dict[str, np.ndarray]:
    """An item x item matrix as compact arrays: half-precision values, the narrowest index type."""
    if not sp.issparse(weights):
        return {f"{name}_dense": np.asarray(weights, dtype=np.float16)}
    csr = weights.tocsr()
    index_type = np.uint16 if csr.shape[1] <= np.iinfo(np.uint16).max + 1 else np.int32
    pointer_type = np.int32 if csr.nnz < np.iinfo(np.int32).max else np.int64
    return {f"{name}_data": csr.data.astype(np.float16), f"{name}_indices": csr.indices.astype(index_type),
            f"{name}_indptr": csr.indptr.astype(pointer_type), f"{name}_shape": np.array(csr.shape, dtype=np.int64)}


def _unpacked(name: str, arrays: Mapping[str, np.ndarray]) -> np.ndarray | sp.csr_matrix:
    """The matrix `_packed` wrote, in float32 for scoring."""
    if f"{name}_dense" in arrays:
        return np.asarray(arrays[f"{name}_dense"], dtype=np.float32)
    return sp.csr_matrix((np.asarray(arrays[f"{name}_data"], dtype=np.float32),
                          np.asarray(arrays[f"{name}_indices"], dtype=np.int32),
                          np.asarray(arrays[f"{name}_indptr"], dtype=np.int64)),
                         shape=tuple(int(x) for x in arrays[f"{name}_shape"]))


_NUMBERS = ("scale", "l2", "als_regularization", "als_alpha", "content_presence", "content_taste", "n_users",
            "n_ratings", "match_slope", "match_intercept")
