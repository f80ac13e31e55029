"""Rank a list for a member: load the member, read the list (watchlist, Letterboxd list, CSV or titles),
match it, rank it with the model, stream a card per film with where it streams."""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Mapping, Sequence

from infra.http import UpstreamError, UpstreamNotFound
from infra.jobs import Emitter
from recommender.failures import upstream_error
from recommender.ports import Lists
from recommender.served_model import TRAINING_MESSAGE
from recommender.steps import CardOptions, RunSteps
from services import vocabulary as steps
from services.analytics import analyse
from services.cards import payload
from services.domain import Film, MatchedFilm, Profile, ProfileFilm, ScoredFilm
from services.errors import EMPTY_WATCHLIST, NotFound
from services.lists import ListSpec, no_match_error, rank_list, unmatched_titles, watchlist_titles
from services.matching import TitleKeys
from services.profile_summary import preferences, profile_block
from services.recommend_request import RecommendRequest
from services.recsys import Member
from services.vocabulary import COUNTRIES


@dataclass(frozen=True)
class ListCandidates:
    """A list's films matched to the catalog, in the list's order, with the titles that matched none."""

    titles: int
    matched: list[MatchedFilm]
    unmatched: list[dict]
    freshness: str


class ListReader:
    """Reads the list a request names and matches it to the catalog: the candidates a list run ranks."""

    def __init__(self, run_steps: RunSteps, lists: Lists) -> None:
        self.steps = run_steps
        self.lists = lists

    def read(self, spec: ListSpec, profile: Profile, em: Emitter) -> ListCandidates:
        """The list's titles matched to the catalog; raises a 400 naming the titles when none matched."""
        titles, freshness = self.titles(spec, profile, em)
        em.status(steps.MATCHING, f"Matching the {len(titles)} films of {spec.label}", 0, 1)
        listed = self.steps.match(Profile(username="list", source=spec.kind, films=tuple(titles)))
        unmatched = unmatched_titles(listed)
        if not any(item.film is not None for item in listed):
            raise no_match_error(spec, unmatched)
        em.log(f"Matched {len(titles) - len(unmatched)} of {len(titles)} titles of {spec.label}")
        return ListCandidates(len(titles), listed, unmatched, freshness)

    def titles(self, spec: ListSpec, profile: Profile, em: Emitter) -> tuple[Sequence[ProfileFilm], str]:
        """The list's titles and where they came from ("profile", "request", or a Letterboxd list's freshness)."""
        if spec.kind == "watchlist":
            titles = watchlist_titles(profile.films)
            if not titles:
                raise NotFound("Your watchlist is empty, or we could not read it.", EMPTY_WATCHLIST)
            return titles, "profile"
        if spec.kind == "url":
            return self.letterboxd_list(spec, em)
        return list(spec.titles), "request"

    def letterboxd_list(self, spec: ListSpec, em: Emitter) -> tuple[Sequence[ProfileFilm], str]:
        """A Letterboxd list's films: from the cache for an hour, else Letterboxd, else a week-old copy."""
        try:
            films, freshness = self.lists.get(
                spec.owner, spec.slug,
                lambda: em.status(steps.SCRAPING, f"Reading {spec.label} from Letterboxd", 0, 1))
        except UpstreamNotFound as exc:
            raise NotFound(f"There is no Letterboxd list at {spec.owner}/list/{spec.slug}.", "unknown_list") from exc
        except UpstreamError as exc:
            raise upstream_error(exc) from exc
        if freshness == "stale_cache":
            em.log("Letterboxd is not answering, so this uses a copy of the list from an earlier visit", "warning")
        return films, freshness


class RankList:
    """One member's ranking of a list: every matched film of it, in the member's order, with its reasons."""

    def __init__(self, run_steps: RunSteps, reader: ListReader) -> None:
        self.steps = run_steps
        self.reader = reader

    def run(self, req: RecommendRequest, em: Emitter) -> tuple[int, dict]:
        run = self.steps
        run.wait_for_model(em, TRAINING_MESSAGE)
        began = time.monotonic()
        spec: ListSpec = req.from_list
        title_keys = TitleKeys()  # shared by reading and matching
        profile, freshness, incident = run.load_member(req, em, title_keys)
        em.status(steps.MATCHING, "Matching your films to the catalog", 0, 1)
        matched = run.enrich(run.match(profile, title_keys), em)
        candidates = self.reader.read(spec, profile, em)
        em.status(steps.SCORING, f"Ranking {spec.label} for you", 0, 1)
        catalog = run.catalog_with(matched)
        model, model_version = run.model.current()
        member = Member.from_matched(matched)
        ranked = rank_list(model.bind(catalog), member, catalog, candidates.matched, req.filters, run.today())
        seen, watchlist = member.seen_ids, member.watchlist_ids
        options = CardOptions(req.country, req.include_streaming, frozenset(req.filters.providers or ()), req.count)

        def make(pick: ScoredFilm, film: Film, offers: Mapping[int, list]) -> dict:
            one = run.card(replace(pick, film=film), offers, req.include_streaming, watchlist, catalog, pick.match)
            one["list_position"] = ranked.positions[film.film_id]
            one["seen"] = film.film_id in seen
            return one

        cards, _ = run.stream_cards(list(ranked.picks), options, em, make)
        em.status(steps.DONE, f"Ranked {len(cards)} films of {spec.label}", 1, 1)
        body = payload(
            request_id=em.request_id, req=req, country_name=COUNTRIES[req.country], pages=profile.pages,
            freshness=freshness, incident=incident, profile=profile_block(profile, matched),
            preferences=preferences(matched), cards=cards, analytics=analyse(matched), cold=False,
            model_version=model_version, elapsed_ms=round((time.monotonic() - began) * 1000), timings_ms={})
        body["list"] = {
            "source": spec.kind, "name": spec.label, "titles": candidates.titles,
            "matched": len(ranked.positions), "ranked": len(cards), "filtered_out": ranked.filtered_out,
            "not_out_yet": ranked.not_out_yet,
            "unmatched": candidates.unmatched, "freshness": candidates.freshness,
        }
        return 200, body
