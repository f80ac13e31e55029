"""Summaries of a member's profile: what was read and matched, and the member's tastes."""
from __future__ import annotations

from typing import Hashable, Iterable

from services.domain import MatchedFilm, Profile
from services.matching import normalise_title

TOP_GENRES = 12
TOP_DIRECTORS = 10
MEAN_DECIMALS = 2
MAX_UNMATCHED_LISTED = 2000  # a diary rarely has more; the count stays true, and a result stays a bounded size


def profile_block(profile: Profile, matched: Iterable[MatchedFilm]) -> dict:
    """Count the profile's distinct films: watched, rated, liked, on the watchlist, matched or not.

    "films" (the films read: distinct watched films), "matched" and "unmatched" cover
    watched films; "watchlist" counts the watchlist on its own. Entries that match the
    same catalog film count once. Every unmatched film is counted; the first 2,000 are listed,
    each with the most likely reason it did not match where known. "repairs" and "unread" say
    what of an export was read back as meant after a spreadsheet saved it, and what could not
    be read, with the reason.
    """
    by_key: dict[Hashable, list[MatchedFilm]] = {}
    for item in matched:
        by_key.setdefault(_film_key(item), []).append(item)
    films = rated = liked = watchlist = matched_count = 0
    unmatched = []
    for items in by_key.values():
        entries = [item.entry for item in items]
        if any(entry.watchlist for entry in entries):
            watchlist += 1
        if not any(entry.watched for entry in entries):
            continue
        films += 1
        rated += any(entry.rating is not None for entry in entries)
        liked += any(entry.liked for entry in entries)
        if items[0].film is not None:
            matched_count += 1
        else:
            reason = next((item.reason for item in items if item.reason), None)
            unmatched.append({"name": entries[0].title, "year": entries[0].year, "reason": reason})
    return {
        "source": profile.source,
        "films": films,
        "rated": rated,
        "liked": liked,
        "watchlist": watchlist,
        "matched": matched_count,
        "unmatched": unmatched[:MAX_UNMATCHED_LISTED],
        "unmatched_count": len(unmatched),
        "repairs": [{"file": repair.file, "what": repair.what} for repair in profile.repairs],
        "unread": [{"file": entry.file, "reason": entry.reason, "count": entry.count, "examples": list(entry.examples)}
                   for entry in profile.unread],
    }


def preferences(matched: Iterable[MatchedFilm]) -> dict:
    """Tally the member's watched, matched films by genre, director and decade, with mean stars."""
    genres: dict[str, list[float | None]] = {}
    directors: dict[str, list[float | None]] = {}
    decades: dict[int, list[float | None]] = {}
    distinct: dict[int, tuple[MatchedFilm, float | None]] = {}
    for item in matched:
        if item.film is None or not item.entry.watched:
            continue
        first, stars = distinct.get(item.film.film_id, (item, None))
        distinct[item.film.film_id] = (first, stars if stars is not None else item.entry.rating)
    for item, stars in distinct.values():
        film = item.film
        _add(genres, film.genres, stars)
        _add(directors, film.directors, stars)
        year = film.year if film.year is not None else item.entry.year
        if year is not None:
            _add(decades, [year // 10 * 10], stars)
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


def _film_key(item: MatchedFilm) -> Hashable:
    """Key one distinct film: its catalog id when matched, else its normalised title and year."""
    if item.film is not None:
        return item.film.film_id
    return normalise_title(item.entry.title), item.entry.year


def _add(tallies: dict, names: Iterable, stars: float | None) -> None:
    """Count a film under each of names with its rating (None when unrated)."""
    for name in dict.fromkeys(names):
        tallies.setdefault(name, []).append(stars)


def _figures(tally: list[float | None]) -> dict:
    """Return the count of films in a tally and the mean of their star ratings."""
    stars = [value for value in tally if value is not None]
    mean = round(sum(stars) / len(stars), MEAN_DECIMALS) if stars else None
    return {"count": len(tally), "mean_rating": mean}


def _ranked(tallies: dict[str, list[float | None]], limit: int) -> list[dict]:
    """Return the most-watched names first (ties: higher mean rating, then name), at most limit."""
    rows = [{"name": name, **_figures(tally)} for name, tally in tallies.items()]
    rows.sort(key=lambda row: (-row["count"], -(row["mean_rating"] or 0.0), row["name"]))
    return rows[:limit]
