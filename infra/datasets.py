"""Read the embedded dataset in data/: a film catalog and a rating corpus (rating files an operator
brings are read by infra.rating_files).

Files (built by `infra.dataset_build.build_embedded_data`):
  catalog.csv.gz  film_id,imdb_id,tmdb_id,wikidata_id,wikipedia,title,original_title,alt_titles,year,
                  genres,directors,cast,rating_count,rating_mean,keywords,countries,languages,runtime
  ratings.csv.gz  user,film_id,rating,time
"""
from __future__ import annotations

import csv
import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

LIST_SEPARATOR = "|"
CATALOG_FILE = "catalog.csv.gz"
RATINGS_FILE = "ratings.csv.gz"

CATALOG_COLUMNS = (
    "film_id", "imdb_id", "tmdb_id", "wikidata_id", "wikipedia", "title", "original_title", "alt_titles",
    "year", "genres", "directors", "cast", "rating_count", "rating_mean", "keywords", "countries", "languages",
    "runtime",
)
# Columns a catalog must have; the others were added later and default to empty.
REQUIRED_CATALOG_COLUMNS = (
    "film_id", "imdb_id", "tmdb_id", "title", "original_title", "year", "genres", "rating_count", "rating_mean",
)
RATINGS_COLUMNS = ("user", "film_id", "rating", "time")


class DataFileError(ValueError):
    """A data file is missing, unreadable or malformed; the message names the file."""


class CatalogRow(NamedTuple):
    """One film of the embedded catalog as stored in catalog.csv.gz (a tuple: the store reads 120,000 at start)."""

    film_id: int
    imdb_id: str | None
    tmdb_id: int | None
    title: str
    original_title: str | None
    year: int | None
    genres: tuple[str, ...]
    rating_count: int
    rating_mean: float | None
    wikidata_id: str | None = None
    wikipedia: str | None = None  # English Wikipedia article name
    alt_titles: tuple[str, ...] = ()
    directors: tuple[str, ...] = ()
    cast: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()  # the sources' genre names the genre vocabulary does not hold
    countries: tuple[str, ...] = ()  # ISO 3166-1 codes
    languages: tuple[str, ...] = ()  # ISO 639-1 codes, the primary language first
    runtime: int | None = None  # minutes


@dataclass(frozen=True)
class RatingsArrays:
    """The embedded rating corpus as parallel numpy arrays."""

    users: np.ndarray  # int64, the source's user ids
    film_ids: np.ndarray  # int32
    ratings: np.ndarray  # float32, 0-10
    times: np.ndarray  # int64, unix seconds


def read_catalog(path: Path) -> list[CatalogRow]:
    """Read catalog.csv.gz; raise DataFileError naming the file when it is missing or malformed."""
    header, lines = _csv_gz_lines(Path(path), REQUIRED_CATALOG_COLUMNS)
    at = {name: header.index(name) for name in CATALOG_COLUMNS if name in header}
    rows = []

    def split(value: str) -> tuple[str, ...]:
        if not value:
            return ()
        items = value.split(LIST_SEPARATOR)
        return tuple(items) if all(items) else tuple(v for v in items if v)

    # Columns a catalog lacks read as the empty cell appended at the end of every row.
    positions = [at.get(name, -1) for name in CATALOG_COLUMNS]
    try:
        for cells in csv.reader(lines):
            cells.append("")
            (film_id, imdb_id, tmdb_id, wikidata_id, wikipedia, title, original, alt_titles, year, genres,
             directors, cast, count, mean, keywords, countries, languages, runtime) = (cells[i] for i in positions)
            rows.append(CatalogRow(
                film_id=int(film_id),
                imdb_id=imdb_id or None,
                tmdb_id=int(tmdb_id) if tmdb_id else None,
                title=title,
                original_title=original or None,
                year=int(year) if year else None,
                genres=split(genres),
                rating_count=int(count),
                rating_mean=float(mean) if mean else None,
                wikidata_id=wikidata_id or None,
                wikipedia=wikipedia or None,
                alt_titles=split(alt_titles),
                directors=split(directors),
                cast=split(cast),
                keywords=split(keywords),
                countries=split(countries),
                languages=split(languages),
                runtime=int(runtime) if runtime else None,
            ))
    except (IndexError, ValueError, TypeError):
        raise DataFileError(f"{path}: row {len(rows) + 1} is malformed") from None
    except csv.Error as exc:
        raise DataFileError(f"{path}: corrupt ({exc})") from None
    if not rows:
        raise DataFileError(f"{path}: holds no films")
    return rows


def read_ratings(path: Path) -> RatingsArrays:
    """Read ratings.csv.gz into arrays; raise DataFileError naming the file when malformed."""
    header, lines = _csv_gz_lines(Path(path), RATINGS_COLUMNS)
    columns = [header.index(name) for name in RATINGS_COLUMNS]
    try:
        table = np.loadtxt(lines, delimiter=",", dtype=np.float64, usecols=columns, ndmin=2)
    except ValueError as exc:
        raise DataFileError(f"{path}: malformed ({exc})") from None
    if table.size == 0:
        table = np.zeros((0, len(columns)))
    return RatingsArrays(
        users=table[:, 0].astype(np.int64),
        film_ids=table[:, 1].astype(np.int32),
        ratings=table[:, 2].astype(np.float32),
        times=table[:, 3].astype(np.int64),
    )


def _csv_gz_lines(path: Path, required: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Return (header, data lines) of a gzip CSV, checking the header has the required columns."""
    try:
        text = gzip.decompress(path.read_bytes()).decode("utf-8")
    except FileNotFoundError:
        raise DataFileError(f"{path}: missing") from None
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise DataFileError(f"{path}: corrupt ({exc})") from None
    lines = text.split("\n")
    header = next(csv.reader(lines[:1]), [])
    for name in required:
        if name not in header:
            raise DataFileError(f"{path}: missing column {name!r}")
    return header, [line for line in lines[1:] if line]
