"""Build and read the embedded dataset: a film catalog and a rating corpus in data/.

Sources (read-only, beside the repository):
  movietweetings-100k/movies.dat    imdb_digits::Title (Year)::Genre|Genre
  movietweetings-100k/ratings.dat   user::imdb_digits::rating 0-10::unix time
  wikidata-film-ids/film_ids.csv    wikidata_qid,imdb_id,tmdb_id,label

Outputs (gzip with mtime 0 and sorted rows, so a rebuild gives the same bytes):
  catalog.csv.gz  film_id,imdb_id,tmdb_id,title,original_title,year,genres,rating_count,rating_mean
  ratings.csv.gz  user,film_id,rating,time
  MOVIETWEETINGS-LICENSE
"""
from __future__ import annotations

import csv
import gzip
import io
import os
import re
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from services.domain import Film

MOVIETWEETINGS_DIR = "movietweetings-100k"
WIKIDATA_FILE = Path("wikidata-film-ids") / "film_ids.csv"
CATALOG_FILE = "catalog.csv.gz"
RATINGS_FILE = "ratings.csv.gz"
LICENSE_FILE = "MOVIETWEETINGS-LICENSE"
GZIP_LEVEL = 9
RATING_MEAN_DECIMALS = 3

CATALOG_COLUMNS = (
    "film_id", "imdb_id", "tmdb_id", "title", "original_title", "year", "genres",
    "rating_count", "rating_mean",
)
RATINGS_COLUMNS = ("user", "film_id", "rating", "time")

_TITLE_YEAR = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})\)\s*$")
_IMDB_DIGITS = re.compile(r"^\d{1,10}$")


class DataFileError(Exception):
    """A data file is missing, unreadable or malformed; the message names the file."""


@dataclass(frozen=True)
class CatalogRow:
    """One film of the embedded catalog as stored in catalog.csv.gz."""

    film_id: int
    imdb_id: str
    tmdb_id: int | None
    title: str
    original_title: str | None
    year: int | None
    genres: tuple[str, ...]
    rating_count: int
    rating_mean: float | None


@dataclass(frozen=True)
class RatingsArrays:
    """The embedded rating corpus as parallel numpy arrays."""

    users: np.ndarray  # int64, the source's user ids
    film_ids: np.ndarray  # int32
    ratings: np.ndarray  # float32, 0-10
    times: np.ndarray  # int64, unix seconds


def build_embedded_data(source_dir: Path, out_dir: Path) -> dict:
    """Build catalog.csv.gz, ratings.csv.gz and the licence in out_dir from the source data."""
    source_dir, out_dir = Path(source_dir), Path(out_dir)
    mt_dir = source_dir / MOVIETWEETINGS_DIR
    movies = _read_movies(mt_dir / "movies.dat")
    raw_ratings = _read_raw_ratings(mt_dir / "ratings.dat")
    wikidata = _read_wikidata(source_dir / WIKIDATA_FILE)
    licence = mt_dir / "LICENSE"
    if not licence.is_file():
        raise DataFileError(f"{licence}: missing")

    imdb_order = sorted(movies, key=int)
    film_of = {digits: index + 1 for index, digits in enumerate(imdb_order)}
    ratings = []
    for user, digits, rating, when in raw_ratings:
        if digits not in film_of:
            raise DataFileError(f"{mt_dir / 'ratings.dat'}: film {digits} is not in movies.dat")
        ratings.append((user, film_of[digits], rating, when))
    ratings.sort()

    sums: dict[int, int] = {}
    counts: dict[int, int] = {}
    for _, film_id, rating, _ in ratings:
        sums[film_id] = sums.get(film_id, 0) + rating
        counts[film_id] = counts.get(film_id, 0) + 1

    catalog_rows = []
    for digits in imdb_order:
        film_id = film_of[digits]
        title, year, genres = movies[digits]
        imdb_id = f"tt{digits}"
        tmdb_id, label = wikidata.get(imdb_id, (None, None))
        display, original = _display_titles(title, label)
        count = counts.get(film_id, 0)
        mean = round(sums[film_id] / count, RATING_MEAN_DECIMALS) if count else None
        catalog_rows.append((
            film_id, imdb_id, "" if tmdb_id is None else tmdb_id, display, original or "",
            "" if year is None else year, "|".join(genres), count, "" if mean is None else f"{mean:g}",
        ))

    out_dir.mkdir(parents=True, exist_ok=True)
    _write_csv_gz(out_dir / CATALOG_FILE, CATALOG_COLUMNS, catalog_rows)
    _write_csv_gz(out_dir / RATINGS_FILE, RATINGS_COLUMNS, ratings)
    _copy_atomic(licence, out_dir / LICENSE_FILE)
    return {
        "films": len(catalog_rows),
        "films_with_tmdb_id": sum(1 for row in catalog_rows if row[2] != ""),
        "ratings": len(ratings),
        "users": len({row[0] for row in ratings}),
        "files": {
            name: (out_dir / name).stat().st_size
            for name in (CATALOG_FILE, RATINGS_FILE, LICENSE_FILE)
        },
    }


def _display_titles(source_title: str, english_label: str | None) -> tuple[str, str | None]:
    """Return (title, original_title): the English label shown first, the source title kept."""
    # MovieTweetings often carries the original-language title ("Kumonosu-jô"),
    # Letterboxd shows the English one ("Throne of Blood"); keep both for matching.
    if english_label and english_label.strip() and english_label.casefold() != source_title.casefold():
        return english_label.strip(), source_title
    return source_title, None


def _read_movies(path: Path) -> dict[str, tuple[str, int | None, tuple[str, ...]]]:
    """Read movies.dat into imdb digits -> (title, year, genres)."""
    movies: dict[str, tuple[str, int | None, tuple[str, ...]]] = {}
    for number, line in _source_lines(path):
        parts = line.split("::")
        if len(parts) != 3 or not _IMDB_DIGITS.match(parts[0]):
            raise DataFileError(f"{path}: line {number} is not 'id::Title (Year)::Genres'")
        digits, title_year, genre_text = parts
        match = _TITLE_YEAR.match(title_year)
        title, year = (match["title"], int(match["year"])) if match else (title_year.strip(), None)
        genres = tuple(g for g in genre_text.split("|") if g)
        movies[digits] = (title, year, genres)
    return movies


def _read_raw_ratings(path: Path) -> list[tuple[int, str, int, int]]:
    """Read ratings.dat into (user, imdb digits, rating, time) tuples."""
    rows = []
    for number, line in _source_lines(path):
        parts = line.split("::")
        try:
            user, digits, rating, when = int(parts[0]), parts[1], int(parts[2]), int(parts[3])
        except (IndexError, ValueError):
            raise DataFileError(f"{path}: line {number} is not 'user::id::rating::time'") from None
        if not 0 <= rating <= 10:
            raise DataFileError(f"{path}: line {number} has rating {rating} outside 0-10")
        rows.append((user, digits, rating, when))
    return rows


def _read_wikidata(path: Path) -> dict[str, tuple[int, str]]:
    """Read film_ids.csv into imdb id -> (tmdb id, English label)."""
    found: dict[str, tuple[int, str]] = {}
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                imdb_id, tmdb = (row.get("imdb_id") or "").strip(), (row.get("tmdb_id") or "").strip()
                if imdb_id.startswith("tt") and tmdb.isdigit():
                    found.setdefault(imdb_id, (int(tmdb), (row.get("label") or "").strip()))
    except FileNotFoundError:
        raise DataFileError(f"{path}: missing") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataFileError(f"{path}: unreadable ({exc})") from None
    return found


def _source_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield (line number, text) for the non-blank lines of a UTF-8 source file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataFileError(f"{path}: missing") from None
    except UnicodeDecodeError as exc:
        raise DataFileError(f"{path}: not UTF-8 ({exc})") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield number, line


def _write_csv_gz(path: Path, header: tuple[str, ...], rows: list[tuple]) -> None:
    """Write rows as a reproducible gzip CSV (no timestamp, no file name), atomically."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    payload = text.getvalue().encode("utf-8")
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=GZIP_LEVEL) as gz:
        gz.write(payload)
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


def read_catalog(path: Path) -> list[CatalogRow]:
    """Read catalog.csv.gz; raise DataFileError naming the file when it is missing or malformed."""
    header, lines = _csv_gz_lines(Path(path), CATALOG_COLUMNS)
    at = [header.index(name) for name in CATALOG_COLUMNS]
    rows = []
    try:
        for number, cells in enumerate(csv.reader(lines), start=1):
            film_id, imdb_id, tmdb_id, title, original, year, genres, count, mean = (cells[i] for i in at)
            rows.append(CatalogRow(
                film_id=int(film_id),
                imdb_id=imdb_id,
                tmdb_id=int(tmdb_id) if tmdb_id else None,
                title=title,
                original_title=original or None,
                year=int(year) if year else None,
                genres=tuple(g for g in genres.split("|") if g),
                rating_count=int(count),
                rating_mean=float(mean) if mean else None,
            ))
    except (IndexError, ValueError):
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


def load_ratings_csv(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read a user,item,rating CSV (plain or .gz; 'film_id' may stand for 'item') into arrays.

    Returns (users int64, items int64, ratings float32). User ids that are not
    integers are numbered densely in sorted order.
    """
    reader_rows = _plain_or_gz_rows(Path(path))
    header = next(reader_rows, None)
    if header is None:
        raise DataFileError(f"{path}: empty")
    columns = {name.strip().lower(): index for index, name in enumerate(header)}
    item_column = "item" if "item" in columns else "film_id"
    for name in ("user", item_column, "rating"):
        if name not in columns:
            raise DataFileError(f"{path}: missing column {name!r}")
    u_at, i_at, r_at = columns["user"], columns[item_column], columns["rating"]
    users: list[str] = []
    items: list[int] = []
    ratings: list[float] = []
    for number, row in enumerate(reader_rows, start=1):
        if not row:
            continue
        try:
            users.append(row[u_at].strip())
            items.append(int(row[i_at]))
            ratings.append(float(row[r_at]))
        except (IndexError, ValueError):
            raise DataFileError(f"{path}: row {number} is malformed") from None
    try:
        user_array = np.asarray([int(u) for u in users], dtype=np.int64)
    except ValueError:
        _, inverse = np.unique(np.asarray(users, dtype=str), return_inverse=True)
        user_array = inverse.astype(np.int64)
    return user_array, np.asarray(items, dtype=np.int64), np.asarray(ratings, dtype=np.float32)


def load_items_csv(path: Path) -> list[Film]:
    """Read an item,title,year,genres CSV (plain or .gz; catalog.csv.gz works too) into Films."""
    reader_rows = _plain_or_gz_rows(Path(path))
    header = next(reader_rows, None)
    if header is None:
        raise DataFileError(f"{path}: empty")
    columns = {name.strip().lower(): index for index, name in enumerate(header)}
    item_column = "item" if "item" in columns else "film_id"
    for name in (item_column, "title"):
        if name not in columns:
            raise DataFileError(f"{path}: missing column {name!r}")
    films = []
    for number, row in enumerate(reader_rows, start=1):
        if not row:
            continue

        def cell(name: str) -> str:
            index = columns.get(name)
            return row[index].strip() if index is not None and index < len(row) else ""

        try:
            year = cell("year")
            films.append(Film(
                film_id=int(cell(item_column)),
                title=cell("title"),
                year=int(year) if year else None,
                imdb_id=cell("imdb_id") or None,
                tmdb_id=int(cell("tmdb_id")) if cell("tmdb_id") else None,
                original_title=cell("original_title") or None,
                genres=tuple(g for g in cell("genres").split("|") if g),
                corpus_count=int(cell("rating_count") or 0),
                corpus_mean=float(cell("rating_mean")) if cell("rating_mean") else None,
            ))
        except ValueError:
            raise DataFileError(f"{path}: row {number} is malformed") from None
    return films


def _plain_or_gz_rows(path: Path) -> Iterator[list[str]]:
    """Yield CSV rows of a UTF-8 file, gunzipping it when its name ends in .gz."""
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
        text = raw.decode("utf-8-sig")
    except FileNotFoundError:
        raise DataFileError(f"{path}: missing") from None
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise DataFileError(f"{path}: corrupt ({exc})") from None
    try:
        yield from csv.reader(io.StringIO(text, newline=""))
    except csv.Error as exc:
        raise DataFileError(f"{path}: corrupt ({exc})") from None
