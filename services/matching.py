"""Match a member's logged films to catalog films: by TMDB id, IMDb id, then title and year.

A film is known by several names: its title, its original title, the other names
the catalog sources give (alt_titles), a franchise title's own part ("Star Wars:
Episode V - The Empire Strikes Back" is also "The Empire Strikes Back"), and, as a
weaker second try, its main title without a subtitle ("Birdman or (The Unexpected
Virtue of Ignorance)" is "Birdman"). Title matches always need the year within one.
"""
from __future__ import annotations

import re
import sys
import threading
import unicodedata
from typing import Iterable, Sequence, TypeVar

from cachetools import LRUCache

from services.domain import Film, MatchedFilm, Profile, ProfileFilm

# Letterboxd shows a film's premiere year, which can differ by one from the catalog's.
YEAR_TOLERANCE = 1
# The title-key cache is bounded by bytes (titles and keys together), not entries, and
# titles longer than NORMALISED_CACHE_MAX_TITLE are normalised without being cached.
NORMALISED_CACHE_BYTES = 24 * 1024 * 1024  # holds every title of the largest export allowed
NORMALISED_CACHE_MAX_TITLE = 300
_ENTRY_OVERHEAD = 200  # the cache's own dict slot, link and tuple per entry

_DROPPED = str.maketrans("", "", "'\u2018\u2019\u02bc`.\u00b4")
_SEPARATORS = re.compile(r"[\W_]+")
_TRAILING_ARTICLE = re.compile(r",\s*(the|a|an)$")
_LEADING_ARTICLE = re.compile(r"^(?:the|a|an) (?=\S)")
# An episode title after its series: "Episode IV - A New Hope" (see `_episode_part`).
_EPISODE_TAIL = re.compile(r"\bepisode\s+[ivxlc\d]+\s*[:\-\u2013\u2014]\s*(?P<part>\S.*)$", re.IGNORECASE)
_EPISODE_SEPARATORS = ":-\u2013\u2014"
_DASHES = "-\u2013\u2014"
# ASCII titles are normalised on bytes: these go, and every other byte that is not a letter
# or digit becomes a space (what `_DROPPED` and `_SEPARATORS` do to ASCII text).
_ASCII_DROPPED = b"'`."
_ASCII_SEPARATORS = bytes(c if chr(c).isalnum() else 32 for c in range(128)) + bytes(range(128, 256))

# Why a film did not match, as shown to the member.
NOT_IN_CATALOG = "not in catalog"
YEAR_DIFFERS = "year differs"
AMBIGUOUS = "ambiguous"


_normalised: LRUCache = LRUCache(maxsize=NORMALISED_CACHE_BYTES, getsizeof=lambda entry: entry[0])
_normalised_lock = threading.Lock()


def normalise_title(title: str) -> str:
    """Return a title's matching key: casefolded, accents and punctuation gone, articles dropped."""
    title = title or ""
    if len(title) > NORMALISED_CACHE_MAX_TITLE:
        return _normalise(title)
    with _normalised_lock:
        hit = _normalised.get(title)
    if hit is not None:
        return hit[1]
    key = _normalise(title)
    with _normalised_lock:
        _normalised[title] = (sys.getsizeof(title) + sys.getsizeof(key) + _ENTRY_OVERHEAD, key)
    return key


def normalised_cache_bytes() -> int:
    """Bytes the title-key cache holds now (titles, keys and per-entry overhead)."""
    return int(_normalised.currsize)


def _normalise(title: str) -> str:
    text = title or ""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.casefold().strip()
    if "," in text:
        text = _TRAILING_ARTICLE.sub("", text)
    if "&" in text:
        text = text.replace("&", " and ")
    if text.isascii():
        # The same steps on bytes: a fixed table instead of a Unicode-aware regex, many times faster.
        dropped = text.encode("ascii").translate(None, _ASCII_DROPPED)
        text = dropped.decode("ascii")
        key = " ".join(dropped.translate(_ASCII_SEPARATORS).decode("ascii").split())
    else:
        text = text.translate(_DROPPED)
        key = _SEPARATORS.sub(" ", text).strip()
    if key.startswith(("the ", "a ", "an ")):
        key = _LEADING_ARTICLE.sub("", key)
    return key or text or (title or "").casefold().strip()


def title_keys(title: str | None) -> set[str]:
    """Return a title's strong matching keys: the title and, for franchise episodes, the episode's own name."""
    if not title:
        return set()
    keys = {normalise_title(title)}
    part = _episode_part(title)
    if part is not None:
        keys.add(normalise_title(part))
    return keys


def title_variants(title: str | None) -> set[str]:
    """Return every matching key of a title: the strong keys plus the main title without its subtitle."""
    return _with_main_title(title, title_keys(title))


def _with_main_title(title: str | None, strong: set[str]) -> set[str]:
    """The strong keys plus the key of the title without its subtitle (when that is a different, real key)."""
    keys = set(strong)
    if title:
        main = _main_title(title)
        if main and main != title.strip() and len(normalise_title(main)) >= 3:
            keys.add(normalise_title(main))
    return keys


def _episode_part(title: str) -> str | None:
    """The episode's own name in "Series: Episode IV - Name", else None.

    The series is the shortest start of the title (one character at least, on one line)
    followed by an optional separator, "episode", a number in digits or roman numerals, a
    separator and the name. So the first "episode" the rest fits after is the one, and a
    search for the rest finds it in time linear in the title.
    """
    if title.isascii() and "episode" not in title.lower():
        return None
    found = _EPISODE_TAIL.search(title, 1)  # the series is at least one character
    if found is None:
        return None
    if "\n" in title:
        start = found.start()  # the series may end where the separator before "episode" begins
        while start > 0 and title[start - 1].isspace():
            start -= 1
        if start > 0 and title[start - 1] in _EPISODE_SEPARATORS:
            start -= 1
        while start > 0 and title[start - 1].isspace():
            start -= 1
        if "\n" in title[:max(1, start)]:
            return None
    return found["part"]


def _main_title(title: str) -> str:
    """The title before its subtitle: up to the first ":", "(", dash between spaces, "or:" or ", or (".

    Found with str.find rather than a regex (which costs far more on long titles): only the
    first ":" and the first "(" can start the earliest cut.
    """
    cuts = []
    colon = title.find(":")
    if colon >= 0:  # ":" itself, or "or:" after a word boundary
        before_or = colon >= 2 and title[colon - 2:colon] == "or" and (colon == 2 or not _is_word(title[colon - 3]))
        cuts.append(colon - 2 if before_or else colon)
    paren = title.find("(")
    if paren >= 0:  # "(" itself, or ", or (" with the comma optional
        spaced_or = paren >= 4 and title[paren - 3:paren - 1] == "or" and title[paren - 1].isspace() \
            and title[paren - 4].isspace()
        cuts.append((paren - 5 if paren >= 5 and title[paren - 5] == "," else paren - 4) if spaced_or else paren)
    for dash in _DASHES:  # a dash with white space on both sides
        at = title.find(dash, 1)
        while at >= 0:
            if at + 1 < len(title) and title[at - 1].isspace() and title[at + 1].isspace():
                cuts.append(at - 1)
                break
            at = title.find(dash, at + 1)
    return (title[:min(cuts)] if cuts else title).strip()


def _is_word(ch: str) -> bool:
    """Whether `re` counts this character as part of a word (for `\\b`)."""
    return ch.isalnum() or ch == "_"


class TitleKeys:
    """Each title's strong keys and all its keys, worked out once however often they are asked for.

    One run matches its member's films and then guards its picks against the same titles:
    one of these, shared by both, spares every title its second working out. It lives as
    long as the run (it holds the keys of one member's titles, nothing else).
    """

    def __init__(self) -> None:
        self._strong: dict[str, frozenset[str]] = {}
        self._all: dict[str, frozenset[str]] = {}

    def strong(self, title: str | None) -> frozenset[str]:
        """`title_keys(title)`, remembered."""
        title = title or ""
        keys = self._strong.get(title)
        if keys is None:
            keys = self._strong[title] = frozenset(title_keys(title))
        return keys

    def all(self, title: str | None) -> frozenset[str]:
        """`title_variants(title)`, remembered."""
        title = title or ""
        keys = self._all.get(title)
        if keys is None:
            keys = self._all[title] = frozenset(_with_main_title(title, set(self.strong(title))))
        return keys


def film_titles(film: Film) -> tuple[str, ...]:
    """Return every name a catalog film is known by."""
    names = [film.title, film.original_title, *getattr(film, "alt_titles", ())]
    return tuple(dict.fromkeys(name for name in names if name))


class CatalogIndex:
    """Lookup tables over catalog films for matching profile entries."""

    def __init__(self, films: Iterable[Film]) -> None:
        self._by_tmdb: dict[int, Film] = {}
        self._by_imdb: dict[str, Film] = {}
        self._by_title: dict[str, list[Film]] = {}
        self._by_variant: dict[str, list[Film]] = {}
        self._size = 0
        for film in films:
            self._add(film, copy_lists=False)

    def _add(self, film: Film, copy_lists: bool) -> None:
        self._size += 1
        if film.tmdb_id is not None and (film.media_type == "movie" or film.tmdb_id not in self._by_tmdb):
            self._by_tmdb[film.tmdb_id] = film
        if film.imdb_id:
            self._by_imdb[film.imdb_id] = film
        strong: set[str] = set()
        weak: set[str] = set()
        for name in film_titles(film):
            strong |= title_keys(name)
            weak |= title_variants(name)
        for table, keys in ((self._by_title, strong), (self._by_variant, weak)):
            for key in keys:
                if copy_lists:  # the lists may be shared with the index this one extends
                    table[key] = [*table.get(key, ()), film]
                else:
                    table.setdefault(key, []).append(film)

    def extended(self, films: Iterable[Film]) -> CatalogIndex:
        """Return a new index that also finds these films; this one is left unchanged."""
        films = list(films)
        if not films:
            return self
        out = CatalogIndex(())
        out._by_tmdb, out._by_imdb = dict(self._by_tmdb), dict(self._by_imdb)
        out._by_title, out._by_variant = dict(self._by_title), dict(self._by_variant)
        out._size = self._size
        for film in films:
            out._add(film, copy_lists=True)
        return out

    def __len__(self) -> int:
        return self._size

    def match(self, entry: ProfileFilm) -> Film | None:
        """Return the catalog film for an entry: ids first, then title with the exact year, then year +-1."""
        return self.match_with_reason(entry)[0]

    def match_with_reason(self, entry: ProfileFilm, keys: TitleKeys | None = None) -> tuple[Film | None, str | None]:
        """Return (film, None) for a match, else (None, the most likely reason it did not match)."""
        if entry.tmdb_id is not None and entry.tmdb_id in self._by_tmdb:
            return self._by_tmdb[entry.tmdb_id], None
        if entry.imdb_id and entry.imdb_id in self._by_imdb:
            return self._by_imdb[entry.imdb_id], None
        keys = keys or TitleKeys()
        strong = _films_for(self._by_title, keys.strong(entry.title))
        film, reason = _pick(strong, entry.year)
        if film is not None or entry.year is None:
            return film, reason if strong else NOT_IN_CATALOG
        weak = _films_for(self._by_variant, keys.all(entry.title))
        film, weak_reason = _pick(weak, entry.year)
        if film is not None:
            return film, None
        if strong:
            return None, reason
        return None, weak_reason if weak else NOT_IN_CATALOG


def _films_for(table: dict[str, list[Film]], keys: Iterable[str]) -> list[Film]:
    """Return the films under any of these keys, each once, in index order."""
    seen: dict[int, Film] = {}
    for key in sorted(keys):
        for film in table.get(key, ()):
            seen.setdefault(id(film), film)
    return list(seen.values())


def _pick(candidates: Sequence[Film], year: int | None) -> tuple[Film | None, str | None]:
    """Choose among same-title films: the exact year, then year +-1, else say why none fits."""
    if not candidates:
        return None, NOT_IN_CATALOG
    if year is None:
        return _most_rated(candidates), None
    exact = [film for film in candidates if film.year == year]
    if exact:
        return _most_rated(exact), None
    near = [film for film in candidates if film.year is not None and abs(film.year - year) <= YEAR_TOLERANCE]
    if near:
        return _most_rated(near), None
    undated = [film for film in candidates if film.year is None]
    if len(undated) == 1:
        return undated[0], None
    return None, AMBIGUOUS if len(undated) > 1 else YEAR_DIFFERS


def _most_rated(films: Sequence[Film]) -> Film:
    """Pick the film with the most corpus ratings, then the lowest id."""
    return min(films, key=lambda film: (-film.corpus_count, film.film_id))


def match_profile(profile: Profile, index: CatalogIndex, keys: TitleKeys | None = None) -> list[MatchedFilm]:
    """Match every film of a profile, keeping the profile's order; unmatched ones carry a reason.

    Pass the run's `TitleKeys` to reuse the keys worked out here in `exclude_seen`.
    """
    keys = keys or TitleKeys()
    out = []
    for entry in profile.films:
        film, reason = index.match_with_reason(entry, keys)
        out.append(MatchedFilm(entry=entry, film=film, reason=reason))
    return out


Pick = TypeVar("Pick")


def exclude_seen(picks: Iterable[Pick], entries: Iterable[ProfileFilm], keys: TitleKeys | None = None) -> list[Pick]:
    """Drop every pick that shares a title key and a year (+-1) with a film the member has seen.

    picks are Films or objects with a `.film` (ScoredFilm); entries are the member's
    own films, matched to the catalog or not. Watchlist-only entries are not seen.
    A seen entry without a year excludes every pick with one of its strong title keys.
    """
    keys_of = keys or TitleKeys()
    dated: dict[str, list[int]] = {}
    undated: set[str] = set()
    for entry in entries:
        if not (entry.watched or entry.rating is not None or entry.liked or entry.rewatch):
            continue
        if entry.year is None:
            undated |= keys_of.strong(entry.title)
            continue
        for key in keys_of.all(entry.title):
            dated.setdefault(key, []).append(entry.year)
    kept = []
    for pick in picks:
        film: Film = getattr(pick, "film", pick)
        names = film_titles(film)
        every = set().union(*(keys_of.all(name) for name in names)) if names else set()
        strong = set().union(*(keys_of.strong(name) for name in names)) if names else set()
        if strong & undated:
            continue
        if film.year is not None and any(
                abs(film.year - year) <= YEAR_TOLERANCE for key in every for year in dated.get(key, ())):
            continue
        if film.year is None and any(key in dated for key in strong):
            continue
        kept.append(pick)
    return kept
