"""Cold start: well-rated, popular-enough, varied picks for a mood and an optional genre.

Used when a member has fewer than a handful of films, or asks for a mood. Each mood
maps to genre weights, genres it avoids, a pace (which prefers a runtime range when
runtimes are known) and a tone (keywords that fit it, when keywords are known).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.catalog import Catalog, canonical_genre, genre_label
from services.domain import ScoredFilm
from services.filters import KNOWN_GENRES, Filters
from services.recsys.content import catalog_content
from services.recsys.ranking import diversify

MAX_OBSCURITY = 40.0  # popular enough: within the most-voted 40% of the catalog
FALLBACK_MAX_OBSCURITY = 80.0  # widened when too few films qualify
QUALITY_WEIGHT = 1.0
POPULARITY_WEIGHT = 0.35
MOOD_WEIGHT = 1.2
PACE_WEIGHT = 0.3
TONE_WEIGHT = 0.4
DIVERSITY = 0.35
MAX_PER_DIRECTOR = 1
MAX_PER_DECADE_SHARE = 0.4  # no decade takes more than this share of the picks
FILTERED_OVERFETCH = 4  # mood picks drawn per one wanted when the member's filters may refuse some
POOL_SIZE = 300
CORE_GENRE_WEIGHT = 0.5  # a film must carry one of the mood's genres weighted at least this


@dataclass(frozen=True)
class Mood:
    """What a mood means in catalog terms."""

    label: str
    genres: dict[str, float]  # canonical genre -> weight
    avoid: tuple[str, ...]  # canonical genres that break the mood
    pace: str  # "gentle", "brisk", "slow", "fast", "sweeping"
    tone: str
    keywords: tuple[str, ...] = ()


PACE_RUNTIME = {  # preferred runtime range in minutes
    "gentle": (80, 125),
    "brisk": (75, 110),
    "fast": (85, 130),
    "slow": (100, 200),
    "sweeping": (135, 240),
}


def _genres(**weights: float) -> dict[str, float]:
    return {canonical_genre(name.replace("_", " ")): weight for name, weight in weights.items()}


MOODS: dict[str, Mood] = {
    "cozy": Mood("Cozy", _genres(comedy=1.0, family=1.0, animation=0.8, romance=0.6, music=0.5),
                 avoid=(canonical_genre("Horror"), canonical_genre("War"), canonical_genre("Thriller")),
                 pace="gentle", tone="warm",
                 keywords=("friendship", "christmas", "small town", "holiday", "feel-good", "family")),
    "thrilling": Mood("Thrilling", _genres(thriller=1.0, action=0.9, crime=0.7, mystery=0.6, adventure=0.4),
                      avoid=(canonical_genre("Family"), canonical_genre("Documentary"), canonical_genre("Music")),
                      pace="fast", tone="tense",
                      keywords=("heist", "chase", "hostage", "conspiracy", "escape", "assassin")),
    "thoughtful": Mood("Thoughtful", _genres(drama=1.0, documentary=0.7, history=0.6, biography=0.6,
                                             science_fiction=0.4),
                       avoid=(canonical_genre("Family"), canonical_genre("Animation")),
                       pace="slow", tone="reflective",
                       keywords=("philosophy", "grief", "memory", "identity", "existentialism", "loneliness")),
    "funny": Mood("Funny", _genres(comedy=1.3, animation=0.4, romance=0.3, adventure=0.2),
                  avoid=(canonical_genre("Horror"), canonical_genre("War"), canonical_genre("Documentary")),
                  pace="brisk", tone="light",
                  keywords=("satire", "parody", "buddy", "spoof", "mockumentary")),
    "dark": Mood("Dark", _genres(crime=0.9, horror=0.8, thriller=0.8, film_noir=1.0, mystery=0.6, war=0.5),
                 avoid=(canonical_genre("Family"), canonical_genre("Animation"), canonical_genre("Music")),
                 pace="slow", tone="bleak",
                 keywords=("revenge", "serial killer", "dystopia", "murder", "corruption", "nihilism")),
    "romantic": Mood("Romantic", _genres(romance=1.3, drama=0.5, comedy=0.5, music=0.3),
                     avoid=(canonical_genre("Horror"), canonical_genre("War")),
                     pace="gentle", tone="tender",
                     keywords=("love", "wedding", "first love", "love triangle", "romance")),
    "epic": Mood("Epic", _genres(adventure=1.0, war=0.9, history=0.9, fantasy=0.8, science_fiction=0.7,
                                 action=0.5),
                 avoid=(canonical_genre("Short"), canonical_genre("TV Movie")),
                 pace="sweeping", tone="grand",
                 keywords=("epic", "battle", "quest", "empire", "space opera", "kingdom")),
}


def validate_mood(mood: str | None) -> str | None:
    """Return the mood key, or raise ValueError naming the moods there are."""
    if mood is None or str(mood).strip() == "":
        return None
    key = str(mood).strip().lower()
    if key not in MOODS:
        raise ValueError(f"unknown mood {mood!r}; moods: {', '.join(MOODS)}")
    return key


def validate_category(category: str | None) -> str | None:
    """Return the canonical genre key of a category, or raise ValueError."""
    if category is None or str(category).strip() == "":
        return None
    key = canonical_genre(category)
    if key not in KNOWN_GENRES:
        raise ValueError(f"unknown category {category!r}")
    return key


def _zscore(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    std = values.std()
    return (values - values.mean()) / std if std > 0 else np.zeros_like(values)


def mood_scores(catalog: Catalog, mood: Mood | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (fit to the mood, has a mood genre, has a genre the mood avoids) per catalog film."""
    n = len(catalog)
    fit = np.zeros(n)
    if mood is None:
        return fit, np.ones(n, dtype=bool), np.zeros(n, dtype=bool)
    genre_count = np.asarray(catalog.genre_matrix.sum(axis=1)).ravel()
    for genre, weight in mood.genres.items():
        fit += weight * catalog.genre_mask([genre])
    # A film tagged with many genres should not win on breadth alone.
    fit = fit / np.sqrt(np.maximum(genre_count, 1))
    core = [g for g, w in mood.genres.items() if w >= CORE_GENRE_WEIGHT]
    has_mood_genre = catalog.genre_mask(core)
    avoided = catalog.genre_mask(mood.avoid) if mood.avoid else np.zeros(n, dtype=bool)
    low, high = PACE_RUNTIME.get(mood.pace, (0, 10_000))
    runtimes = catalog.runtimes
    known = ~np.isnan(runtimes)
    pace = np.zeros(n)
    pace[known] = np.where((runtimes[known] >= low) & (runtimes[known] <= high), 1.0, -1.0)
    tone = np.zeros(n)
    if mood.keywords:
        wanted = set(mood.keywords)
        for i, film in enumerate(catalog.films):
            if film.keywords:
                tone[i] = len(wanted & {k.lower() for k in film.keywords}) > 0
    return MOOD_WEIGHT * fit + PACE_WEIGHT * pace + TONE_WEIGHT * tone, has_mood_genre, avoided


def mood_picks(
    catalog: Catalog,
    mood: str | None,
    category: str | None,
    count: int,
    exclude: set[int] | frozenset[int] = frozenset(),
) -> list[ScoredFilm]:
    """Return up to `count` well-rated, popular-enough, varied films for a mood and genre."""
    mood_key = validate_mood(mood)
    genre = validate_category(category)
    spec = MOODS[mood_key] if mood_key else None
    if count <= 0 or len(catalog) == 0:
        return []
    fit, has_mood_genre, avoided = mood_scores(catalog, spec)
    allowed = has_mood_genre.copy()
    if genre:
        allowed &= catalog.genre_mask([genre])
        if spec is None or genre not in spec.avoid:
            allowed &= ~avoided
        # else: the genre asked for wins over the mood's avoid-list ("cozy" + Horror).
    else:
        allowed &= ~avoided
    allowed &= catalog.is_movie
    allowed &= ~np.isnan(catalog.years)
    excluded = catalog.indices_of(list(exclude))
    allowed[excluded[excluded >= 0]] = False
    popularity = np.log1p(np.where(np.isnan(catalog.vote_counts), catalog.corpus_counts, catalog.vote_counts))
    score = QUALITY_WEIGHT * _zscore(catalog.quality) + POPULARITY_WEIGHT * _zscore(popularity) + fit
    candidates = np.flatnonzero(allowed & (catalog.obscurity <= MAX_OBSCURITY))
    if candidates.size < count:
        candidates = np.flatnonzero(allowed & (catalog.obscurity <= FALLBACK_MAX_OBSCURITY))
    if candidates.size == 0:
        return []
    pool = candidates[np.argsort(-score[candidates], kind="stable")[:POOL_SIZE]]
    picks = diversify(catalog, catalog_content(catalog), pool, score[pool], count, DIVERSITY, MAX_PER_DIRECTOR,
                      MAX_PER_DECADE_SHARE)
    out = []
    for index in picks:
        film = catalog.films[index]
        out.append(ScoredFilm(film=film, score=float(score[index]),
                              reasons=tuple(_reasons(catalog, index, spec, genre)),
                              contributions={"mood": float(fit[index]),
                                             "quality": float(QUALITY_WEIGHT * _zscore(catalog.quality)[index]),
                                             "popularity": float(POPULARITY_WEIGHT * _zscore(popularity)[index])}))
    return out


def filtered_mood_picks(catalog: Catalog, mood: str | None, category: str | None, filters: Filters, count: int,
                        seen: set[int], watchlist: set[int]) -> list[ScoredFilm]:
    """Mood picks that also honour the member's filters, none of them seen."""
    # Films the filters refuse are left out before the mood's diversity pass, not after it.
    refused = catalog.film_ids[~filters.mask(catalog, watchlist)].tolist()
    picks = mood_picks(catalog, mood, category, count * FILTERED_OVERFETCH, seen | set(refused))
    allowed = []
    for pick in picks:
        index = catalog.index_of(pick.film.film_id)
        obscurity = float(catalog.obscurity[index]) if index is not None else 100.0
        if filters.allows(pick.film, obscurity, pick.film.film_id in watchlist):
            allowed.append(pick)
    return allowed[:count]


def _reasons(catalog: Catalog, index: int, mood: Mood | None, genre: str | None) -> list[str]:
    """Say why a cold-start pick fits."""
    film = catalog.films[index]
    reasons = []
    keys = [canonical_genre(g) for g in film.genres]
    if mood is not None:
        fitting = [genre_label(g) for g in keys if g in mood.genres][:2]
        label = mood.label.lower()
        text = f"{'An' if label[0] in 'aeiou' else 'A'} {label} pick"
        reasons.append(f"{text}: {' and '.join(fitting)}" if fitting else text)
    if genre is not None:
        reasons.append(f"In {genre_label(genre)}, as you asked")
    votes, average = catalog.vote_counts[index], catalog.vote_averages[index]
    if not np.isnan(votes) and not np.isnan(average):
        reasons.append(f"Well rated: {average:.1f}/10 from {int(votes):,} votes")
    elif not np.isnan(catalog.corpus_means[index]):
        reasons.append(f"Rated {catalog.corpus_means[index]:.1f}/10 by {int(catalog.corpus_counts[index]):,} members")
    return reasons
