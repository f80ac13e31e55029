"""Rating and item files an operator brings: what `evaluate` and `import-ratings` read.

  ratings   user,item,rating (any numeric scale; `film_id` may stand for `item`), plain or .gz
  items     item,title,year,genres (+ directors, cast, alt_titles, imdb_id, tmdb_id, ...); the
            embedded catalog.csv.gz reads as one too

Ids are kept as the file writes them: "0068646" stays text, never the integer 68646, so ids
that differ only in leading zeros ("0443", "443") stay two items.
"""
from __future__ import annotations

import csv
import gzip
import io
import math
import zlib
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from infra.datasets import LIST_SEPARATOR, DataFileError
from services.domain import Film


def iter_ratings_csv(path: Path, start_row: int = 0,
                     on_malformed: Callable[[int, list[str]], None] | None = None,
                     ) -> Iterator[tuple[int, str, str, float]]:
    """Yield (row number, user, item, rating) from a user,item,rating CSV (plain or .gz).

    'film_id' may stand for 'item'; other columns are ignored; blank lines are skipped.
    Row numbers count data rows from 1; rows up to start_row are skipped unparsed.
    Ids are yielded as the file writes them (trimmed). A row without a user, an item
    or a finite numeric rating raises DataFileError, or, given on_malformed, is passed
    to it (row number, cells) and skipped.
    """
    path = Path(path)
    reader_rows = _plain_or_gz_rows(path)
    header = next(reader_rows, None)
    if header is None:
        raise DataFileError(f"{path}: empty")
    columns = {name.strip().lower(): index for index, name in enumerate(header)}
    item_column = "item" if "item" in columns else "film_id"
    for name in ("user", item_column, "rating"):
        if name not in columns:
            raise DataFileError(f"{path}: missing column {name!r}")
    u_at, i_at, r_at = columns["user"], columns[item_column], columns["rating"]
    for number, row in enumerate(reader_rows, start=1):
        if number <= start_row or not row or not any(cell.strip() for cell in row):
            continue
        try:
            user, item, rating = row[u_at].strip(), row[i_at].strip(), float(row[r_at])
        except (IndexError, ValueError):
            user, item, rating = "", "", math.nan
        if not user or not item or not math.isfinite(rating):
            if on_malformed is None:
                raise DataFileError(f"{path}: row {number} is malformed (needs user, item and a numeric rating)")
            on_malformed(number, row)
            continue
        yield number, user, item, rating


def load_ratings_csv(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read a user,item,rating CSV (plain or .gz; 'film_id' may stand for 'item') into arrays.

    Returns (users int64, items, ratings float32). Ids are read as the file writes them
    (see _id_array): user ids that are not all plain integers are numbered densely in
    sorted order; item ids are int64 when all are plain integers, else text.
    """
    users: list[str] = []
    items: list[str] = []
    ratings: list[float] = []
    for _, user, item, rating in iter_ratings_csv(path):
        users.append(user)
        items.append(item)
        ratings.append(rating)
    user_array = _id_array(users)
    if user_array.dtype != np.int64:
        _, inverse = np.unique(user_array, return_inverse=True)
        user_array = inverse.astype(np.int64)
    return user_array, _id_array(items), np.asarray(ratings, dtype=np.float32)


def _id_array(values: list[str]) -> np.ndarray:
    """Return ids as int64 when the file writes every one as a plain integer, else as text."""
    ids = [_id_value(v) for v in values]
    if all(isinstance(i, int) for i in ids):
        try:
            return np.asarray(ids, dtype=np.int64)
        except OverflowError:
            pass
    return np.asarray(values, dtype=np.str_)


def _id_value(text: str) -> int | str:
    """Return an id as int when the file writes it as a plain integer ("443"), else the text ("0443", "+443").

    Ids are compared as the file writes them: "0443" and "443" are two items, and str() of
    the value gives back the text the file wrote.
    """
    try:
        number = int(text)
    except ValueError:
        return text
    return number if str(number) == text else text


def load_items_csv(path: Path) -> list[Film]:
    """Read an item,title,year,genres CSV (plain or .gz; catalog.csv.gz works too) into Films.

    Optional columns: directors, cast, alt_titles (all '|'-separated), imdb_id, tmdb_id,
    original_title, rating_count, rating_mean. An item id is an int when written as a plain
    integer, else the text as written (see _id_value), as load_ratings_csv reads the ratings' ids.
    """
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
        if not row or not any(cell.strip() for cell in row):
            continue

        def cell(name: str) -> str:
            index = columns.get(name)
            return row[index].strip() if index is not None and index < len(row) else ""

        def listed(name: str) -> tuple[str, ...]:
            return tuple(v for v in cell(name).split(LIST_SEPARATOR) if v)

        try:
            year = cell("year")
            films.append(Film(
                film_id=_id_value(cell(item_column)),  # type: ignore[arg-type]
                title=cell("title"),
                year=int(float(year)) if year else None,
                imdb_id=cell("imdb_id") or None,
                tmdb_id=int(cell("tmdb_id")) if cell("tmdb_id") else None,
                original_title=cell("original_title") or None,
                alt_titles=listed("alt_titles"),
                genres=listed("genres"),
                directors=listed("directors"),
                cast=listed("cast"),
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
