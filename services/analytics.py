"""Compute a member's viewing analytics from their matched profile.

Every figure is computed over the films the member marked as watched; watchlist-only
entries are only counted. Genres, directors, runtimes and corpus means come from
the matched catalog film, so unmatched films count where the profile alone is
enough (ratings, decades, diary months) and are left out of the rest. A figure
that cannot be computed is None rather than a guess.

One pass over the films tallies everything, in time linear in the films, their genres,
directors and diary dates: it groups the films by rating, and the genres and directors of each
group are counted in one go (`Counter`); only the top lists are sorted, through heaps of their length.
Figures are rounded half away from zero after scaling by a power of ten in floating point
(3.125 -> 3.13; 1.005 -> 1.0, as 1.005 * 100 is just under 100.5); hours round half to even.
"""
from __future__ import annotations

import heapq
import math
import re
from collections import Counter
from itertools import chain
from operator import attrgetter
from typing import Any, Callable, Sequence

from services.domain import Film, MatchedFilm

TOP_PEOPLE_AND_GENRES = 10
MIN_RATED_FOR_AVERAGE = 2
CONTRARIAN_EXAMPLES = 5
RATING_STEPS = tuple(step / 2 for step in range(1, 11))
MEAN_DECIMALS = 2
SHARE_DECIMALS = 4

# Months are counted from January of year 0 (year * 12 + month - 1); years before 1 are
# astronomical (0 is 1 BC). Diary dates from 290308 BC to AD 294246 (about the span of a 64-bit
# microsecond timestamp) are counted; one outside it is left out, as is "infinity". The series
# keeps its last MAX_MONTHS months: enough for any two dates from 0001-01-01 to 9999-12-31, and a
# bound whatever a feed's dates say.
FIRST_MONTH = -290307 * 12
LAST_MONTH = 294246 * 12 + 11
EPOCH_MONTH = 1970 * 12
MAX_MONTHS = 120_000

# A diary date is ISO (2023-07-28) or written more loosely: spaces around it, '/', ' ' or '\'
# between the parts, a one-digit month or day, " (BC)", "epoch"; it may go on with a time of
# day and a zone, which are checked and then ignored.
_SPACE = r"[ \t\n\v\f\r]"
_SPECIAL_DATE = re.compile(rf"{_SPACE}*+-?(epoch|inf|infinity){_SPACE}*+", re.IGNORECASE | re.ASCII)
_DATE = re.compile(rf"{_SPACE}*+(-?)([0-9]++)([-/ \\])([0-9]{{1,2}}+)\3([0-9]{{1,2}}+)({_SPACE}\([Bb][Cc]\))?+")
_TIME_OF_DAY = re.compile(
    rf"[ T]?+{_SPACE}*+([0-9]{{1,10}}+):(?:([0-9]{{1,2}}+)(?::(?:([0-9]{{1,2}}+)(?:\.([0-9]*+))?)?)?)?"
    rf"(?:(?:[+-][0-9]{{2}}(?::[0-9]{{2}})?:)?+ [-+/:_0-9A-Za-z]*+{_SPACE}*+"
    rf"|(?:Z|[+-][0-9]{{2}}(?::[0-9]{{2}}(?::[0-9]{{2}})?|[0-9]{{2}})?){_SPACE}*+)?+"
)
_SPACES = re.compile(rf"{_SPACE}*+")
_MICROS_PER_DAY = 86_400_000_000
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_GENRES = attrgetter("genres")
_DIRECTORS = attrgetter("directors")
_COUNT = attrgetter("count")
_TOTAL = attrgetter("total")


class _Tally:
    """Watched films counted under one genre, director or decade, and the sum of their ratings."""

    __slots__ = ("count", "rated", "total")

    def __init__(self) -> None:
        self.count = self.rated = 0
        self.total = 0.0

    def add(self, rating: float | None, count: int = 1) -> None:
        """Count `count` films given this rating (None: unrated)."""
        self.count += count
        if rating is not None:
            self.rated += count
            self.total += rating * count

    def mean(self) -> float | None:
        return _round(self.total / self.rated, MEAN_DECIMALS) if self.rated else None


def analyse(matched: Sequence[MatchedFilm]) -> dict[str, Any]:
    """Return JSON-able analytics of a member's films."""
    liked = watchlist = found = 0
    films = rewatched = diary_entries = 0
    rated = _Tally()
    ratings: list[float] = []
    decades: dict[int, _Tally] = {}
    seen: dict[float | None, list[Film]] = {}  # watched films that matched, by rating
    months: dict[int, int] = {}
    month_of: dict[str, int | None] = {}  # the same diary day recurs across films
    with_runtime = viewings = viewings_with_runtime = 0
    minutes: int | None = None
    # (-gap size, title, position, year, rating, corpus mean, gap): ordered as the examples are listed.
    compared: list[tuple[float, str, int, int | None, float, float, float]] = []
    gaps = 0.0
    for item in matched:
        entry, film = item.entry, item.film
        if entry.liked:
            liked += 1
        if entry.watchlist:
            watchlist += 1
        if film is not None:
            found += 1
        if not entry.watched:
            continue
        films += 1
        rating = entry.rating
        if rating is not None:
            rating = float(rating)
            rated.rated += 1
            rated.total += rating
            ratings.append(rating)
        dates = entry.watched_dates
        logs = len(dates)
        if entry.rewatch or logs > 1:
            rewatched += 1
        year = entry.year if entry.year is not None else (film.year if film else None)
        if year is not None:
            # Division truncates toward zero, so years -9 to 9 share decade 0.
            decade = year // 10 * 10 if year >= 0 else -(-year // 10 * 10)
            tally = decades.get(decade)
            if tally is None:
                tally = decades[decade] = _Tally()
            tally.add(rating)
        if logs:
            diary_entries += logs
            for day in dates:
                if day in month_of:
                    month = month_of[day]
                else:
                    month = month_of[day] = _month_of(day)
                if month is not None:
                    months[month] = months.get(month, 0) + 1
        times = logs or 1  # a film marked watched without diary dates was seen once
        viewings += times
        if film is None:
            continue
        same_rating = seen.get(rating)
        if same_rating is None:
            seen[rating] = [film]
        else:
            same_rating.append(film)
        runtime = film.runtime
        if runtime and runtime > 0:
            with_runtime += 1
            viewings_with_runtime += times
            minutes = (minutes or 0) + runtime * times
        if rating is None:
            continue
        corpus_mean = film.corpus_mean
        if corpus_mean is not None and math.isfinite(corpus_mean):
            gap = rating * 2 - float(corpus_mean)
            gaps += abs(gap)
            compared.append((-abs(gap), entry.title, len(compared), year, rating, float(corpus_mean), gap))
    genres, directors = _tally_names(seen, _GENRES), _tally_names(seen, _DIRECTORS)
    return {
        "counts": {
            "films": films, "rated": rated.rated, "liked": liked, "rewatched": rewatched,
            "watchlist": watchlist, "matched": found, "diary_entries": diary_entries,
        },
        "mean_rating": rated.mean(),
        "rating_distribution": _rating_distribution(Counter(ratings)),
        "decades": _decades(decades),
        "genres": _ranked(genres),
        "directors": _ranked(directors),
        "months": _months(months),
        "hours_watched": {
            "films": films, "films_with_runtime": with_runtime, "viewings": viewings,
            "viewings_with_runtime": viewings_with_runtime, "minutes": minutes,
            "hours": round(minutes / 60, 1) if minutes is not None else None,
            "complete": films > 0 and with_runtime == films,
        },
        "contrarian": {
            "films_compared": len(compared),
            "score": _round(gaps / len(compared), MEAN_DECIMALS) if compared else None,
            "most_different": [
                {"title": title, "year": year, "rating": rating, "rating_10": rating * 2,
                 "corpus_mean": _round(corpus_mean, MEAN_DECIMALS), "difference": _round(gap, MEAN_DECIMALS)}
                # Largest gap first, then by title; films tied on both keep the member's order.
                for _, title, _, year, rating, corpus_mean, gap in heapq.nsmallest(CONTRARIAN_EXAMPLES, compared)
            ],
        },
        "rewatch_share": _round(rewatched / films, SHARE_DECIMALS) if films else None,
    }


def _tally_names(by_rating: dict[float | None, list[Film]], names: Callable[[Film], Sequence[str]]
                 ) -> dict[str, _Tally]:
    """Tally the names of films grouped by rating; a name listed twice for one film counts twice.

    A name's total is its count under each rating times that rating (ratings are half stars, so the
    product is the sum of that many of them).
    """
    tallies: dict[str, _Tally] = {}
    for rating, films in by_rating.items():
        for name, count in Counter(chain.from_iterable(map(names, films))).items():
            tally = tallies.get(name)
            if tally is None:
                tally = tallies[name] = _Tally()
            tally.add(rating, count)
    return tallies


def _rating_distribution(ratings: dict[float, int]) -> list[dict[str, Any]]:
    """Films per half star; a rating between two half stars counts in the nearer, the upper one at the middle."""
    steps: dict[float, int] = {}
    for rating, count in ratings.items():
        step = _round(rating * 2) / 2
        steps[step] = steps.get(step, 0) + count
    return [{"rating": step, "count": steps.get(step, 0)} for step in RATING_STEPS]


def _ranked(tallies: dict[str, _Tally]) -> dict[str, list[dict[str, Any]]]:
    """The top names by count (then rounded mean, then name) and by rounded mean of at least two ratings."""
    # A name counted less often than the tenth most counted can only be listed by rating. A NaN total
    # (from a rating that is not a number) compares with nothing, so then every name is ranked.
    least = 0
    if len(tallies) > TOP_PEOPLE_AND_GENRES and not any(map(math.isnan, map(_TOTAL, tallies.values()))):
        least = sorted(map(_COUNT, tallies.values()))[-TOP_PEOPLE_AND_GENRES]
    rows = [(name, tally.count, tally.rated, tally.mean()) for name, tally in tallies.items()
            if tally.count >= least or tally.rated >= MIN_RATED_FOR_AVERAGE]
    by_count = heapq.nsmallest(
        TOP_PEOPLE_AND_GENRES, rows, key=lambda row: (-row[1], row[3] is None, -(row[3] or 0.0), row[0]))
    by_rating = heapq.nsmallest(
        TOP_PEOPLE_AND_GENRES, (row for row in rows if row[2] >= MIN_RATED_FOR_AVERAGE),
        key=lambda row: (-row[3], -row[2], row[0]))
    return {
        "by_count": [{"name": name, "count": count, "rated": rated, "mean_rating": mean}
                     for name, count, rated, mean in by_count],
        "by_rating": [{"name": name, "count": count, "rated": rated, "mean_rating": mean}
                      for name, count, rated, mean in by_rating],
    }


def _decades(tallies: dict[int, _Tally]) -> list[dict[str, Any]]:
    """Every decade from the oldest film's to the newest's, empty ones included."""
    if not tallies:
        return []
    empty = _Tally()
    return [
        {"decade": decade, "label": f"{decade}s", "count": tally.count, "mean_rating": tally.mean()}
        for decade in range(min(tallies), max(tallies) + 10, 10)
        for tally in (tallies.get(decade, empty),)
    ]


def _months(counts: dict[int, int]) -> list[dict[str, Any]]:
    """Diary logs per month from the first logged month to the last, empty months included."""
    if not counts:
        return []
    last = max(counts)
    return [{"month": _month_label(month), "count": counts.get(month, 0)}
            for month in range(max(min(counts), last - MAX_MONTHS + 1), last + 1)]


def _month_label(month: int) -> str:
    year, index = divmod(month, 12)
    return f"{year:04d}-{index + 1:02d}" if year >= 0 else f"{year}-{index + 1:02d}"


def _month_of(text: str) -> int | None:
    """Return the month a diary date falls in (see FIRST_MONTH), or None when it is not a date."""
    special = _SPECIAL_DATE.fullmatch(text)
    if special is not None:
        return EPOCH_MONTH if special[1].lower() == "epoch" else None
    date = _DATE.match(text)
    if date is None:
        return None
    end = date.end()
    if not _SPACES.fullmatch(text, end):
        if "0" <= text[end] <= "9":  # more digits straight after the day
            return None
        time = _TIME_OF_DAY.fullmatch(text, end)
        if time is None or not _is_time_of_day(*time.groups()):
            return None
    minus, digits, _, month_text, day_text, bc = date.groups()
    digits = digits.lstrip("0") or "0"
    if len(digits) > 6:  # far outside the months counted; also keeps int() cheap
        return None
    year = -int(digits) if minus else int(digits)
    if bc:
        if minus or year == 0:
            return None
        year = 1 - year
    month, day = int(month_text), int(day_text)
    if not 1 <= month <= 12 or not 1 <= day <= _days_in_month(year, month):
        return None
    index = year * 12 + month - 1
    return index if FIRST_MONTH <= index <= LAST_MONTH else None


def _is_time_of_day(hour: str, minute: str | None, second: str | None, fraction: str | None) -> bool:
    """True for a time from 0:00 to 24:00 exactly; digits past microseconds are ignored."""
    minutes, seconds = int(minute or 0), int(second or 0)
    if minutes >= 60 or seconds >= 60:
        return False
    micros = int((fraction or "")[:6].ljust(6, "0"))
    return ((int(hour) * 60 + minutes) * 60 + seconds) * 1_000_000 + micros <= _MICROS_PER_DAY


def _days_in_month(year: int, month: int) -> int:
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _DAYS_IN_MONTH[month - 1]


def _round(value: float, decimals: int = 0) -> float:
    """Round half away from zero (2.5 -> 3.0, -0.125 -> -0.13), scaling by 10**decimals in floating point."""
    scale = 10.0 ** decimals
    scaled = abs(value) * scale
    if not math.isfinite(scaled):
        return value
    whole = math.floor(scaled)
    if scaled - whole >= 0.5:
        whole += 1
    return math.copysign(whole / scale, value)
