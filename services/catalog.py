"""The film catalog as arrays: ids, years, runtimes, popularity, obscurity, quality, genres.

Filters, content similarity, cold start and ranking all work on these arrays, so a
20,000-film catalog is filtered and scored without a Python loop per film.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable, Hashable, Iterable, Sequence, TypeVar

import numpy as np
import scipy.sparse as sp

from services.domain import Film
from services.origins import OriginShares

T = TypeVar("T")

# Bayesian average: a film's mean is shrunk towards the catalog mean as if it
# had this many extra votes at that mean.
TMDB_PRIOR_VOTES = 250.0
CORPUS_PRIOR_RATINGS = 10.0
DEFAULT_PRIOR_MEAN = 6.5

# The one genre vocabulary. Every source spelling (MovieTweetings/IMDb "Sci-Fi",
# TMDB "Science Fiction", Wikipedia "science fiction", "Noir", "romantic comedy")
# maps to canonical keys here; films enter the store with these names only.
# A spelling may stand for several genres ("romantic comedy") or none ("independent").
GENRE_TABLE: dict[str, tuple[str, ...]] = {
    "sci-fi": ("science fiction",),
    "scifi": ("science fiction",),
    "science-fiction": ("science fiction",),
    "film-noir": ("film noir",),
    "noir": ("film noir",),
    "neo-noir": ("film noir",),
    "musical": ("music",),
    "biographical": ("biography",),
    "biopic": ("biography",),
    "historical": ("history",),
    "period": ("history",),
    "animated": ("animation",),
    "sports": ("sport",),
    "romantic": ("romance",),
    "romcom": ("romance", "comedy"),
    "rom-com": ("romance", "comedy"),
    "dramedy": ("comedy", "drama"),
    "black comedy": ("comedy",),
    "dark comedy": ("comedy",),
    "slapstick": ("comedy",),
    "parody": ("comedy",),
    "spoof": ("comedy",),
    "satire": ("comedy",),
    "comedic": ("comedy",),
    "suspense": ("thriller",),
    "psychological": ("thriller",),
    "spy": ("thriller",),
    "slasher": ("horror",),
    "supernatural": ("horror",),
    "found footage": ("horror",),
    "zombie": ("horror",),
    "monster": ("horror",),
    "superhero": ("action", "adventure"),
    "martial arts": ("action",),
    "disaster": ("action",),
    "swashbuckler": ("adventure",),
    "dance": ("music",),
    "concert": ("music", "documentary"),
    "performance": ("music",),
    "legal": ("drama",),
    "political": ("drama",),
    "erotic": ("drama",),
    "melodrama": ("drama",),
    "teen": (),
    "independent": (),
    "live action": (),
    "anthology": (),
    "tv movie": ("tv movie",),
    "television film": ("tv movie",),
    "television movie": ("tv movie",),
    # Freebase's names (the CMU film metadata); "... film", "... movie" and "... fiction" are read
    # without that last word (see `_GENERIC_TAILS`).
    "children's": ("family",),
    "biopic [feature]": ("biography",),
    "action thrillers": ("action", "thriller"),
    "martial arts": ("action",),
    "swashbuckler": ("adventure",),
}
# Display names where the key in title case is not it.
GENRE_LABELS = {
    "science fiction": "Science Fiction",
    "film noir": "Film Noir",
    "tv movie": "TV Movie",
}
_GENRE_SEPARATORS = str.maketrans({"_": " ", "/": " ", ",": " "})
_GENRE_MAX_WORDS = 2
GENRE_LISTS_CACHE_SIZE = 4096  # distinct genre lists seen when loading a catalog


def _genre_key(name: str) -> str:
    """Return a spelling's lookup key: lower case, single spaces."""
    return " ".join(str(name).lower().translate(_GENRE_SEPARATORS).split())


# A last word that names the medium rather than a genre: "Romance Film" is Romance.
_GENERIC_TAILS = frozenset(("film", "films", "movie", "movies", "fiction", "picture", "pictures"))


def _mapped(key: str) -> tuple[str, ...] | None:
    """Return the canonical keys of one spelling's key, or None when it is not the vocabulary's."""
    mapped = GENRE_TABLE.get(key)
    if mapped is not None:
        return mapped
    if key in _PLAIN_GENRES:
        return (key,)
    found = _compound(key)
    if found is None:
        head, _, tail = key.rpartition(" ")
        if head and tail in _GENERIC_TAILS:
            return _mapped(head)
    return found


def _compound(key: str) -> tuple[str, ...] | None:
    """Split a sub-genre ("romantic comedy", "crime drama", "sci-fi horror") into known genres, or None."""
    words: list[str] = []
    for word in key.split():
        known = word in GENRE_TABLE or word in _PLAIN_GENRES
        words.extend([word] if known or "-" not in word else [w for w in word.split("-") if w])
    out: list[str] = []
    i = 0
    while i < len(words):
        for size in range(min(_GENRE_MAX_WORDS, len(words) - i), 0, -1):
            piece = " ".join(words[i:i + size])
            if piece in GENRE_TABLE:
                out.extend(GENRE_TABLE[piece])
            elif piece in _PLAIN_GENRES:
                out.append(piece)
            else:
                continue
            i += size
            break
        else:
            return None
    return tuple(dict.fromkeys(out))


_PLAIN_GENRES = frozenset((
    "action", "adventure", "animation", "biography", "comedy", "crime", "documentary", "drama", "family",
    "fantasy", "film noir", "history", "horror", "music", "mystery", "romance", "science fiction", "short",
    "sport", "thriller", "war", "western", "silent", "news", "adult", "tv movie",
))


# Genre names are few (the vocabulary and the sources' spellings); keyed on short strings only.
GENRE_CACHE_SIZE = 2048


def canonical_genres(names: Iterable[str]) -> tuple[str, ...]:
    """Return the canonical keys of source genre names, in order, each once."""
    out: list[str] = []
    for name in names:
        key = _genre_key(name)
        if not key:
            continue
        mapped = _mapped(key)
        out.extend((key,) if mapped is None else mapped)
    return tuple(dict.fromkeys(out))


def split_genres(names: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Split source genre names into (genre labels of the one vocabulary, the other names as keywords).

    A name the vocabulary reads whole gives its genres ("Romantic comedy": Romance, Comedy);
    one whose last word is a genre gives that genre and stays a keyword too ("Spaghetti
    Western": Western, and the keyword); any other ("World cinema", "Black-and-white") is a keyword.
    """
    genres: list[str] = []
    keywords: list[str] = []
    for name in names:
        key = _genre_key(name)
        if not key:
            continue
        mapped = _mapped(key)
        if mapped and all(k in _PLAIN_GENRES for k in mapped):
            genres.extend(mapped)
            continue
        keywords.append(" ".join(str(name).split()))
        last = _mapped(key.rpartition(" ")[2]) if " " in key else None
        if last and all(k in _PLAIN_GENRES for k in last):
            genres.extend(last)
    return tuple(genre_label(k) for k in dict.fromkeys(genres)), tuple(dict.fromkeys(keywords))


@lru_cache(maxsize=GENRE_CACHE_SIZE)
def canonical_genre(name: str) -> str:
    """Return one genre's canonical key, folding IMDb, TMDB and Wikipedia spellings together."""
    keys = canonical_genres((name,))
    return keys[0] if keys else _genre_key(name)


def genre_label(key: str) -> str:
    """Return the display name of a canonical genre key."""
    return GENRE_LABELS.get(key, key.title())


def genre_labels(names: Iterable[str]) -> tuple[str, ...]:
    """Return the display names of source genre names, mapped to the one vocabulary."""
    return _labels_of(tuple(names))


@lru_cache(maxsize=GENRE_LISTS_CACHE_SIZE)
def _labels_of(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(genre_label(key) for key in canonical_genres(names))


def bayesian_average(mean: np.ndarray, count: np.ndarray, prior_mean: float, prior_count: float) -> np.ndarray:
    """Shrink means towards prior_mean by prior_count pseudo-votes; films with no votes get the prior."""
    mean = np.nan_to_num(np.asarray(mean, dtype=np.float64), nan=prior_mean)
    count = np.nan_to_num(np.asarray(count, dtype=np.float64), nan=0.0)
    return (mean * count + prior_mean * prior_count) / (count + prior_count)


def percentile_from_top(values: np.ndarray) -> np.ndarray:
    """Return 0-100 per value: the share of values strictly greater (0 = the most popular)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return np.zeros(0)
    ordered = np.sort(values)
    greater = values.size - np.searchsorted(ordered, values, side="right")
    return 100.0 * greater / max(1, values.size - 1) if values.size > 1 else np.zeros(1)


class Catalog:
    """Films plus vectorised views of their fields, in the order given."""

    def __init__(self, films: Iterable[Film]) -> None:
        self.films: tuple[Film, ...] = tuple(films)
        n = len(self.films)
        self.film_ids = np.fromiter((f.film_id for f in self.films), dtype=np.int64, count=n)
        self._index = {int(fid): i for i, fid in enumerate(self.film_ids)}
        self.years = np.array([np.nan if f.year is None else f.year for f in self.films], dtype=np.float64)
        self.runtimes = np.array(
            [np.nan if not f.runtime else f.runtime for f in self.films], dtype=np.float64)
        self.corpus_counts = np.array([f.corpus_count for f in self.films], dtype=np.float64)
        self.corpus_means = np.array(
            [np.nan if f.corpus_mean is None else f.corpus_mean for f in self.films], dtype=np.float64)
        self.vote_counts = np.array(
            [np.nan if f.vote_count is None else f.vote_count for f in self.films], dtype=np.float64)
        self.vote_averages = np.array(
            [np.nan if f.vote_average is None else f.vote_average for f in self.films], dtype=np.float64)
        self.is_movie = np.array([f.media_type == "movie" for f in self.films], dtype=bool)
        self.obscurity = self._obscurity()
        self.quality = self._quality()
        film_genres = [canonical_genres(f.genres) for f in self.films]
        genre_keys = sorted({g for keys in film_genres for g in keys})
        self.genre_keys: tuple[str, ...] = tuple(genre_keys)
        self._genre_column = {g: j for j, g in enumerate(genre_keys)}
        rows, cols = [], []
        for i, keys in enumerate(film_genres):
            for g in keys:
                rows.append(i)
                cols.append(self._genre_column[g])
        self.genre_matrix = sp.csr_matrix(
            (np.ones(len(rows), dtype=bool), (rows, cols)), shape=(n, len(genre_keys)), dtype=bool)
        self._parent: tuple[Catalog, int] | None = None

    _COLUMNS = ("years", "runtimes", "corpus_counts", "corpus_means", "vote_counts", "vote_averages", "is_movie")

    def extended(self, films: Iterable[Film]) -> Catalog:
        """Return this catalog with the films it does not hold yet appended (itself when it holds them all).

        Positions of the films already held do not move, so whatever was derived for
        this catalog (a model's view, content vectors) can be extended rather than rebuilt.
        """
        new = {f.film_id: f for f in films if f.film_id not in self._index}
        if not new:
            return self
        added = Catalog(new.values())
        out = Catalog.__new__(Catalog)
        n = len(self.films)
        out.films = self.films + added.films
        out.film_ids = np.concatenate([self.film_ids, added.film_ids])
        out._index = {**self._index, **{fid: n + i for fid, i in added._index.items()}}
        for name in self._COLUMNS:
            setattr(out, name, np.concatenate([getattr(self, name), getattr(added, name)]))
        out.obscurity = out._obscurity()
        out.quality = out._quality()
        out.genre_keys = tuple(sorted(set(self.genre_keys) | set(added.genre_keys)))
        out._genre_column = {g: j for j, g in enumerate(out.genre_keys)}
        out.genre_matrix = sp.vstack([_genre_columns(part, out._genre_column, len(out.genre_keys))
                                      for part in (self, added)]).tocsr()
        # An extension of an extension extends the same built catalog: what was derived for that one (a
        # model's view, content vectors) is extended by every film added since, whichever runs added them.
        out._parent = self._parent or (self, n)
        return out

    @property
    def parent(self) -> tuple[Catalog, int] | None:
        """(the catalog built in full that this one extends, how many films it held), None for that one."""
        return self._parent

    def __len__(self) -> int:
        return len(self.films)

    def by_id(self, film_id: int) -> Film | None:
        """Return the film with this id, or None."""
        index = self._index.get(int(film_id))
        return None if index is None else self.films[index]

    def index_of(self, film_id: int) -> int | None:
        """Return the film's position in the catalog, or None."""
        return self._index.get(int(film_id))

    def indices_of(self, film_ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Return positions for many film ids, -1 where a film is not in the catalog."""
        wanted = np.asarray(film_ids, dtype=np.int64).ravel()
        ids, where = self._lookup()
        if wanted.size == 0 or ids.size == 0:
            return np.full(wanted.size, -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(ids, wanted), ids.size - 1)
        return np.where(ids[at] == wanted, where[at], -1)

    def _lookup(self) -> tuple[np.ndarray, np.ndarray]:
        """(film ids ascending, the position of each): `indices_of` by binary search, built on first use."""
        lookup = self.__dict__.get("_sorted_ids")
        if lookup is None:
            ids = np.fromiter(self._index.keys(), dtype=np.int64, count=len(self._index))
            where = np.fromiter(self._index.values(), dtype=np.int64, count=len(self._index))
            order = np.argsort(ids, kind="stable")
            lookup = self.__dict__["_sorted_ids"] = (ids[order], where[order])
        return lookup

    def derived(self, key: Hashable, make: Callable[[Catalog], T]) -> T:
        """`make(self)`, worked out once per catalog and key (a catalog's films never change)."""
        cache = self.__dict__.setdefault("_derived", {})
        if key not in cache:
            cache[key] = make(self)
        return cache[key]

    def origin_shares(self) -> OriginShares:
        """The share of the catalog's films from each country and decade (a film extending a catalog
        hardly moves them, so an extension reads its parent's), worked out on first use."""
        shares = self.__dict__.get("_origin_shares")
        if shares is None:
            parent = self._parent[0] if self._parent is not None else None
            shares = parent.origin_shares() if parent is not None else OriginShares.of(self.films)
            self.__dict__["_origin_shares"] = shares
        return shares

    def genre_mask(self, genres: Iterable[str]) -> np.ndarray:
        """Return a boolean mask of films carrying at least one of these genres."""
        wanted = {c for g in genres for c in canonical_genres((g,))}
        columns = [self._genre_column[c] for c in wanted if c in self._genre_column]
        if not columns:
            return np.zeros(len(self.films), dtype=bool)
        return np.asarray(self.genre_matrix[:, columns].sum(axis=1)).ravel() > 0

    def _obscurity(self) -> np.ndarray:
        """Return 0-100 per film: 0 the most-voted film, 100 the least (TMDB votes, else corpus count)."""
        out = percentile_from_top(self.corpus_counts)
        has_votes = ~np.isnan(self.vote_counts)
        if has_votes.any():
            out[has_votes] = percentile_from_top(self.vote_counts[has_votes])
        return out

    def _quality(self) -> np.ndarray:
        """Return each film's Bayesian-average rating, 0-10 (TMDB votes when known, else the corpus)."""
        prior_corpus = _weighted_mean(self.corpus_means, self.corpus_counts)
        prior_tmdb = _weighted_mean(self.vote_averages, self.vote_counts)
        quality = bayesian_average(self.corpus_means, self.corpus_counts, prior_corpus, CORPUS_PRIOR_RATINGS)
        has_votes = ~np.isnan(self.vote_counts) & ~np.isnan(self.vote_averages)
        if has_votes.any():
            quality[has_votes] = bayesian_average(
                self.vote_averages[has_votes], self.vote_counts[has_votes], prior_tmdb, TMDB_PRIOR_VOTES)
        return quality


def _genre_columns(catalog: Catalog, columns: dict[str, int], width: int) -> sp.csr_matrix:
    """Return a catalog's film x genre matrix with its genres moved to the given columns."""
    coo = catalog.genre_matrix.tocoo()
    remap = np.array([columns[g] for g in catalog.genre_keys], dtype=np.int64)
    return sp.csr_matrix((coo.data, (coo.row, remap[coo.col] if coo.col.size else coo.col)),
                         shape=(len(catalog), width), dtype=bool)


def _weighted_mean(means: np.ndarray, counts: np.ndarray) -> float:
    """Return the count-weighted mean of the known means, or DEFAULT_PRIOR_MEAN."""
    known = ~np.isnan(means) & ~np.isnan(counts) & (counts > 0)
    if not known.any():
        return DEFAULT_PRIOR_MEAN
    return float(np.average(means[known], weights=counts[known]))
