""""More like this": films like one pick, for the member of a finished run, asked of the model.

A run keeps its member's catalog films and signals (no titles, no username) in the cache
for as long as its result is kept, under the run's request id.
"""
from __future__ import annotations

from datetime import date
from typing import Sequence

from services.cards import card
from services.catalog import Catalog
from services.domain import MatchedFilm, ProfileFilm, ScoredFilm
from services.errors import NotFound
from services.recommend_request import MoreLikeRequest
from services.recsys import Member, member_films
from services.recsys.similar import more_like
from services.releases import unreleased_ids

NS_MEMBERS = "run-member"


class RunMembers:
    """Each finished run's member as compact rows, kept in the cache (Redis when set) for the result's lifetime."""

    def __init__(self, cache, ttl_s: float) -> None:
        self.cache = cache
        self.ttl_s = ttl_s

    def put(self, request_id: str, member: Member | Sequence[MatchedFilm]) -> None:
        """Keep a run's member (or its matched films) for its result's lifetime."""
        films = member.films if isinstance(member, Member) else member_films(member)
        rows = [[f.film.film_id, f.stars, f.liked, f.rewatch, f.watched, f.watchlist] for f in films]
        self.cache.set(NS_MEMBERS, request_id, rows, self.ttl_s)

    def get(self, request_id: str, catalog: Catalog) -> list[MatchedFilm] | None:
        rows = self.cache.get(NS_MEMBERS, request_id)
        if rows is None:
            return None
        out = []
        for film_id, stars, liked, rewatch, watched, watchlist in rows:
            film = catalog.by_id(film_id)
            if film is not None:
                entry = ProfileFilm(title=film.title, year=film.year, rating=stars, liked=liked, rewatch=rewatch,
                                    watched=watched, watchlist=watchlist)
                out.append(MatchedFilm(entry, film))
        return out


def more_like_cards(req: MoreLikeRequest, members: RunMembers, catalog: Catalog, model, letterboxd_base_url: str,
                    today: date) -> dict:
    """Cards of films like `req.film_id` for the run's member, none of them seen, excluded, not out yet on `today`
    or the film itself."""
    matched = members.get(req.request_id, catalog)
    if matched is None:
        raise NotFound("These results have expired, so there is no member to find films for.", "unknown_request")
    anchor = catalog.by_id(req.film_id)
    if anchor is None:
        raise NotFound("That film is not in the catalog.", "unknown_film")
    served = model.bind(catalog)
    member = Member.from_matched(matched)
    exclude = [*req.exclude, *unreleased_ids(catalog, today)]
    ids, scores = more_like(served, member, req.film_id, req.count, exclude=exclude)
    matches = served.match(scores)
    watchlist = member.watchlist_ids
    cards = []
    for k, (film_id, score) in enumerate(zip(ids.tolist(), scores.tolist())):
        reasons = (f"Like {anchor.title}", *served.explain(member, film_id).reasons)
        pick = ScoredFilm(film=catalog.by_id(film_id), score=float(score), reasons=reasons)
        match = None if matches is None else int(matches[k])
        cards.append(card(pick, {}, False, watchlist, catalog, match, letterboxd_base_url, today=today))
    return {"request_id": req.request_id, "film_id": req.film_id, "recommendations": cards}
