"""The together page's use cases: group night (over the catalog or the members' watchlists), taste match and year
in review, each over several loaded members.

They run as jobs like a recommendation (through the dispatcher, on a thread or an RQ worker), with
the same three SSE channels and result store, so /api/result and the streams serve them too.
"""
from __future__ import annotations

import logging
import time
from typing import Mapping, Sequence

from infra.http import UpstreamError
from infra.jobs import Emitter
from recommender.ports import Profiles
from recommender.steps import CardOptions, RunSteps
from services import vocabulary as steps
from services.compare import agreements, shared_favourites, taste_match
from services.domain import Film, MatchedFilm, ScoredFilm
from services.errors import NotFound
from services.group import (
    MISERY_FLOOR,
    MISERY_WEIGHT,
    VETO,
    WATCHLIST_BONUS,
    GroupPick,
    group_picks,
    nothing_to_pick,
    watchlist_note,
    watchlist_picks,
    watchlist_read,
)
from services.lists import MAX_UNMATCHED_SHOWN, unmatched_titles
from services.profile_summary import profile_block
from services.recsys import Member
from services.releases import release_fields
from services.together_request import WATCHLISTS, TogetherRequest
from services.vocabulary import COUNTRIES
from services.year_review import year_review

log = logging.getLogger(__name__)

COMPARE_PICKS = 5
GROUP_PROVIDER_FACTOR = 3  # group picks scored per card wanted when only some services count
PREPARING_MESSAGE = "Preparing the model"
GROUP_METHOD = (f"Each member's scores are put on their own scale (standard deviations from their average film). "
                f"A film's group score is the members' average minus {MISERY_WEIGHT:g} x how far each member sits "
                f"below {MISERY_FLOOR:g}; a film any member sits below {VETO:g} on comes after every other film.")
WATCHLIST_METHOD = (f"{GROUP_METHOD} Only films on your watchlists count, none one of you has seen or not out yet; "
                    f"each watchlist beyond the first that holds a film adds {WATCHLIST_BONUS:g} x 1/(members - 1) "
                    f"to its group score, so a film on every watchlist gains {WATCHLIST_BONUS:g}: it goes first "
                    f"among films you would enjoy about as much, never above one you would enjoy clearly more.")


class LoadedMember:
    """One member, loaded and matched."""

    def __init__(self, name: str, matched: list[MatchedFilm], summary: dict, freshness: str) -> None:
        self.name = name
        self.matched = matched
        self.member = Member.from_matched(matched)
        self.summary = summary
        self.freshness = freshness

    def as_dict(self) -> dict:
        return {"name": self.name, "films": self.summary["films"], "rated": self.summary["rated"],
                "matched": self.summary["matched"], "source": self.summary["source"],
                "data_freshness": self.freshness}


class Members:
    """Loads each member of a together request: their films, matched and enriched, member by member."""

    def __init__(self, run_steps: RunSteps, profiles: Profiles) -> None:
        self.steps = run_steps
        self.profiles = profiles

    def load(self, request: TogetherRequest, em: Emitter, *, diary: bool = False) -> list[LoadedMember]:
        """Each member's films, matched and enriched, reporting progress member by member.

        With diary, a member read from Letterboxd also gets the dated entries of their RSS diary.
        """
        run = self.steps
        run.wait_for_model(em, PREPARING_MESSAGE)
        loaded = []
        total = len(request.members)
        for number, req in enumerate(request.members, 1):
            name = req.username
            em.status(steps.SCRAPING if req.export is None else steps.READING,
                      f"Reading {name}'s films ({number} of {total})", number - 1, total)
            try:
                profile, freshness, _ = run.load_member(req, em)
            except NotFound as exc:
                if exc.code == "unknown_user":
                    raise NotFound(f"We couldn't find the Letterboxd member {name}. Check the spelling.",
                                   "unknown_user", {"member": name}) from exc
                raise
            if diary and req.export is None and not any(f.watched_dates for f in profile.films):
                profile = self.with_rss_diary(profile, em)
            matched = run.enrich(run.match(profile), em)
            summary = profile_block(profile, matched)
            em.log(f"{name}: matched {summary['matched']} of {summary['films']} films")
            loaded.append(LoadedMember(name, matched, summary, freshness))
        em.status(steps.MATCHING, f"Read all {total} members", total, total)
        return loaded

    def with_rss_diary(self, profile, em: Emitter):
        """The profile with its RSS diary's dates merged in; the profile as it was when RSS fails."""
        try:
            merged, entries = self.profiles.with_rss_diary(profile)
        except UpstreamError as exc:
            log.warning("rss diary for %s failed: %s", profile.username, exc)
            em.log("Your diary feed could not be read, so only dated entries we already had count", "warning")
            return profile
        em.log(f"Read {entries} recent diary entries from {profile.username}'s RSS feed")
        return merged


def group_cards(run_steps: RunSteps, request: TogetherRequest, picks: Sequence[GroupPick], catalog,
                em: Emitter) -> list[dict]:
    """A card per group pick, each with every member's meter (and whose watchlists hold it), streamed as made."""
    options = CardOptions(request.country, request.include_streaming,
                          frozenset(request.filters.providers or ()), request.count, released_only=True)

    def make(pick: GroupPick, film: Film, offers: Mapping[int, list]) -> dict:
        reasons = tuple(v.reason for v in pick.members if v.reason)
        one = run_steps.card(ScoredFilm(film, pick.score, reasons), offers, request.include_streaming, set(),
                             catalog, None)
        one["members"] = [{"name": v.name, "match": v.match, "reason": v.reason} for v in pick.members]
        if request.from_list == WATCHLISTS:
            one["on_watchlists"] = list(pick.on_watchlists)
        return one

    cards, _ = run_steps.stream_cards(list(picks), options, em, make)
    return cards


class TogetherRun:
    """A use case of the together page: the shared steps, and the members' loading."""

    def __init__(self, run_steps: RunSteps, members: Members) -> None:
        self.steps = run_steps
        self.members = members


class GroupNight(TogetherRun):
    """Films none of the members has seen, in an order that suits the whole group."""

    def run(self, request: TogetherRequest, em: Emitter) -> tuple[int, dict]:
        began = time.monotonic()
        loaded = self.members.load(request, em)
        catalog = self.steps.catalog_with(m for one in loaded for m in one.matched)
        model, model_version = self.steps.model.current()
        em.status(steps.SCORING, f"Finding films for all {len(loaded)} of you", 0, 1)
        picks = group_picks(model.bind(catalog), catalog, [m.member for m in loaded], [m.name for m in loaded],
                            request.filters, wanted(request), self.steps.today())
        cards = group_cards(self.steps, request, picks, catalog, em)
        em.status(steps.DONE, f"Found {len(cards)} films for the group", 1, 1)
        return 200, group_payload(request, em, loaded, GROUP_METHOD, cards, model_version, began)


class WatchlistNight(TogetherRun):
    """The films on the members' watchlists, none seen by any of them or not out yet, in an order for the group."""

    def run(self, request: TogetherRequest, em: Emitter) -> tuple[int, dict]:
        began, today = time.monotonic(), self.steps.today()
        loaded = self.members.load(request, em)
        names = [m.name for m in loaded]
        notes = [note for note in (watchlist_note(m.name, m.freshness) for m in loaded) if note]
        for note in notes:
            em.log(note, "warning")
        unread = [m.name for m in loaded if not watchlist_read(m.freshness)]
        listed = [item for m in loaded for item in m.matched if item.entry.watchlist]
        catalog = self.steps.catalog_with(m for one in loaded for m in one.matched)
        model, model_version = self.steps.model.current()
        em.status(steps.SCORING, f"Ranking the films on your watchlists for all {len(loaded)} of you", 0, 1)
        night = watchlist_picks(model.bind(catalog), catalog, [m.member for m in loaded], names,
                                [m.member.watchlist_ids for m in loaded],
                                [item.entry for m in loaded for item in m.matched], request.filters,
                                wanted(request), today)
        unmatched = unmatched_titles(listed)
        if night.listed == night.seen + len(night.not_out_yet):
            raise nothing_to_pick(unread, names, len(listed), unmatched, night)
        em.log(f"{night.listed} films on your watchlists: {night.seen} seen by one of you, "
               f"{len(night.not_out_yet)} not out yet")
        cards = group_cards(self.steps, request, night.picks, catalog, em)
        em.status(steps.DONE, f"Ranked {len(cards)} films from your watchlists", 1, 1)
        body = group_payload(request, em, loaded, WATCHLIST_METHOD, cards, model_version, began)
        for member, one in zip(body["members"], loaded):
            member["watchlist"] = sum(1 for item in one.matched if item.entry.watchlist) \
                if watchlist_read(one.freshness) else None
        body.update(from_list=WATCHLISTS, notes=notes, watchlists={
            "films": night.listed, "ranked": len(cards), "seen": night.seen, "filtered_out": night.filtered_out,
            "not_out_yet": [{"film_id": f.film_id, "title": f.title, "year": f.year, **release_fields(f, today),
                             "on_watchlists": [m.name for m in loaded if f.film_id in m.member.watchlist_ids]}
                            for f in night.not_out_yet],
            "unmatched": unmatched[:MAX_UNMATCHED_SHOWN], "unmatched_count": len(unmatched),
        })
        return 200, body


def wanted(request: TogetherRequest) -> int:
    """Group picks to score: the count, or more of them when only some streaming services count."""
    return request.count * GROUP_PROVIDER_FACTOR if request.filters.providers else request.count


def group_payload(request: TogetherRequest, em: Emitter, loaded: Sequence[LoadedMember], method: str,
                  cards: list[dict], model_version: str | None, began: float) -> dict:
    """The answer to a group request: the members, how the order was chosen, and the cards."""
    return {
        "request_id": em.request_id, "kind": "group", "members": [m.as_dict() for m in loaded],
        "country_code": request.country, "country_name": COUNTRIES[request.country], "method": method,
        "recommendations": cards, "model_version": model_version,
        "elapsed_ms": round((time.monotonic() - began) * 1000),
    }


class TasteMatch(TogetherRun):
    """How alike two members' tastes are, the films they agree and disagree on, and films for both."""

    def run(self, request: TogetherRequest, em: Emitter) -> tuple[int, dict]:
        began = time.monotonic()
        a, b = self.members.load(request, em)
        catalog = self.steps.catalog_with(a.matched + b.matched)
        model, model_version = self.steps.model.current()
        served = model.bind(catalog)
        em.status(steps.SCORING, f"Comparing {a.name} and {b.name}", 0, 1)
        match = taste_match(a.member, b.member, served.score(a.member), served.score(b.member))
        agree, disagree = agreements(a.member, b.member)
        picks = group_picks(served, catalog, [a.member, b.member], [a.name, b.name], request.filters, COMPARE_PICKS,
                            self.steps.today())
        both = group_cards(self.steps, request, picks, catalog, em)
        em.status(steps.DONE, f"{a.name} and {b.name}: a {match.percent}% match", 1, 1)
        return 200, {
            "request_id": em.request_id, "kind": "compare", "members": [a.as_dict(), b.as_dict()],
            **match.as_dict(), "agree": agree, "disagree": disagree,
            "shared_directors": shared_favourites(a.member, b.member, "directors"),
            "shared_genres": shared_favourites(a.member, b.member, "genres"),
            "country_code": request.country, "country_name": COUNTRIES[request.country],
            "recommendations": both, "model_version": model_version,
            "elapsed_ms": round((time.monotonic() - began) * 1000),
        }


class YearReview(TogetherRun):
    """One member's year in review, from the diary dates of their films."""

    def run(self, request: TogetherRequest, em: Emitter) -> tuple[int, dict]:
        (member,) = self.members.load(request, em, diary=True)
        em.status(steps.SCORING, "Looking back on the year", 0, 1)
        review = year_review(member.matched, request.year)
        em.status(steps.DONE, f"{review['logs']} films logged in {review['year']}", 1, 1)
        return 200, {"request_id": em.request_id, "kind": "year_review", "member": member.as_dict(), **review,
                     "image_url": f"/api/year-review/image?request_id={em.request_id}"}
