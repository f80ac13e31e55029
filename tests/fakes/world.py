"""The fake upstreams' shared world: films, members and where films stream, generated deterministically.

A few dozen real films (titles, years, directors and ids as on TMDB/IMDb), a film
whose title is an XSS probe, a film TMDB files a year later than Letterboxd, a film
only Letterboxd knows, and synthetic films for load tests.
"""
from __future__ import annotations

import random
import re
import threading
import unicodedata
from dataclasses import dataclass, field

GENRE_IDS = {
    "Action": 28, "Adventure": 12, "Animation": 16, "Comedy": 35, "Crime": 80, "Documentary": 99,
    "Drama": 18, "Family": 10751, "Fantasy": 14, "History": 36, "Horror": 27, "Music": 10402,
    "Mystery": 9648, "Romance": 10749, "Science Fiction": 878, "TV Movie": 10770, "Thriller": 53,
    "War": 10752, "Western": 37,
}
COUNTRY_NAMES = {"US": "United States of America", "GB": "United Kingdom", "JP": "Japan", "KR": "South Korea",
                 "FR": "France", "DE": "Germany", "SE": "Sweden", "SU": "Soviet Union", "AU": "Australia",
                 "PL": "Poland"}
XSS_TITLE = "<img src=x onerror=alert(1)>"

# title, year, imdb, tmdb, directors, genres, runtime, language, countries, original title
REAL_FILMS = [
    ("Fight Club", 1999, "tt0137523", 550, ("David Fincher",), ("Drama",), 139, "en", ("US",), None),
    ("Inception", 2010, "tt1375666", 27205, ("Christopher Nolan",), ("Action", "Science Fiction", "Adventure"),
     148, "en", ("US", "GB"), None),
    ("The Matrix", 1999, "tt0133093", 603, ("Lana Wachowski", "Lilly Wachowski"), ("Action", "Science Fiction"),
     136, "en", ("US",), None),
    ("Spirited Away", 2001, "tt0245429", 129, ("Hayao Miyazaki",), ("Animation", "Family", "Fantasy"), 125, "ja",
     ("JP",), "千と千尋の神隠し"),
    ("Alien", 1979, "tt0078748", 348, ("Ridley Scott",), ("Horror", "Science Fiction"), 117, "en", ("GB", "US"), None),
    ("Blade Runner", 1982, "tt0083658", 78, ("Ridley Scott",), ("Science Fiction", "Drama", "Thriller"), 117, "en",
     ("US",), None),
    ("Pulp Fiction", 1994, "tt0110912", 680, ("Quentin Tarantino",), ("Thriller", "Crime"), 154, "en", ("US",), None),
    ("Drive", 2011, "tt0780504", 64690, ("Nicolas Winding Refn",), ("Drama", "Thriller", "Crime"), 100, "en",
     ("US",), None),
    ("The Social Network", 2010, "tt1285016", 37799, ("David Fincher",), ("Drama",), 121, "en", ("US",), None),
    ("Oldboy", 2003, "tt0364569", 670, ("Park Chan-wook",), ("Drama", "Thriller", "Mystery"), 120, "ko", ("KR",),
     "올드보이"),
    ("Seven Samurai", 1954, "tt0047478", 346, ("Akira Kurosawa",), ("Action", "Drama"), 207, "ja", ("JP",), "七人の侍"),
    ("Tokyo Story", 1953, "tt0046438", 18148, ("Yasujirō Ozu",), ("Drama",), 136, "ja", ("JP",), "東京物語"),
    ("Stalker", 1979, "tt0079944", 1398, ("Andrei Tarkovsky",), ("Science Fiction", "Drama"), 162, "ru", ("SU",),
     "Сталкер"),
    ("Persona", 1966, "tt0060827", 797, ("Ingmar Bergman",), ("Drama",), 83, "sv", ("SE",), None),
    ("2001: A Space Odyssey", 1968, "tt0062622", 62, ("Stanley Kubrick",), ("Science Fiction", "Mystery", "Adventure"),
     149, "en", ("GB", "US"), None),
    ("Jaws", 1975, "tt0073195", 578, ("Steven Spielberg",), ("Horror", "Thriller", "Adventure"), 124, "en", ("US",),
     None),
    ("Psycho", 1960, "tt0054215", 539, ("Alfred Hitchcock",), ("Horror", "Thriller"), 109, "en", ("US",), None),
    ("Vertigo", 1958, "tt0052357", 426, ("Alfred Hitchcock",), ("Mystery", "Romance", "Thriller"), 128, "en", ("US",),
     None),
    ("Casablanca", 1942, "tt0034583", 289, ("Michael Curtiz",), ("Drama", "Romance"), 102, "en", ("US",), None),
    ("Amélie", 2001, "tt0211915", 194, ("Jean-Pierre Jeunet",), ("Comedy", "Romance"), 122, "fr", ("FR",),
     "Le Fabuleux Destin d'Amélie Poulain"),
    ("Memento", 2000, "tt0209144", 77, ("Christopher Nolan",), ("Mystery", "Thriller"), 113, "en", ("US",), None),
    ("Zodiac", 2007, "tt0443706", 1949, ("David Fincher",), ("Crime", "Drama", "Mystery", "Thriller"), 157, "en",
     ("US",), None),
    ("Gravity", 2013, "tt1454468", 49047, ("Alfonso Cuarón",), ("Science Fiction", "Thriller", "Drama"), 91, "en",
     ("GB", "US"), None),
    ("Up", 2009, "tt1049413", 14160, ("Pete Docter",), ("Animation", "Comedy", "Family", "Adventure"), 96, "en",
     ("US",), None),
    ("WALL·E", 2008, "tt0910970", 10681, ("Andrew Stanton",), ("Animation", "Family", "Science Fiction"), 98, "en",
     ("US",), None),
    ("Ratatouille", 2007, "tt0382932", 2062, ("Brad Bird",), ("Animation", "Comedy", "Family", "Fantasy"), 111, "en",
     ("US",), None),
    ("Arrival", 2016, "tt2543164", 329865, ("Denis Villeneuve",), ("Drama", "Science Fiction", "Mystery"), 116, "en",
     ("US",), None),
    ("Parasite", 2019, "tt6751668", 496243, ("Bong Joon Ho",), ("Comedy", "Thriller", "Drama"), 133, "ko", ("KR",),
     "기생충"),
    ("Mad Max: Fury Road", 2015, "tt1392190", 76341, ("George Miller",), ("Action", "Adventure", "Science Fiction"),
     121, "en", ("AU", "US"), None),
    ("Moonlight", 2016, "tt4975722", 376867, ("Barry Jenkins",), ("Drama",), 111, "en", ("US",), None),
    ("Her", 2013, "tt1798709", 152601, ("Spike Jonze",), ("Romance", "Science Fiction", "Drama"), 126, "en", ("US",),
     None),
    ("Get Out", 2017, "tt5052448", 419430, ("Jordan Peele",), ("Mystery", "Thriller", "Horror"), 104, "en", ("US",),
     None),
    ("Whiplash", 2014, "tt2582802", 244786, ("Damien Chazelle",), ("Drama", "Music"), 107, "en", ("US",), None),
    ("Interstellar", 2014, "tt0816692", 157336, ("Christopher Nolan",), ("Adventure", "Drama", "Science Fiction"),
     169, "en", ("US", "GB"), None),
    ("Portrait of a Lady on Fire", 2019, "tt8613070", 531428, ("Céline Sciamma",), ("Drama", "Romance"), 122, "fr",
     ("FR",), "Portrait de la jeune fille en feu"),
    ("Lady Bird", 2017, "tt4925292", 391713, ("Greta Gerwig",), ("Comedy", "Drama"), 94, "en", ("US",), None),
    ("Paddington 2", 2017, "tt4468740", 346648, ("Paul King",), ("Adventure", "Comedy", "Family"), 104, "en",
     ("GB", "FR"), None),
    ("The Grand Budapest Hotel", 2014, "tt2278388", 120467, ("Wes Anderson",), ("Comedy", "Drama"), 100, "en",
     ("DE", "US"), None),
    ("La La Land", 2016, "tt3783958", 313369, ("Damien Chazelle",), ("Comedy", "Drama", "Romance", "Music"), 129,
     "en", ("US",), None),
    ("Ex Machina", 2015, "tt0470752", 264660, ("Alex Garland",), ("Drama", "Science Fiction"), 108, "en", ("GB",),
     None),
    ("The Zone of Interest", 2023, "tt7160372", 467244, ("Jonathan Glazer",), ("Drama", "History", "War"), 105, "de",
     ("GB", "PL", "US"), None),
]

FIRST_NAMES = ("Ava", "Ben", "Cleo", "Dev", "Esme", "Finn", "Gia", "Hugo", "Iris", "Jude", "Kai", "Lena")
LAST_NAMES = ("Stone", "Okafor", "Lindqvist", "Moreau", "Tanaka", "Reyes", "Novak", "Byrne", "Khan", "Weiss")
SLUG_STRIP = re.compile(r"[^a-z0-9]+")


def slugify(title: str) -> str:
    """Make a Letterboxd-style slug from a title."""
    text = unicodedata.normalize("NFKD", title)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return SLUG_STRIP.sub("-", text).strip("-") or "film"


def fold_title(text: str) -> str:
    """A title as the fakes search it: accents, punctuation and case folded away."""
    text = unicodedata.normalize("NFKD", text)
    return " ".join(re.sub(r"[^\w\s]", " ", "".join(c for c in text if not unicodedata.combining(c)).lower()).split())


@dataclass(frozen=True)
class FakeFilm:
    """A film as every fake upstream knows it."""

    key: int
    title: str
    year: int
    slug: str
    lb_id: int
    tmdb_id: int | None
    imdb_id: str | None
    directors: tuple[str, ...]
    genres: tuple[str, ...]
    runtime: int
    language: str
    countries: tuple[str, ...]
    original_title: str | None = None
    tmdb_year: int | None = None  # TMDB's release year when it differs from Letterboxd's

    @property
    def release_year(self) -> int:
        return self.tmdb_year or self.year

    @property
    def name(self) -> str:
        return f"{self.title} ({self.year})"


@dataclass(frozen=True)
class Logged:
    """One film on a member's profile."""

    key: int
    rating: float | None  # stars
    liked: bool = False
    watched_date: str | None = None
    rewatch: bool = False


@dataclass
class FakeMember:
    """A member: films (most recent first), likes, watchlist and the diary the RSS shows."""

    username: str
    display_name: str
    films: list[Logged] = field(default_factory=list)
    likes: list[int] = field(default_factory=list)
    watchlist: list[int] = field(default_factory=list)
    diary: list[Logged] = field(default_factory=list)


class World:
    """Films and members shared by the fake Letterboxd, TMDB and JustWatch."""

    def __init__(self, films: list[FakeFilm], members: dict[str, FakeMember], popular: list[str]) -> None:
        self.films = films
        self.members = members
        self.popular = popular
        self.by_slug = {f.slug: f for f in films}
        self.by_tmdb = {f.tmdb_id: f for f in films if f.tmdb_id}
        self.by_imdb = {f.imdb_id: f for f in films if f.imdb_id}
        self._catalog: dict[int, FakeFilm] | None = None
        self._catalog_titles: dict[str, list[FakeFilm]] | None = None
        # The fake servers answer on many threads: the catalog is built once, by the first that needs it.
        self._catalog_lock = threading.Lock()
        self._folded: list[tuple[str, FakeFilm]] | None = None

    def titled_like(self, folded: str) -> list[FakeFilm]:
        """The world's films whose folded title contains `folded` (titles are folded once, not per search)."""
        if self._folded is None:
            self._folded = [(fold_title(f.title), f) for f in self.films]
        return [f for title, f in self._folded if folded in title] if folded else []

    def _embedded_catalog(self) -> dict[int, FakeFilm]:
        if self._catalog is None:
            with self._catalog_lock:
                if self._catalog is None:
                    self._catalog = _catalog_films()
        return self._catalog

    def tmdb_film(self, tmdb_id: int) -> FakeFilm | None:
        """A film TMDB knows: the world's own, else any film of the embedded catalog (as the real TMDB would)."""
        film = self.by_tmdb.get(tmdb_id)
        if film is not None:
            return film
        return self._embedded_catalog().get(tmdb_id)

    def catalog_titled(self, folded_title: str) -> list[FakeFilm]:
        """Catalog films whose folded title is this one (TMDB's search finds every film, not only the world's)."""
        if self._catalog_titles is None:
            catalog = self._embedded_catalog()
            with self._catalog_lock:
                if self._catalog_titles is None:
                    titles: dict[str, list[FakeFilm]] = {}
                    for film in catalog.values():
                        titles.setdefault(fold_title(film.title), []).append(film)
                    self._catalog_titles = titles
        return self._catalog_titles.get(folded_title, [])

    @property
    def base_films(self) -> list[FakeFilm]:
        return [f for f in self.films if f.key < BASE_FILM_COUNT]

    def cast(self, film: FakeFilm) -> list[str]:
        n = len(FIRST_NAMES)
        return [f"{FIRST_NAMES[(film.key + i) % n]} {LAST_NAMES[(film.key * 3 + i) % len(LAST_NAMES)]}"
                for i in range(6)]

    def related(self, film: FakeFilm, kind: str) -> list[FakeFilm]:
        """TMDB recommendations or similar films: neighbours in the base set, plus the XSS probe."""
        base = [f for f in self.base_films if f.tmdb_id and f.key != film.key]
        if not base:
            return []
        step = 1 if kind == "recommendations" else 5
        picks = [base[(film.key + step * (i + 1)) % len(base)] for i in range(6)]
        xss = self.by_slug.get(slugify("img src x onerror alert 1"))
        if xss is not None and xss not in picks and xss.key != film.key and kind == "recommendations":
            picks.insert(1, xss)
        seen, out = set(), []
        for f in picks:
            if f.key not in seen:
                seen.add(f.key)
                out.append(f)
        return out

    def providers(self, film: FakeFilm, country: str) -> dict | None:
        """TMDB's watch/providers block for one film and country (None: TMDB has nothing there)."""
        k = film.key
        link = f"https://www.themoviedb.org/movie/{film.tmdb_id}-{film.slug}/watch?locale={country}"

        def p(name: str, pid: int) -> dict:
            return {"logo_path": f"/logo{pid}.jpg", "provider_id": pid, "provider_name": name, "display_priority": pid}

        if country == "US":
            flat = [p("Netflix", 8), p("Amazon Prime Video", 9), p("Max", 1899)][k % 3]
            block = {"link": link, "flatrate": [flat], "rent": [p("Apple TV", 2), p("Amazon Video", 10)],
                     "buy": [p("Apple TV", 2)]}
            if k % 3 == 0:
                block["ads"] = [p("Netflix basic with Ads", 1796)]
            return block
        if country == "GB":
            block = {"link": link, "rent": [p("Amazon Video", 10)]}
            block["flatrate"] = [p("Netflix", 8)] if k % 2 == 0 else [p("Disney Plus", 337)]
            if k % 5 == 0:
                block["free"] = [p("BBC iPlayer", 38)]
            return block
        if country in ("DE", "AT"):
            return {"link": link, "flatrate": [p("Amazon Prime Video with Ads", 2100) if k % 2 else
                                               p("MUBI Amazon Channel", 201)], "rent": [p("Apple TV", 2)]}
        if country in ("FR", "CA", "AU", "ES", "IT", "NL", "BR", "MX", "IN"):
            return {"link": link, "flatrate": [p("Netflix Standard with Ads", 1796) if k % 2 else p("Netflix", 8)]}
        return None

    def justwatch_offers(self, film: FakeFilm, country: str) -> list[tuple[str, str, str]]:
        """JustWatch offers (monetisation type, clear name, short name); JP is JustWatch-only."""
        if country == "JP":
            return [("FLATRATE", "U-NEXT", "unx"), ("FLATRATE", "Amazon Prime Video", "amp"), ("RENT", "Apple TV", "itu")]
        block = self.providers(film, country)
        if block is None:
            return []
        kinds = {"flatrate": "FLATRATE", "free": "FREE", "ads": "ADS", "rent": "RENT", "buy": "BUY"}
        return [(kinds[kind], prov["provider_name"], prov["provider_name"][:3].lower())
                for kind in kinds for prov in block.get(kind) or []]


BASE_FILM_COUNT = len(REAL_FILMS) + 3


def _base_films() -> list[FakeFilm]:
    films = []
    used_slugs: set[str] = set()
    for i, (title, year, imdb, tmdb, directors, genres, runtime, lang, countries, original) in enumerate(REAL_FILMS):
        slug = slugify(title)
        if slug in used_slugs or title in ("Drive", "Her", "Up", "Psycho"):
            slug = f"{slug}-{year}"
        used_slugs.add(slug)
        films.append(FakeFilm(i, title, year, slug, 10000 + 37 * i, tmdb, imdb, directors, genres, runtime, lang,
                              countries, original))
    n = len(films)
    films.append(FakeFilm(n, XSS_TITLE, 2021, slugify("img src x onerror alert 1"), 10000 + 37 * n, 990001, None,
                          ("<script>alert(2)</script>",), ("Thriller",), 90, "en", ("US",)))
    films.append(FakeFilm(n + 1, "The Premiere Year", 2019, "the-premiere-year", 10000 + 37 * (n + 1), 990002,
                          "tt9900002", ("Ines Vale",), ("Drama",), 101, "pt", ("FR",), tmdb_year=2020))
    films.append(FakeFilm(n + 2, "Basement Tapes Vol. 3", 2020, "basement-tapes-vol-3", 10000 + 37 * (n + 2), None,
                          None, ("Nobody Known",), ("Documentary",), 44, "en", ("US",)))
    return films


def _synthetic_films(start: int, count: int) -> list[FakeFilm]:
    genres = list(GENRE_IDS)
    films = []
    for j in range(count):
        key = start + j
        title = f"Synthetic Film {j + 1:04d}"
        films.append(FakeFilm(key, title, 1950 + j % 75, slugify(title), 500000 + j, 2_000_000 + j,
                              f"tt9{j:07d}", (f"{FIRST_NAMES[j % 12]} {LAST_NAMES[j % 10]}",),
                              (genres[j % len(genres)], genres[(j * 7) % len(genres)]), 80 + j % 70, "en", ("US",)))
    return films


def _logged(rng: random.Random, key: int, day: int) -> Logged:
    rating = None if rng.random() < 0.15 else rng.randint(1, 10) / 2
    return Logged(key, rating, liked=rng.random() < 0.25, watched_date=f"2025-{1 + day // 28 % 12:02d}-{1 + day % 28:02d}")


def build_world(*, popular_members: int = 60, extra_films: int = 0, big_member_films: int = 0,
                seed: int = 7) -> World:
    """Build the fake world; big_member_films > 0 adds member "bigwatcher" with that many films."""
    rng = random.Random(seed)
    films = _base_films()
    films += _synthetic_films(len(films), max(extra_films, big_member_films))
    by_title = {f.title: f for f in films}
    members: dict[str, FakeMember] = {}

    real_keys = list(range(len(REAL_FILMS)))
    cine = FakeMember("cinephile", "Cine Phile")
    for day, key in enumerate(real_keys[:30]):
        logged = _logged(rng, key, day)
        if key == 0:
            logged = Logged(key, 5.0, liked=True, watched_date="2025-10-30", rewatch=True)
        cine.films.append(logged)
    cine.films.append(Logged(by_title["The Premiere Year"].key, 4.0, watched_date="2025-11-01"))
    cine.films.append(Logged(by_title["Basement Tapes Vol. 3"].key, 3.0, watched_date="2025-11-02"))
    cine.films.reverse()
    cine.likes = [lg.key for lg in cine.films if lg.liked] + [real_keys[35]]
    cine.watchlist = real_keys[30:38] + [by_title[XSS_TITLE].key]
    cine.diary = cine.films[:9] + [next(lg for lg in cine.films if lg.key == 0)]
    members[cine.username] = cine

    newbie = FakeMember("newbie", "New Bie")
    newbie.films = [Logged(k, 4.5 - (k % 3), watched_date=f"2025-09-{10 + k:02d}") for k in (26, 27, 28, 29, 1)]
    newbie.diary = newbie.films[:3]
    members[newbie.username] = newbie

    if big_member_films:
        big = FakeMember("bigwatcher", "Big Watcher")
        synthetic = [f for f in films if f.title.startswith("Synthetic Film")][:big_member_films]
        big.films = [_logged(rng, f.key, i) for i, f in enumerate(synthetic)]
        big.likes = [lg.key for lg in big.films if lg.liked]
        big.watchlist = [f.key for f in films[:20]]
        big.diary = big.films[:50]
        members[big.username] = big

    popular = []
    for i in range(1, popular_members + 1):
        name = f"member{i:03d}"
        m = FakeMember(name, f"Member {i}")
        count = 4 + (i * 5) % 13
        keys = rng.sample(real_keys, min(count, len(real_keys)))
        m.films = [_logged(rng, k, d) for d, k in enumerate(keys)]
        m.likes = [lg.key for lg in m.films if lg.liked]
        m.diary = m.films[:5]
        members[name] = m
        popular.append(name)
    return World(films, members, popular)


def with_catalog_member(world: World, username: str, titles: list[tuple[str, int]], unknown: int,
                        seed: int = 11) -> World:
    """The world plus a member who logs these embedded-catalog films (title, year) and `unknown` films
    no catalog holds, mixed in one diary as a real member's are; a quarter liked."""
    rng = random.Random(seed)
    catalog = {(f.title, f.year): f for f in world._embedded_catalog().values()}
    taken = {f.slug for f in world.films}
    logged_films = [catalog[t] for t in titles if t in catalog and catalog[t].slug not in taken]
    films = list(world.films) + logged_films + _synthetic_films(len(world.films), unknown)
    new = films[len(world.films):]
    rng.shuffle(new)
    member = FakeMember(username, username.title())
    member.films = [_logged(rng, f.key, i) for i, f in enumerate(new)]
    member.likes = [lg.key for lg in member.films if lg.liked]
    member.diary = member.films[:50]
    members = {**world.members, username: member}
    out = World(films, members, world.popular)
    out._catalog, out._catalog_titles = world._catalog, world._catalog_titles
    return out


TMDB_GENRES = {"Sci-Fi": "Science Fiction", "Musical": "Music"}
CATALOG_TMDB_ID_BASE = 50_000_000  # invented TMDB ids for catalog films that have none, far from real ones


def _catalog_films() -> dict[int, FakeFilm]:
    """The embedded catalog's films, with invented directors and runtimes (and TMDB ids where it has none)."""
    from pathlib import Path

    from infra.datasets import CATALOG_FILE, read_catalog

    path = Path(__file__).resolve().parents[2] / "data" / CATALOG_FILE
    films = {}
    for row in read_catalog(path):
        if not row.year:
            continue
        tmdb_id = row.tmdb_id or CATALOG_TMDB_ID_BASE + row.film_id
        key = 10_000 + row.film_id
        genres = tuple(TMDB_GENRES.get(g, g) for g in row.genres if TMDB_GENRES.get(g, g) in GENRE_IDS)
        director = f"{FIRST_NAMES[key % len(FIRST_NAMES)]} {LAST_NAMES[(key // 7) % len(LAST_NAMES)]}"
        films[tmdb_id] = FakeFilm(key, row.title, row.year, slugify(f"{row.title} {row.year}"), 900_000 + key,
                                  tmdb_id, row.imdb_id, (director,), genres or ("Drama",),
                                  80 + key % 70, "en", ("US",))
    return films
