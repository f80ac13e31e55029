"""Rank a list for a member: load the member, read the list (watchlist, Letterboxd list, CSV or titles),
match it, rank it with the model, stream a card per film with where it streams."""
from __future__ import annotations

import time
from dataclasses import asdict

from infra.http import UpstreamError, UpstreamNotFound
from infra.jobs import Emitter
from infra.letterboxd import FilmEntry
from recommender.failures import upstream_error
from services import vocabulary as steps
from services.analytics import analyse
from services.cards import card, payload
from services.domain import Profile, ProfileFilm
from services.errors import NotFound
from services.lists import ListSpec, no_match_error, rank_list, unmatched_titles, watchlist_titles
from services.matching import match_profile
from services.profile_summary import preferences, profile_block
from services.recommend_request import RecommendRequest
from services.recsys import Member
from services.vocabulary import COUNTRIES

LIST_FRESH_NS, LIST_STALE_NS = "list", "list_stale"
LIST_FRESH_TTL_S = 3600.0  # a list read from Letterboxd is reused for an hour
LIST_STALE_TTL_S = 7 * 86400.0  # and served for a week when Letterboxd stops answering
CARD_BATCH = 10


class ListRun:
    """One ranked-list request, on the pipeline's sources, catalog and model."""

    def __init__(self, pipeline) -> None:
        self.pipeline = pipeline

    def run(self, req: RecommendRequest, em: Emitter) -> tuple[int, dict]:
        pipeline = self.pipeline
        began = time.monotonic()
        spec: ListSpec = req.from_list
        profile, freshness, incident = pipeline._load_profile(req, em)
        index = pipeline.catalogs.index()
        em.status(steps.MATCHING, "Matching your films to the catalog", 0, 1)
        matched = pipeline._enrich(match_profile(profile, index), em)
        titles, list_freshness = self._titles(spec, profile, em)
        em.status(steps.MATCHING, f"Matching the {len(titles)} films of {spec.label}", 0, 1)
        listed = match_profile(Profile(username="list", source=spec.kind, films=tuple(titles)), index)
        unmatched = unmatched_titles(listed)
        if not any(item.film is not None for item in listed):
            raise no_match_error(spec, unmatched)
        em.log(f"Matched {len(titles) - len(unmatched)} of {len(titles)} titles of {spec.label}")
        em.status(steps.SCORING, f"Ranking {spec.label} for you", 0, 1)
        catalog = pipeline.catalogs.including(m.film for m in matched if m.film is not None)
        model, model_version = pipeline.model_store.current()
        member = Member.from_matched(matched)
        ranked = rank_list(model.bind(catalog), member, catalog, listed, req.filters)
        seen = member.seen_ids
        cards = self._cards(req, ranked, seen, member.watchlist_ids, catalog, em)
        em.status(steps.DONE, f"Ranked {len(cards)} films of {spec.label}", 1, 1)
        body = payload(
            request_id=em.request_id, req=req, country_name=COUNTRIES[req.country], pages=profile.pages,
            freshness=freshness, incident=incident, profile=profile_block(profile, matched),
            preferences=preferences(matched), cards=cards, analytics=analyse(matched), cold=False,
            model_version=model_version, elapsed_ms=round((time.monotonic() - began) * 1000), timings_ms={})
        body["list"] = {
            "source": spec.kind, "name": spec.label, "titles": len(titles),
            "matched": len(ranked.positions), "ranked": len(cards), "filtered_out": ranked.filtered_out,
            "unmatched": unmatched, "freshness": list_freshness,
        }
        return 200, body

    def _titles(self, spec: ListSpec, profile: Profile, em: Emitter) -> tuple[list[ProfileFilm], str]:
        if spec.kind == "watchlist":
            titles = watchlist_titles(profile.films)
            if not titles:
                raise NotFound("Your watchlist is empty, or we could not read it.", "empty_watchlist")
            return titles, "profile"
        if spec.kind == "url":
            entries, freshness = self._scrape(spec, em)
            return [ProfileFilm(title=e.title, year=e.year, slug=e.slug, watched=False) for e in entries], freshness
        return list(spec.titles), "request"

    def _scrape(self, spec: ListSpec, em: Emitter) -> tuple[list[FilmEntry], str]:
        """The list's films: from the cache for an hour, else Letterboxd, else a week-old copy."""
        source = self.pipeline.profiles
        key = f"{spec.owner.lower()}/{spec.slug}"
        cached = source.cache.get(LIST_FRESH_NS, key)
        if cached is not None:
            return [FilmEntry(**row) for row in cached], "fresh"
        em.status(steps.SCRAPING, f"Reading {spec.label} from Letterboxd", 0, 1)
        try:
            entries = source.client.fetch_list(spec.owner, spec.slug)
        except UpstreamNotFound as exc:
            raise NotFound(f"There is no Letterboxd list at {spec.owner}/list/{spec.slug}.", "unknown_list") from exc
        except UpstreamError as exc:
            stale = source.cache.get(LIST_STALE_NS, key)
            if stale is None:
                raise upstream_error(exc) from exc
            em.log("Letterboxd is not answering, so this uses a copy of the list from an earlier visit", "warning")
            return [FilmEntry(**row) for row in stale], "stale_cache"
        rows = [asdict(entry) for entry in entries]
        source.cache.set(LIST_FRESH_NS, key, rows, LIST_FRESH_TTL_S)
        source.cache.set(LIST_STALE_NS, key, rows, LIST_STALE_TTL_S)
        return entries, "fresh"

    def _cards(self, req: RecommendRequest, ranked, seen: set[int], watchlist: set[int], catalog,
               em: Emitter) -> list[dict]:
        """A card per ranked film, in order; with a provider filter, only films on those services."""
        pipeline = self.pipeline
        wanted = set(req.filters.providers or ())
        need_streaming = req.include_streaming or bool(wanted)
        picks = list(ranked.picks)
        cards: list[dict] = []
        for start in range(0, len(picks), CARD_BATCH):
            if len(cards) >= req.count:
                break
            batch = pipeline._enrich_picks(picks[start:start + CARD_BATCH])
            offers = pipeline._availability([p.film for p in batch], req.country, em, start, len(picks)) \
                if need_streaming else {}
            for pick in batch:
                film_offers = offers.get(pick.film.film_id) or []
                if wanted and not wanted & {o["provider"] for o in film_offers}:
                    continue
                one = card(pick, offers if req.include_streaming else {}, req.include_streaming,
                           watchlist, catalog, pick.match, pipeline.settings.letterboxd_base_url)
                one["list_position"] = ranked.positions[pick.film.film_id]
                one["seen"] = pick.film.film_id in seen
                cards.append(one)
                em.recommendation(one)
                if len(cards) >= req.count:
                    break
        return cards
