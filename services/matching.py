"""Match a member's logged films to catalog films: by TMDB id, IMDb id, then title and year.

A film is known by several names: its title, its original title, the other names
the catalog sources give (alt_titles), and a franchise title's own part ("Star Wars:
Episode V - The Empire Strikes Back" is also "The Empire Strikes Back"). Each name
gives keys that spell it two ways: as written (`normalise_title`) and in one canonical
spelling of the words titles write differently ("Part II", "2"; "Two", "2"; "Colour", "Color";
"Vol. 1", "Volume 1"; "Terræ", "Terrae"; "et", "and"). A name found among a film's own
titles beats one found among its other names.

When no name matches, weaker tries: one title is the other without its subtitle
("Birdman" is "Birdman or (The Unexpected Virtue of Ignorance)") or the other's subtitle
alone ("The End of Evangelion" is "Neon Genesis Evangelion: The End of Evangelion"),
where a member's title cut down counts against a film's own titles only, and two titles
both cut down never match ("Black Mirror: Hang the DJ" is not "Black Mirror:
Bandersnatch"); or the same letters, spaces aside ("Blow-Up", "Blowup"). Title matches
always need the year within one.
"""
from __future__ import annotations

import re
import sys
import threading
import unicodedata
from functools import lru_cache
from typing import Callable, Collection, Iterable, Sequence, TypeVar

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
_JOINED = re.compile(r"\w[-/.\u2010\u2011\u2044]\w")  # words joined by a hyphen, a slash or a dot
_PART_MARKS = re.compile("[:(\\-\u2013\u2014]")  # a title without these has no main title or subtitle
# ASCII titles are normalised on bytes: these go, and every other byte that is not a letter
# or digit becomes a space (what `_DROPPED` and `_SEPARATORS` do to ASCII text).
_ASCII_DROPPED = b"'`."
_ASCII_SEPARATORS = bytes(c if chr(c).isalnum() else 32 for c in range(128)) + bytes(range(128, 256))

# Words film titles spell two ways, each read as one: British and American spellings, a few
# abbreviations, and "and" in the languages whose titles Letterboxd often translates.
_SPELLINGS = {
    "colour": "color", "colours": "colors", "centre": "center", "theatre": "theater", "traveller": "traveler",
    "travellers": "travelers", "manoeuvre": "maneuver", "manoeuvres": "maneuvers", "honour": "honor",
    "favourite": "favorite", "armour": "armor", "harbour": "harbor", "labour": "labor", "neighbour": "neighbor",
    "neighbours": "neighbors", "rumour": "rumor", "behaviour": "behavior", "defence": "defense",
    "programme": "program", "grey": "gray", "jewellery": "jewelry", "versus": "vs", "volume": "vol",
    "pt": "part", "doctor": "dr", "mister": "mr", "saint": "st",
}
_AND = frozenset(("et", "und", "y", "e", "og", "och"))  # only between two words
# Numbers spelt out ("Marie-Jo and Her Two Lovers", "Marie-Jo and Her 2 Lovers"); not "one", a pronoun as often.
_NUMBER_WORDS = {"two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
                 "nine": "9", "ten": "10", "eleven": "11", "twelve": "12"}
_ROMAN = {"ii": "2", "iii": "3", "iv": "4", "vi": "6", "vii": "7", "viii": "8", "ix": "9", "xi": "11", "xii": "12",
          "xiii": "13", "xiv": "14", "xv": "15", "xvi": "16", "xvii": "17", "xviii": "18", "xix": "19", "xx": "20"}
_SHORT_ROMAN = {"i": "1", "v": "5", "x": "10"}  # numbers only after a word that numbers parts, or last
_NUMBERING = frozenset(("part", "chapter", "episode", "vol", "book", "act"))
_LETTERS = str.maketrans({"\u00e6": "ae", "\u0153": "oe", "\u00f8": "o", "\u0111": "d", "\u00f0": "d",
                          "\u0142": "l", "\u00fe": "th", "\u0131": "i"})
_RESPELT = re.compile(r"(?:^| )(?:%s)(?= |$)" % "|".join(
    sorted({*_SPELLINGS, *_AND, *_ROMAN, *_SHORT_ROMAN, *_NUMBER_WORDS, "part"}, key=len, reverse=True)))
_LETTERS_FOUND = re.compile("[\u00e6\u0153\u00f8\u0111\u00f0\u0142\u00fe\u0131]")
_CANONICAL_CACHE_SIZE = 200_000  # every name of a large catalog once
MIN_COMPACT_KEY = 5  # letters; shorter titles written without spaces meet too many others
MIN_SUBTITLE_WORDS = 2

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


@lru_cache(maxsize=_CANONICAL_CACHE_SIZE)
def canonical_key(key: str) -> str:
    """Return a normalised title key in one spelling of its words ("part ii" and "2", "colour" and "color")."""
    if _RESPELT.search(key) is None and (key.isascii() or not _LETTERS_FOUND.search(key)):
        return key  # most titles have no word to respell: one regex search says so
    return _canonical_words(key)


def _canonical_words(key: str) -> str:
    text = key if key.isascii() else key.translate(_LETTERS)
    words = text.split()
    out: list[str] = []
    for i, word in enumerate(words):
        word = _NUMBER_WORDS.get(word) or _SPELLINGS.get(word, word)
        if word in _ROMAN:
            word = _ROMAN[word]
        elif word in _SHORT_ROMAN and out and (out[-1] in _NUMBERING or i == len(words) - 1):
            word = _SHORT_ROMAN[word]  # "Part I", or a last word: "Henry V", "Ponniyin Selvan: I"
        elif word in _AND and 0 < i < len(words) - 1:
            word = "and"
        out.append(word)
    # "Part 2" is "2": the word that numbers a part goes when a number follows it.
    return " ".join(word for i, word in enumerate(out)
                    if not (word == "part" and i + 1 < len(out) and out[i + 1].isdigit()))


def _spellings(key: str) -> set[str]:
    """A key and its canonical spelling."""
    return {key, canonical_key(key)}


def title_keys(title: str | None) -> set[str]:
    """Return a title's strong matching keys: the title and, for franchise episodes, the episode's own name."""
    return _title_keys(title, normalise_title)


def _title_keys(title: str | None, normalise: Callable[[str], str]) -> set[str]:
    if not title:
        return set()
    keys = _spellings(normalise(title))
    part = _episode_part(title)
    if part is not None:
        keys |= _spellings(normalise(part))
    return keys


def main_title_keys(title: str | None) -> set[str]:
    """Return the keys of a title without its subtitle, when it has one ("Birdman or (...)" -> "birdman")."""
    return _main_title_keys(title, normalise_title)


def _main_title_keys(title: str | None, normalise: Callable[[str], str]) -> set[str]:
    if not title:
        return set()
    main = _main_title(title)
    if not main or main == title.strip():
        return set()
    key = normalise(main)
    return _spellings(key) if len(key) >= 3 else set()


def subtitle_keys(title: str | None) -> set[str]:
    """Return the keys of a title's subtitle after ":" or a spaced dash, when it names a film on its own.

    "Neon Genesis Evangelion: The End of Evangelion" is also "The End of Evangelion"; a subtitle
    of one word ("Origins", "Redux") is too common to name one film.
    """
    return _subtitle_keys(title, normalise_title)


def _subtitle_keys(title: str | None, normalise: Callable[[str], str]) -> set[str]:
    if not title:
        return set()
    cut = title.find(":")
    for dash in _DASHES:
        at = title.find(f" {dash} ")
        if at >= 0 and (cut < 0 or at < cut):
            cut = at + 2
    if cut < 0:
        return set()
    key = normalise(title[cut + 1:])
    return _spellings(key) if key.count(" ") >= MIN_SUBTITLE_WORDS - 1 else set()


def title_variants(title: str | None) -> set[str]:
    """Return every matching key of a title: the strong keys plus the main title without its subtitle."""
    return title_keys(title) | main_title_keys(title)


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
    """Each title's keys of every kind, worked out once however often they are asked for.

    One run reads its member's films (keyed by their normalised titles), matches them and then
    guards its picks against the same titles: one of these, shared by all three, spares every
    title its second working out. It lives as long as the run (it holds the keys of one
    member's titles, nothing else).
    """

    def __init__(self) -> None:
        self._normalised: dict[str, str] = {}
        self._strong: dict[str, frozenset[str]] = {}
        self._parts: dict[str, frozenset[str]] = {}
        self._compact: dict[str, frozenset[str]] = {}

    def normalised(self, title: str) -> str:
        """`normalise_title(title)`, remembered."""
        key = self._normalised.get(title)
        if key is None:
            key = self._normalised[title] = normalise_title(title)
        return key

    def strong(self, title: str | None) -> frozenset[str]:
        """`title_keys(title)`, remembered."""
        title = title or ""
        keys = self._strong.get(title)
        if keys is None:
            keys = self._strong[title] = frozenset(_title_keys(title, self.normalised))
        return keys

    def parts(self, title: str | None) -> frozenset[str]:
        """The keys of the title without its subtitle and of its subtitle alone, remembered."""
        title = title or ""
        keys = self._parts.get(title)
        if keys is None:
            keys = self._parts[title] = frozenset(
                main_title_keys(title) | subtitle_keys(title) if _PART_MARKS.search(title) else ())
        return keys

    def compact(self, title: str | None) -> frozenset[str]:
        """The title's letters and digits without spaces ("Blow-Up", "Blowup"), when there are enough; remembered."""
        title = title or ""
        keys = self._compact.get(title)
        if keys is None:
            keys = self._compact[title] = frozenset(_compact(self.strong(title)))
        return keys


def _compact(keys: Iterable[str]) -> set[str]:
    return {compact for compact in (key.replace(" ", "") for key in keys) if len(compact) >= MIN_COMPACT_KEY}


def film_titles(film: Film) -> tuple[str, ...]:
    """Return every name a catalog film is known by."""
    names = [film.title, film.original_title, *getattr(film, "alt_titles", ())]
    return tuple(dict.fromkeys(name for name in names if name))


class CatalogIndex:
    """Lookup tables over catalog films for matching profile entries.

    Four title tables: the strong keys of a film's own titles (title and original title), of
    its other names, the keys of every name's parts (without its subtitle, its subtitle alone),
    and the letters of names whose words are joined by a hyphen, slash or dot.
    """

    _TABLES = ("_by_title", "_by_alt", "_by_part", "_by_compact")

    def __init__(self, films: Iterable[Film]) -> None:
        self._by_tmdb: dict[int, Film] = {}
        self._by_imdb: dict[str, Film] = {}
        self._by_title: dict[str, list[Film]] = {}
        self._by_alt: dict[str, list[Film]] = {}
        self._by_part: dict[str, list[Film]] = {}
        self._by_compact: dict[str, list[Film]] = {}
        self._size = 0
        for film in films:
            self._add(film, copy_lists=False)

    def _add(self, film: Film, copy_lists: bool) -> None:
        self._size += 1
        if film.tmdb_id is not None and (film.media_type == "movie" or film.tmdb_id not in self._by_tmdb):
            self._by_tmdb[film.tmdb_id] = film
        if film.imdb_id:
            self._by_imdb[film.imdb_id] = film
        own: set[str] = set()
        other: set[str] = set()
        parts: set[str] = set()
        joined = False
        # A catalog's names are worked out once each: the shared title-key cache is left to members' titles.
        for position, name in enumerate(film_titles(film)):
            (own if position == 0 or name == film.original_title else other).update(_title_keys(name, _normalise))
            if _PART_MARKS.search(name):
                parts |= _main_title_keys(name, _normalise) | _subtitle_keys(name, _normalise)
            # Letters alone: a member's "Blow-Up" is found under the strong key "blowup", so only names
            # with words joined by a hyphen, slash or dot ("The Hour-Glass Sanatorium") need their own table.
            joined = joined or _JOINED.search(name) is not None
        other -= own
        for table, keys in ((self._by_title, own), (self._by_alt, other), (self._by_part, parts),
                            (self._by_compact, _compact(own | other) if joined else ())):
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
        for name in self._TABLES:
            setattr(out, name, dict(getattr(self, name)))
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
        strong = keys.strong(entry.title)
        own = _films_for(self._by_title, strong)
        if own:  # one of a film's own titles, with the very year or none asked, beats every other name
            exact = own if entry.year is None else [film for film in own if film.year == entry.year]
            if exact:
                return _most_rated(exact), None
        other = _films_for(self._by_alt, strong)
        film, reason = _pick(own, other, entry.year)
        if film is not None or entry.year is None:
            return film, reason if own or other else NOT_IN_CATALOG
        # Weaker: one title is the other without its subtitle (the member's may be cut down to a film's
        # own title only), or both have the same letters.
        compact = keys.compact(entry.title)
        weak = (_films_for(self._by_part, strong) + _films_for(self._by_title, keys.parts(entry.title))
                + _films_for(self._by_compact, compact) + _films_for(self._by_title, compact - strong)
                + _films_for(self._by_alt, compact - strong))
        film, weak_reason = _pick(weak, (), entry.year)
        if film is not None:
            return film, None
        if own or other:
            return None, reason
        return None, weak_reason if weak else NOT_IN_CATALOG


def _films_for(table: dict[str, list[Film]], keys: Collection[str]) -> list[Film]:
    """Return the films under any of these keys, each once, in index order."""
    if len(keys) == 1:  # most titles have one key, and most keys one film
        films = table.get(next(iter(keys)))
        if not films:
            return []
        if len(films) == 1:
            return [films[0]]
        return list({id(film): film for film in films}.values())
    seen: dict[int, Film] = {}
    for key in sorted(keys):
        for film in table.get(key, ()):
            seen.setdefault(id(film), film)
    return list(seen.values())


def _pick(own: Sequence[Film], other: Sequence[Film], year: int | None) -> tuple[Film | None, str | None]:
    """Choose among same-title films: the exact year, then year +-1, else say why none fits.

    Films found by one of their own titles come before films found by another name in each step.
    """
    if not own and not other:
        return None, NOT_IN_CATALOG
    if year is None:
        return _most_rated(own or other), None
    for near in (0, YEAR_TOLERANCE):
        for group in (own, other):
            if not group:
                continue
            fit = [film for film in group if film.year is not None and abs(film.year - year) <= near]
            if fit:
                return _most_rated(fit), None
    undated = {id(film): film for film in (*own, *other) if film.year is None}
    if len(undated) == 1:
        return next(iter(undated.values())), None
    return None, AMBIGUOUS if len(undated) > 1 else YEAR_DIFFERS


def _most_rated(films: Sequence[Film]) -> Film:
    """Pick the film with the most corpus ratings, then the lowest id."""
    if len(films) == 1:
        return films[0]
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
    """Drop every pick that is, by any of its names and a year within one, a film the member has seen.

    picks are Films or objects with a `.film` (ScoredFilm); entries are the member's
    own films, matched to the catalog or not. Watchlist-only entries are not seen.
    A pick is a seen film when one of its names shares a strong key with the member's
    title, or one of them is a part of the other (without its subtitle, or its subtitle
    alone), or their letters agree, as matching reads them. A seen entry without a year
    excludes every pick with one of its strong title keys.
    """
    keys_of = keys or TitleKeys()
    picks = list(picks)
    films: list[Film] = [getattr(pick, "film", pick) for pick in picks]
    # The picks' keys, each to the picks that have it: the member's entries, far more, are looked up
    # in these, so an entry's keys beyond its strong ones are worked out only when its title has parts.
    by_strong: dict[str, list[int]] = {}  # every pick
    by_part: dict[str, list[int]] = {}  # picks with a year
    by_compact: dict[str, list[int]] = {}  # picks with a year
    for at, film in enumerate(films):
        for name in film_titles(film):
            for key in keys_of.strong(name):
                by_strong.setdefault(key, []).append(at)
            if film.year is not None:  # parts and letters only ever count within a year
                for table, found in ((by_part, keys_of.parts(name)), (by_compact, keys_of.compact(name))):
                    for key in found:
                        table.setdefault(key, []).append(at)
    seen = [False] * len(picks)

    def near(at: int, year: int) -> bool:
        """Whether pick `at` has a year within one of this one."""
        return films[at].year is not None and abs(films[at].year - year) <= YEAR_TOLERANCE

    strong_of, has_parts = keys_of.strong, _PART_MARKS.search
    for entry in entries:
        if not (entry.watched or entry.rating is not None or entry.liked or entry.rewatch):
            continue
        strong = strong_of(entry.title)
        year = entry.year
        if year is None:  # every pick with one of its strong keys, whatever the pick's year
            for key in strong:
                for at in by_strong.get(key, ()):
                    seen[at] = True
            continue
        for key in strong:
            for at in by_strong.get(key, ()):
                if films[at].year is None or near(at, year):  # a pick without a year: any year logged
                    seen[at] = True
            for at in by_part.get(key, ()):
                if near(at, year):
                    seen[at] = True
            for at in by_compact.get(key.replace(" ", ""), ()):  # the entry's letters (the table's are long enough)
                if near(at, year):
                    seen[at] = True
        if has_parts(entry.title or ""):  # only a title with a ":", "(" or dash has parts
            for key in keys_of.parts(entry.title):
                for at in by_strong.get(key, ()):
                    if near(at, year):
                        seen[at] = True
    return [pick for pick, is_seen in zip(picks, seen) if not is_seen]
