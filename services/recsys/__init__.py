"""The recommender model: one object that `evaluate` measures and the app serves.

Modules, by what they hold:
  training       a corpus as users x films matrices, signal weights, film priors
  collaborative  EASE over the most-watched films, ALS over every film with activity, fold-in
  neighbours     co-rating neighbours over every film with ratings, however few (the long tail)
  content        catalog content vectors; content -> factors map for films nobody rated
  blend          standardised features and weights learned on held-out users
  fitting        fit(corpus, catalog, settings): tuning, blend learning, the final refit; the quick
                 model's shape; tuned values as plain records
  members        a member's films and signals; the one cold-start rule
  model          HybridModel: score, recommend, explain, to_arrays / from_arrays
  ranking        shortlist and the one diversity loop (personal and mood picks)
  explain        reasons ranked by their share of a pick's score and how concrete they are
  similar        films like one pick, for that member ("more like this")
"""
from __future__ import annotations

from typing import Callable, Iterable, Mapping, Sequence

from services.catalog import Catalog
from services.domain import Film, MatchedFilm, ScoredFilm
from services.filters import Filters
from services.recsys.explain import Explanation, stars_text
from services.recsys.fitting import (
    FULL,
    QUICK,
    QUICK_SETTINGS,
    HybridSettings,
    fit,
    quick_settings,
    settings_from_record,
    settings_record,
    tuned_settings,
)
from services.recsys.members import (
    COLD_START_MIN_FILMS,
    Member,
    MemberFilm,
    MemberRows,
    is_cold_start,
    member_films,
    member_signals,
    most_telling,
)
from services.recsys.model import FitReport, HybridModel, ModelFormatError
from services.recsys.ranking import diversify, match_percents
from services.recsys.training import Corpus, SignalWeights


def recommend_films(model: HybridModel, catalog: Catalog, matched: Sequence[MatchedFilm] | Member, filters: Filters,
                    count: int, boost: Mapping[int, str] | None = None, exclude: Iterable[int] = (),
                    keep: Callable[[list[Film]], list[Film]] | None = None, explained: int | None = None
                    ) -> list[ScoredFilm]:
    """Return explained picks for a matched profile (or a Member), none in `exclude`: recommend `count`,
    keep those `keep` keeps (a guard; all by default), then explain the first `explained` of them (all)."""
    served = model.bind(catalog)
    member = matched if isinstance(matched, Member) else Member.from_matched(matched)
    ids, scores = served.recommend(member, count, filters, exclude=exclude, boost=boost)
    matches = served.match(scores)
    films = [catalog.by_id(film_id) for film_id in ids.tolist()]
    kept = {id(film) for film in (keep(films) if keep is not None else films)}
    shown = [k for k, film in enumerate(films) if id(film) in kept][:explained]
    served.explaining(member, [films[k].film_id for k in shown])  # explained together, no other
    out = []
    for k in shown:
        film, score = films[k], float(scores[k])
        explanation = served.explain(member, film.film_id)
        out.append(ScoredFilm(film=film, score=score, reasons=explanation.reasons,
                              contributions=explanation.contributions,
                              match=None if matches is None else int(matches[k])))
    return out


__all__ = [
    "COLD_START_MIN_FILMS", "FULL", "QUICK", "QUICK_SETTINGS", "Corpus", "Explanation", "FitReport", "HybridModel",
    "HybridSettings", "Member", "MemberFilm", "MemberRows", "ModelFormatError", "SignalWeights", "diversify",
    "fit", "is_cold_start", "match_percents", "member_films", "member_signals", "most_telling", "recommend_films",
    "quick_settings", "settings_from_record", "settings_record", "stars_text", "tuned_settings",
]
