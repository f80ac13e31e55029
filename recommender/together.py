"""Requests about several members (taste match, group night): load each member, then the service, as a job.

The jobs run on the app's pipeline pool with the same three SSE channels and result store as a
recommendation, so /api/result and the streams serve them too.
"""
from __future__ import annotations

import logging
import time
from typing import Callable, Sequence

from infra.http import UpstreamError
from infra.jobs import Emitter
from infra.letterboxd import merge_rss
from recommender.failures import parse_upload
from services import vocabulary as steps
from services.cards import card
from services.compare import agreements, shared_favourites, taste_match
from services.domain import MatchedFilm, ScoredFilm
from services.errors import NotFound
from services.group import GroupPick, MISERY_FLOOR, MISERY_WEIGHT, VETO, group_picks
from services.matching import match_profile
from services.party import PartyRequest, validate_party
from services.profile_summary import profile_block
from services.recsys import Member
from services.vocabulary import COUNTRIES
from services.year_review import year_review

log = logging.getLogger(__name__)

COMPARE_PICKS = 5
CARD_BATCH = 10
GROUP_METHOD = (f"Each member's scores are put on their own scale (standard deviations from their average film). "
                f"A film's group score is the members' average minus {MISERY_WEIGHT:g} x how far each member sits "
                f"below {MISERY_FLOOR:g}; a film any member sits below {VETO:g} on comes after every other film.")


class Loaded:
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


class Social:
    """Taste match and group night over the facade's pipeline, jobs and dispatcher."""

    def __init__(self, facade) -> None:
        self.facade = facade
        self.pipeline = facade.pipeline

    # -- requests ------------------------------------------------------------------------------

    def build(self, fields: dict, usernames: Sequence[str], uploads: Sequence[tuple[int, bytes, str]], *,
              minimum: int, maximum: int) -> PartyRequest:
        """Validate a party's fields and read its exports, or raise BadRequest."""
        settings = self.facade.settings
        exports = [(slot, parse_upload(data, name, settings), data, name) for slot, data, name in uploads]
        return validate_party(fields, usernames, exports, self.facade.limits, minimum=minimum, maximum=maximum)

    def start(self, work: Callable[[PartyRequest, Emitter], tuple[int, dict]], party: PartyRequest,
              client: str) -> str:
        """Accept a party request and run it on the pipeline pool; returns its request_id."""
        dispatch = self.facade.dispatch
        request_id = dispatch.admit(party, client)
        self.facade.jobs.submit(request_id, lambda em: work(party, em), Emitter(self.facade.bus, request_id))
        return request_id

    def run_sync(self, work: Callable[[PartyRequest, Emitter], tuple[int, dict]], party: PartyRequest,
                 client: str) -> tuple[int, dict]:
        request_id = self.facade.dispatch.admit(party, client)
        return self.facade.jobs.run_pooled(request_id, lambda em: work(party, em),
                                           Emitter(self.facade.bus, request_id))

    # -- loading members -----------------------------------------------------------------------

    def load(self, party: PartyRequest, em: Emitter, *, diary: bool = False) -> list[Loaded]:
        """Each member's films, matched and enriched, reporting progress member by member.

        With diary, a member read from Letterboxd also gets the dated entries of their RSS diary.
        """
        pipeline = self.pipeline
        if pipeline.bootstrap is not None:
            pipeline.bootstrap.wait(lambda: em.status(steps.TRAINING, "Preparing the model", 0, 1))
        index = pipeline.catalogs.index()
        loaded = []
        total = len(party.members)
        for number, req in enumerate(party.members, 1):
            name = req.username
            em.status(steps.SCRAPING if req.export is None else steps.READING,
                      f"Reading {name}'s films ({number} of {total})", number - 1, total)
            try:
                profile, freshness, _ = pipeline._load_profile(req, em)
            except NotFound as exc:
                if exc.code == "unknown_user":
                    raise NotFound(f"We couldn't find the Letterboxd member {name}. Check the spelling.",
                                   "unknown_user", {"member": name}) from exc
                raise
            if diary and req.export is None and not any(f.watched_dates for f in profile.films):
                profile = self._with_rss_diary(profile, em)
            matched = pipeline._enrich(match_profile(profile, index), em)
            summary = profile_block(profile, matched)
            em.log(f"{name}: matched {summary['matched']} of {summary['films']} films")
            loaded.append(Loaded(name, matched, summary, freshness))
        em.status(steps.MATCHING, f"Read all {total} members", total, total)
        return loaded

    def _with_rss_diary(self, profile, em: Emitter):
        """The profile with its RSS diary's dates merged in; the profile as it was when RSS fails."""
        try:
            rss = self.pipeline.profiles.client.fetch_rss(profile.username)
        except UpstreamError as exc:
            log.warning("rss diary for %s failed: %s", profile.username, exc)
            em.log("Your diary feed could not be read, so only dated entries we already had count", "warning")
            return profile
        em.log(f"Read {len(rss.films)} recent diary entries from {profile.username}'s RSS feed")
        return merge_rss(profile, rss)

    # -- group night ---------------------------------------------------------------------------

    def group(self, party: PartyRequest, em: Emitter) -> tuple[int, dict]:
        began = time.monotonic()
        loaded = self.load(party, em)
        catalog = self.pipeline.catalogs.including(m.film for one in loaded for m in one.matched if m.film)
        model, model_version = self.pipeline.model_store.current()
        em.status(steps.SCORING, f"Finding films for all {len(loaded)} of you", 0, 1)
        picks = group_picks(model.bind(catalog), catalog, [m.member for m in loaded], [m.name for m in loaded],
                            party.filters, party.count * 3 if party.filters.providers else party.count)
        cards = self._cards(party, picks, catalog, em)
        em.status(steps.DONE, f"Found {len(cards)} films for the group", 1, 1)
        return 200, {
            "request_id": em.request_id, "kind": "group", "members": [m.as_dict() for m in loaded],
            "country_code": party.country, "country_name": COUNTRIES[party.country], "method": GROUP_METHOD,
            "recommendations": cards, "model_version": model_version,
            "elapsed_ms": round((time.monotonic() - began) * 1000),
        }

    def _cards(self, party: PartyRequest, picks: Sequence[GroupPick], catalog, em: Emitter) -> list[dict]:
        pipeline = self.pipeline
        wanted = set(party.filters.providers or ())
        need_streaming = party.include_streaming or bool(wanted)
        cards: list[dict] = []
        for start in range(0, len(picks), CARD_BATCH):
            if len(cards) >= party.count:
                break
            batch = list(picks[start:start + CARD_BATCH])
            scored = pipeline._enrich_picks([ScoredFilm(p.film, p.score) for p in batch])
            offers = pipeline._availability([s.film for s in scored], party.country, em, start, len(picks)) \
                if need_streaming else {}
            for pick, shown in zip(batch, scored):
                film_offers = offers.get(shown.film.film_id) or []
                if wanted and not wanted & {o["provider"] for o in film_offers}:
                    continue
                reasons = tuple(v.reason for v in pick.members if v.reason)
                one = card(ScoredFilm(shown.film, pick.score, reasons), offers if party.include_streaming else {},
                           party.include_streaming, set(), catalog, None, pipeline.settings.letterboxd_base_url)
                one["members"] = [{"name": v.name, "match": v.match, "reason": v.reason} for v in pick.members]
                cards.append(one)
                em.recommendation(one)
                if len(cards) >= party.count:
                    break
        return cards

    def year_review(self, party: PartyRequest, em: Emitter) -> tuple[int, dict]:
        return review_year(self, party, em)

    # -- taste match -----------------------------------------------------------------------------

    def compare(self, party: PartyRequest, em: Emitter) -> tuple[int, dict]:
        began = time.monotonic()
        a, b = self.load(party, em)
        catalog = self.pipeline.catalogs.including(m.film for m in a.matched + b.matched if m.film)
        model, model_version = self.pipeline.model_store.current()
        served = model.bind(catalog)
        em.status(steps.SCORING, f"Comparing {a.name} and {b.name}", 0, 1)
        match = taste_match(a.member, b.member, served.score(a.member), served.score(b.member))
        agree, disagree = agreements(a.member, b.member)
        picks = group_picks(served, catalog, [a.member, b.member], [a.name, b.name], party.filters, COMPARE_PICKS)
        both = self._cards(party, picks, catalog, em)
        em.status(steps.DONE, f"{a.name} and {b.name}: a {match.percent}% match", 1, 1)
        return 200, {
            "request_id": em.request_id, "kind": "compare", "members": [a.as_dict(), b.as_dict()],
            **match.as_dict(), "agree": agree, "disagree": disagree,
            "shared_directors": shared_favourites(a.member, b.member, "directors"),
            "shared_genres": shared_favourites(a.member, b.member, "genres"),
            "country_code": party.country, "country_name": COUNTRIES[party.country],
            "recommendations": both, "model_version": model_version,
            "elapsed_ms": round((time.monotonic() - began) * 1000),
        }


def review_year(social: Social, party: PartyRequest, em: Emitter) -> tuple[int, dict]:
    """One member's year in review, from the diary dates of their films."""
    (member,) = social.load(party, em, diary=True)
    em.status(steps.SCORING, "Looking back on the year", 0, 1)
    review = year_review(member.matched, party.year)
    em.status(steps.DONE, f"{review['logs']} films logged in {review['year']}", 1, 1)
    return 200, {"request_id": em.request_id, "kind": "year_review", "member": member.as_dict(), **review,
                 "image_url": f"/api/year-review/image?request_id={em.request_id}"}
