"""Import an operator's rating file into the store's corpus: `python main.py import-ratings`.

The files are those `evaluate` reads: ratings `user,item,rating` (any numeric scale)
and, optionally, items `item,title,year,genres`. Item ids are compared as the files
write them ("0068646" is not "68646"). Items are matched to the catalog by IMDb/TMDB
id when the items file has them, else by title and year (+-1); items the catalog
lacks become new catalog films. Ratings are rescaled to the corpus scale (0-10,
stored as half stars) and users are stored only as salted hashes (the salt lives in
the store). A first pass reads the whole file: its scale, and every row that cannot
be stored, counted by reason; when more than MAX_SKIPPED_SHARE of the rows would be
skipped, the import stores nothing unless skips are allowed. Ratings then go in by
chunks, each committed together with the import's progress, so an import killed
halfway and run again continues where it stopped and stores each rating once; an
import that finished is skipped.
"""
from __future__ import annotations

import hashlib
import hmac
import math
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

from tqdm import tqdm

from infra.datasets import DataFileError
from infra.rating_files import iter_ratings_csv, load_items_csv
from services.domain import Film, ProfileFilm
from services.matching import CatalogIndex, normalise_title

CHUNK_ROWS = 20_000
CORPUS_MAX = 10.0
MIN_STARS, MAX_STARS = 0.5, 5.0
# A file's scale is the smallest of these at or above its highest rating.
COMMON_SCALE_MAXIMA = (1.0, 5.0, 10.0, 100.0)
EXAMPLES_SHOWN = 5
# More skipped rows than this share of the file stops the import before it stores anything.
MAX_SKIPPED_SHARE = 0.01
SKIP_EXAMPLES_SHOWN = 3
SKIP_EXAMPLE_CHARS = 80

# Why a row of the ratings file is not stored.
MALFORMED = "malformed row (needs user, item and a numeric rating)"
NOT_IN_ITEMS = "item not in the items file"
UNTITLED = "item has no title in the items file"
NOT_IN_CATALOG = "item is neither a catalog film_id nor an IMDb id (tt0050083) of the catalog"


class ImportStore(Protocol):
    """What an import needs from infra.store.Store."""

    def films(self) -> list[Film]: ...

    def film(self, film_id: int) -> Film | None: ...

    def film_by_imdb(self, imdb_id: str) -> Film | None: ...

    def upsert_films(self, films: list[Film]) -> list[int]: ...

    def import_salt(self) -> str: ...

    def import_progress(self, key: str) -> tuple[int, bool]: ...

    def add_imported_ratings(self, key: str, rows_done: int, rows: list[tuple[str, int, float]],
                             complete: bool = False) -> int: ...


@dataclass
class ImportReport:
    """What an import run did."""

    source: str
    rows: int = 0  # data rows of the file
    rows_read: int = 0  # rows this run read (after the row it resumed from)
    rows_kept: int = 0  # rows this run handed to the store
    ratings_stored: int = 0  # ratings added or changed
    skipped: Counter[str] = field(default_factory=Counter)  # rows of the file not stored, by reason
    skip_examples: dict[str, list[str]] = field(default_factory=dict)
    refused: bool = False  # too many rows would be skipped: nothing was stored
    users: int = 0
    scale: tuple[float, float] = (0.0, CORPUS_MAX)
    items: int = 0
    items_by_id: int = 0
    items_by_title: int = 0
    items_added: int = 0
    items_unresolved: int = 0
    resumed_from_row: int = 0
    already_imported: bool = False
    examples: list[str] = field(default_factory=list)

    @property
    def rows_skipped(self) -> int:
        """Return how many rows of the file are not stored, for any reason."""
        return sum(self.skipped.values())

    @property
    def too_many_skipped(self) -> bool:
        """Return whether more than MAX_SKIPPED_SHARE of the file's rows are skipped."""
        return self.rows_skipped > MAX_SKIPPED_SHARE * self.rows

    def skip(self, reason: str, number: int, what: str) -> None:
        """Count a skipped row under its reason, keeping the first few as examples."""
        self.skipped[reason] += 1
        shown = self.skip_examples.setdefault(reason, [])
        if len(shown) < SKIP_EXAMPLES_SHOWN:
            shown.append(f"row {number}: {_clip(what)}")

    def skip_lines(self) -> list[str]:
        """Return the skipped rows by reason, with a few examples each."""
        share = self.rows_skipped / self.rows if self.rows else 0.0
        out = [f"skipped {self.rows_skipped:,} of {self.rows:,} rows ({share:.1%})"]
        for reason, count in self.skipped.most_common():
            out.append(f"  {count:,} {reason}; " + "; ".join(self.skip_examples.get(reason, [])))
        return out

    def lines(self) -> list[str]:
        """Return the report as lines for the terminal."""
        if self.already_imported:
            return [f"{self.source}: this file was already imported; nothing stored again"]
        out = [f"scale {self.scale[0]:g}-{self.scale[1]:g} rescaled to 0-{CORPUS_MAX:g}"]
        if self.items:
            out.append(f"items: {self.items:,}; matched to the catalog {self.items_by_id + self.items_by_title:,} "
                       f"({self.items_by_id:,} by id, {self.items_by_title:,} by title and year); "
                       f"{'to add' if self.refused else 'added'} as new films {self.items_added:,}; "
                       f"without a title {self.items_unresolved:,}")
            out.extend(f"  {example}" for example in self.examples)
        out.extend(self.skip_lines())
        if self.refused:
            return out
        if self.resumed_from_row:
            out.append(f"resumed after row {self.resumed_from_row:,}")
        out.append(f"rows read {self.rows_read:,}; ratings stored {self.ratings_stored:,} from {self.users:,} users")
        if self.rows_kept > self.ratings_stored:
            out.append(f"  {self.rows_kept - self.ratings_stored:,} rows added no rating of their own: the same user "
                       f"rated the same film in another row (two items can be one film); the later row is kept")
        return out


def _clip(text: str) -> str:
    """Return text cut to SKIP_EXAMPLE_CHARS for an example line."""
    return text if len(text) <= SKIP_EXAMPLE_CHARS else text[:SKIP_EXAMPLE_CHARS - 3] + "..."


def user_hash(salt: str, source: str, user: str) -> str:
    """Return the salted hash that stands for a user of an imported file."""
    return hmac.new(salt.encode("utf-8"), f"{source}\0{user}".encode("utf-8"), hashlib.sha256).hexdigest()


def scale_of(low: float, high: float) -> tuple[float, float]:
    """Return the (min, max) rating scale a file uses, from its lowest and highest ratings."""
    top = next((m for m in COMMON_SCALE_MAXIMA if high <= m), high)
    return (low if low < 0 else 0.0), top


def to_stars(rating: float, scale: tuple[float, float]) -> float:
    """Rescale a rating to the corpus (0-10) and return it as stars (0.5-5 in halves)."""
    low, high = scale
    corpus = (rating - low) / (high - low) * CORPUS_MAX if high > low else CORPUS_MAX
    # The corpus keeps half stars; 0 has no star, so it becomes the lowest half star.
    return min(MAX_STARS, max(MIN_STARS, math.floor(corpus + 0.5) / 2))


def file_digest(path: Path | None) -> str:
    """Return a SHA-256 of a file's bytes ('' for no file)."""
    if path is None:
        return ""
    digest = hashlib.sha256()
    try:
        with Path(path).open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except FileNotFoundError:
        raise DataFileError(f"{path}: missing") from None
    return digest.hexdigest()


@dataclass
class ItemMatches:
    """The items file's ids (as written): matched to catalog films, to become new films, or without a title."""

    film_of: dict[str, int] = field(default_factory=dict)
    missing: dict[str, Film] = field(default_factory=dict)
    untitled: set[str] = field(default_factory=set)

    def reason(self, item: str) -> str | None:
        """Return why ratings of this item cannot be stored, or None when they can."""
        if item in self.film_of or item in self.missing:
            return None
        return UNTITLED if item in self.untitled else NOT_IN_ITEMS


def match_items(store: ImportStore, items: list[Film], report: ImportReport) -> ItemMatches:
    """Match items to catalog films without changing the catalog; fill the report's item counts."""
    index = CatalogIndex(store.films())
    matches = ItemMatches()
    for item in items:
        key = str(item.film_id)  # the id as the file writes it (infra.rating_files._id_value)
        report.items += 1
        if not item.title:
            report.items_unresolved += 1
            matches.untitled.add(key)
            continue
        found, by_id = None, False
        if item.imdb_id or item.tmdb_id is not None:
            found = index.match(ProfileFilm(title="", imdb_id=item.imdb_id, tmdb_id=item.tmdb_id))
            by_id = found is not None
        if found is None:
            found = index.match(ProfileFilm(title=item.title, year=item.year))
        if found is None:
            matches.missing[key] = item
            continue
        matches.film_of[key] = found.film_id
        if by_id:
            report.items_by_id += 1
        else:
            report.items_by_title += 1
        if len(report.examples) < EXAMPLES_SHOWN:
            report.examples.append(f"{item.title} ({item.year or '?'}) -> {found.title} ({found.year or '?'})")
    report.items_added = len(_new_films(matches))
    return matches


def _new_films(matches: ItemMatches) -> dict[tuple[str, int | None], Film]:
    """Return the films the missing items become, by normalised title and year."""
    # Items of one title and year become one film, so that a second run matches them as the first did.
    firsts: dict[tuple[str, int | None], Film] = {}
    for item in matches.missing.values():
        firsts.setdefault((normalise_title(item.title), item.year), item)
    return firsts


def add_missing_items(store: ImportStore, matches: ItemMatches) -> dict[str, int]:
    """Add the items the catalog lacks as new films; return every matched or added item's film_id."""
    film_of = dict(matches.film_of)
    firsts = _new_films(matches)
    if firsts:
        new_films = [Film(film_id=0, title=item.title, year=item.year, genres=item.genres,
                          directors=item.directors, cast=item.cast, imdb_id=item.imdb_id, tmdb_id=item.tmdb_id)
                     for item in firsts.values()]
        added = dict(zip(firsts, store.upsert_films(new_films)))
        for key, item in matches.missing.items():
            film_of[key] = added[(normalise_title(item.title), item.year)]
    return film_of


def import_ratings(store: ImportStore, ratings_path: Path, items_path: Path | None = None, source: str = "import",
                   chunk_rows: int = CHUNK_ROWS, on_chunk: Callable[[int], Any] | None = None,
                   show_progress: bool = False, allow_skips: bool = False) -> ImportReport:
    """Import a rating file (and its items) into the store; see the module docstring.

    When more than MAX_SKIPPED_SHARE of the rows cannot be stored and allow_skips is
    False, nothing is stored and the report says `refused`.
    """
    ratings_path = Path(ratings_path)
    items_path = Path(items_path) if items_path else None
    report = ImportReport(source=source)
    key = f"{source}:{file_digest(ratings_path)}:{file_digest(items_path)}"
    done, complete = store.import_progress(key)
    if complete:
        report.already_imported = True
        return report

    matches = match_items(store, load_items_csv(items_path), report) if items_path is not None else None
    catalog_lookup = _catalog_lookup(store)

    def reason_of(item: str) -> str | None:
        if matches is not None:
            return matches.reason(item)
        return NOT_IN_CATALOG if catalog_lookup(item) is None else None

    low, high, last_row = _survey(ratings_path, reason_of, report)
    if not report.rows:
        raise DataFileError(f"{ratings_path}: holds no ratings")
    if math.isfinite(high):
        report.scale = scale_of(low, high)
    if report.too_many_skipped and not allow_skips:
        report.refused = True
        return report

    lookup = add_missing_items(store, matches).get if matches is not None else catalog_lookup

    def count_read(number: int, cells: list[str]) -> None:
        report.rows_read += 1

    salt = store.import_salt()
    hashes: dict[str, str] = {}
    chunk: list[tuple[str, int, float]] = []
    report.resumed_from_row = done
    bar = tqdm(total=last_row, initial=done, unit="row", desc="import", disable=not show_progress,
               file=sys.stderr, mininterval=0.5)
    try:
        for number, user, item, rating in iter_ratings_csv(ratings_path, start_row=done, on_malformed=count_read):
            report.rows_read += 1
            film_id = lookup(item)
            if film_id is None:
                continue  # counted by _survey
            digest = hashes.get(user)
            if digest is None:
                digest = hashes[user] = user_hash(salt, source, user)
            chunk.append((digest, film_id, to_stars(rating, report.scale)))
            report.rows_kept += 1
            if len(chunk) >= chunk_rows:
                report.ratings_stored += store.add_imported_ratings(key, number, chunk)
                bar.update(number - bar.n)
                chunk = []
                if on_chunk is not None:
                    on_chunk(number)
        report.ratings_stored += store.add_imported_ratings(key, max(last_row, done), chunk, complete=True)
        bar.update(last_row - bar.n)
    finally:
        bar.close()
    report.users = len(hashes)
    return report


def _survey(ratings_path: Path, reason_of: Callable[[str], str | None],
            report: ImportReport) -> tuple[float, float, int]:
    """Read the whole file once: count its rows and skips by reason; return (lowest, highest rating, last row)."""
    low, high, last_row = math.inf, -math.inf, 0

    def malformed(number: int, cells: list[str]) -> None:
        nonlocal last_row
        report.rows += 1
        last_row = number
        report.skip(MALFORMED, number, ",".join(cells))

    for number, _, item, rating in iter_ratings_csv(ratings_path, on_malformed=malformed):
        report.rows += 1
        last_row = number
        low, high = min(low, rating), max(high, rating)
        reason = reason_of(item)
        if reason is not None:
            report.skip(reason, number, f"item {item!r}")
    return low, high, last_row


def _catalog_lookup(store: ImportStore) -> Callable[[str], int | None]:
    """Without an items file, an item is a catalog film_id ("443"; "0443" is not one) or an IMDb id ("tt0050083")."""
    cache: dict[str, int | None] = {}

    def lookup(item: str) -> int | None:
        if item not in cache:
            film = None
            if item.isascii() and item.isdigit() and str(int(item)) == item:
                film = store.film(int(item))
            elif item.startswith("tt"):
                film = store.film_by_imdb(item)
            cache[item] = None if film is None else film.film_id
        return cache[item]

    return lookup


def run_import_cli(settings: Any, ratings_path: Path, items_path: Path | None, source: str,
                   allow_skips: bool = False) -> int:
    """Open the store, import with a progress bar, print what was matched, stored and skipped.

    Returns 1 when more than MAX_SKIPPED_SHARE of the rows were skipped (and nothing stored)
    without allow_skips, else 0.
    """
    from infra.store import Store

    store = Store.open(settings.store_path, settings.data_dir)
    try:
        report = import_ratings(store, Path(ratings_path), Path(items_path) if items_path else None, source,
                                show_progress=True, allow_skips=allow_skips)
    finally:
        store.close()
    print("\n".join(report.lines()))
    if report.already_imported:
        return 0
    limit = f"more than {MAX_SKIPPED_SHARE:.0%} of the file"
    if report.refused:
        print(f"error: {report.rows_skipped:,} of {report.rows:,} rows would be skipped, {limit}; nothing was "
              f"stored. Fix the files, or run again with --allow-skips to import the other rows.", file=sys.stderr)
        return 1
    if report.too_many_skipped:
        print(f"warning: {report.rows_skipped:,} of {report.rows:,} rows were skipped, {limit} "
              f"(allowed by --allow-skips)", file=sys.stderr)
    print("run `python main.py train` to use these ratings")
    return 0
