"""Explanations: reasons ranked by their share of a pick's score and by how concrete they are.

Every personal part of a score (EASE, taste, ALS fold-in, content profile) is a sum
over the member's own films, so each pick's score splits into what each of the
member's films contributed. A reason names the films that carried the pick, then a
director or actor the member loves, then a shared trait with named films (where and when
it was made, when the member loves films of that country or decade far more than the
catalog holds them; a genre); the generic line only when nothing of the member's carried it.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import NamedTuple, Sequence

import numpy as np

from services.catalog import canonical_genre, genre_label
from services.content_vectors import TOP_BILLED_CAST
from services.domain import Film
from services.origins import OriginShares, decade_of, origin_text
from services.recsys.members import MemberFilm

GENERIC_REASON = "Popular with members whose taste matches yours"
SECOND_FILM_SHARE = 0.5  # a second film is named when it carried at least this share of the first's part
# The member's own films lead over a trait they share (a genre, where the film was made) even when the pick
# rests on many of them at once, each carrying a small share: forty co-rated films in a niche.
FILMS_FLOOR = 0.55
DIRECTOR_FLOOR = 0.35  # a shared director is concrete enough to lead over a film that carried less
CAST_FLOOR = 0.2
GENRE_WEIGHT = 0.5  # a shared genre is less concrete than a named film or person
ORIGIN_WEIGHT = 0.6  # a country (and decade) the member loves says more than a genre
ORIGIN_LIFT = 2.0  # ...when their loved films come from it this many times as often as the catalog's
ORIGIN_MIN_FILMS = 2
ORIGIN_MAX_BASE = 0.2  # a country or decade that makes up more of the catalog than this tells nothing
BOOST_SHARE = 0.3
QUALITY_SHARE = 0.1
HIGH_QUALITY = 7.5  # Bayesian average (0-10) worth mentioning
MIN_VOTES_TO_QUOTE = 20


class Explanation(NamedTuple):
    """Reasons for one pick, most telling first, and its score split by source."""

    reasons: tuple[str, ...]
    contributions: dict


def stars_text(stars: float) -> str:
    """Return Letterboxd-style stars: 4.5 -> "★★★★½"."""
    whole = int(stars)
    return "★" * whole + ("½" if stars - whole >= 0.5 else "")


def member_action(film: MemberFilm, first: bool = True) -> str:
    """Return how to say what the member did with a film."""
    title = film.film.title
    if film.stars is not None:
        return f"{'you rated ' if first else ''}{title} {stars_text(film.stars)}"
    if film.liked:
        return f"{'you ' if first else ''}liked {title}"
    if film.watched:
        return f"{'you ' if first else ''}watched {title}"
    return f"{title} is on your watchlist"


def _titles(titles: Sequence[str]) -> str:
    return titles[0] if len(titles) == 1 else f"{titles[0]} and {titles[1]}"


@dataclass(frozen=True)
class LovedIndex:
    """Which of a member's films (positions) each director, actor, genre, country and decade appears in,
    loved films only; `origins` keeps only the countries, decades and pairs the member is drawn to."""

    directors: dict
    cast: dict
    genres: dict
    origins: dict = None  # (country or None, decade or None) -> positions

    @classmethod
    def of(cls, films: Sequence[MemberFilm], base: OriginShares | None = None) -> LovedIndex:
        """Index a member's loved films once, for every pick's reasons (`base`: the catalog's own shares)."""
        directors: defaultdict[str, list[int]] = defaultdict(list)
        cast: defaultdict[str, list[int]] = defaultdict(list)
        genres: defaultdict[str, list[int]] = defaultdict(list)
        origins: defaultdict[tuple, list[int]] = defaultdict(list)
        loved = 0
        for i, member_film in enumerate(films):
            if not member_film.loved:
                continue
            loved += 1
            film = member_film.film
            for name in dict.fromkeys(film.directors):
                directors[name].append(i)
            for name in list(dict.fromkeys(film.cast))[:TOP_BILLED_CAST]:
                cast[name].append(i)
            for genre in {canonical_genre(g) for g in film.genres}:
                genres[genre].append(i)
            decade = decade_of(film.year)
            for country in dict.fromkeys(film.countries):
                origins[(country, None)].append(i)
                if decade is not None:
                    origins[(country, decade)].append(i)
            if decade is not None:
                origins[(None, decade)].append(i)
        base = base or OriginShares({})
        drawn = {key: where for key, where in origins.items()
                 if len(where) >= ORIGIN_MIN_FILMS and base.share(key) <= ORIGIN_MAX_BASE
                 and len(where) / loved >= ORIGIN_LIFT * base.share(key)}
        # Genres and origins are few and long, read for every pick: positions as arrays, made once.
        return cls(dict(directors), dict(cast), {genre: np.asarray(where) for genre, where in genres.items()},
                   {key: np.asarray(where) for key, where in drawn.items()})


def _best(positions: np.ndarray, values: np.ndarray, count: int) -> np.ndarray:
    """The `count` positions of highest value, highest first (ties in the order given)."""
    if positions.size > count:
        negated = -values[positions]
        kth = np.partition(negated, count - 1)[count - 1]
        above = positions[negated < kth]
        positions = np.concatenate([above, positions[negated == kth][:count - above.size]])
    return positions[np.argsort(-values[positions], kind="stable")]


def reasons_for(film: Film, films: Sequence[MemberFilm], per_film: np.ndarray, quality_text: str | None,
                boost_reason: str | None, loved: LovedIndex | None = None) -> list[str]:
    """Return up to three reasons for a pick given each member film's contribution to its score."""
    loved = loved or LovedIndex.of(films)
    gains = np.maximum(per_film, 0)  # what each member film added, where it added
    total = float(gains.sum())
    ranked: list[tuple[float, str]] = []
    order = _best(np.arange(per_film.size), per_film, 2)
    if total > 0 and order.size and per_film[order[0]] > 0:
        top = int(order[0])
        named = [top]
        text = f"Because {member_action(films[top])}"
        if order.size > 1 and per_film[order[1]] >= SECOND_FILM_SHARE * per_film[top]:
            second = int(order[1])
            named.append(second)
            text += f" and {member_action(films[second], first=False)}"
        ranked.append((max(float(per_film[named].sum()) / total, FILMS_FLOOR), text))

    def share_of(where: Sequence[int]) -> float:
        return float(gains[where].sum()) / total if total > 0 else 0.0

    def titles_of(where: Sequence[int]) -> list[str]:
        return [films[i].film.title for i in _best(np.asarray(where, dtype=np.int64), per_film, 2)]

    for field_name, floor in (("directors", DIRECTOR_FLOOR), ("cast", CAST_FLOOR)):
        names = list(dict.fromkeys(getattr(film, field_name)))
        if field_name == "cast":
            names = names[:TOP_BILLED_CAST]
        people = getattr(loved, field_name)
        best: tuple[float, str] | None = None
        for name in names:
            where = people.get(name)
            if not where:
                continue
            titles = titles_of(where)
            if field_name == "directors":
                text = (f"Directed by {name}, like {_titles(titles)}, which you loved" if len(where) <= 2
                        else f"Directed by {name}, like {len(where)} films you loved")
            else:
                text = (f"Stars {name}, as does {_titles(titles)}, which you loved" if len(where) <= 2
                        else f"Stars {name}, as do {len(where)} films you loved")
            value = max(share_of(where), floor)
            if best is None or value > best[0]:
                best = (value, text)
        if best:
            ranked.append(best)
    if total > 0:
        shares = []
        for genre in dict.fromkeys(canonical_genre(g) for g in film.genres):
            where = loved.genres.get(genre)
            if where is not None:
                shares.append((share_of(where), genre, where))
        shares.sort(key=lambda item: -item[0])
        if shares and shares[0][0] > 0:
            share, genre, where = shares[0]
            ranked.append((GENRE_WEIGHT * share,
                           f"{genre_label(genre)}, like {_titles(titles_of(where))}, which you loved"))
        origin = _origin_reason(film, loved.origins or {}, share_of)
        if origin is not None:
            share, key, where = origin
            ranked.append((ORIGIN_WEIGHT * share,
                           f"{origin_text(*key)}, like {_titles(titles_of(where))}, which you loved"))
    if boost_reason:
        ranked.append((BOOST_SHARE, boost_reason))
    if quality_text:
        ranked.append((QUALITY_SHARE, quality_text))
    ranked.sort(key=lambda pair: -pair[0])
    reasons = list(dict.fromkeys(text for _, text in ranked if text))[:3]
    return reasons or [GENERIC_REASON]


def _origin_reason(film: Film, origins: dict, share_of) -> tuple[float, tuple, Sequence[int]] | None:
    """The most specific origin of the pick the member is drawn to (country in its decade, then the
    country, then the decade), with the share of the pick's score its loved films carried."""
    decade = decade_of(film.year)
    for keys in ([(country, decade) for country in film.countries] if decade is not None else [],
                 [(country, None) for country in film.countries], [(None, decade)]):
        found = [(share_of(origins[key]), key, origins[key]) for key in keys
                 if key in origins and origin_text(*key) is not None]
        found = [item for item in found if item[0] > 0]
        if found:
            return max(found, key=lambda item: item[0])
    return None


def quality_text(catalog, index: int) -> str | None:
    """Quote the film's rating when it is high and backed by enough votes."""
    votes, average = catalog.vote_counts[index], catalog.vote_averages[index]
    if not np.isnan(votes) and not np.isnan(average) and votes >= MIN_VOTES_TO_QUOTE:
        if catalog.quality[index] >= HIGH_QUALITY:
            return f"Highly rated: {average:.1f}/10 from {int(votes):,} votes"
        return None
    count, mean = catalog.corpus_counts[index], catalog.corpus_means[index]
    if not np.isnan(mean) and count >= MIN_VOTES_TO_QUOTE and catalog.quality[index] >= HIGH_QUALITY:
        return f"Rated {mean:.1f}/10 by {int(count):,} members"
    return None
