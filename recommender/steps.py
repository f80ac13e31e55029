"""The steps every run is made of: wait for the model, load a member, enrich, and stream cards with availability.

Recommend, ranked list, group, compare and year review compose these public steps; none
reaches into another's. Each step reports progress on the run's status channel; TMDB and
availability trouble degrades the answer, a source failure becomes a member-facing error.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Callable, Iterable, Mapping, Protocol, Sequence, TypeVar

from infra.fair_share import in_slices, pace, waiting, weigh
from infra.jobs import Emitter
from recommender.catalogs import CatalogCache
from recommender.failures import upstream_error
from recommender.ports import Availability, Profiles, Tmdb
from recommender.served_model import ServedModel
from services import vocabulary as steps
from services.cards import FRESHNESS_HINTS, card
from services.domain import Film, MatchedFilm, Profile, ProfileFilm, ScoredFilm
from services.errors import BadRequest
from services.export_import import ExportRows, ImportLimits, InvalidExport, profile_from_export
from services.film_details import only_listed
from services.matching import TitleKeys, match_profile
from services.recommend_request import RecommendRequest
from services.recsys import most_telling
from services.releases import not_out_yet

log = logging.getLogger(__name__)

CARD_BATCH = 10  # picks given their details and availability at a time, before their cards stream
EXTRA_CANDIDATE_SEED_FILMS = 10
NO_PROFILE = "none"  # source and freshness of a mood-only run


class HasFilm(Protocol):
    film: Film


P = TypeVar("P", bound=HasFilm)
MakeCard = Callable[[P, Film, Mapping[int, list]], dict]


@dataclass(frozen=True)
class CardOptions:
    """How a run's picks become cards: where, whether to show availability, which services only, how many."""

    country: str
    include_streaming: bool
    providers: frozenset[str] = frozenset()
    count: int = 20
    reserve: int = 0  # spare cards beyond count, not streamed
    # Picks for tonight (recommendations, a group's films): a film its details show is not out yet is left out.
    released_only: bool = False


class RunSteps:
    """The shared steps of a run, over the ports they need."""

    def __init__(self, settings, *, profiles: Profiles, tmdb: Tmdb | None, availability: Availability,
                 catalogs: CatalogCache, model: ServedModel) -> None:
        self.settings = settings
        self.profiles = profiles
        self.tmdb = tmdb
        self.availability_source = availability
        self.catalogs = catalogs
        self.model = model

    def today(self) -> date:
        """The date taken as today (the setting TODAY when set): which films are out yet."""
        return current_date(self.settings)

    # -- the model ------------------------------------------------------------------------------

    def wait_for_model(self, em: Emitter, message: str) -> None:
        """Wait for the first model, saying so on the status channel while it trains."""
        with waiting():
            self.model.wait(lambda: em.status(steps.TRAINING, message, 0, 1))

    # -- the member -----------------------------------------------------------------------------

    def load_member(self, req: RecommendRequest, em: Emitter,
                    keys: TitleKeys | None = None) -> tuple[Profile, str, dict | None]:
        """The member's profile, its freshness and what went wrong upstream: from the export, or Letterboxd.

        Pass the run's `TitleKeys` to keep an export's normalised titles for matching them next.
        """
        if req.anonymous:
            return Profile(username="", source=NO_PROFILE, films=()), NO_PROFILE, None
        if req.export is not None:
            weigh(getattr(req.export, "size_bytes", 0))
            em.status(steps.READING, "Reading your Letterboxd export", 0, 1)
            try:
                profile = profile_from_export(PacedRows(req.export), limits=import_limits(self.settings), keys=keys)
            except InvalidExport as exc:
                raise BadRequest(str(exc), "invalid_export") from exc
            return profile, "export", None

        def progress(message: str, current: int, total: int) -> None:
            em.status(steps.SCRAPING, message, current, total)

        em.status(steps.SCRAPING, f"Fetching {req.username}'s films from Letterboxd", 0, 1)
        try:
            with waiting():
                profile, freshness, incident = self.profiles.get(req.username, progress)
        except Exception as exc:  # noqa: BLE001 - mapped to a member-facing error
            raise upstream_error(exc) from exc
        if freshness in FRESHNESS_HINTS:
            em.log(FRESHNESS_HINTS[freshness], "warning")
        return profile, freshness, incident

    def match(self, profile: Profile, keys: TitleKeys | None = None) -> list[MatchedFilm]:
        """The profile's films matched to the catalog, in the profile's order (in slices, a checkpoint between)."""
        index, keys = self.catalogs.index(), keys or TitleKeys()
        return in_slices(lambda films: match_profile(replace(profile, films=tuple(films)), index, keys), profile.films)

    # -- TMDB -----------------------------------------------------------------------------------

    @property
    def tmdb_on(self) -> bool:
        return bool(self.tmdb) and self.tmdb.enabled

    def enrich(self, matched: list[MatchedFilm], em: Emitter) -> list[MatchedFilm]:
        """Resolve and enrich the member's films from TMDB when configured; degrade on failure."""
        if not self.tmdb_on:
            return matched

        def progress(message: str, current: int, total: int) -> None:
            em.status(steps.ENRICHING, message, current, total)

        # Every film the catalog lacks is looked up (one call, to count it at all); details, a call more
        # each, go to the ones that say most about the member's taste, as far as the run's budget allows,
        # among those and the member's films an earlier run only looked up.
        lacking = [m.entry for m in matched if m.film is None or only_listed(m.film)]
        detailed = most_telling(lacking, self.settings.tmdb_details_per_run)
        try:
            with waiting():
                return self.tmdb.enrich_matched(matched, progress, cancel=em.cancel, with_details=set(detailed))
        except Exception as exc:  # noqa: BLE001 - TMDB trouble degrades the answer only
            log.warning("tmdb enrichment failed: %s", exc)
            em.log("TMDB is unavailable; recommendations come without posters and details", "warning")
            return matched

    def catalog_with(self, matched: Iterable[MatchedFilm]):
        """The catalog with the members' films just found on TMDB in it, so they count in scoring at once."""
        return self.catalogs.including(m.film for m in matched if m.film is not None)

    def extra_candidates(self, matched: list[MatchedFilm]) -> dict[int, str]:
        """TMDB's suggestions for the member's highest-rated films, by catalog film id; none without TMDB."""
        if not self.tmdb_on:
            return {}
        rated = sorted((m for m in matched if m.film and m.film.tmdb_id and m.entry.rating),
                       key=lambda m: -(m.entry.rating or 0))[:EXTRA_CANDIDATE_SEED_FILMS]
        index = self.catalogs.index()

        def in_catalog(film: Film) -> Film | None:
            return index.match(ProfileFilm(film.title, film.year))

        try:
            with waiting():
                return self.tmdb.similar_candidates([m.film for m in rated], self.settings.similar_results_per_film,
                                                    in_catalog)
        except Exception as exc:  # noqa: BLE001 - candidates are optional
            log.warning("tmdb candidates failed: %s", exc)
            return {}

    def film_details(self, films: Sequence[Film]) -> list[Film]:
        """Details (poster, director, runtime) of films about to be shown; films stay as they are on failure."""
        if not self.tmdb_on:
            return list(films)
        try:
            with waiting():
                found = self.tmdb.enrich(list(films))
        except Exception as exc:  # noqa: BLE001 - details are optional
            log.warning("tmdb details for picks failed: %s", exc)
            return list(films)
        return [new if new is not None else old for old, new in zip(films, found)]

    # -- availability and cards -----------------------------------------------------------------

    def availability(self, films: Sequence[Film], country: str, em: Emitter, done: int = 0,
                     total: int = 0) -> Mapping[int, list]:
        """Where each film streams in the country, by film id; empty when no source answers."""
        em.status(steps.STREAMING, f"Checking where to stream films {done + 1}-{done + len(films)}",
                  done, total or len(films))
        try:
            with waiting():
                return self.availability_source.availability(films, country)
        except Exception as exc:  # noqa: BLE001 - availability is optional
            log.warning("streaming lookup failed: %s", exc)
            em.log("Streaming availability is unavailable right now", "warning")
            return {}

    def card(self, pick: ScoredFilm, offers: Mapping[int, list], include_streaming: bool, watchlist: set[int],
             catalog, match: int | None) -> dict:
        """One pick as the API and the pages show it."""
        return card(pick, offers, include_streaming, watchlist, catalog, match, self.settings.letterboxd_base_url,
                    today=self.today())

    def stream_cards(self, picks: Sequence[P], options: CardOptions, em: Emitter,
                     make: MakeCard) -> tuple[list[dict], list[dict]]:
        """Turn picks into cards in batches, with details and availability per batch, streaming each card.

        With providers, films on none of those services are skipped, and work stops once `count`
        cards are out. Up to `reserve` spare cards follow (not streamed: they replace cards the
        member marks); they cost no upstream call beyond the batches already fetched, so spares
        past those batches carry what the catalog knows and an unknown availability.
        `make(pick, film with details, offers to show)` builds one card. Returns (cards, spare cards).
        With `released_only`, a pick whose details show it is not out yet is left out.
        """
        need_availability = options.include_streaming or bool(options.providers)
        today = self.today()
        cards: list[dict] = []
        spare: list[dict] = []
        done = 0
        for start in range(0, len(picks), CARD_BATCH):
            if len(cards) >= options.count:
                break
            batch = picks[start:start + CARD_BATCH]
            films = self.film_details([pick.film for pick in batch])
            done = start + len(batch)
            offers = self.availability(films, options.country, em, start, len(picks)) if need_availability else {}
            shown = offers if options.include_streaming else {}
            for pick, film in zip(batch, films):
                if options.providers and not options.providers & {
                        offer["provider"] for offer in offers.get(film.film_id) or []}:
                    continue
                if options.released_only and not_out_yet(film, today):
                    continue
                if len(cards) < options.count:
                    one = make(pick, film, shown)
                    cards.append(one)
                    em.recommendation(one)
                elif len(spare) < options.reserve:
                    spare.append(make(pick, film, shown))
                else:
                    break
        if not options.providers:
            spare.extend(make(pick, pick.film, {}) for pick in picks[done:done + max(0, options.reserve - len(spare))])
        return cards, spare


class PacedRows:
    """An export whose rows of each file kind are handed over with a checkpoint every so many rows."""

    KINDS = ("ratings", "watched", "watchlist", "likes", "diary", "reviews")

    def __init__(self, export: ExportRows) -> None:
        self.export = export

    def __getattr__(self, name: str):
        value = getattr(self.export, name)
        return pace(value) if name in self.KINDS else value


def current_date(settings) -> date:
    """The date taken as today: the setting TODAY when set, else the system's date."""
    return date.fromisoformat(settings.today) if settings.today else date.today()


def import_limits(settings) -> ImportLimits:
    """What one export may hold; a date may be a day ahead (the member's time zone)."""
    return ImportLimits(settings.export_max_films, settings.export_earliest_date,
                        (current_date(settings) + timedelta(days=1)).isoformat())
