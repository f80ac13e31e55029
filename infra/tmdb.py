"""TMDB: one details call per film (append_to_response), search and IMDb lookups, enrichment into the store.

With no key the client is disabled: every method returns None (or its input)
and no request is made. Results are cached for a day; a film whose TMDB id is
known costs no search. Failures are mapped to infra.http errors; a breaker
opens during an outage so callers degrade quickly instead of waiting on every film.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable, Collection, Iterable, Mapping, Sequence

from infra.http import (
    HttpClient,
    IncidentTracker,
    Pacer,
    RequestsTier,
    RetryPolicy,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamNotFound,
)
from services.catalog import genre_labels
from services.domain import Film, MatchedFilm, ProfileFilm
from services.film_details import is_enriched, only_listed, overlay
from services.matching import normalise_title
from services.releases import release_date

if TYPE_CHECKING:
    from infra.cache import Cache

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]

APPEND = "credits,keywords,external_ids,recommendations,similar,watch/providers"
POSTER_BASE = "https://image.tmdb.org/t/p/w342"
DETAILS_TTL_S = 24 * 3600
TOP_CAST = 10
RELATED_KEPT = 20
BREAKER_THRESHOLD = 5
BREAKER_COOLDOWN_S = 60.0
RETRY_MAX_ATTEMPTS = 3
RETRY_BASE_DELAY_S = 0.25
RETRY_MAX_TOTAL_S = 10.0
PROGRESS_EVERY = 10
V4_TOKEN_MIN_LENGTH = 60

# TMDB's movie genre ids (stable since v3); list results carry ids only.
GENRES = {
    28: "Action", 12: "Adventure", 16: "Animation", 35: "Comedy", 80: "Crime", 99: "Documentary",
    18: "Drama", 10751: "Family", 14: "Fantasy", 36: "History", 27: "Horror", 10402: "Music",
    9648: "Mystery", 10749: "Romance", 878: "Science Fiction", 10770: "TV Movie", 53: "Thriller",
    10752: "War", 37: "Western",
}

NS_DETAILS = "tmdb-details"
NS_SEARCH = "tmdb-search"
NS_FIND = "tmdb-find"


def is_bearer_token(key: str) -> bool:
    """Return whether a TMDB credential is a v4 read access token (a JWT) rather than a v3 api key."""
    return key.count(".") == 2 and len(key) >= V4_TOKEN_MIN_LENGTH


def _year(date: str | None) -> int | None:
    if date and len(date) >= 4 and date[:4].isdigit():
        return int(date[:4])
    return None


def _poster(path: str | None) -> str | None:
    return f"{POSTER_BASE}{path}" if path else None


def _related_item(r: Mapping[str, Any]) -> dict:
    return {k: r.get(k) for k in ("id", "title", "original_title", "release_date", "genre_ids", "poster_path",
                                  "vote_average", "vote_count", "original_language", "popularity", "media_type")}


def trim_details(d: Mapping[str, Any]) -> dict:
    """Keep the parts of a details answer the app uses, in TMDB's own shape (for the cache)."""
    credits = d.get("credits") or {}
    cast = sorted((c for c in credits.get("cast") or [] if c.get("name")), key=lambda c: c.get("order", 999))
    keep = ("id", "imdb_id", "title", "original_title", "release_date", "genres", "runtime", "original_language",
            "production_countries", "poster_path", "overview", "vote_average", "vote_count", "popularity")
    out = {k: d.get(k) for k in keep}
    out["credits"] = {
        "cast": [{"name": c["name"], "order": c.get("order")} for c in cast[:TOP_CAST]],
        "crew": [{"name": c.get("name"), "job": c.get("job")} for c in credits.get("crew") or []
                 if c.get("job") == "Director"],
    }
    out["keywords"] = {"keywords": [{"name": k.get("name")} for k in (d.get("keywords") or {}).get("keywords") or []]}
    ext = d.get("external_ids") or {}
    out["external_ids"] = {"imdb_id": ext.get("imdb_id"), "wikidata_id": ext.get("wikidata_id")}
    for name in ("recommendations", "similar"):
        results = (d.get(name) or {}).get("results") or []
        out[name] = {"results": [_related_item(r) for r in results[:RELATED_KEPT]]}
    providers = (d.get("watch/providers") or {}).get("results") or {}
    out["watch/providers"] = {"results": {
        country: {kind: ([{"provider_name": p.get("provider_name"), "provider_id": p.get("provider_id")}
                          for p in offers] if isinstance(offers, list) else offers)
                  for kind, offers in block.items()}
        for country, block in providers.items() if isinstance(block, dict)}}
    return out


def film_from_details(d: Mapping[str, Any], film_id: int = 0) -> Film:
    """Build a Film from a details answer (with credits and keywords appended)."""
    credits = d.get("credits") or {}
    directors: list[str] = []
    for c in credits.get("crew") or []:
        if c.get("job") == "Director" and c.get("name") and c["name"] not in directors:
            directors.append(c["name"])
    cast = sorted((c for c in credits.get("cast") or [] if c.get("name")), key=lambda c: c.get("order", 999))
    keywords = [k["name"] for k in (d.get("keywords") or {}).get("keywords") or [] if k.get("name")]
    imdb = d.get("imdb_id") or (d.get("external_ids") or {}).get("imdb_id") or None
    return Film(
        film_id=film_id,
        imdb_id=imdb,
        tmdb_id=int(d["id"]) if d.get("id") is not None else None,
        genres=genre_labels(g["name"] for g in d.get("genres") or [] if g.get("name")),
        directors=tuple(directors),
        cast=tuple(c["name"] for c in cast[:TOP_CAST]),
        keywords=tuple(keywords),
        countries=tuple(c["iso_3166_1"] for c in d.get("production_countries") or [] if c.get("iso_3166_1")),
        runtime=d.get("runtime") or None,
        **_listed_fields(d),
    )


def film_from_result(r: Mapping[str, Any], film_id: int = 0) -> Film:
    """Build a Film from a search/recommendations/similar list item (no credits)."""
    return Film(
        film_id=film_id,
        tmdb_id=int(r["id"]),
        genres=genre_labels(GENRES[g] for g in r.get("genre_ids") or [] if g in GENRES),
        **_listed_fields(r),
    )


def _listed_fields(d: Mapping[str, Any]) -> dict[str, Any]:
    """The Film fields that a details answer and a list item carry under the same names."""
    return {
        "title": d.get("title") or d.get("original_title") or "",
        "year": _year(d.get("release_date")),
        "release_date": release_date(d.get("release_date")),
        "original_title": d.get("original_title") or None,
        "language": d.get("original_language") or None,
        "poster": _poster(d.get("poster_path")),
        "overview": d.get("overview") or None,
        "vote_average": d.get("vote_average"),
        "vote_count": d.get("vote_count"),
        "media_type": "movie",
    }


class TmdbClient:
    """TMDB v3 with a v3 api key or a v4 bearer token; disabled without either."""

    def __init__(self, base_url: str, api_key: str, timeout: float, cache: Cache | None, store: Any, *,
                 pool_size: int = 8, pool_maxsize: int = 20, max_rps: float = 0.0,
                 redis_client: Any = None, tracker: IncidentTracker | None = None,
                 retry: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep,
                 http: HttpClient | None = None, language: str = "en-US", ttl_s: float = DETAILS_TTL_S) -> None:
        self.api_key = (api_key or "").strip()
        self.enabled = bool(self.api_key)
        self.cache = cache
        self.store = store
        self.pool_size = max(1, int(pool_size))
        self.language = language
        self.ttl_s = ttl_s
        self.auth_failed = False
        self.tracker = tracker or IncidentTracker(None, BREAKER_THRESHOLD, BREAKER_COOLDOWN_S, service="tmdb")
        headers = {"Accept": "application/json"}
        self._auth_params: dict[str, str] = {}
        if is_bearer_token(self.api_key):
            headers["Authorization"] = f"Bearer {self.api_key}"
        elif self.api_key:
            self._auth_params = {"api_key": self.api_key}
        self.http = http or HttpClient(
            "tmdb", base_url, timeout, tiers=[RequestsTier(pool_maxsize)],
            # TMDB allows about 50 requests a second per client; the pacer keeps the whole fleet under max_rps.
            pacer=Pacer("tmdb", 1.0 / max_rps if max_rps > 0 else 0.0, redis_client, sleep=sleep),
            tracker=self.tracker,
            retry=retry or RetryPolicy(max_attempts=RETRY_MAX_ATTEMPTS, base_delay_s=RETRY_BASE_DELAY_S,
                                       max_total_s=RETRY_MAX_TOTAL_S),
            headers=headers, sleep=sleep)
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Any, cache: Cache | None, store: Any, redis_client: Any = None,
                      **kwargs: Any) -> TmdbClient:
        """Build the client from Settings."""
        return cls(settings.tmdb_base_url, settings.tmdb_key, settings.tmdb_http_timeout, cache, store,
                   pool_size=settings.work_pool_size, pool_maxsize=settings.http_pool_maxsize,
                   max_rps=settings.tmdb_max_rps, redis_client=redis_client, **kwargs)

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            with self._executor_lock:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(self.pool_size, thread_name_prefix="tmdb")
        return self._executor

    def close(self) -> None:
        """Stop worker threads and close the session."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        self.http.close()

    def healthy(self) -> bool | None:
        """None when disabled, else whether TMDB has been answering."""
        if not self.enabled:
            return None
        return not self.auth_failed and not self.tracker.is_open()

    # -- raw calls -----------------------------------------------------------------------------

    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        if self.auth_failed:
            raise UpstreamError("TMDB rejected the API key", service="tmdb", status=401)
        try:
            return self.http.get_json(path, params={**self._auth_params, **(params or {})})
        except UpstreamError as exc:
            if exc.status == 401:
                self.auth_failed = True
                log.error("TMDB rejected the API key; TMDB features are off until restart")
            raise

    def _cached(self, namespace: str, key: str) -> Any:
        return self.cache.get(namespace, key) if self.cache is not None else None

    def _remember(self, namespace: str, key: str, value: Any) -> None:
        if self.cache is not None:
            self.cache.set(namespace, key, value, self.ttl_s)

    def _remembered_lookup(self, namespace: str, key: str) -> tuple[bool, dict | None]:
        """(whether this lookup is remembered, the list item it found, None for nothing found).

        A lookup remembered with its id but not its item (from before items were kept) is made again.
        """
        hit = self._cached(namespace, key)
        if hit is None or (hit.get("item") is None and hit.get("id") is not None):
            return False, None
        return True, hit.get("item")

    def _remember_lookup(self, namespace: str, key: str, item: dict | None) -> dict | None:
        """Remember what a lookup found (None: nothing) and return it."""
        self._remember(namespace, key, {"id": int(item["id"]) if item else None, "item": item})
        return item

    def details(self, tmdb_id: int) -> dict | None:
        """Return the film's details with credits, keywords, ids, related films and providers (one call)."""
        if not self.enabled or not tmdb_id:
            return None
        key = str(int(tmdb_id))
        hit = self._cached(NS_DETAILS, key)
        if hit is not None:
            return None if hit.get("missing") else hit
        try:
            raw = self._get(f"/movie/{int(tmdb_id)}",
                            {"append_to_response": APPEND, "language": self.language})
        except UpstreamNotFound:
            self._remember(NS_DETAILS, key, {"missing": True})
            return None
        if not isinstance(raw, dict) or raw.get("id") is None:
            raise UpstreamBadResponse("TMDB details answer has no id", service="tmdb")
        trimmed = trim_details(raw)
        self._remember(NS_DETAILS, key, trimmed)
        return trimmed

    def _search_once(self, title: str, year: int | None) -> list[dict]:
        params: dict[str, Any] = {"query": title, "include_adult": "false", "language": self.language}
        if year:
            params["year"] = year
        data = self._get("/search/movie", params)
        return list(data.get("results") or []) if isinstance(data, dict) else []

    @staticmethod
    def _pick(results: Sequence[Mapping[str, Any]], title: str, year: int | None) -> Mapping[str, Any] | None:
        wanted = normalise_title(title)

        def close_year(r: Mapping[str, Any]) -> bool:
            y = _year(r.get("release_date"))
            return year is None or (y is not None and abs(y - year) <= 1)

        for r in results:
            names = {normalise_title(r.get("title") or ""), normalise_title(r.get("original_title") or "")}
            if wanted in names and close_year(r) and r.get("id") is not None:
                return r
        if year is not None:
            for r in results:
                if _year(r.get("release_date")) == year and r.get("id") is not None:
                    return r
        return None

    def search_item(self, title: str, year: int | None = None) -> dict | None:
        """Return TMDB's list item for a title and year, retrying year +-1 (premiere vs release year)."""
        if not self.enabled or not title:
            return None
        key = f"{normalise_title(title)}|{year or ''}"
        remembered, item = self._remembered_lookup(NS_SEARCH, key)
        if remembered:
            return item
        found = self._pick(self._search_once(title, year), title, year)
        if found is None and year:
            # Letterboxd's year is the premiere; TMDB's may be the release a year either side.
            for other in (year - 1, year + 1):
                found = self._pick(self._search_once(title, other), title, year)
                if found is not None:
                    break
        return self._remember_lookup(NS_SEARCH, key, _related_item(found) if found is not None else None)

    def find_imdb_item(self, imdb_id: str) -> dict | None:
        """Return TMDB's list item for the film with this IMDb id."""
        if not self.enabled or not imdb_id:
            return None
        remembered, item = self._remembered_lookup(NS_FIND, imdb_id)
        if remembered:
            return item
        data = self._get(f"/find/{imdb_id}", {"external_source": "imdb_id"})
        movies = [m for m in (data.get("movie_results") or []) if m.get("id") is not None] \
            if isinstance(data, dict) else []
        return self._remember_lookup(NS_FIND, imdb_id, _related_item(movies[0]) if movies else None)

    def locate(self, entry: ProfileFilm | Film) -> tuple[int | None, dict | None]:
        """Return (TMDB id, TMDB's list item when a lookup found it) for a profile entry or film.

        A known id costs nothing (and gives no item), else an IMDb lookup, else a search.
        """
        if not self.enabled:
            return None, None
        if entry.tmdb_id:
            return int(entry.tmdb_id), None
        if entry.imdb_id:
            item = self.find_imdb_item(entry.imdb_id)
            if item:
                return int(item["id"]), item
        item = self.search_item(entry.title, entry.year)
        return (int(item["id"]), item) if item else (None, None)

    def film_from_details(self, d: Mapping[str, Any]) -> Film:
        """Build a Film from a details answer (film_id 0 until stored)."""
        return film_from_details(d)

    # -- enrichment ----------------------------------------------------------------------------

    def _known(self, item: Film | ProfileFilm | MatchedFilm) -> tuple[Film | None, ProfileFilm | Film]:
        if isinstance(item, MatchedFilm):
            if item.film is not None:
                return item.film, item.film
            item = item.entry
        if isinstance(item, Film):
            return item, item
        film = None
        if self.store is not None:
            if item.tmdb_id:
                film = self.store.film_by_tmdb(int(item.tmdb_id))
            if film is None and item.imdb_id:
                film = self.store.film_by_imdb(item.imdb_id)
        return film, item

    def _fetch(self, subject: ProfileFilm | Film, details: bool = True) -> Film | None:
        """The film from its details; with details False, from the lookup's list item when there was one."""
        tmdb_id, item = self.locate(subject)
        if not tmdb_id:
            return None
        if not details and item is not None:
            return film_from_result(item)
        d = self.details(tmdb_id)
        return film_from_details(d) if d else None

    def _save(self, known: Film | None, new: Film, subject: ProfileFilm | Film) -> Film:
        slug = getattr(subject, "slug", None) or getattr(subject, "letterboxd_slug", None)
        if slug and not new.letterboxd_slug:
            new = replace(new, letterboxd_slug=slug)
        merged = overlay(known, new) if known is not None else new
        if self.store is None:
            return merged
        film_id = self.store.upsert_film(merged)
        return replace(merged, film_id=film_id)

    def enrich(self, items: Sequence[Film | ProfileFilm | MatchedFilm], progress: Progress | None = None,
               cancel: threading.Event | None = None, found_only: Collection[int] = ()) -> list[Film | None]:
        """Resolve and enrich films concurrently and write them into the store; list aligned with items.

        Films already enriched cost nothing; a film whose TMDB id is known costs one call;
        an unknown one costs a search too. Items at the positions in `found_only` are only
        looked up: a search or IMDb lookup's list item is kept as it is (title, year, genres,
        language, poster), and a details call is made only when the id was known already.
        Failures leave that entry as it was.
        """
        total = len(items)
        results: list[Film | None] = [None] * total
        if not self.enabled or total == 0:
            return [self._known(item)[0] for item in items]
        report = progress or (lambda message, current, total_: None)
        pending: list[tuple[int, Film | None, ProfileFilm | Film]] = []
        for i, item in enumerate(items):
            known, subject = self._known(item)
            results[i] = known
            if not is_enriched(known):
                pending.append((i, known, subject))
        done = total - len(pending)
        report(f"Enriching {done}/{total}", done, total)
        pool = self._pool()
        queue = iter(pending)
        running: dict[Future, tuple[int, Film | None, ProfileFilm | Film]] = {}
        failures = 0

        def top_up() -> None:
            while len(running) < self.pool_size * 2 and not (cancel is not None and cancel.is_set()):
                job = next(queue, None)
                if job is None:
                    return
                running[pool.submit(self._fetch, job[2], job[0] not in found_only)] = job

        top_up()
        while running:
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for fut in finished:
                i, known, subject = running.pop(fut)
                try:
                    new = fut.result()
                except UpstreamError as exc:
                    failures += 1
                    if failures == 1:
                        log.warning("tmdb enrichment: %s", exc)
                    new = None
                if new is not None:
                    results[i] = self._save(known, new, subject)
                done += 1
                if done % PROGRESS_EVERY == 0 or done == total:
                    report(f"Enriching {done}/{total}", done, total)
            top_up()
        if failures:
            log.warning("tmdb enrichment: %d of %d films failed", failures, len(pending))
        return results

    def enrich_matched(self, matched: Sequence[MatchedFilm], progress: Progress | None = None,
                       cancel: threading.Event | None = None,
                       with_details: Collection[ProfileFilm] | None = None) -> list[MatchedFilm]:
        """Resolve through TMDB the entries the catalog could not match; matched films stay as stored.

        A member's catalog films cost no calls: details are fetched for the picks about to be
        shown (`enrich`), not for every film a member has logged. Of the entries the catalog
        lacks, those in `with_details` (all when None) get their details; the others are only
        found, and join with what the search said of them. A matched film an earlier run only
        found (`only_listed`) gets its details now if its entry is in `with_details`.
        """
        pending = [i for i, m in enumerate(matched) if m.film is None or (
            only_listed(m.film) and (with_details is None or m.entry in with_details))]
        if not pending:
            if progress is not None:
                progress("Every film is in the catalog", 1, 1)
            return list(matched)
        found_only = set() if with_details is None else {
            k for k, i in enumerate(pending) if matched[i].entry not in with_details}
        films = self.enrich([matched[i] for i in pending], progress, cancel, found_only)
        out = list(matched)
        for i, film in zip(pending, films):
            if film is not None:
                out[i] = MatchedFilm(matched[i].entry, film, None)
        return out

    def related(self, tmdb_id: int, limit: int) -> list[dict]:
        """Return up to limit TMDB recommendations then similar films (list items) for a film."""
        d = self.details(tmdb_id)
        if not d:
            return []
        seen: set[int] = set()
        out = []
        for name in ("recommendations", "similar"):
            for r in (d.get(name) or {}).get("results") or []:
                if r.get("id") and r["id"] not in seen and r.get("media_type", "movie") in (None, "movie"):
                    seen.add(r["id"])
                    out.append(r)
        return out[:limit]

    def similar_candidates(self, films: Iterable[Film], per_film: int,
                           match: Callable[[Film], Film | None] | None = None) -> dict[int, str]:
        """Return store film_id -> reason for TMDB's recommendations and similar films of the given films.

        One details call per seed film (cached a day) carries its suggestions; a suggestion costs no
        call of its own. One the store knows by TMDB id is that film; else `match` may find it in the
        catalog by title and year (the film then keeps the TMDB id); else it joins the store as TMDB
        listed it, and gets its details only if it is shown.
        """
        seeds = [f for f in films if f.tmdb_id]
        if not self.enabled or not seeds:
            return {}
        pool = self._pool()
        futures = [(seed, pool.submit(self.related, int(seed.tmdb_id), per_film)) for seed in seeds]
        picked: dict[int, tuple[dict, Film]] = {}
        seed_ids = {int(s.tmdb_id) for s in seeds}
        for seed, fut in futures:
            try:
                items = fut.result()
            except UpstreamError as exc:
                log.warning("tmdb related films for %s: %s", seed.tmdb_id, exc)
                continue
            for r in items:
                tid = int(r["id"])
                if tid not in seed_ids and tid not in picked:
                    picked[tid] = (r, seed)
        if self.store is None:
            return {}
        film_ids: dict[int, int] = {}  # TMDB id -> store film_id
        writes: list[tuple[int, Film]] = []
        for tid, (r, _) in picked.items():
            film = self.store.film_by_tmdb(tid)
            if film is not None:
                film_ids[tid] = film.film_id
                continue
            listed = film_from_result(r)
            found = match(listed) if match is not None else None
            if found is not None and found.tmdb_id is None:  # a catalog film TMDB's id was missing from
                writes.append((tid, replace(found, tmdb_id=tid)))
            else:
                writes.append((tid, listed))
        if writes:
            film_ids.update(zip((tid for tid, _ in writes), self.store.upsert_films([f for _, f in writes])))
        reasons: dict[int, str] = {}
        for tid, (_, seed) in picked.items():
            reasons.setdefault(film_ids[tid], f"TMDB suggests it to fans of {seed.title}")
        return reasons
