"""Letterboxd: pure parsers for its pages and RSS, a client that scrapes a member, and the profile cache policy.

Parsers take strings and return frozen dataclasses; the client orders the
requests; ProfileSource decides between a fresh scrape, the stale copy and RSS.
"""
from __future__ import annotations

import json
import logging
import re
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Iterable, NamedTuple, Sequence

import lxml.etree
import lxml.html

from infra.http import (
    CircuitOpen,
    HttpClient,
    IncidentTracker,
    Pacer,
    RetryPolicy,
    Tier,
    TierMemory,
    TruncatedScrape,
    UpstreamBadResponse,
    UpstreamBlocked,
    UpstreamError,
    UpstreamNotFound,
    UpstreamTimeout,
    UserNotFound,
    browser_tiers,
)
from services.domain import Profile, ProfileFilm
from services.usernames import is_username

if TYPE_CHECKING:
    from infra.cache import Cache

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]

FRESH_PROFILE_TTL_S = 30 * 60
STALE_PROFILE_TTL_S = 7 * 24 * 3600
TRUNCATION_RETRIES = 2
DEFAULT_MIN_INTERVAL_S = 0.0
RETRY_MAX_ATTEMPTS = 4
RETRY_MAX_TOTAL_S = 45.0
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,200}$")
NAME_YEAR_RE = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})\)\s*$")
COUNT_RE = re.compile(r"([\d,]+)\s*(?:&nbsp;|\s)*films?", re.I)
RATED_RE = re.compile(r"\brated-(\d{1,2})\b")
IMDB_RE = re.compile(r"(tt\d{5,10})")
TMDB_LINK_RE = re.compile(r"/(movie|tv)/(\d+)")
CDATA_COMMENT_RE = re.compile(r"/\*\s*<!\[CDATA\[\s*\*/|/\*\s*\]\]>\s*\*/")
LB_NS = "https://letterboxd.com"
TMDB_NS = "https://themoviedb.org"

TRUSTED_TOTALS = ("films", "watchlist")
LIST_SLUG_RE = re.compile(r"^[a-z0-9-]{1,120}$")
MAX_LIST_PAGES = 20  # a Letterboxd list page holds 100 films
LIST_PATHS = {"films": "/{user}/films/", "likes": "/{user}/likes/films/", "watchlist": "/{user}/watchlist/"}


def _cls(name: str) -> str:
    """Return an XPath predicate matching one CSS class token."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


# ----- parsed shapes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FilmEntry:
    """One poster of a member's grid."""

    slug: str
    title: str
    year: int | None = None
    letterboxd_id: str | None = None
    rating: float | None = None  # stars 0.5-5
    liked: bool = False


@dataclass(frozen=True)
class FilmsPage:
    """One page of a films, likes or watchlist grid."""

    films: tuple[FilmEntry, ...]
    page_count: int = 1
    next_url: str | None = None
    total: int | None = None  # the list's film count as the page header states it
    recognised: bool = True  # False when the page links films but no poster markup we know


@dataclass(frozen=True)
class MembersPage:
    """One page of the popular-members table."""

    usernames: tuple[str, ...]
    next_url: str | None = None


@dataclass(frozen=True)
class FilmPage:
    """What a film page says about the film; every field may be missing."""

    slug: str | None = None
    title: str | None = None
    year: int | None = None
    letterboxd_id: str | None = None
    tmdb_id: int | None = None
    tmdb_type: str | None = None
    imdb_id: str | None = None
    directors: tuple[str, ...] = ()
    genres: tuple[str, ...] = ()
    rating: float | None = None  # Letterboxd average, 0-5
    rating_count: int | None = None


# ----- pure parsers ----------------------------------------------------------------------------


def _html(text: str) -> Any:
    if not text or not text.strip():
        return lxml.html.fromstring("<html></html>")
    return lxml.html.fromstring(text)


def split_name_year(name: str) -> tuple[str, int | None]:
    """Split "Title (2019)" into ("Title", 2019); a name without a year keeps year None."""
    name = " ".join(name.split())
    m = NAME_YEAR_RE.match(name)
    if m and m.group("title"):
        return m.group("title"), int(m.group("year"))
    return name, None


def _slug_from_link(link: str | None) -> str | None:
    if not link:
        return None
    parts = [p for p in link.split("/") if p]
    if "film" in parts:
        i = parts.index("film")
        if i + 1 < len(parts):
            return parts[i + 1]
    return parts[-1] if parts else None


def _int(value: Any) -> int | None:
    try:
        return int(str(value).replace(",", "").strip())
    except (TypeError, ValueError):
        return None


def _stars_from_class(classes: str) -> float | None:
    m = RATED_RE.search(classes or "")
    if not m:
        return None
    half_stars = int(m.group(1))
    return half_stars / 2 if 1 <= half_stars <= 10 else None


def _entry_from_item(item: Any, poster: Any) -> FilmEntry | None:
    """Read one grid item (an li) around its poster element."""
    get = poster.get
    slug = get("data-item-slug") or get("data-film-slug") or _slug_from_link(
        get("data-item-link") or get("data-target-link") or get("data-film-link"))
    slug = _slug_from_link(slug) if slug and "/" in slug else slug
    if not slug:
        return None
    name = get("data-item-name") or get("data-item-full-display-name")
    if name:
        title, year = split_name_year(name)
    else:
        title = get("data-film-name") or ""
        if not title:
            imgs = poster.xpath(".//img/@alt")
            title = imgs[0] if imgs else slug
        title, year = split_name_year(title.removeprefix("Poster for "))
        year = year or _int(get("data-film-release-year"))
    film_id = get("data-film-id") or None
    # The member's rating and like sit in p.poster-viewingdata; the like icon inside the
    # poster overlay is the signed-in viewer's own like, not the member's.
    viewing = item.xpath(f".//p[{_cls('poster-viewingdata')}]")
    rating = None
    liked = False
    for p in viewing:
        for span in p.xpath(f".//span[{_cls('rating')}]"):
            rating = rating or _stars_from_class(span.get("class", ""))
        liked = liked or bool(p.xpath(f".//span[{_cls('like')} and {_cls('icon-liked')}]"))
    return FilmEntry(slug=slug, title=title, year=year, letterboxd_id=film_id, rating=rating, liked=liked)


def _page_count(tree: Any) -> int:
    numbers = [_int(t) for t in tree.xpath(f"//li[{_cls('paginate-page')}]//text()")]
    numbers = [n for n in numbers if n]
    return max(numbers) if numbers else 1


def _next_url(tree: Any) -> str | None:
    hrefs = tree.xpath(f"//div[{_cls('pagination')}]//a[{_cls('next')}]/@href")
    return hrefs[0] if hrefs else None


def _declared_total(tree: Any) -> int | None:
    for attr in tree.xpath("//*[@data-num-entries]/@data-num-entries"):
        if _int(attr) is not None:
            return _int(attr)
    texts = tree.xpath(f"//h1[{_cls('section-heading')}]//span[{_cls('tooltip')}]/@data-original-title")
    texts += tree.xpath(f"//*[{_cls('js-watchlist-count')}]//text()")
    for text in texts:
        m = COUNT_RE.search(text.replace("\xa0", " "))
        if m:
            return _int(m.group(1))
    return None


def parse_films_page(html: str) -> FilmsPage:
    """Parse a films, likes or watchlist grid page (2025 LazyPoster markup and the older one)."""
    tree = _html(html)
    posters = tree.xpath(
        "//div[@data-component-class='LazyPoster'] | //*[@data-item-slug] | "
        f"//div[{_cls('film-poster')} and (@data-film-slug or @data-film-id)]")
    entries: list[FilmEntry] = []
    root = tree.getroottree()
    seen_items: set[str] = set()
    for poster in posters:
        item = next((a for a in poster.iterancestors("li")), None)
        if item is None:
            item = poster.getparent() if poster.getparent() is not None else poster
        path = root.getpath(item)
        if path in seen_items:
            continue
        seen_items.add(path)
        entry = _entry_from_item(item, poster)
        if entry is not None:
            entries.append(entry)
    film_links = tree.xpath("//a[starts-with(@href, '/film/')]")
    return FilmsPage(
        films=tuple(entries),
        page_count=_page_count(tree),
        next_url=_next_url(tree),
        total=_declared_total(tree),
        recognised=bool(entries) or not film_links,
    )


def parse_members_page(html: str) -> MembersPage:
    """Parse a popular-members page into usernames, in table order."""
    tree = _html(html)
    hrefs = tree.xpath(
        f"//table[{_cls('member-table')}]//td[{_cls('table-person')}]//a[{_cls('name')}]/@href")
    names: list[str] = []
    for href in hrefs:
        name = href.strip("/").split("/")[0] if href.strip("/") else ""
        if name and is_username(name) and name not in names:
            names.append(name)
    return MembersPage(usernames=tuple(names), next_url=_next_url(tree))


def _json_ld(tree: Any) -> dict:
    for raw in tree.xpath("//script[@type='application/ld+json']/text()"):
        body = CDATA_COMMENT_RE.sub("", raw).strip()
        try:
            data = json.loads(body)
        except ValueError:
            continue
        if isinstance(data, dict):
            return data
    return {}


def _names(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value] if value else []
    names = []
    for item in items:
        name = item.get("name") if isinstance(item, dict) else item if isinstance(item, str) else None
        if name and name not in names:
            names.append(name)
    return tuple(names)


def parse_film_page(html: str) -> FilmPage:
    """Parse a film page: TMDB/IMDb ids, title, year, directors, genres and the average rating."""
    tree = _html(html)
    body = (tree.xpath("//body") or [tree])[0]
    tmdb_id = _int(body.get("data-tmdb-id"))
    tmdb_type = body.get("data-tmdb-type") or None
    for href in tree.xpath("//a[@data-track-action='TMDB']/@href"):
        m = TMDB_LINK_RE.search(href)
        if m:
            tmdb_type = tmdb_type or m.group(1)
            tmdb_id = tmdb_id or int(m.group(2))
    imdb_id = None
    for href in tree.xpath("//a[@data-track-action='IMDb']/@href"):
        m = IMDB_RE.search(href)
        if m:
            imdb_id = m.group(1)
            break
    ld = _json_ld(tree)
    title = ld.get("name") if isinstance(ld.get("name"), str) else None
    year = None
    events = ld.get("releasedEvent") or []
    if isinstance(events, list) and events and isinstance(events[0], dict):
        year = _int(str(events[0].get("startDate", ""))[:4])
    og = tree.xpath("//meta[@property='og:title']/@content")
    if og:
        og_title, og_year = split_name_year(og[0])
        title = title or og_title
        year = year or og_year
    directors = _names(ld.get("director"))
    if not directors:
        labels = tree.xpath("//meta[@name='twitter:label1']/@content")
        data = tree.xpath("//meta[@name='twitter:data1']/@content")
        if labels and data and labels[0].lower().startswith("directed"):
            directors = tuple(d.strip() for d in data[0].split(",") if d.strip())
    genres = tuple(g for g in (ld.get("genre") or []) if isinstance(g, str))
    agg = ld.get("aggregateRating") if isinstance(ld.get("aggregateRating"), dict) else {}
    rating = agg.get("ratingValue")
    url = ld.get("url") or (tree.xpath("//meta[@property='og:url']/@content") or [None])[0]
    film_ids = tree.xpath("//*[@data-film-id]/@data-film-id")
    return FilmPage(
        slug=_slug_from_link(url),
        title=title,
        year=year,
        letterboxd_id=film_ids[0] if film_ids else None,
        tmdb_id=tmdb_id,
        tmdb_type=tmdb_type,
        imdb_id=imdb_id,
        directors=directors,
        genres=genres,
        rating=float(rating) if isinstance(rating, (int, float)) else None,
        rating_count=_int(agg.get("ratingCount")),
    )


def parse_rss(xml: str | bytes) -> tuple[ProfileFilm, ...]:
    """Parse a member's RSS feed into one ProfileFilm per film (diary entries merged, lists skipped)."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=False)
    try:
        root = lxml.etree.fromstring(data, parser)
    except lxml.etree.XMLSyntaxError as exc:
        raise UpstreamBadResponse("Letterboxd RSS is not valid XML", service="letterboxd") from exc
    order: list[str] = []
    merged: dict[str, dict] = {}
    for item in root.iter("item"):
        title = item.findtext(f"{{{LB_NS}}}filmTitle")
        if not title:
            continue
        year = _int(item.findtext(f"{{{LB_NS}}}filmYear"))
        raw_rating = item.findtext(f"{{{LB_NS}}}memberRating")
        try:
            rating = float(raw_rating) if raw_rating else None
        except ValueError:
            rating = None
        if rating is not None and not 0.5 <= rating <= 5:
            rating = None
        tmdb_id = _int(item.findtext(f"{{{TMDB_NS}}}movieId"))
        slug = _slug_from_link(item.findtext("link"))
        watched = (item.findtext(f"{{{LB_NS}}}watchedDate") or "").strip()
        rewatch = (item.findtext(f"{{{LB_NS}}}rewatch") or "").strip().lower() == "yes"
        liked = (item.findtext(f"{{{LB_NS}}}memberLike") or "").strip().lower() == "yes"
        key = f"tmdb:{tmdb_id}" if tmdb_id else f"slug:{slug}" if slug else f"name:{title}|{year}"
        entry = merged.get(key)
        if entry is None:
            order.append(key)
            entry = merged[key] = {"title": title, "year": year, "rating": None, "liked": False,
                                   "rewatch": False, "dates": [], "slug": slug, "tmdb_id": tmdb_id}
        # Items are newest first: the first rating seen is the current one.
        entry["rating"] = entry["rating"] if entry["rating"] is not None else rating
        entry["liked"] = entry["liked"] or liked
        entry["rewatch"] = entry["rewatch"] or rewatch
        if watched and watched not in entry["dates"]:
            entry["dates"].append(watched)
    films = []
    for key in order:
        e = merged[key]
        films.append(ProfileFilm(
            title=e["title"], year=e["year"], rating=e["rating"], liked=e["liked"],
            rewatch=e["rewatch"] or len(e["dates"]) > 1, watched=True,
            watched_dates=tuple(sorted(e["dates"])), slug=e["slug"], tmdb_id=e["tmdb_id"]))
    return tuple(films)


def merge_lists(films: Iterable[FilmEntry], likes: Iterable[FilmEntry] = (),
                watchlist: Iterable[FilmEntry] = ()) -> tuple[ProfileFilm, ...]:
    """Merge a member's films, likes and watchlist into one ProfileFilm per distinct film."""
    merged: dict[str, dict] = {}

    def key(e: FilmEntry) -> str:
        return e.slug or e.letterboxd_id or f"{e.title}|{e.year}"

    for e in films:
        row = merged.setdefault(key(e), {"entry": e, "rating": None, "liked": False,
                                         "watched": True, "watchlist": False})
        row["rating"] = row["rating"] if row["rating"] is not None else e.rating
        row["liked"] = row["liked"] or e.liked
    for e in likes:
        row = merged.setdefault(key(e), {"entry": e, "rating": e.rating, "liked": True,
                                         "watched": True, "watchlist": False})
        row["liked"] = True
    for e in watchlist:
        row = merged.setdefault(key(e), {"entry": e, "rating": None, "liked": False,
                                         "watched": False, "watchlist": True})
        row["watchlist"] = True
    return tuple(
        ProfileFilm(title=r["entry"].title, year=r["entry"].year, rating=r["rating"], liked=r["liked"],
                    watched=r["watched"], watchlist=r["watchlist"], slug=r["entry"].slug,
                    letterboxd_id=r["entry"].letterboxd_id)
        for r in merged.values())


def profile_to_json(profile: Profile) -> dict:
    """Serialise a Profile for the cache."""
    return asdict(profile)


def profile_from_json(data: dict) -> Profile:
    """Rebuild a Profile serialised by profile_to_json."""
    films = tuple(ProfileFilm(**{**f, "watched_dates": tuple(f.get("watched_dates") or ())})
                  for f in data.get("films", ()))
    return Profile(username=data["username"], source=data["source"], films=films, pages=data.get("pages", 0))


# ----- the client ------------------------------------------------------------------------------


def _check_username(username: str) -> str:
    if not is_username(username):
        raise UserNotFound(f"{username!r} is not a Letterboxd username", service="letterboxd", status=404)
    return username


@dataclass
class _ListScrape:
    name: str
    pages: dict[int, FilmsPage]
    page_count: int
    total: int | None

    def films(self) -> list[FilmEntry]:
        seen: set[str] = set()
        out = []
        for n in sorted(self.pages):
            for e in self.pages[n].films:
                if e.slug not in seen:
                    seen.add(e.slug)
                    out.append(e)
        return out

    def suspect_pages(self) -> list[int]:
        """Return pages that look cut short (empty list when the list looks complete)."""
        distinct = len(self.films())
        sizes = {n: len(p.films) for n, p in self.pages.items()}
        non_last = [sizes[n] for n in sizes if n < self.page_count]
        per_page = max(non_last) if non_last else None
        if self.total is not None and distinct >= self.total:
            return []
        suspects = []
        for n, size in sizes.items():
            if n < self.page_count and (size == 0 or (per_page is not None and size < per_page)):
                suspects.append(n)
        if self.total is not None and distinct < self.total:
            if per_page is not None:
                expected_last = self.total - per_page * (self.page_count - 1)
                if sizes.get(self.page_count, 0) < expected_last:
                    suspects.append(self.page_count)
            if not suspects:
                suspects = sorted(sizes)
        elif self.page_count > 1 and sizes.get(self.page_count, 0) == 0:
            suspects.append(self.page_count)
        return sorted(set(suspects))


class LetterboxdClient:
    """Scrape members, films and popular members from Letterboxd through the fallback chain."""

    def __init__(self, base_url: str, timeout: float, tracker: IncidentTracker | None, *,
                 redis_client: Any = None, pool_size: int = 6, pool_maxsize: int = 20,
                 min_interval_s: float = DEFAULT_MIN_INTERVAL_S, retry_sleep_s: float = 0.4,
                 throttle_sleep_s: float = 0.0, camoufox_max_concurrent: int = 1,
                 camoufox_timeout_s: float = 20.0, truncation_retries: int = TRUNCATION_RETRIES,
                 tiers: Sequence[Tier] | None = None, sleep: Callable[[float], None] = time.sleep,
                 http: HttpClient | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.tracker = tracker
        self.pool_size = max(1, int(pool_size))
        self.truncation_retries = truncation_retries
        if http is None:
            retry = RetryPolicy(max_attempts=RETRY_MAX_ATTEMPTS, base_delay_s=retry_sleep_s,
                                max_delay_s=max(retry_sleep_s * 16, 0.0), max_total_s=RETRY_MAX_TOTAL_S,
                                throttle_delay_s=throttle_sleep_s)
            http = HttpClient(
                "letterboxd", self.base_url, timeout,
                tiers=tiers or browser_tiers(pool_maxsize, camoufox_max_concurrent=camoufox_max_concurrent,
                                             camoufox_timeout_s=camoufox_timeout_s),
                pacer=Pacer("letterboxd", min_interval_s, redis_client, sleep=sleep),
                tracker=tracker, retry=retry, sleep=sleep, memory=TierMemory("letterboxd", redis_client))
        self.http = http
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Any, tracker: IncidentTracker | None, redis_client: Any = None,
                      **kwargs: Any) -> LetterboxdClient:
        """Build the client from Settings (explicit values only; nothing else reads config)."""
        return cls(
            settings.letterboxd_base_url, settings.letterboxd_http_timeout, tracker,
            redis_client=redis_client, pool_size=settings.scrape_pool_size,
            pool_maxsize=settings.http_pool_maxsize,
            min_interval_s=settings.letterboxd_min_interval_s,
            retry_sleep_s=settings.letterboxd_retry_sleep_s,
            throttle_sleep_s=settings.letterboxd_throttle_sleep_s,
            camoufox_max_concurrent=settings.camoufox_max_concurrent,
            camoufox_timeout_s=settings.camoufox_timeout, **kwargs)

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            with self._executor_lock:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(self.pool_size, thread_name_prefix="letterboxd")
        return self._executor

    def close(self) -> None:
        """Stop the worker threads and close sessions."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        self.http.close()

    # -- single pages --------------------------------------------------------------------------

    def _list_page(self, username: str, kind: str, page: int) -> FilmsPage:
        path = LIST_PATHS[kind].format(user=username)
        if page > 1:
            path += f"page/{page}/"
        resp = self.http.get(path, not_found=UserNotFound)
        parsed = parse_films_page(resp.text)
        if not parsed.recognised:
            raise UpstreamBadResponse(f"Letterboxd {kind} page markup was not recognised",
                                      service="letterboxd", status=resp.status)
        return parsed

    def page_count(self, username: str) -> int:
        """Return how many pages of films the member has."""
        return self._list_page(_check_username(username), "films", 1).page_count

    def fetch_film(self, slug: str) -> FilmPage:
        """Fetch and parse a film page."""
        if not SLUG_RE.match(slug or ""):
            raise UpstreamNotFound(f"{slug!r} is not a film slug", service="letterboxd", status=404)
        return parse_film_page(self.http.get(f"/film/{slug}/").text)

    def fetch_film_ids(self, slug: str) -> tuple[int | None, str | None]:
        """Return (TMDB id, IMDb id) from a film page."""
        page = self.fetch_film(slug)
        return (page.tmdb_id if page.tmdb_type in (None, "movie") else None), page.imdb_id

    def popular_members(self, page: int = 1) -> list[str]:
        """Return the usernames on one page of this week's popular members."""
        resp = self.http.get(f"/members/popular/this/week/page/{max(1, int(page))}/")
        return list(parse_members_page(resp.text).usernames)

    def fetch_rss(self, username: str) -> Profile:
        """Fetch the member's RSS diary (about 50 latest entries, with TMDB ids)."""
        resp = self.http.get(f"/{_check_username(username)}/rss/", not_found=UserNotFound, breaker=False)
        return Profile(username=username, source="rss", films=parse_rss(resp.text), pages=0)

    def fetch_list(self, owner: str, slug: str, max_pages: int = MAX_LIST_PAGES) -> list[FilmEntry]:
        """Scrape a member's list, page by page (same grid markup as a member's films)."""
        _check_username(owner)
        if not LIST_SLUG_RE.fullmatch(slug or ""):
            raise UpstreamNotFound(f"{slug!r} is not a list slug", service="letterboxd", status=404)
        films: list[FilmEntry] = []
        page, count = 1, 1
        while page <= min(count, max_pages):
            path = f"/{owner}/list/{slug}/" + (f"page/{page}/" if page > 1 else "")
            parsed = parse_films_page(self.http.get(path).text)
            if not parsed.recognised:
                raise UpstreamBadResponse("Letterboxd list page markup was not recognised", service="letterboxd")
            films.extend(parsed.films)
            count = parsed.page_count
            page += 1
        return films

    # -- whole profile -------------------------------------------------------------------------

    def fetch_profile(self, username: str, progress: Progress | None = None, *,
                      include_likes: bool = True, include_watchlist: bool = True) -> Profile:
        """Scrape the member's films, likes and watchlist, pages in parallel.

        Raises TruncatedScrape (with the partial Profile) when pages stay short after retries.
        """
        _check_username(username)
        kinds = ["films"] + (["likes"] if include_likes else []) + (["watchlist"] if include_watchlist else [])
        pool = self._pool()
        report = progress or (lambda message, current, total: None)
        firsts: dict[str, Future] = {k: pool.submit(self._list_page, username, k, 1) for k in kinds}
        scrapes: dict[str, _ListScrape] = {}
        errors: list[BaseException] = []
        for kind, fut in firsts.items():
            try:
                first = fut.result()
            except UserNotFound:
                if kind == "films":
                    raise
                first = FilmsPage(films=(), page_count=1)
            except UpstreamError as exc:
                errors.append(exc)
                continue
            # Only the films and watchlist headers are known to state the list's film count.
            total = first.total if kind in TRUSTED_TOTALS else None
            scrapes[kind] = _ListScrape(kind, {1: first}, first.page_count, total)
        if errors:
            raise errors[0]
        total_pages = sum(s.page_count for s in scrapes.values())
        done = len(scrapes)
        lock = threading.Lock()
        report(f"Scraping page {done} of {total_pages}", done, total_pages)

        def fetch(kind: str, page: int) -> tuple[str, int, FilmsPage]:
            return kind, page, self._list_page(username, kind, page)

        def run(jobs: list[tuple[str, int]], counting: bool) -> None:
            nonlocal done
            futures = [pool.submit(fetch, k, p) for k, p in jobs]
            try:
                for fut in futures:
                    kind, page, parsed = fut.result()
                    scrapes[kind].pages[page] = parsed
                    if counting:
                        with lock:
                            done += 1
                            report(f"Scraping page {done} of {total_pages}", done, total_pages)
            except BaseException:
                for fut in futures:
                    fut.cancel()
                raise

        run([(k, p) for k, s in scrapes.items() for p in range(2, s.page_count + 1)], counting=True)
        for attempt in range(self.truncation_retries):
            suspects = [(k, p) for k, s in scrapes.items() for p in s.suspect_pages()]
            if not suspects:
                break
            log.warning("letterboxd scrape looks truncated (%d pages); refetching, try %d",
                        len(suspects), attempt + 1)
            run(suspects, counting=False)
        films_pages = scrapes["films"].page_count
        profile = Profile(
            username=username, source="live",
            films=merge_lists(scrapes["films"].films(),
                              scrapes["likes"].films() if "likes" in scrapes else (),
                              scrapes["watchlist"].films() if "watchlist" in scrapes else ()),
            pages=films_pages)
        short = {k: s for k, s in scrapes.items() if s.suspect_pages()}
        if short:
            detail = ", ".join(f"{k}: {len(s.films())} of {s.total or '?'} films" for k, s in short.items())
            raise TruncatedScrape(f"Letterboxd pages came back short ({detail})", partial=profile,
                                  service="letterboxd")
        return profile


# ----- cache policy ----------------------------------------------------------------------------


class ProfileFetch(NamedTuple):
    """A profile with how fresh it is and, when something went wrong upstream, what."""

    profile: Profile
    freshness: str  # "fresh", "stale_cache", "rss" or "partial"
    incident: dict | None


FRESH_NS = "lb-profile"
STALE_NS = "lb-profile-stale"


def _incident(exc: BaseException) -> dict:
    if isinstance(exc, CircuitOpen):
        reason = "circuit_open"
    elif isinstance(exc, UpstreamBlocked):
        reason = "blocked"
    elif isinstance(exc, TruncatedScrape):
        reason = "truncated"
    elif isinstance(exc, UpstreamTimeout):
        reason = "timeout"
    elif isinstance(exc, UpstreamBadResponse):
        reason = "bad_response"
    else:
        reason = "upstream_error"
    return {
        "reason": reason,
        "message": str(exc),
        "status": getattr(exc, "status", None),
        "retry_after_s": round(exc.retry_after_s, 1) if isinstance(exc, CircuitOpen) else None,
    }


class ProfileSource:
    """Fresh profile from cache (30 min) or a scrape; when Letterboxd fails, the stale copy (7 days), then RSS."""

    def __init__(self, client: LetterboxdClient, cache: Cache, *, fresh_ttl_s: float = FRESH_PROFILE_TTL_S,
                 stale_ttl_s: float = STALE_PROFILE_TTL_S, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.cache = cache
        self.fresh_ttl_s = fresh_ttl_s
        self.stale_ttl_s = stale_ttl_s
        self._clock = clock

    def _save(self, profile: Profile) -> None:
        record = {"saved_at": self._clock(), "profile": profile_to_json(profile)}
        key = profile.username.lower()
        self.cache.set(FRESH_NS, key, record, self.fresh_ttl_s)
        self.cache.set(STALE_NS, key, record, self.stale_ttl_s)

    def _load(self, namespace: str, username: str) -> tuple[Profile, float] | None:
        record = self.cache.get(namespace, username.lower())
        if not record:
            return None
        try:
            return profile_from_json(record["profile"]), float(record.get("saved_at", 0))
        except (KeyError, TypeError, ValueError):
            return None

    def get(self, username: str, progress: Progress | None = None, *, refresh: bool = False,
            rss_only: bool = False) -> ProfileFetch:
        """Return (profile, freshness, incident) for a member; raise when nothing can be served."""
        if rss_only:
            return self._rss_refresh(username)
        if not refresh:
            cached = self._load(FRESH_NS, username)
            if cached is not None:
                return ProfileFetch(cached[0], "fresh", None)
        try:
            profile = self.client.fetch_profile(username, progress)
        except UserNotFound:
            raise
        except UpstreamError as exc:
            return self._fallback(username, exc)
        self._save(profile)
        return ProfileFetch(profile, "fresh", None)

    def _fallback(self, username: str, exc: UpstreamError) -> ProfileFetch:
        incident = _incident(exc)
        stale = self._load(STALE_NS, username)
        if stale is not None:
            profile, saved_at = stale
            incident["cached_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(saved_at))
            log.warning("serving stale profile (%s): %s", incident["reason"], exc)
            return ProfileFetch(replace(profile, source="stale_cache"), "stale_cache", incident)
        if isinstance(exc, TruncatedScrape) and isinstance(exc.partial, Profile):
            log.warning("serving partial profile: %s", exc)
            return ProfileFetch(exc.partial, "partial", incident)
        if isinstance(exc, CircuitOpen) and exc.unreachable:
            # Letterboxd gave no answer at all to the calls that opened the breaker: its RSS feed
            # lives on the same host, so retrying there would only keep the member waiting.
            raise exc
        try:
            rss = self.client.fetch_rss(username)
        except UpstreamError as rss_exc:
            log.warning("rss fallback failed too: %s", rss_exc)
            raise exc from rss_exc
        if not rss.films:
            raise exc
        log.warning("serving RSS profile (%s): %s", incident["reason"], exc)
        return ProfileFetch(rss, "rss", incident)

    def _rss_refresh(self, username: str) -> ProfileFetch:
        """Refresh from RSS only; merge its entries over a cached full profile when there is one."""
        rss = self.client.fetch_rss(username)
        base = self._load(FRESH_NS, username) or self._load(STALE_NS, username)
        if base is None:
            return ProfileFetch(rss, "rss", None)
        return ProfileFetch(merge_rss(base[0], rss), "rss", None)


def merge_rss(profile: Profile, rss: Profile) -> Profile:
    """Overlay RSS diary entries on a profile: newer ratings, likes and dates win; new films are added."""
    by_slug = {f.slug: i for i, f in enumerate(profile.films) if f.slug}
    films = list(profile.films)
    for entry in rss.films:
        i = by_slug.get(entry.slug) if entry.slug else None
        if i is None:
            films.append(entry)
            continue
        old = films[i]
        films[i] = replace(
            old, rating=entry.rating if entry.rating is not None else old.rating,
            liked=old.liked or entry.liked, rewatch=old.rewatch or entry.rewatch, watched=True,
            watched_dates=tuple(sorted(set(old.watched_dates) | set(entry.watched_dates))),
            tmdb_id=old.tmdb_id or entry.tmdb_id)
    return replace(profile, films=tuple(films), source="rss")
