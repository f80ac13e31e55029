"""Import an operator's rating file into the store's corpus: `python main.py import-ratings`.

The files are those `evaluate` reads: ratings `user,item,rating` (any numeric scale)
and, optionally, items `item,title,year,genres`. Items are matched to the catalog
by IMDb/TMDB id when the items file has them, else by title and year (+-1); items
the catalog lacks become new catalog films. Ratings are rescaled to the corpus
scale (0-10, stored as half stars) and users are stored only as salted hashes
(the salt lives in the store). Ratings go in by chunks, each committed together
with the import's progress, so an import killed halfway and run again continues
where it stopped and stores each rating once; an import that finished is skipped.
"""
from __future__ import annotations

import hashlib
import hmac
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

from tqdm import tqdm

from infra.datasets import DataFileError, iter_ratings_csv, load_items_csv
from services.domain import Film, ProfileFilm
from services.matching import CatalogIndex, normalise_title

CHUNK_ROWS = 20_000
CORPUS_MAX = 10.0
MIN_STARS, MAX_STARS = 0.5, 5.0
# A file's scale is the smallest of these at or above its highest rating.
COMMON_SCALE_MAXIMA = (1.0, 5.0, 10.0, 100.0)
EXAMPLES_SHOWN = 5


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
    rows: int = 0
    ratings_stored: int = 0
    rows_skipped: int = 0  # ratings of items that could not be resolved to a film
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

    def lines(self) -> list[str]:
        """Return the report as lines for the terminal."""
        if self.already_imported:
            return [f"{self.source}: this file was already imported; nothing stored again"]
        out = [f"scale {self.scale[0]:g}-{self.scale[1]:g} rescaled to 0-{CORPUS_MAX:g}"]
        if self.items:
            out.append(f"items: {self.items:,}; matched to the catalog {self.items_by_id + self.items_by_title:,} "
                       f"({self.items_by_id:,} by id, {self.items_by_title:,} by title and year); "
                       f"added as new films {self.items_added:,}; without a title {self.items_unresolved:,}")
            out.extend(f"  {example}" for example in self.examples)
        if self.resumed_from_row:
            out.append(f"resumed after row {self.resumed_from_row:,}")
        out.append(f"rows read {self.rows:,}; ratings stored {self.ratings_stored:,} from {self.users:,} users; "
                   f"skipped {self.rows_skipped:,} (item not resolved)")
        return out


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


def resolve_items(store: ImportStore, items: list[Film], report: ImportReport) -> dict[str, int]:
    """Map item ids to catalog film ids, adding the films the catalog lacks; fill the report's item counts."""
    index = CatalogIndex(store.films())
    film_of: dict[str, int] = {}
    missing: list[tuple[str, Film]] = []
    for item in items:
        key = str(item.film_id)
        report.items += 1
        if not item.title:
            report.items_unresolved += 1
            continue
        found, by_id = None, False
        if item.imdb_id or item.tmdb_id is not None:
            found = index.match(ProfileFilm(title="", imdb_id=item.imdb_id, tmdb_id=item.tmdb_id))
            by_id = found is not None
        if found is None:
            found = index.match(ProfileFilm(title=item.title, year=item.year))
        if found is None:
            missing.append((key, item))
            continue
        film_of[key] = found.film_id
        if by_id:
            report.items_by_id += 1
        else:
            report.items_by_title += 1
        if len(report.examples) < EXAMPLES_SHOWN:
            report.examples.append(f"{item.title} ({item.year or '?'}) -> {found.title} ({found.year or '?'})")
    # Items of one title and year become one film, so that a second run matches them as the first did.
    firsts: dict[tuple[str, int | None], Film] = {}
    for _, item in missing:
        firsts.setdefault((normalise_title(item.title), item.year), item)
    if firsts:
        new_films = [Film(film_id=0, title=item.title, year=item.year, genres=item.genres,
                          directors=item.directors, cast=item.cast, imdb_id=item.imdb_id, tmdb_id=item.tmdb_id)
                     for item in firsts.values()]
        added = dict(zip(firsts, store.upsert_films(new_films)))
        for key, item in missing:
            film_of[key] = added[(normalise_title(item.title), item.year)]
        report.items_added = len(firsts)
    return film_of


def import_ratings(store: ImportStore, ratings_path: Path, items_path: Path | None = None, source: str = "import",
                   chunk_rows: int = CHUNK_ROWS, on_chunk: Callable[[int], Any] | None = None,
                   show_progress: bool = False) -> ImportReport:
    """Import a rating file (and its items) into the store; see the module docstring."""
    ratings_path = Path(ratings_path)
    items_path = Path(items_path) if items_path else None
    report = ImportReport(source=source)
    key = f"{source}:{file_digest(ratings_path)}:{file_digest(items_path)}"
    done, complete = store.import_progress(key)
    if complete:
        report.already_imported = True
        return report

    low, high, total = math.inf, -math.inf, 0
    for _, _, _, rating in iter_ratings_csv(ratings_path):
        low, high, total = min(low, rating), max(high, rating), total + 1
    if not total:
        raise DataFileError(f"{ratings_path}: holds no ratings")
    report.scale = scale_of(low, high)

    lookup: Callable[[str], int | None]
    if items_path is not None:
        film_of = resolve_items(store, load_items_csv(items_path), report)
        lookup = film_of.get
    else:
        lookup = _catalog_lookup(store)

    salt = store.import_salt()
    hashes: dict[str, str] = {}
    chunk: list[tuple[str, int, float]] = []
    report.resumed_from_row = done
    last = done
    bar = tqdm(total=total, initial=done, unit="rating", desc="import", disable=not show_progress,
               file=sys.stderr, mininterval=0.5)
    try:
        for number, user, item, rating in iter_ratings_csv(ratings_path, start_row=done):
            report.rows += 1
            last = number
            film_id = lookup(item)
            if film_id is None:
                report.rows_skipped += 1
                continue
            digest = hashes.get(user)
            if digest is None:
                digest = hashes[user] = user_hash(salt, source, user)
            chunk.append((digest, film_id, to_stars(rating, report.scale)))
            if len(chunk) >= chunk_rows:
                report.ratings_stored += store.add_imported_ratings(key, number, chunk)
                bar.update(number - bar.n)
                chunk = []
                if on_chunk is not None:
                    on_chunk(number)
        report.ratings_stored += store.add_imported_ratings(key, max(last, total), chunk, complete=True)
        bar.update(total - bar.n)
    finally:
        bar.close()
    report.users = len(hashes)
    return report


def _catalog_lookup(store: ImportStore) -> Callable[[str], int | None]:
    """Without an items file, an item is a catalog film_id or an IMDb id ("tt0050083")."""
    cache: dict[str, int | None] = {}

    def lookup(item: str) -> int | None:
        if item not in cache:
            film = None
            if item.isdigit():
                film = store.film(int(item))
            elif item.startswith("tt"):
                film = store.film_by_imdb(item)
            cache[item] = None if film is None else film.film_id
        return cache[item]

    return lookup


def run_import_cli(settings: Any, ratings_path: Path, items_path: Path | None, source: str) -> int:
    """Open the store, import with a progress bar, print what was matched and stored."""
    from infra.store import Store

    store = Store.open(settings.store_path, settings.data_dir)
    try:
        report = import_ratings(store, Path(ratings_path), Path(items_path) if items_path else None, source,
                                show_progress=True)
    finally:
        store.close()
    print("\n".join(report.lines()))
    if not report.already_imported:
        print("run `python main.py train` to use these ratings")
    return 0
