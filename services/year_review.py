"""A member's year in review from diary dates, and its summary as an SVG image; pure, no I/O.

Every diary log (a watched date) of the year counts once. A log is a rewatch when the same
film has an earlier log, or when it is the film's only log and the diary marks it a rewatch;
otherwise it is a first watch. Films logged without a date are not in any year.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Sequence
from xml.sax.saxutils import escape

from services.catalog import canonical_genre, genre_label
from services.domain import MatchedFilm
from services.errors import BadRequest

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
HALF_STARS = tuple(x / 2 for x in range(1, 11))
TOP_RATED = 10
NEW_DIRECTORS_SHOWN = 20


@dataclass(frozen=True)
class Log:
    """One diary entry: a film watched on a day."""

    day: date
    item: MatchedFilm
    rewatch: bool


def diary_logs(matched: Sequence[MatchedFilm]) -> list[Log]:
    """Every dated log of the member's films, oldest first, each marked first watch or rewatch."""
    logs: list[Log] = []
    seen_titles: set[tuple[str, int | None]] = set()
    for item in matched:
        entry = item.entry
        key = (entry.title.lower(), entry.year)
        if key in seen_titles or not entry.watched_dates:
            continue
        seen_titles.add(key)
        days = sorted({date.fromisoformat(d[:10]) for d in entry.watched_dates if _is_date(d)})
        for i, day in enumerate(days):
            logs.append(Log(day, item, i > 0 or (len(days) == 1 and bool(entry.rewatch))))
    logs.sort(key=lambda log: log.day)
    return logs


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text[:10])
    except (TypeError, ValueError):
        return False
    return True


def diary_years(matched: Sequence[MatchedFilm]) -> list[int]:
    return sorted({log.day.year for log in diary_logs(matched)})


def longest_streak(days: Sequence[date]) -> tuple[int, str | None, str | None]:
    """(length, first day, last day) of the longest run of consecutive days with a film."""
    ordered = sorted(set(days))
    best, best_start, best_end = 0, None, None
    start = prev = None
    run = 0
    for day in ordered:
        run = run + 1 if prev is not None and day - prev == timedelta(days=1) else 1
        start = day if run == 1 else start
        if run > best:
            best, best_start, best_end = run, start, day
        prev = day
    return best, best_start.isoformat() if best_start else None, best_end.isoformat() if best_end else None


def year_review(matched: Sequence[MatchedFilm], year: int | None) -> dict:
    """The review of one year (the latest year with diary entries when year is None).

    Raises BadRequest when the year has no diary entries, naming the years that have.
    """
    logs = diary_logs(matched)
    years = sorted({log.day.year for log in logs})
    if not years:
        raise BadRequest("There are no diary entries with dates: a year in review needs your diary "
                         "(diary.csv in the export).", "no_diary")
    year = years[-1] if year is None else year
    these = [log for log in logs if log.day.year == year]
    if not these:
        raise BadRequest(f"There are no diary entries in {year}; years with entries: "
                         f"{', '.join(map(str, years))}.", "no_diary_for_year")
    before = [log for log in logs if log.day.year < year]
    films_per_month = [0] * 12
    minutes_per_month = [0] * 12
    runtime_known = 0
    for log in these:
        films_per_month[log.day.month - 1] += 1
        runtime = log.item.film.runtime if log.item.film else None
        if runtime:
            minutes_per_month[log.day.month - 1] += runtime
            runtime_known += 1
    first = [log for log in these if not log.rewatch]
    distinct = {id(log.item): log.item for log in these}.values()
    return {
        "year": year,
        "years": years,
        "logs": len(these),
        "films": len(distinct),
        "first_watches": len(first),
        "rewatches": len(these) - len(first),
        "months": [{"month": MONTHS[i], "films": films_per_month[i], "hours": round(minutes_per_month[i] / 60, 1)}
                   for i in range(12)],
        "hours": round(sum(minutes_per_month) / 60, 1),
        "runtime_known": runtime_known,
        "ratings": _ratings(distinct),
        "top_rated": _top_rated(distinct),
        "new_directors": _new_directors(first, before),
        "rewatched": sorted({log.item.entry.title for log in these if log.rewatch}),
        "longest_streak": dict(zip(("days", "start", "end"), longest_streak([log.day for log in these]))),
        "top_decade": _top(Counter((item.entry.year // 10) * 10 for item in distinct if item.entry.year)),
        "top_genre": _top(Counter(genre_label(canonical_genre(g)) for item in distinct if item.film
                                  for g in item.film.genres)),
    }


def _top(counts: Counter) -> dict | None:
    if not counts:
        return None
    name, count = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))[0]
    return {"name": name, "films": count}


def _ratings(items) -> dict:
    """The member's stars for the year's films against the crowd's (corpus mean, 0-10 halved to stars)."""
    mine = Counter()
    crowd = Counter()
    differences = []
    for item in items:
        stars = item.entry.rating
        if stars is None:
            continue
        mine[float(stars)] += 1
        mean = item.film.corpus_mean if item.film else None
        if mean is not None:
            crowd_stars = min(5.0, max(0.5, round(mean) / 2))  # nearest half star
            crowd[crowd_stars] += 1
            differences.append(float(stars) - mean / 2)
    return {
        "distribution": [{"stars": s, "mine": mine.get(s, 0), "crowd": crowd.get(s, 0)} for s in HALF_STARS],
        "rated": sum(mine.values()),
        "mean": round(sum(s * n for s, n in mine.items()) / sum(mine.values()), 2) if mine else None,
        "versus_crowd": round(sum(differences) / len(differences), 2) if differences else None,
    }


def _top_rated(items) -> list[dict]:
    rated = [i for i in items if i.entry.rating is not None]
    rated.sort(key=lambda i: (-float(i.entry.rating), i.entry.title))
    return [{"title": i.entry.title, "year": i.entry.year, "stars": i.entry.rating,
             "film_id": i.film.film_id if i.film else None} for i in rated[:TOP_RATED]]


def _new_directors(first: Sequence[Log], before: Sequence[Log]) -> list[str]:
    known = {d for log in before if log.item.film for d in log.item.film.directors}
    out: list[str] = []
    for log in first:
        for name in (log.item.film.directors if log.item.film else ()):
            if name not in known and name not in out:
                out.append(name)
    return out[:NEW_DIRECTORS_SHOWN]


def summary_svg(review: dict, name: str) -> str:
    """A shareable 1200x630 image of the year's summary, drawn as SVG text and bars."""
    width, height = 1200, 630
    months = review["months"]
    peak = max([m["films"] for m in months] + [1])
    bars = []
    for i, m in enumerate(months):
        h = round(220 * m["films"] / peak)
        x = 80 + i * 88
        bars.append(f'<rect x="{x}" y="{560 - h}" width="60" height="{h}" rx="6" fill="#40bcf4"/>'
                    f'<text x="{x + 30}" y="590" text-anchor="middle" font-size="20" fill="#9ab">{m["month"]}</text>')
    streak = review["longest_streak"]["days"]
    facts = [
        f'{review["logs"]} films logged, {review["first_watches"]} first watches, {review["rewatches"]} rewatches',
        f'{review["hours"]:g} hours watched' + ("" if review["runtime_known"] == review["logs"] else
                                                f' (runtime known for {review["runtime_known"]})'),
        f'Longest streak: {streak} day{"s" if streak != 1 else ""}',
    ]
    if review["top_genre"]:
        facts.append(f'Top genre: {review["top_genre"]["name"]}')
    if review["top_rated"]:
        facts.append(f'Top rated: {review["top_rated"][0]["title"]}')
    lines = "".join(f'<text x="80" y="{150 + 40 * i}" font-size="28" fill="#dde">{escape(text)}</text>'
                    for i, text in enumerate(facts))
    title = escape(f"{name}'s {review['year']} in film")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{title}">'
            f'<rect width="{width}" height="{height}" fill="#14181c"/>'
            f'<text x="80" y="95" font-size="48" font-weight="700" fill="#fff" '
            f'font-family="sans-serif">{title}</text><g font-family="sans-serif">{lines}{"".join(bars)}</g></svg>')
