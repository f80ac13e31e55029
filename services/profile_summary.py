"""Summaries of a member's profile: what was read and matched, and the member's tastes."""
from __future__ import annotations

import math
from collections import Counter
from itertools import chain
from operator import attrgetter
from typing import Callable, Hashable, Iterable

from services.domain import Film, MatchedFilm, Profile
from services.matching import normalise_title

TOP_GENRES = 12
TOP_DIRECTORS = 10
MEAN_DECIMALS = 2
MAX_UNMATCHED_LISTED = 2000  # a diary rarely has more; the count stays true, and a result stays a bounded size
_GENRES = attrgetter("genres")
_DIRECTORS = attrgetter("directors")


def profile_block(profile: Profile, matched: Iterable[MatchedFilm]) -> dict:
    """Count the profile's distinct films: watched, rated, liked, on the watchlist, matched or not.

    "films" (the films read: distinct watched films), "matched" and "unmatched" cover
    watched films; "watchlist" counts the watchlist on its own. Entries that match the
    same catalog film count once. Every unmatched film is counted; the first 2,000 are listed,
    each with the most likely reason it did not match where known. "repairs" and "unread" say
    what of an export was read back as meant after a spreadsheet saved it, and what could not
    be read, with the reason.
    """
    firsts: dict[Hashable, MatchedFilm] = {}  # each distinct film's first entry, in the member's order
    watched: set[Hashable] = set()
    rated: set[Hashable] = set()
    liked: set[Hashable] = set()
    watchlist: set[Hashable] = set()
    reasons: dict[Hashable, str] = {}  # an unmatched film's first reason
    for item in matched:
        entry = item.entry
        if item.film is not None:
            key: Hashable = item.film.film_id
        else:  # an unmatched film is known by its normalised title and year
            key = normalise_title(entry.title), entry.year
            if item.reason and key not in reasons:
                reasons[key] = item.reason
        if key not in firsts:
            firsts[key] = item
        if entry.watched:
            watched.add(key)
        if entry.watchlist:
            watchlist.add(key)
        if entry.rating is not None:
            rated.add(key)
        if entry.liked:
            liked.add(key)
    unmatched = [{"name": item.entry.title, "year": item.entry.year, "reason": reasons.get(key)}
                 for key, item in firsts.items() if item.film is None and key in watched]
    return {
        "source": profile.source,
        "films": len(watched),
        "rated": len(rated & watched),
        "liked": len(liked & watched),
        "watchlist": len(watchlist),
        "matched": len(watched) - len(unmatched),
        "unmatched": unmatched[:MAX_UNMATCHED_LISTED],
        "unmatched_count": len(unmatched),
        "repairs": [{"file": repair.file, "what": repair.what} for repair in profile.repairs],
        "unread": [{"file": entry.file, "reason": entry.reason, "count": entry.count, "examples": list(entry.examples)}
                   for entry in profile.unread],
    }


def preferences(matched: Iterable[MatchedFilm]) -> dict:
    """Tally the member's watched, matched films by genre, director and decade, with mean stars."""
    firsts: dict[int, MatchedFilm] = {}  # each film's first watched entry
    stars: dict[int, float] = {}  # each film's first rating
    for item in matched:
        film = item.film
        if film is None or not item.entry.watched:
            continue
        key = film.film_id
        if key not in firsts:
            firsts[key] = item
        if item.entry.rating is not None and key not in stars:
            stars[key] = item.entry.rating
    by_stars: dict[float | None, list[Film]] = {}
    decades: dict[int, list[float | None]] = {}
    for key, item in firsts.items():
        film = item.film
        rating = stars.get(key)
        same_stars = by_stars.get(rating)
        if same_stars is None:
            by_stars[rating] = [film]
        else:
            same_stars.append(film)
        year = film.year if film.year is not None else item.entry.year
        if year is not None:
            decade = year // 10 * 10
            tally = decades.get(decade)
            if tally is None:
                decades[decade] = [rating]
            else:
                tally.append(rating)
    genres, directors = _by_stars(by_stars, _GENRES), _by_stars(by_stars, _DIRECTORS)
    return {
        "genres": _ranked(genres, TOP_GENRES),
        "directors": _ranked(directors, TOP_DIRECTORS),
        "decades": [
            {"name": f"{decade}s", "decade": decade, **_figures(tally)}
            for decade, tally in sorted(decades.items())
        ],
    }


def read_line(summary: dict, source: str) -> str:
    """The log line that says how many films were read: the profile block's count, the one the page shows.

    `source` says where from: "your export" or the member's Letterboxd.
    """
    extra = f", and {summary['watchlist']} on the watchlist" if summary["watchlist"] else ""
    return f"Read {summary['films']} watched films from {source}{extra}"


def contribution_rows(matched: Iterable[MatchedFilm]) -> list[tuple[int, float | None, bool]]:
    """(film_id, stars or None, liked) for each catalog film the member watched, rated or liked: what they share."""
    rows: dict[int, tuple[int, float | None, bool]] = {}
    for m in matched:
        entry = m.entry
        if m.film is None or not (entry.watched or entry.rating is not None or entry.liked):
            continue
        old = rows.get(m.film.film_id)
        stars = entry.rating if entry.rating is not None else (old[1] if old else None)
        rows[m.film.film_id] = (m.film.film_id, stars, bool(entry.liked) or bool(old and old[2]))
    return list(rows.values())


def _by_stars(by_stars: dict[float | None, list[Film]], names: Callable[[Film], Iterable[str]]
              ) -> dict[str, list]:
    """[films, rated films, sum of stars] per name, from films grouped by stars; a name counts once a film.

    A name's sum is its count under each rating times that rating (stars are half stars, so the product
    is the sum of that many of them).
    """
    tallies: dict[str, list] = {}
    for rating, films in by_stars.items():
        for name, count in Counter(chain.from_iterable(map(dict.fromkeys, map(names, films)))).items():
            tally = tallies.get(name)
            if tally is None:
                tally = tallies[name] = [0, 0, 0]
            tally[0] += count
            if rating is not None:
                tally[1] += count
                tally[2] += rating * count
    return tallies


def _figures(tally: list[float | None]) -> dict:
    """Return the count of films in a tally and the mean of their star ratings."""
    stars = [value for value in tally if value is not None]
    mean = round(sum(stars) / len(stars), MEAN_DECIMALS) if stars else None
    return {"count": len(tally), "mean_rating": mean}


def _ranked(tallies: dict[str, list], limit: int) -> list[dict]:
    """Return the most-watched names first (ties: higher mean rating, then name), at most limit."""
    # Names counted less often than the limit-th most counted are not listed, so their means are not worked
    # out. A NaN total (from stars that are not a number) compares with nothing, so then every name is ranked.
    least = 0
    if len(tallies) > limit and not any(math.isnan(total) for _, _, total in tallies.values()):
        least = sorted(count for count, _, _ in tallies.values())[-limit]
    rows = [{"name": name, "count": count, "mean_rating": round(total / rated, MEAN_DECIMALS) if rated else None}
            for name, (count, rated, total) in tallies.items() if count >= least]
    rows.sort(key=lambda row: (-row["count"], -(row["mean_rating"] or 0.0), row["name"]))
    return rows[:limit]
