"""Rank a list for a member: which list, its titles, and the list in the member's order; pure, no I/O.

A list arrives as one `from_list` value:
  "watchlist"                       the member's own watchlist
  https://letterboxd.com/u/list/s/  a Letterboxd list (scraped by the caller)
  text                              a Letterboxd list export CSV, or titles one per line,
                                    each with an optional year: "Aftersun (2022)", "Aftersun, 2022"
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Sequence

import numpy as np

from services.domain import MatchedFilm, ProfileFilm, ScoredFilm
from services.errors import LIST_UNMATCHED, BadRequest
from services.filters import Filters
from services.releases import not_out_yet

WATCHLIST = "watchlist"
MAX_LIST_CHARS = 400_000
MAX_LIST_FILMS = 1000
MAX_TITLE_CHARS = 300
MAX_UNMATCHED_SHOWN = 50
LIST_URL = re.compile(
    r"^(?:https?://)?(?:www\.)?letterboxd\.com/(?P<owner>[A-Za-z0-9_]{1,40})/list/(?P<slug>[a-z0-9-]{1,120})"
    r"(?:/(?:page/\d+/?)?)?(?:[?#].*)?$")
# "Title (2022)", "Title, 2022", "Title\t2022" or "Title - 2022": a year from the cinema's first century on.
TITLE_YEAR = re.compile(r"^(?P<title>.+?)(?:\s*\((?P<y1>(?:18|19|20)\d\d)\)|\s*[,\t]\s*(?P<y2>(?:18|19|20)\d\d)"
                        r"|\s+-\s+(?P<y3>(?:18|19|20)\d\d))\s*$")
CSV_HEADERS = (("position", "name", "year"), ("date", "name", "year"), ("name", "year"))


@dataclass(frozen=True)
class ListSpec:
    """Which list to rank: the member's watchlist, a Letterboxd list, or titles given in the request."""

    kind: str  # "watchlist", "url" or "titles"
    owner: str | None = None
    slug: str | None = None
    titles: tuple[ProfileFilm, ...] = ()
    name: str = ""

    @property
    def label(self) -> str:
        if self.kind == WATCHLIST:
            return "your watchlist"
        if self.kind == "url":
            return f"{self.owner}'s list {self.slug}"
        return self.name or "your list"


def check_from_list(value: Any) -> ListSpec | None:
    """Read a from_list field into a ListSpec, or raise BadRequest saying what a list can be."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRequest('from_list must be "watchlist", a Letterboxd list URL, a list export CSV, '
                         "or titles one per line.", "invalid_from_list")
    if len(value) > MAX_LIST_CHARS:
        raise BadRequest(f"from_list is longer than {MAX_LIST_CHARS:,} characters.", "invalid_from_list")
    text = value.strip()
    if text.lower() == WATCHLIST:
        return ListSpec(WATCHLIST)
    if "\n" not in text and ("letterboxd.com/" in text.lower() or text.lower().startswith("http")):
        match = LIST_URL.fullmatch(text)
        if match is None:
            raise BadRequest("That is not a Letterboxd list URL; it looks like "
                             "https://letterboxd.com/NAME/list/LIST-NAME/.", "invalid_from_list")
        return ListSpec("url", owner=match["owner"], slug=match["slug"])
    films, name = parse_list_text(text)
    if not films:
        raise BadRequest("from_list holds no titles.", "invalid_from_list")
    if len(films) > MAX_LIST_FILMS:
        raise BadRequest(f"A list may hold up to {MAX_LIST_FILMS} films; this one has {len(films)}.",
                         "invalid_from_list")
    return ListSpec("titles", titles=tuple(films), name=name)


def parse_list_text(text: str) -> tuple[list[ProfileFilm], str]:
    """Return (the titles, the list's name) of a list export CSV or of pasted titles."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff").split("\n")
    for i, line in enumerate(lines):
        header = tuple(cell.strip().lower() for cell in next(csv.reader([line]), []))
        if any(header[:len(h)] == h for h in CSV_HEADERS):
            return _csv_rows("\n".join(lines[i:])), _csv_list_name(lines[:i])
    return [film for film in (parse_title_line(line) for line in lines) if film is not None], ""


def _csv_list_name(preamble: Sequence[str]) -> str:
    """The list's name from a list export's preamble (a Date,Name,Tags,URL,Description row)."""
    rows = list(csv.reader(preamble))
    for header, row in zip(rows, rows[1:]):
        lowered = [cell.strip().lower() for cell in header]
        if "name" in lowered and len(row) > lowered.index("name"):
            return row[lowered.index("name")].strip()[:MAX_TITLE_CHARS]
    return ""


def _csv_rows(text: str) -> list[ProfileFilm]:
    out = []
    for row in csv.DictReader(io.StringIO(text)):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if isinstance(v, str)}
        title = row.get("name", "")[:MAX_TITLE_CHARS]
        if not title:
            continue
        year = row.get("year", "")
        out.append(ProfileFilm(title=title, year=int(year) if year.isdigit() else None, watched=False))
    return out


def parse_title_line(line: str) -> ProfileFilm | None:
    """One pasted line as a title with its year when it has one; None for a blank line."""
    text = re.sub(r"^\s*(?:\d{1,4}[.)]\s+|[-*\u2022]\s+)", "", line).strip()[:MAX_TITLE_CHARS]
    if not text:
        return None
    match = TITLE_YEAR.match(text)
    if match:
        year = match["y1"] or match["y2"] or match["y3"]
        return ProfileFilm(title=match["title"].strip(), year=int(year), watched=False)
    return ProfileFilm(title=text, year=None, watched=False)


def watchlist_titles(films: Sequence[ProfileFilm]) -> list[ProfileFilm]:
    """The member's watchlist entries, as list titles."""
    return [ProfileFilm(title=f.title, year=f.year, slug=f.slug, tmdb_id=f.tmdb_id, imdb_id=f.imdb_id,
                        watched=False) for f in films if f.watchlist]


def unmatched_titles(matched: Sequence[MatchedFilm]) -> list[dict]:
    """Every list title that matched no catalog film, once each, with the reason."""
    seen: set[tuple[str, int | None]] = set()
    out = []
    for item in matched:
        key = (item.entry.title.lower(), item.entry.year)
        if item.film is None and key not in seen:
            seen.add(key)
            out.append({"name": item.entry.title, "year": item.entry.year, "reason": item.reason})
    return out


def no_match_error(spec: ListSpec, unmatched: Sequence[dict]) -> BadRequest:
    """The 400 for a list none of whose titles matched, naming the titles that failed."""
    shown = [f"{u['name']} ({u['year']})" if u["year"] else u["name"] for u in unmatched[:MAX_UNMATCHED_SHOWN]]
    more = len(unmatched) - len(shown)
    names = "; ".join(shown) + (f"; and {more} more" if more > 0 else "")
    message = f"Nothing in {spec.label} matched a film we know" + (f": {names}." if names else " (it is empty).")
    return BadRequest(message, LIST_UNMATCHED, {"unmatched": list(unmatched[:MAX_UNMATCHED_SHOWN])})


@dataclass(frozen=True)
class RankedList:
    """A list in the member's order: the picks that pass the filters, and what was left out."""

    picks: tuple[ScoredFilm, ...]
    positions: dict  # film id -> 1-based position in the list as given
    filtered_out: int
    not_out_yet: int = 0  # of the picks, films not out yet (the last ones)


def rank_list(served, member, catalog, matched: Sequence[MatchedFilm], filters: Filters, today: date) -> RankedList:
    """Order the list's matched films by the model's score for the member, each explained; films not out yet
    on `today` come after every released film.

    `served` is a HybridModel bound to `catalog`; every matched film is ranked once, seen or not,
    unless the filters refuse it.
    """
    positions: dict[int, int] = {}
    for number, item in enumerate(matched, 1):
        if item.film is not None and catalog.index_of(item.film.film_id) is not None:
            positions.setdefault(item.film.film_id, number)
    ids = list(positions)
    allowed = filters.mask(catalog, member.watchlist_ids)
    index = catalog.indices_of(ids)
    keep = [fid for fid, i in zip(ids, index) if allowed[i]]
    scores = served.score(member)
    values = np.array([scores[catalog.index_of(fid)] for fid in keep], dtype=np.float64)
    order = np.argsort(-values, kind="stable")
    later = np.array([not_out_yet(catalog.by_id(keep[j]), today) for j in order.tolist()], dtype=bool)
    order = np.concatenate([order[~later], order[later]]) if later.size else order
    chances = served.match(values[order]) if values.size else None
    picks = []
    for k, j in enumerate(order.tolist()):
        fid = keep[j]
        explanation = served.explain(member, fid)
        picks.append(ScoredFilm(film=catalog.by_id(fid), score=float(values[j]), reasons=explanation.reasons,
                                contributions=explanation.contributions,
                                match=None if chances is None else int(chances[k])))
    return RankedList(tuple(picks), positions, len(ids) - len(keep), int(later.sum()))
