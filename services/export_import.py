"""Turn the rows of a Letterboxd export into a Profile with one ProfileFilm per distinct film.

Films are keyed by normalised title + year: the export's "Letterboxd URI" is a
boxd.it short link that, in diary.csv and reviews.csv, points at the log entry
rather than the film. Dates are read per file as a spreadsheet may have saved them
(services.export_dates), and a rating written with a decimal comma (4,5) is read.
What was repaired, and each row or value that could not be read with its reason,
go on the Profile with what the export reader repaired and could not read.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Protocol, Sequence

from services.domain import Profile, ProfileFilm, Repair, Unread, UnreadTally
from services.export_dates import DateReading, reading_for
from services.matching import TitleKeys, normalise_title

MIN_STARS, MAX_STARS = 0.5, 5.0
EXPORT_SOURCE = "export"
MIN_YEAR, MAX_YEAR = 1870, 2100

_DECIMAL_COMMA = re.compile(r"\d,\d")
DATE_COLUMNS = ("Date", "Watched Date")
UNREAD_EXAMPLES = 3
NO_TITLE = "no title"
NOT_A_DATE = "date not understood (the row is read without it)"
Row = Mapping[str, str]


class InvalidExport(ValueError):
    """The export holds a value that cannot be right (the message names the file and row)."""


@dataclass(frozen=True)
class ImportLimits:
    """Bounds on what one export may hold: distinct films, and the range of its ISO dates."""

    max_films: int
    earliest_date: str  # YYYY-MM-DD
    latest_date: str  # YYYY-MM-DD


class ExportRows(Protocol):
    """Rows of each export file kind, as infra.export_reader.ExportFiles holds them."""

    ratings: Iterable[Row]
    watched: Iterable[Row]
    watchlist: Iterable[Row]
    likes: Iterable[Row]
    diary: Iterable[Row]
    reviews: Iterable[Row]
    username: str | None
    repairs: Sequence[Repair]  # what reading the files repaired
    unread: Sequence[Unread]  # what reading the files could not read


class _Draft:
    """What the export says about one film while the files are merged (a private accumulator)."""

    __slots__ = ("title", "year", "rating", "rating_date", "log_rating", "log_rating_date", "liked",
                 "rewatch", "watched", "watchlist", "letterboxd_id", "logs")

    def __init__(self, title: str, year: int | None) -> None:
        self.title, self.year = title, year
        self.rating: float | None = None
        self.rating_date = ""
        self.log_rating: float | None = None
        self.log_rating_date = ""
        self.liked = self.rewatch = self.watched = self.watchlist = False
        self.letterboxd_id: str | None = None
        self.logs: dict[str, str] = {}  # log key -> watched date ("" if none)


def profile_from_export(files: ExportRows, username: str | None = None,
                        limits: ImportLimits | None = None, keys: TitleKeys | None = None) -> Profile:
    """Merge every export file kind into a Profile (source "export"), within the limits if given.

    Pass the run's `TitleKeys` to keep the titles' normalised keys for matching them next.
    """
    normalise = keys.normalised if keys is not None else normalise_title
    drafts: dict[tuple[str, int | None], _Draft] = {}
    # The same film, date and rating recur across the files and rows: each cell is checked once.
    by_cells: dict[tuple[str, str], _Draft] = {}
    files_by_name = {"ratings.csv": files.ratings, "watched.csv": files.watched, "watchlist.csv": files.watchlist,
                     "likes/films.csv": files.likes, "diary.csv": files.diary, "reviews.csv": files.reviews}
    readings = date_readings(files_by_name, limits)
    dates: dict[str, dict[str, str | None]] = {file: {} for file in files_by_name}
    stars_of: dict[str | None, float | None] = {}
    unread = UnreadTally(UNREAD_EXAMPLES)
    unread.update(files.unread)
    decimal_comma: dict[str, str] = {}  # file -> a rating it writes with a decimal comma

    def draft_for(row: Row, file: str, number: int) -> _Draft | None:
        cells = (row.get("Name") or "", row.get("Year") or "")
        draft = by_cells.get(cells)
        if draft is not None:
            return draft
        title = cells[0].strip()
        if not title:
            unread.count(file, NO_TITLE, ", ".join(value for value in row.values() if value.strip()))
            return None
        year = _year(row.get("Year"), file, number, title)
        key = (normalise(title), year)
        draft = drafts.get(key)
        if draft is None:
            if limits is not None and len(drafts) >= limits.max_films:
                raise InvalidExport(f"The export holds more than {limits.max_films:,} distinct films; "
                                    "that is over the limit.")
            draft = drafts[key] = _Draft(title=title, year=year)
        by_cells[cells] = draft
        return draft

    def when(value: str | None, file: str, number: int, title: str) -> str:
        value = value or ""
        known = dates[file]
        if value in known:
            text = known[value]
        else:
            text = known[value] = readings[file].read(value)
            if text and limits is not None and not limits.earliest_date <= text <= limits.latest_date:
                raise InvalidExport(f"{file} row {number} ({title}): date {text} is outside "
                                    f"{limits.earliest_date} to {limits.latest_date}.")
        if text is None:
            unread.count(file, NOT_A_DATE, f"{title}: {value.strip()}")
            return ""
        return text

    def stars(value: str | None, file: str, number: int, title: str) -> float | None:
        if value in stars_of:
            rating = stars_of[value]
        else:
            rating = stars_of[value] = _stars(value, file, number, title)  # raises on anything but a rating
        if value and "," in value and file not in decimal_comma:
            decimal_comma[file] = value.strip()
        return rating

    for number, row in enumerate(files.ratings, start=1):
        draft = draft_for(row, "ratings.csv", number)
        if draft is None:
            continue
        rating = stars(row.get("Rating"), "ratings.csv", number, draft.title)
        rated_on = when(row.get("Date"), "ratings.csv", number, draft.title)
        draft.watched = True
        if draft.letterboxd_id is None:
            draft.letterboxd_id = _uri(row)
        if rating is not None and (draft.rating is None or rated_on >= draft.rating_date):
            draft.rating, draft.rating_date = rating, rated_on

    for file, rows in (("diary.csv", files.diary), ("reviews.csv", files.reviews)):
        for number, row in enumerate(rows, start=1):
            draft = draft_for(row, file, number)
            if draft is None:
                continue
            rating = stars(row.get("Rating"), file, number, draft.title)
            watched_date = when(row.get("Watched Date"), file, number, draft.title)
            log_key = _uri(row) or f"{file}:{number}"
            logs = draft.logs
            if log_key not in logs or (watched_date and not logs[log_key]):
                logs[log_key] = watched_date
            rewatch = row.get("Rewatch")
            if rewatch and rewatch.strip().lower() == "yes":
                draft.rewatch = True
            draft.watched = True  # a diary entry or a review marks the film watched
            logged = watched_date or when(row.get("Date"), file, number, draft.title)
            if rating is not None and (draft.log_rating is None or logged >= draft.log_rating_date):
                draft.log_rating, draft.log_rating_date = rating, logged

    for file, rows, flag in (("watched.csv", files.watched, "watched"),
                             ("likes/films.csv", files.likes, "liked"),
                             ("watchlist.csv", files.watchlist, "watchlist")):
        for number, row in enumerate(rows, start=1):
            draft = draft_for(row, file, number)
            if draft is None:
                continue
            setattr(draft, flag, True)
            if draft.letterboxd_id is None:
                draft.letterboxd_id = _uri(row)

    films = tuple(_profile_film(draft) for draft in drafts.values())
    name = username or getattr(files, "username", None) or ""
    repairs = [*files.repairs, *(Repair(file, f"ratings written with a decimal comma ({example})")
                                 for file, example in decimal_comma.items())]
    repairs.extend(Repair(file, what) for file, reading in readings.items() for what in reading.repairs())
    in_order = list(files_by_name).index  # the files in the order of ExportFiles
    return Profile(username=name, source=EXPORT_SOURCE, films=films,
                   repairs=tuple(sorted(repairs, key=lambda repair: in_order(repair.file))),
                   unread=tuple(sorted(unread.unread(), key=lambda entry: in_order(entry.file))))


def date_readings(files_by_name: Mapping[str, Sequence[Row]],
                  limits: ImportLimits | None = None) -> dict[str, DateReading]:
    """Decide how each file's dates are read, from its own values; see services.export_dates."""
    earliest, latest = (limits.earliest_date, limits.latest_date) if limits is not None else ("", "")
    values = {file: _distinct_dates(rows) for file, rows in files_by_name.items()}
    readings = {file: reading_for(file_values, earliest=earliest, latest=latest)
                for file, file_values in values.items()}
    decided = {reading.order: file for file, reading in readings.items()
               if reading.order is not None and not reading.assumed and not reading.conflicting}
    if len(decided) == 1:  # the export's other files were saved alike: their order is the likelier one
        fallback = next(iter(decided.items()))
        for file, reading in readings.items():
            if reading.assumed:
                readings[file] = reading_for(values[file], fallback, earliest, latest)
    return readings


def _distinct_dates(rows: Iterable[Row]) -> list[str]:
    """Return the distinct values of a file's date columns, blank for none, in the file's order."""
    seen: dict[str, None] = {}
    date, watched_date = DATE_COLUMNS  # each row's two, in this order
    for row in rows:
        seen[row.get(date) or ""] = None
        seen[row.get(watched_date) or ""] = None
    return list(seen)


def _profile_film(draft: _Draft) -> ProfileFilm:
    """Freeze a merged draft into a ProfileFilm."""
    rating = draft.rating if draft.rating is not None else draft.log_rating
    # Liking a film on Letterboxd marks it watched; a rating does too.
    watched = draft.watched or draft.liked or rating is not None or draft.rewatch
    return ProfileFilm(
        title=draft.title,
        year=draft.year,
        rating=rating,
        liked=draft.liked,
        rewatch=draft.rewatch,
        watched=watched,
        watchlist=draft.watchlist,
        watched_dates=tuple(sorted(day for day in draft.logs.values() if day)) if draft.logs else (),
        letterboxd_id=draft.letterboxd_id,
    )


def _stars(value: str | None, file: str, number: int, title: str) -> float | None:
    """Parse a 0.5-5 star rating in halves; blank is None; anything else is InvalidExport."""
    text = (value or "").strip()
    if not text:
        return None
    if _DECIMAL_COMMA.fullmatch(text):  # a spreadsheet of a decimal-comma locale wrote 4.5 as 4,5
        text = text.replace(",", ".")
    try:
        stars = float(text)
    except ValueError:
        stars = math.nan
    if not (MIN_STARS <= stars <= MAX_STARS) or stars * 2 != int(stars * 2):
        raise InvalidExport(f"{file} row {number} ({title}): rating {text!r} is not a star rating "
                            f"from {MIN_STARS:g} to {MAX_STARS:g} in half stars.")
    return stars


def _year(value: str | None, file: str, number: int, title: str) -> int | None:
    """Parse a release year; blank is None; anything else than a plausible year is InvalidExport."""
    text = (value or "").strip()
    if not text:
        return None
    if not text.isdigit() or not MIN_YEAR <= int(text) <= MAX_YEAR:
        raise InvalidExport(f"{file} row {number} ({title}): year {text!r} is not a release year.")
    return int(text)


def _uri(row: Row) -> str | None:
    """Return the row's Letterboxd URI (a boxd.it short link), if any."""
    return (row.get("Letterboxd URI") or "").strip() or None
