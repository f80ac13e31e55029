"""Build the embedded dataset in data/ from the film sources beside the repository.

Sources (read-only, ../shared/data; each folder's SOURCE.md gives licence, fields and quirks):
  movietweetings-2016/movies.dat.gz        imdb_digits::Title (Year)::Genre|Genre       required
  movietweetings-2016/ratings.dat.gz       user::imdb_digits::rating 0-10::unix time    required
  wikidata-film-ids/film_ids.csv           wikidata_qid,imdb_id,tmdb_id,label            required
  wikipedia-movies/movies.jsonl.gz         American films of English Wikipedia          optional
  movietweetings-dbpedia/mappings.csv.gz   English Wikipedia articles of MovieTweetings films   optional
  indian-films/films.csv.gz                Indian films with IMDb ids                   optional
  cmu-movie-metadata/movie.metadata.tsv.gz films of English Wikipedia and Freebase      optional

Every MovieTweetings film is a catalog film, numbered densely from 1 in IMDb id order (the
ratings refer to them). The other sources join in that order: a film merges into one already
there with the same IMDb id, or else with the same normalised title (any of either's names)
and a year within one; never into a film with another IMDb id, never into one that already
took a film of the same source. What merges nowhere is a new film, numbered from
OTHER_ID_BASE + 1 in (year, title) order. Every other name a film has is kept.

Outputs (gzip with mtime 0 and sorted rows, so a rebuild gives the same bytes):
  catalog.csv.gz  infra.datasets.CATALOG_COLUMNS
  ratings.csv.gz  user,film_id,rating,time
  and the licence of every source used.
"""
from __future__ import annotations

import csv
import gzip
import html
import io
import json
import os
import re
import tempfile
import time
import urllib.parse
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from infra.datasets import (
    CATALOG_COLUMNS,
    CATALOG_FILE,
    LIST_SEPARATOR,
    RATINGS_COLUMNS,
    RATINGS_FILE,
    DataFileError,
)
from infra.iso_codes import COUNTRY_LANGUAGES, country_code, language_code
from services.catalog import split_genres
from services.matching import YEAR_TOLERANCE, normalise_title, title_keys

MOVIETWEETINGS_DIR = Path("movietweetings-2016")
WIKIDATA_FILE = Path("wikidata-film-ids") / "film_ids.csv"
WIKIPEDIA_FILE = Path("wikipedia-movies") / "movies.jsonl.gz"
DBPEDIA_FILE = Path("movietweetings-dbpedia") / "mappings.csv.gz"
INDIAN_FILE = Path("indian-films") / "films.csv.gz"
CMU_FILE = Path("cmu-movie-metadata") / "movie.metadata.tsv.gz"
# Films only the other sources know are numbered from here, far above the MovieTweetings
# ids (1..number of MovieTweetings films), so neither can take the other's ids.
OTHER_ID_BASE = 1_000_000
TOP_CAST = 5
MAX_DIRECTORS = 3
MAX_RUNTIME = 1000  # minutes; a longer runtime in a source is a typing slip
FIRST_FILM_YEAR = 1870  # an earlier year in a source is a typing slip ("1010")
GZIP_LEVEL = 9
RATING_MEAN_DECIMALS = 3
INDIA = "IN"
# How sure a DBpedia mapping is: "any" mappings (the least sure) give other names that merge
# films only in the same year, and never the title shown.
DBPEDIA_SURE_METHODS = frozenset(("perfect", "partial", "pattern"))

# Licence files copied into data/, by the source folder they come from.
LICENSE_FILES = {
    "movietweetings-2016": "MOVIETWEETINGS-LICENSE",
    "wikipedia-movies": "WIKIPEDIA-MOVIE-DATA-LICENSE",
    "movietweetings-dbpedia": "MOVIETWEETINGS-DBPEDIA-LICENSE",
    "indian-films": "INDIAN-FILMS-LICENSE",
}

_TITLE_YEAR = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})\)\s*$")
_IMDB_DIGITS = re.compile(r"^\d{1,15}$")
_QID = re.compile(r"^Q\d+$")
_ARTICLE = re.compile(r"\s*(the|a|an)\s+\S", re.IGNORECASE)
_TRAILING_ARTICLE = re.compile(r",\s*(the|a|an)\s*$", re.IGNORECASE)
_ARTICLE_QUALIFIER = re.compile(r"\s*\([^()]*\b(?:film|movie|serial)\b[^()]*\)$", re.IGNORECASE)

# How firmly a name identifies its film when merging: its own title and English titles, its
# other names, names that only merge in the same year.
_MAIN, _OTHER, _SAME_YEAR_ONLY = 0, 1, 2


@dataclass
class _Film:
    """One film as one source tells it; merging folds other sources' films of the same film into it."""

    title: str  # as its first source writes it
    year: int | None
    source: str
    order: tuple = ()  # its first source's own order, for numbering films only other sources know
    imdb_id: str | None = None
    tmdb_id: int | None = None
    wikidata_id: str | None = None
    wikipedia: str | None = None  # English Wikipedia article name
    english: list[str] = field(default_factory=list)  # English titles, the most trusted first
    names: dict[str, int] = field(default_factory=dict)  # every name -> how firmly it identifies the film
    genres: tuple[str, ...] = ()
    keywords: list[str] = field(default_factory=list)
    directors: tuple[str, ...] = ()
    cast: tuple[str, ...] = ()
    countries: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)  # the primary language first
    runtime: int | None = None
    rating_count: int = 0
    rating_total: int = 0
    sources: set[str] = field(default_factory=set)
    film_id: int = 0

    def __post_init__(self) -> None:
        self.sources.add(self.source)
        self.names.setdefault(self.title, _MAIN)

    def name(self, title: str | None, firmness: int) -> None:
        """Add a name (an existing one keeps the firmer of its two firmnesses)."""
        if title and title.strip():
            title = title.strip()
            self.names[title] = min(firmness, self.names.get(title, firmness))


def build_embedded_data(source_dir: Path, out_dir: Path) -> dict:
    """Build catalog.csv.gz, ratings.csv.gz and the licences in out_dir; return a report of what was built."""
    started = time.perf_counter()
    source_dir, out_dir = Path(source_dir), Path(out_dir)
    mt_dir = source_dir / MOVIETWEETINGS_DIR
    for name in ("movies.dat.gz", "ratings.dat.gz", "LICENSE"):
        if not (mt_dir / name).is_file():
            raise DataFileError(f"{mt_dir / name}: missing")
    movies, same_ids = _read_movies(mt_dir / "movies.dat.gz")
    wikidata = _read_wikidata(source_dir / WIKIDATA_FILE)
    catalog = _Merger()
    for imdb_id, (title, year, genres) in sorted(movies.items(), key=lambda item: _imdb_number(item[0])):
        tmdb_id, label, qid = wikidata.get(imdb_id, (None, None, None))
        labels, keywords = split_genres(genres)
        film = _Film(title=title, year=year, source="movietweetings", imdb_id=imdb_id, tmdb_id=tmdb_id,
                     wikidata_id=qid, genres=labels, keywords=list(keywords))
        if label:
            film.english.append(label)
            film.name(label, _MAIN)
        catalog.add(film)
    movietweetings_films = len(catalog.films)
    film_of = {film.imdb_id: film for film in catalog.films}
    ratings, duplicates = _ratings(mt_dir / "ratings.dat.gz", film_of)

    report: dict = {"sources": {"movietweetings": {
        "films": len(movies) + sum(len(ways) - 1 for ways in same_ids), "catalog_films": movietweetings_films,
        "ids_written_two_ways": same_ids,
        "ratings": len(ratings), "duplicate_ratings_dropped": duplicates,
    }}}
    used = [MOVIETWEETINGS_DIR.name]
    optional: tuple[tuple[str, Path, Callable[[Path], dict]], ...] = (  # in the order they join
        ("wikipedia", WIKIPEDIA_FILE, lambda path: catalog.merge("wikipedia", _read_wikipedia(path))),
        ("dbpedia", DBPEDIA_FILE, lambda path: _add_dbpedia_names(catalog, _read_dbpedia(path))),
        ("indian", INDIAN_FILE, lambda path: catalog.merge("indian", _read_indian(path))),
        ("cmu", CMU_FILE, lambda path: catalog.merge("cmu", _read_cmu(path))),
    )
    for name, relative, join in optional:
        if (source_dir / relative).is_file():
            report["sources"][name] = join(source_dir / relative)
            used.append(relative.parts[0])

    report["sources"]["wikidata"] = _add_wikidata(catalog, wikidata)
    for number, film in enumerate(catalog.films[:movietweetings_films], start=1):
        film.film_id = number
    rows = [_catalog_row(film) for film in catalog.films]
    others = sorted(rows[movietweetings_films:], key=_new_film_order)
    for number, row in enumerate(others, start=OTHER_ID_BASE + 1):
        row["film_id"] = number
    rows = rows[:movietweetings_films] + others
    _drop_names_of_other_films(rows)
    _keep_each_article_once(rows)

    rating_rows = sorted((user, film_of[imdb_id].film_id, rating, when)
                         for (user, imdb_id), (rating, when) in ratings.items())
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_csv_gz(out_dir / CATALOG_FILE, CATALOG_COLUMNS, [_csv_cells(row) for row in rows])
    _write_csv_gz(out_dir / RATINGS_FILE, RATINGS_COLUMNS, rating_rows)
    written_files = [CATALOG_FILE, RATINGS_FILE]
    for folder in used:
        licence = source_dir / folder / "LICENSE"
        if folder in LICENSE_FILES:
            if not licence.is_file():
                raise DataFileError(f"{licence}: missing")
            _copy_atomic(licence, out_dir / LICENSE_FILES[folder])
            written_files.append(LICENSE_FILES[folder])
    report.update({
        "films": len(rows),
        "films_with_tmdb_id": sum(row["tmdb_id"] is not None for row in rows),
        "films_with_directors": sum(bool(row["directors"]) for row in rows),
        "films_with_countries": sum(bool(row["countries"]) for row in rows),
        "films_with_languages": sum(bool(row["languages"]) for row in rows),
        "films_with_runtime": sum(row["runtime"] is not None for row in rows),
        "films_with_alt_titles": sum(bool(row["alt_titles"]) for row in rows),
        "ratings": len(rating_rows),
        "users": len({row[0] for row in rating_rows}),
        "files": {name: (out_dir / name).stat().st_size for name in written_files},
        "seconds": round(time.perf_counter() - started, 1),
    })
    return report


class _Merger:
    """The catalog being built: films, and where each IMDb id and title key is."""

    def __init__(self) -> None:
        self.films: list[_Film] = []
        self._by_imdb: dict[str, int] = {}
        self._by_key: dict[str, list[tuple[int, int]]] = {}

    def position_of(self, imdb_id: str | None) -> int | None:
        """Where the film with this IMDb id is, or None."""
        return self._by_imdb.get(imdb_id) if imdb_id else None

    def add(self, film: _Film) -> None:
        self.films.append(film)
        self._index(len(self.films) - 1, film.names.items())

    def _index(self, position: int, names: Iterable[tuple[str, int]]) -> None:
        film = self.films[position]
        if film.imdb_id:
            self._by_imdb.setdefault(film.imdb_id, position)
        for name, firmness in names:
            for key in title_keys(name):
                self._by_key.setdefault(key, []).append((position, firmness))

    def absorb(self, position: int, other: _Film) -> None:
        """Fold another source's record of the same film into the film at position."""
        film = self.films[position]
        new_names = [(name, firmness) for name, firmness in other.names.items()
                     if firmness < film.names.get(name, _SAME_YEAR_ONLY + 1)]
        _absorb(film, other)
        self._index(position, new_names)

    def merge(self, source: str, films: list[_Film]) -> dict:
        """Merge one source's films: by IMDb id, then by title and year; return what happened to them."""
        counts = {"read": len(films), "merged_by_imdb_id": 0, "merged_by_article": 0, "merged_by_title": 0, "new": 0,
                  "left_out_undated": 0}
        first_with: dict[str, _Film] = {}  # IMDb id or Wikipedia article -> this source's first film with it
        pending: list[_Film] = []
        for film in films:
            at = self._by_imdb.get(film.imdb_id) if film.imdb_id else None
            if at is not None:
                self.absorb(at, film)
                counts["merged_by_imdb_id"] += 1
                continue
            # One IMDb id, or one article, is one film however many rows a source gives it (a film
            # listed in two years' lists), unless the rows carry two IMDb ids or years far apart (a
            # list may link a namesake's article).
            first = first_with.get(film.imdb_id or "") or first_with.get(film.wikipedia or "")
            if first is not None and not (first.imdb_id and film.imdb_id and first.imdb_id != film.imdb_id) and (
                    film.imdb_id or not _years_apart(first, film)):
                _absorb(first, film)
                counts["merged_by_imdb_id" if film.imdb_id else "merged_by_article"] += 1
                continue
            for key in (film.imdb_id, film.wikipedia):
                if key:
                    first_with.setdefault(key, film)
            pending.append(film)
        pairs = []
        for i, film in enumerate(pending):
            if film.year is None:
                continue
            for name, own_firmness in film.names.items():
                for key in title_keys(name):
                    for position, firmness in self._by_key.get(key, ()):
                        there = self.films[position]
                        if source in there.sources or there.year is None:
                            continue
                        if film.imdb_id and there.imdb_id and film.imdb_id != there.imdb_id:
                            continue  # two IMDb ids are two films, whatever their titles
                        gap = abs(there.year - film.year)
                        if gap > (0 if _SAME_YEAR_ONLY in (firmness, own_firmness) else YEAR_TOLERANCE):
                            continue
                        if gap and not _same_articles(there, film):
                            continue  # "Take" (2007) and "The Take" (2008) are two films
                        pairs.append((gap, firmness + own_firmness, -there.rating_count, position, i))
        pairs.sort()
        taken_films: set[int] = set()
        merged: set[int] = set()
        for _, _, _, position, i in pairs:
            if position in taken_films or i in merged:
                continue
            taken_films.add(position)
            merged.add(i)
            self.absorb(position, pending[i])
            counts["merged_by_title"] += 1
        for i, film in enumerate(pending):
            if i in merged:
                continue
            if film.year is None:
                counts["left_out_undated"] += 1  # a title without a year would match any film of that name
                continue
            self.add(film)
            counts["new"] += 1
        return counts


def _years_apart(film: _Film, other: _Film) -> bool:
    """Whether two films' years differ by more than a premiere year can (unknown years never do)."""
    return film.year is not None and other.year is not None and abs(film.year - other.year) > YEAR_TOLERANCE


def _same_articles(film: _Film, other: _Film) -> bool:
    """Whether two films have a name in common, leading English article and all."""
    return bool(_article_keys(film.names) & _article_keys(other.names))


def _article_keys(names: Iterable[str]) -> set[tuple[str, str]]:
    """Each name's key with the leading article it was written with ("The Take" and "Take, The": the, take)."""
    keys = set()
    for name in names:
        found = _ARTICLE.match(name) or _TRAILING_ARTICLE.search(name)
        for key in title_keys(name):
            keys.add((found[1].casefold() if found else "", key))
    return keys


def _absorb(film: _Film, other: _Film) -> None:
    """Fold another source's record into film: film keeps what it knows, the other fills the gaps."""
    film.sources |= other.sources
    film.imdb_id = film.imdb_id or other.imdb_id
    film.tmdb_id = film.tmdb_id if film.tmdb_id is not None else other.tmdb_id
    film.wikidata_id = film.wikidata_id or other.wikidata_id
    film.wikipedia = film.wikipedia or other.wikipedia
    film.english.extend(name for name in other.english if name not in film.english)
    for name, firmness in other.names.items():
        film.name(name, firmness)
    film.genres = film.genres or other.genres
    film.keywords.extend(k for k in other.keywords if k not in film.keywords)
    film.directors = film.directors or other.directors
    film.cast = film.cast or other.cast
    film.countries.extend(c for c in other.countries if c not in film.countries)
    film.languages.extend(code for code in other.languages if code not in film.languages)
    film.runtime = film.runtime or other.runtime


def _catalog_row(film: _Film) -> dict:
    """A merged film as a catalog row: the English title shown, the source title kept, every other name kept."""
    # MovieTweetings often carries the original-language title ("Kumonosu-jô"); Letterboxd
    # shows the English one ("Throne of Blood"). Keep both, and every other name, for matching.
    shown = film.english[0] if film.english else film.title
    original = film.title if film.title.casefold() != shown.casefold() else None
    known = {normalise_title(shown)} | ({normalise_title(original)} if original else set())
    alt = []
    for name in [*film.english, *film.names]:
        key = normalise_title(name)
        if key not in known:
            known.add(key)
            alt.append(name)
    return {
        "film_id": film.film_id, "imdb_id": film.imdb_id, "tmdb_id": film.tmdb_id,
        "wikidata_id": film.wikidata_id, "wikipedia": film.wikipedia, "title": shown,
        "original_title": original, "alt_titles": alt, "year": film.year, "genres": film.genres,
        "directors": film.directors, "cast": film.cast, "rating_count": film.rating_count,
        "rating_mean": round(film.rating_total / film.rating_count, RATING_MEAN_DECIMALS) if film.rating_count
        else None, "keywords": film.keywords, "countries": film.countries, "languages": film.languages,
        "runtime": film.runtime,
    }


def _new_film_order(row: dict) -> tuple:
    return (row["year"] or 0, normalise_title(row["title"]), row["title"], row["wikipedia"] or "",
            row["imdb_id"] or "")


def _drop_names_of_other_films(rows: list[dict]) -> None:
    """Drop an other name of a film that is another film's own title within a year (one source's slip)."""
    own: dict[str, list[tuple[int, int | None]]] = {}
    for row in rows:
        for name in (row["title"], row["original_title"]):
            for key in title_keys(name):
                own.setdefault(key, []).append((row["film_id"], row["year"]))
    for row in rows:
        if not row["alt_titles"]:
            continue
        kept = []
        for name in row["alt_titles"]:
            clash = any(film_id != row["film_id"] and (year is None or row["year"] is None
                                                       or abs(year - row["year"]) <= YEAR_TOLERANCE)
                        for key in title_keys(name) for film_id, year in own.get(key, ()))
            if not clash:
                kept.append(name)
        row["alt_titles"] = kept


def _keep_each_article_once(rows: list[dict]) -> None:
    """A Wikipedia article names one film: the first one (lowest id) keeps it when two were given it."""
    seen: set[str] = set()
    for row in rows:
        if row["wikipedia"] in seen:
            row["wikipedia"] = None
        elif row["wikipedia"]:
            seen.add(row["wikipedia"])


def _csv_cells(row: dict) -> tuple:
    """A catalog row as CSV cells in CATALOG_COLUMNS order (lists |-joined, unknowns empty)."""
    cells = []
    for name in CATALOG_COLUMNS:
        value = row[name]
        if isinstance(value, (list, tuple)):
            value = LIST_SEPARATOR.join(value)
        elif name == "rating_mean" and value is not None:
            value = f"{value:g}"
        cells.append("" if value is None else value)
    return tuple(cells)


def _imdb_number(imdb_id: str) -> int:
    return int(imdb_id[2:])


# -- MovieTweetings ------------------------------------------------------------------

def _read_movies(path: Path) -> tuple[dict[str, tuple[str, int | None, tuple[str, ...]]], list[list[str]]]:
    """Read movies.dat.gz into IMDb id -> (title, year, genres), and the ids written two ways.

    MovieTweetings writes most ids as 7 digits, a few otherwise ("0443", "01979376"); the IMDb id
    is "tt" and the number zero-padded to 7 digits. Two ways of writing one number are one film,
    whose title and genres come from the way IMDb writes it (or the one with more genres).
    """
    read: dict[str, dict[str, tuple[str, int | None, tuple[str, ...]]]] = {}  # IMDb id -> id as written -> film
    for number, line in _source_lines(path):
        parts = line.split("::")
        if len(parts) != 3 or not _IMDB_DIGITS.match(parts[0]):
            raise DataFileError(f"{path}: line {number} is not 'id::Title (Year)::Genres'")
        written, title_year, genre_text = parts
        match = _TITLE_YEAR.match(title_year)
        title, year = (match["title"], int(match["year"])) if match else (title_year.strip(), None)
        read.setdefault(_imdb_id(written), {})[written] = (
            html.unescape(title), year, tuple(g for g in genre_text.split("|") if g))
    movies = {imdb_id: ways[min(ways, key=lambda w: (w != imdb_id[2:], -len(ways[w][2]), w))]
              for imdb_id, ways in read.items()}
    return movies, [sorted(ways) for _, ways in sorted(read.items()) if len(ways) > 1]


def _imdb_id(written: str) -> str:
    """The IMDb id of a number as MovieTweetings writes it ("0068646", "25" -> "tt0068646", "tt0000025")."""
    return f"tt{int(written):07d}"


def _ratings(path: Path, film_of: dict[str, _Film]) -> tuple[dict[tuple[int, str], tuple[int, int]], int]:
    """Read ratings.dat.gz into (user, IMDb id) -> (rating, time), adding each to its film's figures.

    A member's second rating of one film (its number written another way) replaces the first
    when it is later; returns the ratings and how many were replaced.
    """
    ratings: dict[tuple[int, str], tuple[int, int]] = {}
    replaced = 0
    for number, line in _source_lines(path):
        parts = line.split("::")
        try:
            user, written, rating, when = int(parts[0]), parts[1], int(parts[2]), int(parts[3])
        except (IndexError, ValueError):
            raise DataFileError(f"{path}: line {number} is not 'user::id::rating::time'") from None
        if not 0 <= rating <= 10:
            raise DataFileError(f"{path}: line {number} has rating {rating} outside 0-10")
        imdb_id = _imdb_id(written) if _IMDB_DIGITS.match(written) else written
        if imdb_id not in film_of:
            raise DataFileError(f"{path}: film {written} is not in movies.dat")
        before = ratings.get((user, imdb_id))
        if before is not None:
            replaced += 1
            if before[1] > when:
                continue
        ratings[(user, imdb_id)] = (rating, when)
    for (_, imdb_id), (rating, _) in ratings.items():
        film_of[imdb_id].rating_count += 1
        film_of[imdb_id].rating_total += rating
    return ratings, replaced


def _read_wikidata(path: Path) -> dict[str, tuple[int | None, str, str | None]]:
    """Read film_ids.csv into IMDb id -> (TMDB id, English label, Wikidata id)."""
    found: dict[str, tuple[int | None, str, str | None]] = {}
    for row in _csv_rows(path):
        imdb_id, tmdb = (row.get("imdb_id") or "").strip(), (row.get("tmdb_id") or "").strip()
        qid = (row.get("wikidata_qid") or "").strip() or None
        label = (row.get("label") or "").strip()
        if _QID.match(label):
            label = ""  # an item without an English label is labelled by its own id
        if imdb_id.startswith("tt") and tmdb.isdigit():
            found.setdefault(imdb_id, (int(tmdb), label, qid))
    return found


def _add_wikidata(catalog: _Merger, wikidata: dict[str, tuple[int | None, str, str | None]]) -> dict:
    """Give every film with an IMDb id that Wikidata knows its TMDB id, Wikidata id and English label."""
    counts = {"read": len(wikidata), "films": 0}
    for film in catalog.films:
        found = wikidata.get(film.imdb_id or "")
        if found is None:
            continue
        tmdb_id, label, qid = found
        film.tmdb_id = film.tmdb_id if film.tmdb_id is not None else tmdb_id
        film.wikidata_id = film.wikidata_id or qid
        if label and label not in film.english:
            film.english.append(label)
            film.name(label, _MAIN)
        counts["films"] += 1
    return counts


# -- Wikipedia's American films ------------------------------------------------------

def _read_wikipedia(path: Path) -> list[_Film]:
    """Read wikipedia-movie-data's JSON lines into films (facts only, never the article text)."""
    films = []
    for number, line in _source_lines(path):
        try:
            row = json.loads(line)
            title, year = str(row["title"]).strip(), int(row["year"])
        except (ValueError, KeyError, TypeError):
            raise DataFileError(f"{path}: line {number} is not a film object") from None
        if not title:
            continue
        href = (row.get("href") or "").strip() or None
        genres, keywords = split_genres(row.get("genres") or ())
        film = _Film(title=title, year=year, source="wikipedia",
                     order=(year, normalise_title(title), title, href or ""),
                     wikipedia=href, english=[title], genres=genres, keywords=list(keywords),
                     directors=directors_from_extract(row.get("extract") or ""),
                     cast=tuple(dict.fromkeys(c.strip() for c in row.get("cast") or () if c and c.strip()))[:TOP_CAST])
        film.name(article_title(href), _OTHER)
        films.append(film)
    return sorted(films, key=lambda f: f.order)


def article_title(article: str | None) -> str | None:
    """Return the film's name from its Wikipedia article name ("Heat_(1995_film)" -> "Heat")."""
    if not article:
        return None
    return _ARTICLE_QUALIFIER.sub("", article.replace("_", " ")).strip() or None


_NAME_PARTICLES = frozenset(("de", "da", "di", "del", "della", "van", "von", "der", "den", "le", "la", "du", "bin",
                             "al", "y", "st.", "mac"))
_NAME_SUFFIXES = frozenset(("jr.", "sr.", "jr", "sr", "ii", "iii"))
_INITIAL = re.compile(r"^(?:[A-Z]\.)+$")


def directors_from_extract(text: str) -> tuple[str, ...]:
    """Read the directors' names that follow "directed by" in an article's opening paragraph."""
    at = text.find("directed by ")
    if at < 0:
        return ()
    names: list[str] = []
    current: list[str] = []
    first_names: list[str] = []  # "Joel and Ethan Coen": Joel shares the surname that follows

    def close() -> None:
        if len(current) == 1 and not names:
            first_names.append(current[0])
        elif 2 <= len(current) <= 5:
            names.extend(f"{first} {current[-1]}" for first in first_names)
            first_names.clear()
            names.append(" ".join(current))
        current.clear()

    for token in text[at + len("directed by "):].split()[:40]:
        word = token.rstrip(",;:)")
        ends_clause = token.endswith((",", ";", ":", ")"))
        sentence_end = False
        if word.endswith(".") and not (_INITIAL.match(word) or word.lower() in _NAME_SUFFIXES
                                        or word.lower() in _NAME_PARTICLES):
            word, sentence_end = word[:-1], True
        if word.lower() in ("and", "&"):
            close()
            continue
        is_name = bool(word) and (word[0].isupper() or (current and word.lower() in _NAME_PARTICLES)
                                  or (current and word.lower() in _NAME_SUFFIXES))
        if not is_name or word.endswith(("'s", "\u2019s")):
            break
        current.append(word)
        if sentence_end or token.endswith((";", ":", ")")):
            break
        if ends_clause:
            close()
    close()
    return tuple(dict.fromkeys(names))[:MAX_DIRECTORS]


# -- MovieTweetings-DBpedia: English titles of MovieTweetings films ---------------------

def _read_dbpedia(path: Path) -> dict[str, tuple[str, str]]:
    """Read mappings.csv.gz into IMDb id -> (English Wikipedia article name, how sure the mapping is)."""
    found: dict[str, tuple[str, str]] = {}
    for row in _csv_rows(path, delimiter=";"):
        digits, uri = (row.get("id") or "").strip(), (row.get("uri") or "").strip()
        if not digits.isdigit() or "/resource/" not in uri:
            continue
        article = uri.rsplit("/resource/", 1)[1]
        for _ in range(2):  # some names were encoded twice ("It%2527s")
            article = urllib.parse.unquote(article)
        article = article.strip()
        if article:
            found[f"tt{int(digits):07d}"] = (article, (row.get("method") or "").strip())
    return found


def _add_dbpedia_names(catalog: _Merger, articles: dict[str, tuple[str, str]]) -> dict:
    """Give MovieTweetings films their English Wikipedia title as another name (and their article)."""
    counts = {"read": len(articles), "films_named": 0, "same_year_only": 0}
    for imdb_id, (article, method) in sorted(articles.items()):
        position = catalog.position_of(imdb_id)
        name = article_title(article)
        if position is None or name is None:
            continue
        film = catalog.films[position]
        sure = method in DBPEDIA_SURE_METHODS
        other = _Film(title=film.title, year=film.year, source="dbpedia", wikipedia=article.replace(" ", "_"),
                      english=[name] if sure else [])
        other.name(name, _MAIN if sure else _SAME_YEAR_ONLY)
        catalog.absorb(position, other)
        counts["films_named"] += 1
        counts["same_year_only"] += not sure
    return counts


# -- Indian films ------------------------------------------------------------------

def _read_indian(path: Path) -> list[_Film]:
    """Read films.csv.gz of Indian films (title as a Wikipedia article, IMDb id, year, language)."""
    films = []
    for number, row in enumerate(_csv_rows(path), start=1):
        article = (row.get("title") or "").strip()
        name = article_title(article)
        if not name:
            continue
        imdb_id = (row.get("imdb_id") or "").strip()
        if imdb_id and not re.fullmatch(r"tt\d{7,}", imdb_id):
            raise DataFileError(f"{path}: row {number} has IMDb id {imdb_id!r}")
        year_text = (row.get("year") or "").strip()
        year = int(year_text) if year_text.isdigit() and int(year_text) >= FIRST_FILM_YEAR else None
        language = language_code(row.get("language") or "")
        film = _Film(title=name, year=year, source="indian", order=(year or 0, normalise_title(name), name, imdb_id),
                     imdb_id=imdb_id or None, wikipedia=article.replace(" ", "_"), english=[name],
                     countries=[INDIA], languages=[language] if language else [])
        films.append(film)
    return sorted(films, key=lambda f: f.order)


# -- CMU Movie Summary Corpus metadata -------------------------------------------------

def _read_cmu(path: Path) -> list[_Film]:
    """Read movie.metadata.tsv.gz (Wikipedia id, Freebase id, title, date, revenue, runtime, languages,
    countries, genres; the last three JSON objects) into films."""
    films = []
    for number, line in _source_lines(path):
        cells = line.split("\t")
        try:
            page, _, title, date, _, runtime_text, languages, countries, genres = cells
            languages, countries, genres = (list(json.loads(cell).values()) for cell in (languages, countries, genres))
        except ValueError:
            raise DataFileError(f"{path}: line {number} is not 9 tab-separated fields") from None
        title = title.strip()
        if not title:
            continue
        year = int(date[:4]) if date[:4].isdigit() and int(date[:4]) >= FIRST_FILM_YEAR else None
        try:
            runtime = round(float(runtime_text)) if runtime_text else None
        except ValueError:
            runtime = None
        genre_labels, keywords = split_genres(genres)
        countries = list(dict.fromkeys(c for c in map(country_code, countries) if c))
        languages = list(dict.fromkeys(c for c in map(language_code, languages) if c))
        films.append(_Film(
            title=title, year=year, source="cmu", order=(year or 0, normalise_title(title), title, int(page or 0)),
            english=[title], genres=genre_labels, keywords=list(keywords),
            countries=countries, languages=_primary_first(languages, countries),
            runtime=runtime if runtime and 0 < runtime <= MAX_RUNTIME else None))
    return sorted(films, key=lambda f: f.order)


def _primary_first(languages: list[str], countries: list[str]) -> list[str]:
    """Languages with the film's own first: the one most of its countries make films in, else the source's first.

    Freebase lists a film's languages in no particular order and adds those of its releases
    abroad ("Titanic": Italian, English, French...; "Ran": English, Japanese).
    """
    spoken = [code for country in countries for code in COUNTRY_LANGUAGES.get(country, ())]
    if len(languages) < 2 or not spoken:
        return languages
    primary = max(languages, key=lambda code: (spoken.count(code), -languages.index(code)))
    return [primary] + [code for code in languages if code != primary]


# -- files ---------------------------------------------------------------------------

def _source_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield (line number, text) for the non-blank lines of a UTF-8 source file (gzip when named .gz)."""
    try:
        raw = path.read_bytes()
        text = (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8")
    except FileNotFoundError:
        raise DataFileError(f"{path}: missing") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise DataFileError(f"{path}: corrupt ({exc})") from None
    except UnicodeDecodeError as exc:
        raise DataFileError(f"{path}: not UTF-8 ({exc})") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield number, line


def _csv_rows(path: Path, delimiter: str = ",") -> list[dict]:
    """Read a UTF-8 CSV source (gzip when named .gz) into dicts by header."""
    try:
        raw = path.read_bytes()
        text = (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8-sig")
        return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))
    except FileNotFoundError:
        raise DataFileError(f"{path}: missing") from None
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, csv.Error) as exc:
        raise DataFileError(f"{path}: unreadable ({exc})") from None


def _write_csv_gz(path: Path, header: tuple[str, ...], rows: list[tuple]) -> None:
    """Write rows as a reproducible gzip CSV (no timestamp, no file name), atomically."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=GZIP_LEVEL) as gz:
        gz.write(text.getvalue().encode("utf-8"))
    _write_atomic(path, buffer.getvalue())


def _copy_atomic(source: Path, target: Path) -> None:
    """Copy a file so that readers never see a half-written target."""
    _write_atomic(target, source.read_bytes())


def _write_atomic(path: Path, data: bytes) -> None:
    """Write bytes to a temp file beside path, then rename it over path."""
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
