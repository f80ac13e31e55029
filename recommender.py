"""The facade: composes sources, store, model and services, and orders all I/O of a recommendation.

    routes -> Recommender -> infra (letterboxd, tmdb, streaming, store, cache, events, jobs)
                          -> services (matching, hybrid, cold start, analytics, summaries)
"""
from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Iterator, Mapping

from config import Settings
from infra.cache import Cache, MemoryCache, RedisCache
from infra.events import EventBus, MemoryEventBus, RedisEventBus, is_terminal
from infra.export_reader import BadUpload, ExportFiles, UploadTooLarge, read_upload
from infra.jobs import Emitter, JobRunner, MemoryJobStore, RedisJobStore
from infra.redis_link import RedisLink
from infra.store import Store
from services.domain import Film, MatchedFilm, Profile, ScoredFilm
from services.errors import AppError, BadRequest, Conflict, NotFound, PayloadTooLarge, TooManyRequests
from services.export_import import InvalidExport, profile_from_export

log = logging.getLogger(__name__)

COLD_START_MIN_FILMS = 5
COLD_START_OVERFETCH = 4
STREAMING_CANDIDATE_FACTOR = 3
STREAMING_BATCH = 10
EXTRA_CANDIDATE_SEED_FILMS = 10
TMDB_URL = "https://www.themoviedb.org/movie/{}"
LETTERBOXD_FILM_URL = "{base}/film/{slug}/"
LETTERBOXD_TMDB_URL = "{base}/tmdb/{tmdb_id}/"


def _bool_field(value: Any, name: str, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "1", "yes", "on", "false", "0", "no", "off"}:
        return value.lower() in {"true", "1", "yes", "on"}
    raise BadRequest(f"{name} must be true or false.", f"invalid_{name}")


@dataclass(frozen=True)
class RecommendRequest:
    """A validated recommendation request: a username or an export, plus options."""

    username: str
    country: str
    include_streaming: bool = True
    count: int = 20
    sync: bool = False
    request_id: str | None = None
    mood: str | None = None
    category: str | None = None
    filters: Any = None
    export: ExportFiles | None = field(default=None, repr=False)
    fields: Mapping[str, Any] = field(default_factory=dict, repr=False)  # as received, for RQ workers
    upload: bytes | None = field(default=None, repr=False)
    filename: str = ""


class Recommender:
    """Everything the routes need, behind one object."""

    def __init__(self, settings: Settings, *, link: RedisLink | None, cache: Cache, bus: EventBus,
                 jobs: JobRunner, store: Store, model_store, tracker, profiles, letterboxd, tmdb,
                 streaming) -> None:
        self.settings = settings
        self.link = link
        self.cache = cache
        self.bus = bus
        self.jobs = jobs
        self.store = store
        self.model_store = model_store
        self.tracker = tracker
        self.profiles = profiles
        self.letterboxd = letterboxd
        self.tmdb = tmdb
        self.streaming = streaming
        self.started = time.time()
        self._catalog_lock = threading.Lock()
        self._catalog_version: str | None = None
        self._catalog = None
        self._index = None
        self._streams: dict[str, int] = {}
        self._streams_lock = threading.Lock()

    # ----- composition -------------------------------------------------------------
    @classmethod
    def build(cls, settings: Settings) -> "Recommender":
        """Compose the real infrastructure from settings."""
        from infra.http import IncidentTracker
        from infra.letterboxd import LetterboxdClient, ProfileSource
        from infra.model_store import ModelStore
        from infra.streaming import StreamingClient
        from infra.tmdb import TmdbClient

        link = RedisLink(settings.redis_url) if settings.redis_url else None
        memory_cache = MemoryCache(settings.cache_max_size)
        cache: Cache = RedisCache(link, memory_cache) if link else memory_cache
        memory_bus = MemoryEventBus(settings.sse_queue_maxsize, settings.stream_max_age_s)
        bus: EventBus = (
            RedisEventBus(link, memory_bus, settings.sse_queue_maxsize, settings.stream_max_age_s)
            if link else memory_bus
        )
        job_store = RedisJobStore(link, MemoryJobStore()) if link else MemoryJobStore()
        jobs = JobRunner(job_store, bus, settings.pipeline_pool_size, settings.job_result_ttl, error_body,
                         stale_after_s=settings.job_stale_after_s,
                         max_result_bytes=settings.job_result_max_kb * 1024)
        store = Store.open(settings.store_path, settings.data_dir)
        model_store = ModelStore(settings.model_dir)
        ensure_model(model_store, store, settings.model_dir)
        redis_client = link.client if link else None
        tracker = IncidentTracker(redis_client, settings.letterboxd_circuit_failure_threshold,
                                  settings.letterboxd_circuit_cooldown_s)
        letterboxd = LetterboxdClient.from_settings(settings, tracker, redis_client)
        profiles = ProfileSource(letterboxd, cache, fresh_ttl_s=settings.profile_fresh_ttl_s,
                                 stale_ttl_s=settings.profile_stale_ttl_s)
        tmdb = TmdbClient.from_settings(settings, cache, store, redis_client)
        streaming = StreamingClient.from_settings(settings, cache, tmdb)
        return cls(settings, link=link, cache=cache, bus=bus, jobs=jobs, store=store,
                   model_store=model_store, tracker=tracker, profiles=profiles, letterboxd=letterboxd,
                   tmdb=tmdb, streaming=streaming)

    # ----- requests ----------------------------------------------------------------
    def build_request(self, fields: Mapping[str, Any], upload: bytes | None, filename: str) -> RecommendRequest:
        """Validate request fields (and parse an upload) into a RecommendRequest, or raise BadRequest."""
        from infra.streaming import COUNTRIES
        from services.filters import Filters

        country = str(fields.get("country") or self.settings.default_country).upper()
        if country not in COUNTRIES:
            raise BadRequest(f"Unknown country code {country!r}; use an ISO code such as GB or US.",
                             "invalid_country")
        raw_count = fields.get("count", self.settings.default_count)
        try:
            count = int(raw_count)
        except (TypeError, ValueError):
            raise BadRequest("count must be a whole number.", "invalid_count") from None
        if not 1 <= count <= self.settings.max_count:
            raise BadRequest(f"count must be between 1 and {self.settings.max_count}.", "invalid_count")
        filter_fields = fields.get("filters") or {}
        if not isinstance(filter_fields, dict):
            raise BadRequest("filters must be a JSON object.", "invalid_filters")
        try:
            filters = Filters.from_request(filter_fields)
        except ValueError as exc:
            raise BadRequest(str(exc), "invalid_filters") from exc
        mood = fields.get("mood") or None
        category = fields.get("category") or None
        self._check_mood(mood, category)
        export = None
        username = fields.get("username") or ""
        if upload is not None:
            export = self.parse_upload(upload, filename)
            username = username or export.username or "export"
            username = "".join(ch for ch in username if ch.isalnum() or ch in "_-")[:50] or "export"
        return RecommendRequest(
            username=username if isinstance(username, str) else "",
            country=country,
            include_streaming=_bool_field(fields.get("include_streaming"), "include_streaming", True),
            count=count,
            sync=_bool_field(fields.get("sync"), "sync", False),
            request_id=fields.get("request_id") or None,
            mood=mood,
            category=category,
            filters=filters,
            export=export,
            fields=dict(fields),
            upload=upload,
            filename=filename,
        )

    def _check_mood(self, mood: Any, category: Any) -> None:
        from services.coldstart import MOODS

        if mood is not None and (not isinstance(mood, str) or mood.lower() not in MOODS):
            raise BadRequest(f"mood must be one of: {', '.join(sorted(MOODS))}.", "invalid_mood")
        if category is not None and (not isinstance(category, str) or len(category) > 40):
            raise BadRequest("category must be a genre name.", "invalid_category")

    def parse_upload(self, data: bytes, filename: str) -> ExportFiles:
        """Read a Letterboxd export upload, mapping its problems to clear 400/413 errors."""
        try:
            s = self.settings
            return read_upload(data, filename, s.max_upload_bytes, max_rows_per_file=s.export_max_rows_per_file,
                               max_rows=s.export_max_rows, max_title_chars=s.export_max_title_chars,
                               max_uncompressed_bytes=int(s.export_max_uncompressed_mb * 1024 * 1024))
        except UploadTooLarge as exc:
            raise PayloadTooLarge(str(exc), "upload_too_large") from exc
        except BadUpload as exc:
            raise BadRequest(str(exc), "invalid_upload") from exc

    def start(self, req: RecommendRequest, client: str) -> str:
        """Accept a request and run it in the background; returns its request_id."""
        request_id = self._admit(req, client)
        if self.settings.pipeline_backend == "rq" and self.link is not None:
            from infra.queue import enqueue

            enqueue(self.link.client, request_id, {**req.fields, "request_id": None}, req.upload, req.filename)
            return request_id
        emitter = Emitter(self.bus, request_id, req.count)
        self.jobs.submit(request_id, lambda em: self.pipeline(req, em), emitter)
        return request_id

    def run_sync(self, req: RecommendRequest, client: str) -> tuple[int, dict]:
        """Run a request to its end on the pipeline pool, waiting for it here (events still stream)."""
        request_id = self._admit(req, client)
        emitter = Emitter(self.bus, request_id, req.count)
        return self.jobs.run_pooled(request_id, lambda em: self.pipeline(req, em), emitter)

    def admit_client(self, client: str) -> None:
        """Refuse a client already running its share of jobs (called before its upload is read)."""
        if self.settings.ratelimit_enabled and \
                self.jobs.store.active_for(client) >= self.settings.max_active_jobs_per_client:
            raise TooManyRequests("You already have several recommendations running; wait for one to finish.",
                                  "too_many_jobs")

    def _admit(self, req: RecommendRequest, client: str) -> str:
        self.admit_client(client)
        request_id = req.request_id or secrets.token_urlsafe(18)
        if not self.jobs.create(request_id, client):
            raise Conflict("That request_id is already in use; omit it to get a fresh one.", "request_id_in_use")
        # Readers see a first event at once, even while the job waits for a free pipeline.
        Emitter(self.bus, request_id).status("queued", "Waiting for a free worker", 0, 1)
        return request_id

    def result(self, request_id: str) -> tuple[int, dict]:
        """The job's payload with its status, 202 while pending, or NotFound."""
        job = self.jobs.store.get(request_id)
        if job is None:
            raise NotFound("No such request, or its result has expired.", "unknown_request")
        job = self.jobs.fail_if_stale(job)
        if not job.finished:
            return 202, {"request_id": request_id, "status": job.state}
        return job.http_status, job.payload or {}

    def stream(self, request_id: str, channel: str, last_id: str | None, client: str) -> Iterator:
        """Events of one channel after last_id, then None heartbeats while idle, until terminal."""
        # A page may open its stream with an id of its own choosing just before it posts the job.
        deadline = time.monotonic() + self.settings.stream_wait_for_job_s
        while self.jobs.store.get(request_id) is None and not self.bus.exists(request_id):
            if time.monotonic() >= deadline:
                raise NotFound("No such request, or its events have expired.", "unknown_request")
            time.sleep(0.1)
        self._open_stream(client)
        return self._events(request_id, channel, last_id, client)

    def _open_stream(self, client: str) -> None:
        with self._streams_lock:
            if self.settings.ratelimit_enabled and \
                    self._streams.get(client, 0) >= self.settings.max_streams_per_client:
                raise TooManyRequests("Too many open streams from your address.", "too_many_streams")
            self._streams[client] = self._streams.get(client, 0) + 1

    def _close_stream(self, client: str) -> None:
        with self._streams_lock:
            left = self._streams.get(client, 1) - 1
            if left <= 0:
                self._streams.pop(client, None)
            else:
                self._streams[client] = left

    def _events(self, request_id: str, channel: str, last_id: str | None, client: str) -> Iterator:
        deadline = time.monotonic() + self.settings.stream_max_age_s
        try:
            while time.monotonic() < deadline:
                events = self.bus.read(request_id, channel, last_id, self.settings.sse_heartbeat_s)
                for event_id, data in events:
                    last_id = event_id
                    yield event_id, data
                    if is_terminal(data):
                        return
                if events:
                    continue
                job = self.jobs.store.get(request_id)
                if job is None:
                    return
                job = self.jobs.fail_if_stale(job)
                if job.finished and not self.bus.read(request_id, channel, last_id, 0):
                    # The job is over but this bus holds no terminal event for it (Redis came back
                    # empty, or the job ended before an outage): end the channel as the job ended.
                    yield last_id or "0", terminal_event(job)
                    return
                yield None
        finally:
            self._close_stream(client)

    # ----- status ----------------------------------------------------------------
    def incident(self) -> dict:
        return self.tracker.snapshot()

    def page_count(self, username: str) -> int:
        try:
            return self.letterboxd.page_count(username)
        except Exception as exc:  # noqa: BLE001 - mapped to a member-facing error
            raise upstream_error(exc) from exc

    def health(self) -> dict:
        incident = self.incident()
        redis_ok = self.link.ping() if self.link else None
        model_version = self.model_version()
        tmdb_ok = self.tmdb.healthy() if self.tmdb else None
        degraded = bool(incident.get("letterboxd_circuit_open")) or redis_ok is False or tmdb_ok is False
        return {
            "status": "ok",
            "degraded": degraded,
            "incident": incident,
            "redis": {"configured": self.link is not None, "reachable": redis_ok},
            "catalog": {"films": len(self.catalog().films), "version": self._catalog_version},
            "model": {"version": model_version, "loaded": model_version is not None},
            "tmdb": {"configured": bool(self.settings.tmdb_key), "healthy": tmdb_ok},
            "uptime_s": round(time.time() - self.started, 1),
        }

    def model_version(self) -> str | None:
        try:
            return self.model_store.current()[1]
        except Exception:  # noqa: BLE001 - health reports a missing or broken model, it does not fail
            log.exception("model unavailable")
            return None

    # ----- pipeline --------------------------------------------------------------
    def catalog(self):
        """The in-memory catalog and its title index, rebuilt when the store changes."""
        from services.catalog import Catalog
        from services.matching import CatalogIndex

        version = self.store.version()
        with self._catalog_lock:
            if version != self._catalog_version:
                films = self.store.films()
                self._catalog = Catalog(films)
                self._index = CatalogIndex(films)
                self._catalog_version = version
            return self._catalog

    def _load_profile(self, req: RecommendRequest, em: Emitter) -> tuple[Profile, str, dict | None]:
        if req.export is not None:
            em.status("reading", "Reading your Letterboxd export", 0, 1)
            try:
                profile = profile_from_export(req.export, limits=import_limits(self.settings))
            except InvalidExport as exc:
                raise BadRequest(str(exc), "invalid_export") from exc
            em.log(f"Read {len(profile.films)} films from your export")
            return profile, "export", None

        def progress(message: str, current: int, total: int) -> None:
            em.status("scraping", message, current, total)

        em.status("scraping", f"Fetching {req.username}'s films from Letterboxd", 0, 1)
        try:
            profile, freshness, incident = self.profiles.get(req.username, progress)
        except Exception as exc:  # noqa: BLE001 - mapped to a member-facing error
            raise upstream_error(exc) from exc
        em.log(f"Loaded {len(profile.films)} films for {req.username} ({profile.source})")
        if freshness in FRESHNESS_HINTS:
            em.log(FRESHNESS_HINTS[freshness], "warning")
        return profile, freshness, incident

    def _enrich(self, matched: list[MatchedFilm], em: Emitter) -> list[MatchedFilm]:
        """Resolve and enrich the member's films from TMDB when configured; degrade on failure."""
        if not self.tmdb or not self.tmdb.enabled:
            return matched

        def progress(message: str, current: int, total: int) -> None:
            em.status("enriching", message, current, total)

        try:
            enriched = self.tmdb.enrich_matched(matched, progress, cancel=em.cancel)
        except Exception as exc:  # noqa: BLE001 - TMDB trouble degrades the answer only
            log.warning("tmdb enrichment failed: %s", exc)
            em.log("TMDB is unavailable; recommendations come without posters and details", "warning")
            return matched
        return enriched

    def _extra_candidates(self, matched: list[MatchedFilm], em: Emitter) -> dict[int, str]:
        if not self.tmdb or not self.tmdb.enabled:
            return {}
        rated = sorted((m for m in matched if m.film and m.film.tmdb_id and m.entry.rating),
                       key=lambda m: -(m.entry.rating or 0))[:EXTRA_CANDIDATE_SEED_FILMS]
        try:
            return self.tmdb.similar_candidates([m.film for m in rated], self.settings.similar_results_per_film)
        except Exception as exc:  # noqa: BLE001 - candidates are optional
            log.warning("tmdb candidates failed: %s", exc)
            return {}

    def pipeline(self, req: RecommendRequest, em: Emitter) -> tuple[int, dict]:
        """Profile -> match -> enrich -> score -> streaming -> payload, reporting each step."""
        from infra.streaming import COUNTRIES
        from services.analytics import analyse
        from services.hybrid import recommend
        from services.matching import match_profile
        from services.profile_summary import preferences, profile_block

        began = time.monotonic()
        timings: dict[str, int] = {}
        lap = [began]

        def mark(step: str) -> None:
            now = time.monotonic()
            timings[step] = round((now - lap[0]) * 1000)
            lap[0] = now

        profile, freshness, incident = self._load_profile(req, em)
        self.catalog()
        mark("profile")
        em.status("matching", "Matching your films to the catalog", 0, 1)
        matched = match_profile(profile, self._index)
        mark("matching")
        matched = self._enrich(matched, em)
        summary = profile_block(profile, matched)
        em.log(f"Matched {summary['matched']} of {summary['films']} films to the catalog")
        catalog = self.catalog()
        mark("enrichment")

        em.status("scoring", "Scoring films for you", 0, 1)
        model, model_version = self.model_store.current()
        seen = {m.film.film_id for m in matched if m.film and m.entry.watched}
        watchlist = {m.film.film_id for m in matched if m.film and m.entry.watchlist}
        cold = bool(req.mood) or len(seen) < COLD_START_MIN_FILMS
        wanted = req.count * (STREAMING_CANDIDATE_FACTOR if req.filters.providers else 1)
        if cold:
            picks = self._cold_start(catalog, req, wanted, seen, watchlist)
            em.log(f"Picking {req.mood} films for you" if req.mood else
                   "Few of your films matched, so these are well-loved picks to start from")
        else:
            extra = self._extra_candidates(matched, em)
            picks = recommend(model, catalog, matched, req.filters, wanted, extra)
        mark("scoring")

        cards = self._emit_cards(req, picks, watchlist, catalog, em)
        mark("streaming")
        em.status("done", f"Found {len(cards)} recommendations", 1, 1)

        payload = {
            "request_id": em.request_id,
            "username": req.username,
            "country_code": req.country,
            "country_name": COUNTRIES[req.country],
            "pages": profile.pages,
            "data_freshness": freshness,
            "hint": FRESHNESS_HINTS.get(freshness),
            "incident": incident,
            "profile": summary,
            "preferences": preferences(matched),
            "recommendations": cards,
            "analytics": analyse(matched),
            "cold_start": cold,
            "mood": req.mood,
            "model_version": model_version,
            "elapsed_ms": round((time.monotonic() - began) * 1000),
            "timings_ms": timings,
        }
        if cold and not req.mood:
            payload["hint"] = payload["hint"] or (
                "We matched too few of your films to learn your taste, so these are well-loved picks. "
                "Choose a mood for more personal ones.")
        return 200, payload

    def _cold_start(self, catalog, req: RecommendRequest, count: int, seen: set[int],
                    watchlist: set[int]) -> list[ScoredFilm]:
        """Mood picks that also honour the member's filters."""
        from services.coldstart import mood_picks

        picks = mood_picks(catalog, req.mood, req.category, count * COLD_START_OVERFETCH, seen)
        allowed = []
        for pick in picks:
            index = catalog.index_of(pick.film.film_id)
            obscurity = float(catalog.obscurity[index]) if index is not None else 100.0
            if req.filters.allows(pick.film, obscurity, pick.film.film_id in watchlist):
                allowed.append(pick)
        return allowed[:count]

    def _emit_cards(self, req: RecommendRequest, picks: list[ScoredFilm], watchlist: set[int], catalog,
                    em: Emitter) -> list[dict]:
        """Turn picks into cards in batches, checking availability per batch, streaming each card.

        With a provider filter, films not on those services are skipped, and work stops once
        `count` cards are out.
        """
        from services.hybrid import match_percents

        matches = dict(zip((p.film.film_id for p in picks), match_percents(picks)))
        wanted_providers = set(req.filters.providers or ())
        need_streaming = req.include_streaming or bool(wanted_providers)
        cards: list[dict] = []
        for start in range(0, len(picks), STREAMING_BATCH):
            if len(cards) >= req.count:
                break
            batch = self._enrich_picks(picks[start:start + STREAMING_BATCH])
            offers = self._availability([p.film for p in batch], req.country, em, start, len(picks)) \
                if need_streaming else {}
            for pick in batch:
                film_offers = offers.get(pick.film.film_id) or []
                if wanted_providers and not wanted_providers & {o["provider"] for o in film_offers}:
                    continue
                card = self.card(pick, offers if req.include_streaming else {}, req.include_streaming,
                                 watchlist, catalog, matches.get(pick.film.film_id))
                cards.append(card)
                em.recommendation(card)
                if len(cards) >= req.count:
                    break
        return cards

    def _enrich_picks(self, picks: list[ScoredFilm]) -> list[ScoredFilm]:
        """Details (poster, director, runtime) for picks about to be shown; picks stay as they are on failure."""
        if not self.tmdb or not self.tmdb.enabled:
            return picks
        try:
            films = self.tmdb.enrich([p.film for p in picks])
        except Exception as exc:  # noqa: BLE001 - details are optional
            log.warning("tmdb details for picks failed: %s", exc)
            return picks
        return [replace(p, film=f) if f is not None else p for p, f in zip(picks, films)]

    def _availability(self, films: list[Film], country: str, em: Emitter, done: int = 0,
                      total: int = 0) -> dict[int, list]:
        em.status("streaming", f"Checking where to stream films {done + 1}-{done + len(films)}",
                  done, total or len(films))
        try:
            return self.streaming.availability(films, country)
        except Exception as exc:  # noqa: BLE001 - availability is optional
            log.warning("streaming lookup failed: %s", exc)
            em.log("Streaming availability is unavailable right now", "warning")
            return {}

    def card(self, pick: ScoredFilm, streaming: Mapping[int, list], include_streaming: bool,
             watchlist: set[int], catalog, match: int | None = None) -> dict:
        """One recommendation as the API and the page show it."""
        film = pick.film
        index = catalog.index_of(film.film_id)
        base = self.settings.letterboxd_base_url.rstrip("/")
        if film.letterboxd_slug:
            lb_url = LETTERBOXD_FILM_URL.format(base=base, slug=film.letterboxd_slug)
        elif film.tmdb_id:
            lb_url = LETTERBOXD_TMDB_URL.format(base=base, tmdb_id=film.tmdb_id)
        else:
            lb_url = None
        return {
            "film_id": film.film_id,
            "tmdb_id": film.tmdb_id,
            "imdb_id": film.imdb_id,
            "title": film.title,
            "original_title": film.original_title,
            "year": film.year,
            "director": film.directors[0] if film.directors else None,
            "directors": list(film.directors),
            "genres": list(film.genres),
            "poster": film.poster,
            "rating_tmdb": film.vote_average,
            "vote_count": film.vote_count,
            "runtime": film.runtime,
            # None when availability is unknown (offline), [] when known to be nowhere.
            "streaming": streaming.get(film.film_id) if include_streaming else None,
            "reason": pick.reasons[0] if pick.reasons else None,
            "reasons": list(pick.reasons),
            "score": round(float(pick.score), 4),
            "match": match,
            "letterboxd_url": lb_url,
            "tmdb_url": TMDB_URL.format(film.tmdb_id) if film.tmdb_id else None,
            "in_watchlist": film.film_id in watchlist,
            "obscurity": int(round(float(catalog.obscurity[index]))) if index is not None else None,
            "corpus_mean": film.corpus_mean,
            "corpus_count": film.corpus_count,
        }


FRESHNESS_HINTS = {
    "stale_cache": ("Letterboxd is blocking automated requests right now, so this uses a copy of your profile "
                    "from an earlier visit. Upload your Letterboxd export for fully fresh results."),
    "rss": ("Letterboxd's film pages were unavailable, so this uses your RSS feed: your ~50 most recent "
            "diary entries. Upload your Letterboxd export for results from your whole history."),
    "partial": ("Letterboxd stopped answering part-way through your films, so this uses the films we could "
                "read. Try again later, or upload your Letterboxd export."),
}


MODEL_LOCK_FILE = ".train.lock"


def ensure_model(model_store, store: Store, model_dir) -> None:
    """Train a first model when there is none; with several workers starting, only one trains."""
    import fcntl
    from pathlib import Path

    if model_store.exists():
        return
    Path(model_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(model_dir) / MODEL_LOCK_FILE, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not model_store.exists():
                log.info("no model yet: training one on the corpus")
                model_store.train_and_save(store)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def import_limits(settings: Settings) -> "ImportLimits":
    """What one export may hold; a date may be a day ahead (the member's time zone)."""
    from datetime import date, timedelta

    from services.export_import import ImportLimits

    return ImportLimits(settings.export_max_films, settings.export_earliest_date,
                        (date.today() + timedelta(days=1)).isoformat())


def upstream_error(exc: BaseException) -> AppError:
    """Map a source failure to a member-facing error."""
    from infra.http import CircuitOpen, UpstreamBlocked, UpstreamError, UserNotFound
    from services.errors import UpstreamUnavailable

    if isinstance(exc, AppError):
        return exc
    if isinstance(exc, UserNotFound):
        return NotFound("We couldn't find that Letterboxd member. Check the spelling.", "unknown_user")
    if isinstance(exc, (UpstreamBlocked, CircuitOpen)):
        return UpstreamUnavailable(
            "Letterboxd is blocking automated requests right now and we have no recent copy of this profile. "
            "Try again later, or upload your Letterboxd export (Settings -> Data -> Export).",
            "letterboxd_blocked")
    if isinstance(exc, UpstreamError):
        return UpstreamUnavailable("Letterboxd is not answering right now. Please try again shortly.",
                                   "letterboxd_unavailable")
    raise exc


def terminal_event(job) -> dict:
    """The terminal event that matches how a job ended."""
    from infra.jobs import DONE

    if job.state == DONE:
        return {"status": "complete"}
    return {"status": "error", "message": (job.payload or {}).get("message", "The recommendation failed.")}


def error_body(exc: BaseException) -> tuple[int, dict]:
    """The status and body a failed job reports."""
    if isinstance(exc, AppError):
        return exc.status, exc.body()
    return 500, {"error": "internal_error", "message": "Something went wrong while recommending. Please retry."}
