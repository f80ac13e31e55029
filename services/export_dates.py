"""Read the dates of one export file as the spreadsheet that saved it wrote them.

Letterboxd writes ISO dates (2023-07-28). A spreadsheet that opened the file and saved
it again may add a time (2023-07-28 00:00:00), write the year first another way
(2023/07/28), or put day and month first in either order (28/07/2023, 7/28/2023,
28.07.2023, 28-07-23). The order of day and month is decided per file, from its own
values: a first number over 12 is a day, a second number over 12 is a day. When no
value decides it, an order is assumed and the reading says so: the order another file
of the export showed, else day/month for '.' and '-' and month/day for '/', as
spreadsheets write them, else the other one; the first that keeps every date within
the accepted range.
When a file's values decide both ways, only the values that decide themselves are read.
Two-digit years are 2000-2068 for 00-68 and 1969-1999 for 69-99, as strptime reads them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Iterable

DAY_MONTH, MONTH_DAY = "day/month", "month/day"
LAST_DAY, LAST_MONTH = 31, 12
TWO_DIGIT_PIVOT = 69  # strptime's %y: 69-99 are 1969-1999, 00-68 are 2000-2068

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?: ?[AaPp][Mm])?)?"
_YEAR_FIRST = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})" + _TIME)
_YEAR_LAST = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d{4}|\d{2})" + _TIME)
_SEPARATOR_ORDER = {".": DAY_MONTH, "-": DAY_MONTH, "/": MONTH_DAY}


@dataclass(frozen=True)
class DateReading:
    """How one file's dates are read; `order` is None when none has day and month first."""

    order: str | None = None
    assumed: str = ""  # why the order was assumed, when no value decided it
    conflicting: bool = False  # values decide both orders: only values that decide themselves are read
    example: str = ""  # a value of the file with day and month first (one that decided the order, if any)
    year_first: str = ""  # a value written year first in another form than ISO
    with_time: str = ""  # a value that carries a time

    def read(self, value: str | None) -> str | None:
        """Return a value's ISO date, "" for a blank, None for a value that is not a date."""
        text = (value or "").strip()
        if not text:
            return ""
        if _ISO.fullmatch(text):
            return _iso(int(text[:4]), int(text[5:7]), int(text[8:10]))
        match = _YEAR_FIRST.fullmatch(text)
        if match:
            return _iso(int(match[1]), int(match[3]), int(match[4]))
        match = _YEAR_LAST.fullmatch(text)
        if match is None:
            return None
        first, second, year = int(match[1]), int(match[3]), _full_year(match[4])
        order = self.order
        if self.conflicting or order is None:
            order = _order_shown(first, second)
            if order is None and first != second:
                return None
        day, month = (first, second) if order != MONTH_DAY else (second, first)
        return _iso(year, month, day)

    def repairs(self) -> list[str]:
        """Return what reading the file's dates repaired, one line each ([] for Letterboxd's own dates)."""
        out = []
        if self.conflicting:
            out.append(f"dates read as day/month or month/day, each by its day over 12 ({self.example}); "
                       "the file writes both")
        elif self.order is not None:
            out.append(f"dates read as {self.order} ({self.example})" + (f", assumed: {self.assumed}"
                                                                          if self.assumed else ""))
        if self.year_first:
            out.append(f"dates read as year/month/day ({self.year_first})")
        if self.with_time:
            out.append(f"dates read without their time ({self.with_time})")
        return out


def reading_for(values: Iterable[str], fallback: tuple[str, str] | None = None,
                earliest: str = "", latest: str = "") -> DateReading:
    """Decide how to read one file's dates from its values (distinct values suffice).

    fallback: (order, file) another file of the export decided, used when no value here does.
    earliest, latest: ISO bounds of accepted dates; an assumed order keeps every date within them when it can.
    """
    decides: dict[str, str] = {}  # order -> the first value that shows it
    undecided: list[tuple[int, int, int]] = []
    undecided_example = separator = year_first = with_time = ""
    for value in values:
        text = value.strip()
        if not text or _ISO.fullmatch(text):
            continue
        year_match = _YEAR_FIRST.fullmatch(text)
        match = year_match or _YEAR_LAST.fullmatch(text)
        if match is None:
            continue
        if ":" in text and not with_time:
            with_time = text
        if year_match is not None:
            if not year_first and not _ISO.match(text):
                year_first = text
            continue
        first, second = int(match[1]), int(match[3])
        order = _order_shown(first, second)
        if order is not None:
            decides.setdefault(order, text)
            continue
        undecided.append((first, second, _full_year(match[4])))
        if not undecided_example:
            undecided_example, separator = text, match[2]
    if len(decides) == 2:
        return DateReading(conflicting=True, example=", ".join(decides.values()), year_first=year_first,
                           with_time=with_time)
    if decides:
        order, example = next(iter(decides.items()))
        return DateReading(order=order, example=example, year_first=year_first, with_time=with_time)
    if not undecided:
        return DateReading(year_first=year_first, with_time=with_time)
    order, assumed = _assumed_order(undecided, separator, fallback, earliest, latest)
    return DateReading(order=order, assumed=assumed, example=undecided_example, year_first=year_first,
                       with_time=with_time)


def _assumed_order(values: list[tuple[int, int, int]], separator: str, fallback: tuple[str, str] | None,
                   earliest: str, latest: str) -> tuple[str, str]:
    """Choose an order for values none of which decides it; return it and why it was chosen.

    In turn: the order another file showed, the one spreadsheets use with this separator, the
    other one; the first that keeps every date within the bounds.
    """
    default = _SEPARATOR_ORDER[separator]
    candidates = [(fallback[0], f"as {fallback[1]} shows")] if fallback is not None else []
    candidates += [(default, f"as spreadsheets write dates with '{separator}'"),
                   (MONTH_DAY if default == DAY_MONTH else DAY_MONTH, "the other order puts a date out of range")]
    for order, why in candidates:
        days = [_iso(year, second, first) if order == DAY_MONTH else _iso(year, first, second)
                for first, second, year in values]
        if all(day and (not earliest or day >= earliest) and (not latest or day <= latest) for day in days):
            return order, f"no day in this file is over 12; {why}"
    order, why = candidates[0]
    return order, f"no day in this file is over 12; {why}"


def _order_shown(first: int, second: int) -> str | None:
    """Return the order a day-and-month pair shows by itself (a number over 12 is the day), or None."""
    if LAST_MONTH < first <= LAST_DAY and second <= LAST_MONTH:
        return DAY_MONTH
    if LAST_MONTH < second <= LAST_DAY and first <= LAST_MONTH:
        return MONTH_DAY
    return None


def _full_year(text: str) -> int:
    """Return a four-digit year; two digits are read as strptime's %y reads them."""
    year = int(text)
    if len(text) == 2:
        year += 1900 if year >= TWO_DIGIT_PIVOT else 2000
    return year


def _iso(year: int, month: int, day: int) -> str | None:
    """Return the ISO date, or None for a day that does not exist."""
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None
