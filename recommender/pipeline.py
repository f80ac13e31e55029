"""One recommendation, step by step: profile -> match -> enrich -> score -> streaming -> payload.

Each step reports progress on the request's status channel; TMDB and streaming
trouble degrades the answer, a source failure becomes a member-facing error.
"""
from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import date, timedelta
from typing import Mapping

from infra.contributions import Contributions, ContributionsUnavailable
from infra.jobs import Emitter
from infra.tmdb import only_listed
from recommender.bootstrap import TRAINING_MESSAGE, ModelBootstrap
from recommender.catalogs import CatalogCache
from recommender.failures import upstream_error
from services import checkpoints, vocabulary as steps
from services.analytics import analyse
from services.answer_notes import answer_notes
from services.cards import FRESHNESS_HINTS, card, payload
from services.coldstart import mood_picks
from services.domain import Film, MatchedFilm, Profile, ProfileFilm, ScoredFilm
from services.errors import BadRequest
from services.export_import import ImportLimits, InvalidExport, profile_from_export
from services.feedback import feedback_films
from services.matching import CatalogIndex, TitleKeys, exclude_seen, match_profile
from services.profile_summary import preferences, profile_block
from services.recsys import Member, is_cold_start, match_percents, most_telling, recommend_films
from services.recommend_request import RecommendRequest
from services.vocabulary import COUNTRIES

log = logging.getLogger(__name__)

COLD_START_OVERFETCH = 4
STREAMING_CANDIDATE_FACTOR = 3
STREAMING_BATCH = 10
EXTRA_CANDIDATE_SEED_FILMS = 10
SEEN_GUARD_MARGIN = 10
NO_PROFILE = "none"  # source and freshness of a mood-only run


class Pipeline:
    """Runs one request against the sources, the catalog and the model, emitting events as it goes."""

    def __init__(self, settings, *, profiles, tmdb, streaming, catalogs: CatalogCache, model_store,
                 bootstrap: ModelBootstrap | None = None, contributions: Contributions | None = None,
                 members=None) -> None:
        self.settings = settings
        self.profiles = profiles
        self.tmdb = tmdb
        self.streaming = streaming
        self.catalogs = catalogs
        self.model_store = model_store
        self.bootstrap = bootstrap
        self.contributions = contributions
        self.members = members  # keeps each run's member for "more like this" (recommender.more_like.RunMembers)

    def run(self, req: RecommendRequest, em: Emitter) -> tuple[int, dict]:
        """Profile -> match -> enrich -> score -> streaming -> payload, reporting each step."""
        if self.bootstrap is not None:
            with checkpoints.waiting():
                self.bootstrap.wait(lambda: em.status(steps.TRAINING, TRAINING_MESSAGE, 0, 1))
        if req.from_list is not None:
            from recommender.lists import ListRun

            return ListRun(self).run(req, em)
        began = time.monotonic()
        timings: dict[str, int] = {}
        lap = [began]

        def mark(step: str) -> None:
            now = time.monotonic()
            timings[step] = round((now - lap[0]) * 1000)
            lap[0] = now

        profile, freshness, incident = self._load_profile(req, em)
        index = self.catalogs.index()
        mark("profile")
        em.status(steps.MATCHING, "Matching your films to the catalog", 0, 1)
        title_keys = TitleKeys()  # shared by matching and the seen guard below
        matched = match_profile(profile, index, title_keys)
        mark("matching")
        matched = self._enrich(matched, em)
        summary = profile_block(profile, matched)
        em.log(read_line(summary, req))
        em.log(f"Matched {summary['matched']} of {summary['films']} films to the catalog")
        # Films just found on TMDB for this member join the catalog at once, so they count in scoring.
        catalog = self.catalogs.including(m.film for m in matched if m.film is not None)
        mark("enrichment")
        contribution = self._contribute(matched, em) if req.contribute else None

        em.status(steps.SCORING, "Scoring films for you", 0, 1)
        model, model_version = self.model_store.current()
        # Films marked on an earlier page join the profile for scoring only (not the counts of what was read).
        marked = feedback_films(req.feedback, catalog)
        if marked:
            em.log(f"Using {len(marked)} films you marked seen or not for you")
        scored = [*matched, *marked]
        seen = {m.film.film_id for m in scored if m.film and (m.entry.watched or m.entry.rating is not None)}
        watchlist = {m.film.film_id for m in matched if m.film and m.entry.watchlist}
        member = Member.from_matched(scored)  # merged once, for the cold-start rule and "more like this"
        cold = bool(req.mood) or is_cold_start(member)
        reserve = self.settings.reserve_picks
        wanted = (req.count + reserve) * (STREAMING_CANDIDATE_FACTOR if req.filters.providers else 1)
        extra = {} if cold else self._extra_candidates(scored, index)
        if extra:  # TMDB's suggestions the catalog lacked count in this run already
            catalog = self.catalogs.including(self.catalogs.missing_films(extra))
        # A few more than wanted: the guard below may drop films the member logged under another title.
        picks = _score(model, catalog, scored, req, wanted + SEEN_GUARD_MARGIN, seen, watchlist, extra, cold)
        picks = exclude_seen(picks, (*profile.films, *(m.entry for m in marked)), title_keys)
        picks = [p for p in picks if p.film.film_id not in seen]
        if cold:
            em.log(f"Picking {req.mood} films for you" if req.mood else
                   "Few of your films matched, so these are well-loved picks to start from")
        mark("scoring")

        cards, spare = self._emit_cards(req, picks, watchlist, catalog, em, reserve)
        mark("streaming")
        notes = answer_notes(cards, req.include_streaming, bool(picks) and all(p.match is not None for p in picks))
        if notes["streaming_status"] == "unknown" and cards:
            em.log("No streaming service answered, so where to stream these films is unknown", "warning")
        em.status(steps.DONE, f"Found {len(cards)} recommendations", 1, 1)
        body = payload(
            request_id=em.request_id, req=req, country_name=COUNTRIES[req.country], pages=profile.pages,
            freshness=freshness, incident=incident, profile=summary, preferences=preferences(matched),
            cards=cards, analytics=analyse(matched), cold=cold, model_version=model_version,
            elapsed_ms=round((time.monotonic() - began) * 1000), timings_ms=timings, contribution=contribution)
        body.update(notes)
        if self.members is not None:
            self.members.put(em.request_id, member)
        body["reserve"] = spare
        return 200, body

    def _load_profile(self, req: RecommendRequest, em: Emitter) -> tuple[Profile, str, dict | None]:
        if req.anonymous:
            return Profile(username="", source=NO_PROFILE, films=()), NO_PROFILE, None
        if req.export is not None:
            checkpoints.weigh(getattr(req.export, "size_bytes", 0))
            em.status(steps.READING, "Reading your Letterboxd export", 0, 1)
            try:
                profile = profile_from_export(req.export, limits=import_limits(self.settings))
            except InvalidExport as exc:
                raise BadRequest(str(exc), "invalid_export") from exc
            return profile, "export", None

        def progress(message: str, current: int, total: int) -> None:
            em.status(steps.SCRAPING, message, current, total)

        em.status(steps.SCRAPING, f"Fetching {req.username}'s films from Letterboxd", 0, 1)
        try:
            with checkpoints.waiting():
                profile, freshness, incident = self.profiles.get(req.username, progress)
        except Exception as exc:  # noqa: BLE001 - mapped to a member-facing error
            raise upstream_error(exc) from exc
        if freshness in FRESHNESS_HINTS:
            em.log(FRESHNESS_HINTS[freshness], "warning")
        return profile, freshness, incident

    def _contribute(self, matched: list[MatchedFilm], em: Emitter) -> dict:
        """Add the member's matched films to the shared corpus under a random id; degrade on failure."""
        rows = contribution_rows(matched)
        if self.contributions is None or not rows:
            return {"stored": False, "films": 0, "message": "None of your films matched the catalog, so "
                                                            "nothing was added to the shared corpus."}
        try:
            token = self.contributions.add(rows)
        except ContributionsUnavailable as exc:
            log.warning("contribution not stored: %s", exc)
            em.log("We could not add your ratings to the shared corpus right now; nothing was stored", "warning")
            return {"stored": False, "films": 0, "message": "The shared corpus is unavailable right now; "
                                                            "nothing was stored."}
        rated = sum(1 for _, stars, _ in rows if stars is not None)
        em.log(f"Added {len(rows)} of your films ({rated} rated) to the shared corpus, anonymously")
        return {"stored": True, "films": len(rows), "ratings": rated, "token": token,
                "delete_url": f"/api/contributions/{token}"}

    def _tmdb_on(self) -> bool:
        return bool(self.tmdb) and self.tmdb.enabled

    def _enrich(self, matched: list[MatchedFilm], em: Emitter) -> list[MatchedFilm]:
        """Resolve and enrich the member's films from TMDB when configured; degrade on failure."""
        if not self._tmdb_on():
            return matched

        def progress(message: str, current: int, total: int) -> None:
            em.status(steps.ENRICHING, message, current, total)

        # Every film the catalog lacks is looked up (one call, to count it at all); details, a call more
        # each, go to the ones that say most about the member's taste, as far as the run's budget allows,
        # among those and the member's films an earlier run only looked up.
        lacking = [m.entry for m in matched if m.film is None or only_listed(m.film)]
        detailed = most_telling(lacking, self.settings.tmdb_details_per_run)
        try:
            with checkpoints.waiting():
                return self.tmdb.enrich_matched(matched, progress, cancel=em.cancel, with_details=set(detailed))
        except Exception as exc:  # noqa: BLE001 - TMDB trouble degrades the answer only
            log.warning("tmdb enrichment failed: %s", exc)
            em.log("TMDB is unavailable; recommendations come without posters and details", "warning")
            return matched

    def _extra_candidates(self, matched: list[MatchedFilm], index: CatalogIndex) -> dict[int, str]:
        if not self._tmdb_on():
            return {}
        rated = sorted((m for m in matched if m.film and m.film.tmdb_id and m.entry.rating),
                       key=lambda m: -(m.entry.rating or 0))[:EXTRA_CANDIDATE_SEED_FILMS]

        def in_catalog(film: Film) -> Film | None:
            return index.match(ProfileFilm(film.title, film.year))

        try:
            with checkpoints.waiting():
                return self.tmdb.similar_candidates([m.film for m in rated], self.settings.similar_results_per_film,
                                                    in_catalog)
        except Exception as exc:  # noqa: BLE001 - candidates are optional
            log.warning("tmdb candidates failed: %s", exc)
            return {}

    def _emit_cards(self, req: RecommendRequest, picks: list[ScoredFilm], watchlist: set[int], catalog,
                    em: Emitter, reserve: int = 0) -> tuple[list[dict], list[dict]]:
        """Turn picks into cards in batches, checking availability per batch, streaming each card.

        With a provider filter, films not on those services are skipped, and work stops once
        `count` cards are out. Up to `reserve` spare cards follow (not streamed: they replace cards
        the member marks); they cost no upstream call beyond the batches already fetched, so spares
        past those batches carry what the catalog knows and an unknown availability.
        Returns (cards, spare cards).
        """
        matches = _match_percents(picks)
        wanted_providers = set(req.filters.providers or ())
        need_streaming = req.include_streaming or bool(wanted_providers)
        cards: list[dict] = []
        spare: list[dict] = []

        def make(pick: ScoredFilm, offers: Mapping[int, list]) -> dict:
            return card(pick, offers if req.include_streaming else {}, req.include_streaming, watchlist,
                        catalog, matches.get(pick.film.film_id), self.settings.letterboxd_base_url)

        done = 0
        for start in range(0, len(picks), STREAMING_BATCH):
            if len(cards) >= req.count:
                break
            batch = self._enrich_picks(picks[start:start + STREAMING_BATCH])
            done = start + len(batch)
            offers = self._availability([p.film for p in batch], req.country, em, start, len(picks)) \
                if need_streaming else {}
            for pick in batch:
                film_offers = offers.get(pick.film.film_id) or []
                if wanted_providers and not wanted_providers & {o["provider"] for o in film_offers}:
                    continue
                one = make(pick, offers)
                if len(cards) < req.count:
                    cards.append(one)
                    em.recommendation(one)
                elif len(spare) < reserve:
                    spare.append(one)
        if not wanted_providers:
            spare.extend(make(pick, {}) for pick in picks[done:done + max(0, reserve - len(spare))])
        return cards, spare

    def _enrich_picks(self, picks: list[ScoredFilm]) -> list[ScoredFilm]:
        """Details (poster, director, runtime) for picks about to be shown; picks stay as they are on failure."""
        if not self._tmdb_on():
            return picks
        try:
            with checkpoints.waiting():
                films = self.tmdb.enrich([p.film for p in picks])
        except Exception as exc:  # noqa: BLE001 - details are optional
            log.warning("tmdb details for picks failed: %s", exc)
            return picks
        return [replace(p, film=f) if f is not None else p for p, f in zip(picks, films)]

    def _availability(self, films: list[Film], country: str, em: Emitter, done: int = 0,
                      total: int = 0) -> Mapping[int, list]:
        em.status(steps.STREAMING, f"Checking where to stream films {done + 1}-{done + len(films)}",
                  done, total or len(films))
        try:
            with checkpoints.waiting():
                return self.streaming.availability(films, country)
        except Exception as exc:  # noqa: BLE001 - availability is optional
            log.warning("streaming lookup failed: %s", exc)
            em.log("Streaming availability is unavailable right now", "warning")
            return {}


# ----- where the pipeline asks the model ------------------------------------------------------------


def _score(model, catalog, matched: list[MatchedFilm], req: RecommendRequest, wanted: int, seen: set[int],
           watchlist: set[int], extra: dict[int, str], cold: bool) -> list[ScoredFilm]:
    """The ranked picks for a request: mood picks for a cold start, else the hybrid's ranking."""
    if cold:
        return _cold_start(catalog, req, wanted, seen, watchlist)
    return recommend_films(model, catalog, matched, req.filters, wanted, extra)


def _cold_start(catalog, req: RecommendRequest, count: int, seen: set[int], watchlist: set[int]) -> list[ScoredFilm]:
    """Mood picks that also honour the member's filters."""
    # Films the filters refuse are left out before the mood's diversity pass, not after it.
    refused = catalog.film_ids[~req.filters.mask(catalog, watchlist)].tolist()
    picks = mood_picks(catalog, req.mood, req.category, count * COLD_START_OVERFETCH, seen | set(refused))
    allowed = []
    for pick in picks:
        index = catalog.index_of(pick.film.film_id)
        obscurity = float(catalog.obscurity[index]) if index is not None else 100.0
        if req.filters.allows(pick.film, obscurity, pick.film.film_id in watchlist):
            allowed.append(pick)
    return allowed[:count]


def _match_percents(picks: list[ScoredFilm]) -> dict[int, int]:
    """The match percentage shown on each pick's card, by film id."""
    return dict(zip((p.film.film_id for p in picks), match_percents(picks)))


def read_line(summary: dict, req: RecommendRequest) -> str:
    """The log line that says how many films were read: the profile block's count, the one the page shows."""
    where = "your export" if req.export is not None else f"{req.username}'s Letterboxd ({summary['source']})"
    extra = f", and {summary['watchlist']} on the watchlist" if summary["watchlist"] else ""
    return f"Read {summary['films']} watched films from {where}{extra}"


def contribution_rows(matched: list[MatchedFilm]) -> list[tuple[int, float | None, bool]]:
    """(film_id, stars or None, liked) for each catalog film the member watched, rated or liked."""
    rows: dict[int, tuple[int, float | None, bool]] = {}
    for m in matched:
        entry = m.entry
        if m.film is None or not (entry.watched or entry.rating is not None or entry.liked):
            continue
        old = rows.get(m.film.film_id)
        stars = entry.rating if entry.rating is not None else (old[1] if old else None)
        rows[m.film.film_id] = (m.film.film_id, stars, bool(entry.liked) or bool(old and old[2]))
    return list(rows.values())


def import_limits(settings) -> ImportLimits:
    """What one export may hold; a date may be a day ahead (the member's time zone)."""
    return ImportLimits(settings.export_max_films, settings.export_earliest_date,
                        (date.today() + timedelta(days=1)).isoformat())
