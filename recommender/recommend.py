"""Recommend: load the member -> match -> enrich -> score -> stream cards with availability -> payload."""
from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Mapping

from infra.contributions import ContributionsUnavailable
from infra.fair_share import checkpoint, pace
from infra.jobs import Emitter
from recommender.more_like import RunMembers
from recommender.ports import Contributions
from recommender.served_model import TRAINING_MESSAGE
from recommender.steps import CardOptions, RunSteps
from services import vocabulary as steps
from services.analytics import analyse
from services.answer_notes import answer_notes
from services.cards import payload
from services.coldstart import filtered_mood_picks
from services.domain import Film, MatchedFilm, ScoredFilm
from services.feedback import feedback_films
from services.matching import TitleKeys, exclude_seen
from services.profile_summary import contribution_rows, preferences, profile_block, read_line
from services.recommend_request import RecommendRequest
from services.recsys import Member, is_cold_start, match_percents, recommend_films
from services.releases import unreleased_ids
from services.vocabulary import COUNTRIES

log = logging.getLogger(__name__)

STREAMING_CANDIDATE_FACTOR = 3  # picks scored per card wanted when only some services count
SEEN_GUARD_MARGIN = 10


class Recommend:
    """Films for one member (or for a mood alone), each with its reasons and where it streams."""

    def __init__(self, run_steps: RunSteps, *, contributions: Contributions | None = None,
                 members: RunMembers | None = None) -> None:
        self.steps = run_steps
        self.contributions = contributions
        self.members = members  # keeps each run's member for "more like this"

    def run(self, req: RecommendRequest, em: Emitter) -> tuple[int, dict]:
        """Profile -> match -> enrich -> score -> cards -> payload, reporting each step."""
        run = self.steps
        run.wait_for_model(em, TRAINING_MESSAGE)
        began = time.monotonic()
        timings: dict[str, int] = {}
        lap = [began]

        def mark(step: str) -> None:
            now = time.monotonic()
            timings[step] = round((now - lap[0]) * 1000)
            lap[0] = now

        title_keys = TitleKeys()  # shared by reading, matching and the seen guard below
        profile, freshness, incident = run.load_member(req, em, title_keys)
        mark("profile")
        em.status(steps.MATCHING, "Matching your films to the catalog", 0, 1)
        matched = run.match(profile, title_keys)
        mark("matching")
        matched = run.enrich(matched, em)
        summary = profile_block(profile, pace(matched))
        where = "your export" if req.export is not None else f"{req.username}'s Letterboxd ({summary['source']})"
        em.log(read_line(summary, where))
        em.log(f"Matched {summary['matched']} of {summary['films']} films to the catalog")
        catalog = run.catalog_with(matched)
        mark("enrichment")
        contribution = self.contribute(matched, em) if req.contribute else None

        em.status(steps.SCORING, "Scoring films for you", 0, 1)
        model, model_version = run.model.current()
        # Films marked on an earlier page join the profile for scoring only (not the counts of what was read).
        marked = feedback_films(req.feedback, catalog)
        if marked:
            em.log(f"Using {len(marked)} films you marked seen or not for you")
        scored = [*matched, *marked]
        seen = {m.film.film_id for m in scored if m.film and (m.entry.watched or m.entry.rating is not None)}
        watchlist = {m.film.film_id for m in matched if m.film and m.entry.watchlist}
        member = Member.from_matched(scored)  # merged once, for the cold-start rule and "more like this"
        cold = bool(req.mood) or is_cold_start(member)
        reserve = run.settings.reserve_picks
        wanted = (req.count + reserve) * (STREAMING_CANDIDATE_FACTOR if req.filters.providers else 1)
        extra = {} if cold else run.extra_candidates(scored)
        if extra:  # TMDB's suggestions the catalog lacked count in this run already
            catalog = run.catalogs.including(run.catalogs.missing_films(extra))
        checkpoint()
        unreleased = set(unreleased_ids(catalog, run.today()))  # never a pick for tonight
        logged = (*profile.films, *(m.entry for m in marked))

        def unseen(films: list) -> list:
            """The seen guard: no film the member logged, under any of its names."""
            return [p for p in exclude_seen(pace(films), pace(logged), title_keys)
                    if getattr(p, "film", p).film_id not in seen]

        # A few more than wanted: the guard may drop films the member logged under another title.
        if cold:
            picks = unseen(filtered_mood_picks(catalog, req.mood, req.category, req.filters,
                                               wanted + SEEN_GUARD_MARGIN, seen | unreleased, watchlist))
            em.log(f"Picking {req.mood} films for you" if req.mood else
                   "Few of your films matched, so these are well-loved picks to start from")
        else:  # only the picks the guard keeps are explained
            picks = recommend_films(model, catalog, member, req.filters, wanted + SEEN_GUARD_MARGIN, extra,
                                    exclude=unreleased, keep=unseen, explained=wanted)
        mark("scoring")

        matches = dict(zip((p.film.film_id for p in picks), match_percents(picks)))
        options = CardOptions(req.country, req.include_streaming, frozenset(req.filters.providers or ()), req.count,
                              reserve, released_only=True)

        def make(pick: ScoredFilm, film: Film, offers: Mapping[int, list]) -> dict:
            return run.card(replace(pick, film=film), offers, req.include_streaming, watchlist, catalog,
                            matches.get(film.film_id))

        cards, spare = run.stream_cards(picks, options, em, make)
        mark("streaming")
        notes = answer_notes(cards, req.include_streaming, bool(picks) and all(p.match is not None for p in picks))
        if notes["streaming_status"] == "unknown" and cards:
            em.log("No streaming service answered, so where to stream these films is unknown", "warning")
        em.status(steps.DONE, f"Found {len(cards)} recommendations", 1, 1)
        checkpoint()
        body = payload(
            request_id=em.request_id, req=req, country_name=COUNTRIES[req.country], pages=profile.pages,
            freshness=freshness, incident=incident, profile=summary, preferences=preferences(pace(matched)),
            cards=cards, analytics=analyse(matched), cold=cold, model_version=model_version,
            elapsed_ms=round((time.monotonic() - began) * 1000), timings_ms=timings, contribution=contribution)
        body.update(notes)
        if self.members is not None:
            self.members.put(em.request_id, member)
        body["reserve"] = spare
        return 200, body

    def contribute(self, matched: list[MatchedFilm], em: Emitter) -> dict:
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
