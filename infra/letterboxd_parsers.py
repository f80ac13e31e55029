"""Letterboxd's pages and RSS feed read into frozen dataclasses: pure functions over strings, no I/O."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterable

import lxml.etree
import lxml.html

from infra.http import UpstreamBadResponse
from services.domain import ProfileFilm
from services.usernames import is_username

NAME_YEAR_RE = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})\)\s*$")
COUNT_RE = re.compile(r"([\d,]+)\s*(?:&nbsp;|\s)*films?", re.I)
RATED_RE = re.compile(r"\brated-(\d{1,2})\b")
IMDB_RE = re.compile(r"(tt\d{5,10})")
TMDB_LINK_RE = re.compile(r"/(movie|tv)/(\d+)")
CDATA_COMMENT_RE = re.compile(r"/\*\s*<!\[CDATA\[\s*\*/|/\*\s*\]\]>\s*\*/")
LB_NS = "https://letterboxd.com"
TMDB_NS = "https://themoviedb.org"


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

