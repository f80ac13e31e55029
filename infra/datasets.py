"""Build and read the embedded dataset: a film catalog and a rating corpus in data/.

Sources (read-only, beside the repository):
  movietweetings-100k/movies.dat    imdb_digits::Title (Year)::Genre|Genre
  movietweetings-100k/ratings.dat   user::imdb_digits::rating 0-10::unix time
  wikidata-film-ids/film_ids.csv    wikidata_qid,imdb_id,tmdb_id,label
  wikipedia-movies/movies.jsonl.gz  {title, year, cast, genres, href, extract} per line (optional)

Outputs (gzip with mtime 0 and sorted rows, so a rebuild gives the same bytes):
  catalog.csv.gz  film_id,imdb_id,tmdb_id,wikidata_id,wikipedia,title,original_title,alt_titles,year,
                  genres,directors,cast,rating_count,rating_mean
  ratings.csv.gz  user,film_id,rating,time
  MOVIETWEETINGS-LICENSE, WIKIPEDIA-MOVIE-DATA-LICENSE
"""
from __future__ import annotations

import csv
import gzip
import io
import json
import math
import os
import re
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from services.catalog import genre_labels
from services.domain import Film
from services.matching import YEAR_TOLERANCE, normalise_title, title_keys

MOVIETWEETINGS_DIR = "movietweetings-100k"
WIKIDATA_FILE = Path("wikidata-film-ids") / "film_ids.csv"
WIKIPEDIA_FILE = Path("wikipedia-movies") / "movies.jsonl.gz"
# Films that only Wikipedia knows are numbered from here, far above the MovieTweetings
# ids (1..number of MovieTweetings films), so neither can take the other's ids.
WIKIPEDIA_ID_BASE = 1_000_000
TOP_CAST = 5
MAX_DIRECTORS = 3
LIST_SEPARATOR = "|"
CATALOG_FILE = "catalog.csv.gz"
RATINGS_FILE = "ratings.csv.gz"
LICENSE_FILE = "MOVIETWEETINGS-LICENSE"
WIKIPEDIA_LICENSE_FILE = "WIKIPEDIA-MOVIE-DATA-LICENSE"
GZIP_LEVEL = 9
RATING_MEAN_DECIMALS = 3

CATALOG_COLUMNS = (
    "film_id", "imdb_id", "tmdb_id", "wikidata_id", "wikipedia", "title", "original_title", "alt_titles",
    "year", "genres", "directors", "cast", "rating_count", "rating_mean",
)
# Columns a catalog must have; the others were added later and default to empty.
REQUIRED_CATALOG_COLUMNS = (
    "film_id", "imdb_id", "tmdb_id", "title", "original_title", "year", "genres", "rating_count", "rating_mean",
)
RATINGS_COLUMNS = ("user", "film_id", "rating", "time")

_TITLE_YEAR = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})\)\s*$")
_IMDB_DIGITS = re.compile(r"^\d{1,10}$")


class DataFileError(ValueError):
    """A data file is missing, unreadable or malformed; the message names the file."""


@dataclass(frozen=True)
class CatalogRow:
    """One film of the embedded catalog as stored in catalog.csv.gz."""

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


@dataclass(frozen=True)
class RatingsArrays:
    """The embedded rating corpus as parallel numpy arrays."""

    users: np.ndarray  # int64, the source's user ids
    film_ids: np.ndarray  # int32
    ratings: np.ndarray  # float32, 0-10
    times: np.ndarray  # int64, unix seconds


def build_embedded_data(source_dir: Path, out_dir: Path) -> dict:
    """Build catalog.csv.gz, ratings.csv.gz and the licence in out_dir from the source data.

    MovieTweetings films keep their ids (1.., in IMDb order; the ratings refer to them).
    Wikipedia's films, when the source is there, are merged in: one film per normalised
    title and year (+-1), the richer record giving title, year and genres, the other
    filling what it lacks; films only Wikipedia knows get ids from WIKIPEDIA_ID_BASE.
    """
    source_dir, out_dir = Path(source_dir), Path(out_dir)
    mt_dir = source_dir / MOVIETWEETINGS_DIR
    movies = _read_movies(mt_dir / "movies.dat")
    raw_ratings = _read_raw_ratings(mt_dir / "ratings.dat")
    wikidata = _read_wikidata(source_dir / WIKIDATA_FILE)
    wikipedia_path = source_dir / WIKIPEDIA_FILE
    wikipedia = _read_wikipedia(wikipedia_path) if wikipedia_path.is_file() else []
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

    records: list[dict] = []
    for digits in imdb_order:
        film_id = film_of[digits]
        title, year, genres = movies[digits]
        imdb_id = f"tt{digits}"
        tmdb_id, label, qid = wikidata.get(imdb_id, (None, None, None))
        display, original = _display_titles(title, label)
        count = counts.get(film_id, 0)
        records.append({
            "film_id": film_id, "imdb_id": imdb_id, "tmdb_id": tmdb_id, "wikidata_id": qid, "wikipedia": None,
            "title": display, "original_title": original, "alt_titles": [], "year": year,
            "genres": genre_labels(genres), "directors": (), "cast": (), "rating_count": count,
            "rating_mean": round(sums[film_id] / count, RATING_MEAN_DECIMALS) if count else None,
        })
    merged = _merge_wikipedia(records, wikipedia)

    catalog_rows = [(
        r["film_id"], r["imdb_id"] or "", "" if r["tmdb_id"] is None else r["tmdb_id"], r["wikidata_id"] or "",
        r["wikipedia"] or "", r["title"], r["original_title"] or "", LIST_SEPARATOR.join(r["alt_titles"]),
        "" if r["year"] is None else r["year"], LIST_SEPARATOR.join(r["genres"]),
        LIST_SEPARATOR.join(r["directors"]), LIST_SEPARATOR.join(r["cast"]), r["rating_count"],
        "" if r["rating_mean"] is None else f"{r['rating_mean']:g}",
    ) for r in sorted(records, key=lambda r: r["film_id"])]

    out_dir.mkdir(parents=True, exist_ok=True)
    _write_csv_gz(out_dir / CATALOG_FILE, CATALOG_COLUMNS, catalog_rows)
    _write_csv_gz(out_dir / RATINGS_FILE, RATINGS_COLUMNS, ratings)
    _copy_atomic(licence, out_dir / LICENSE_FILE)
    written = [CATALOG_FILE, RATINGS_FILE, LICENSE_FILE]
    if wikipedia:
        wikipedia_licence = wikipedia_path.with_name("LICENSE")
        if not wikipedia_licence.is_file():
            raise DataFileError(f"{wikipedia_licence}: missing")
        _copy_atomic(wikipedia_licence, out_dir / WIKIPEDIA_LICENSE_FILE)
        written.append(WIKIPEDIA_LICENSE_FILE)
    return {
        "films": len(catalog_rows),
        "films_with_tmdb_id": sum(1 for row in catalog_rows if row[2] != ""),
        "films_with_directors": sum(1 for r in records if r["directors"]),
        "wikipedia_films": len(wikipedia),
        "wikipedia_merged_into_movietweetings": merged,
        "ratings": len(ratings),
        "users": len({row[0] for row in ratings}),
        "files": {name: (out_dir / name).stat().st_size for name in written},
    }


def _richness(record: dict) -> int:
    """Count the facts a record knows, to decide which of two records of one film leads."""
    return sum(bool(record.get(key)) for key in ("genres", "directors", "cast", "imdb_id", "tmdb_id", "rating_count"))


def _merge_wikipedia(records: list[dict], wikipedia: list[dict]) -> int:
    """Merge Wikipedia films into records (in place); return how many joined a MovieTweetings film."""
    by_key: dict[str, list[int]] = {}

    def index(position: int) -> None:
        record = records[position]
        for name in (record["title"], record["original_title"], *record["alt_titles"]):
            for key in title_keys(name):
                by_key.setdefault(key, []).append(position)

    for position in range(len(records)):
        index(position)
    movietweetings_count = len(records)
    merged = 0
    next_id = WIKIPEDIA_ID_BASE + 1
    for film in wikipedia:
        keys = set()
        for name in (film["title"], *film["alt_titles"]):
            keys |= title_keys(name)
        candidates = {p for key in keys for p in by_key.get(key, ())
                      if records[p]["year"] is not None and film["year"] is not None
                      and abs(records[p]["year"] - film["year"]) <= YEAR_TOLERANCE}
        if not candidates:
            record = dict(film, film_id=next_id, imdb_id=None, tmdb_id=None, wikidata_id=None,
                          original_title=None, rating_count=0, rating_mean=None)
            next_id += 1
            records.append(record)
            index(len(records) - 1)
            continue
        position = min(candidates, key=lambda p: (abs(records[p]["year"] - film["year"]), p))
        merged += position < movietweetings_count
        _absorb(records[position], film)
        index(position)
    return merged


def _absorb(record: dict, film: dict) -> None:
    """Fold a Wikipedia film into a record of the same film: the richer one leads, the other fills gaps."""
    leads = _richness(film) > _richness(record)
    names = [record["title"], film["title"], *record["alt_titles"], *film["alt_titles"]]
    if leads:
        record["title"], record["year"] = film["title"], film["year"]
        record["genres"] = film["genres"] or record["genres"]
    else:
        record["genres"] = record["genres"] or film["genres"]
    record["directors"] = record["directors"] or film["directors"]
    record["cast"] = record["cast"] or film["cast"]
    record["wikipedia"] = record["wikipedia"] or film["wikipedia"]
    known = {normalise_title(record["title"])}
    if record["original_title"]:
        known.add(normalise_title(record["original_title"]))
    alt: list[str] = []
    for name in names:
        key = normalise_title(name)
        if name and key not in known:
            known.add(key)
            alt.append(name)
    record["alt_titles"] = alt


def _read_wikipedia(path: Path) -> list[dict]:
    """Read wikipedia-movie-data's JSON lines into film records (facts only, never the text)."""
    films = []
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    title, year = str(row["title"]).strip(), int(row["year"])
                except (ValueError, KeyError, TypeError):
                    raise DataFileError(f"{path}: line {number} is not a film object") from None
                if not title:
                    continue
                href = (row.get("href") or "").strip() or None
                article = _article_title(href)
                films.append({
                    "title": title, "year": year, "wikipedia": href,
                    "alt_titles": [article] if article and normalise_title(article) != normalise_title(title) else [],
                    "genres": genre_labels(row.get("genres") or ()),
                    "directors": directors_from_extract(row.get("extract") or ""),
                    "cast": tuple(dict.fromkeys(c.strip() for c in row.get("cast") or () if c and c.strip()))[:TOP_CAST],
                })
    except FileNotFoundError:
        raise DataFileError(f"{path}: missing") from None
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise DataFileError(f"{path}: corrupt ({exc})") from None
    films.sort(key=lambda f: (f["year"], normalise_title(f["title"]), f["title"], f["wikipedia"] or ""))
    return films


_ARTICLE_QUALIFIER = re.compile(r"\s*\([^()]*\b(?:film|movie|serial)\b[^()]*\)$", re.IGNORECASE)


def _article_title(href: str | None) -> str | None:
    """Return the film's name from its Wikipedia article name ("Heat_(1995_film)" -> "Heat")."""
    if not href:
        return None
    return _ARTICLE_QUALIFIER.sub("", href.replace("_", " ")).strip() or None


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


def _read_wikidata(path: Path) -> dict[str, tuple[int | None, str, str | None]]:
    """Read film_ids.csv into imdb id -> (tmdb id or None, English label, Wikidata id)."""
    found: dict[str, tuple[int | None, str, str | None]] = {}
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                imdb_id, tmdb = (row.get("imdb_id") or "").strip(), (row.get("tmdb_id") or "").strip()
                qid = (row.get("wikidata_qid") or "").strip() or None
                if imdb_id.startswith("tt") and tmdb.isdigit():
                    found.setdefault(imdb_id, (int(tmdb), (row.get("label") or "").strip(), qid))
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
    header, lines = _csv_gz_lines(Path(path), REQUIRED_CATALOG_COLUMNS)
    at = {name: header.index(name) for name in CATALOG_COLUMNS if name in header}
    rows = []

    def split(value: str) -> tuple[str, ...]:
        return tuple(v for v in value.split(LIST_SEPARATOR) if v) if value else ()

    # Columns a catalog lacks read as the empty cell appended at the end of every row.
    positions = [at.get(name, -1) for name in CATALOG_COLUMNS]
    try:
        for cells in csv.reader(lines):
            cells.append("")
            (film_id, imdb_id, tmdb_id, wikidata_id, wikipedia, title, original, alt_titles, year, genres,
             directors, cast, count, mean) = (cells[i] for i in positions)
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
