"""Group night: films none of the members has seen, in an order that suits the whole group; pure, no I/O.

Each member's model scores are standardised over the catalog (z, in that member's own spread), then
for every film

    group score = mean of z  -  MISERY_WEIGHT x sum over members of max(0, MISERY_FLOOR - z)

so a film one member is likely to dislike pays for it however much the others like it, and a film
any member is very likely to dislike (z below VETO) ranks after every film nobody is expected to
dislike. The average keeps the evening fair; the misery term keeps one strong dislike from being
averaged away.

A watchlist night ranks only the films on the members' watchlists, by

    night score = group score  +  WATCHLIST_BONUS x (watchlists holding it - 1) / (members - 1)

so a film on every member's watchlist gains WATCHLIST_BONUS standard deviations over one on a single
watchlist: it goes first among films the group would enjoy about as much, and never passes a film
the group scores more than WATCHLIST_BONUS higher (nor, through the veto, one nobody would dislike).
Neither night picks a film any member has seen, or one not out yet.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Sequence

import numpy as np

from services.catalog import Catalog
from services.domain import Film, ProfileFilm
from services.errors import NO_WATCHLIST_FILMS, BadRequest
from services.filters import Filters
from services.matching import exclude_seen
from services.releases import unreleased_mask
from services.together_request import personal
from services.recsys.content import catalog_content
from services.recsys.members import Member
from services.recsys.ranking import diversify, shortlist

MISERY_FLOOR = -0.5  # standard deviations below a member's average film
MISERY_WEIGHT = 1.0
VETO = -1.5
VETO_PENALTY = 1000.0
WATCHLIST_BONUS = 0.5  # standard deviations: a film on every watchlist against one on a single watchlist
UNREAD_WATCHLIST = "rss"  # a member read from Letterboxd's RSS feed (its pages refused): no watchlist
WATCHLIST_NOTES = {
    UNREAD_WATCHLIST: ("Letterboxd would not serve {name}'s watchlist, so tonight's films come from the others' "
                       "watchlists ({name}'s taste and the films {name} has seen still count)."),
    "stale_cache": "Letterboxd is not answering, so {name}'s watchlist is the copy kept from an earlier visit.",
    "partial": ("Letterboxd stopped answering part-way through {name}'s films, so part of {name}'s watchlist "
                "may be missing."),
}
UNMATCHED_NAMED = 10  # unknown titles a message names


@dataclass(frozen=True)
class MemberView:
    """One member's side of a group pick."""

    name: str
    match: int  # 1-99: the member's calibrated chance of rating it highly, else their percentile
    z: float
    reason: str | None


@dataclass(frozen=True)
class GroupPick:
    film: Film
    score: float
    members: tuple[MemberView, ...]
    on_watchlists: tuple[str, ...] = ()  # a watchlist night: the members whose watchlists hold the film


@dataclass(frozen=True)
class NightPicks:
    """A watchlist night: the picks in the night's order, and what of the watchlists was left out, and why."""

    picks: tuple[GroupPick, ...]
    listed: int  # distinct catalog films on the members' watchlists
    seen: int  # of them, films one of the members has seen
    not_out_yet: tuple[Film, ...]  # of them, films not out yet
    filtered_out: int  # of the rest, films the filters refuse


def standardise_rows(scores: np.ndarray) -> np.ndarray:
    """Each row in its own standard deviations from its own mean."""
    scores = np.asarray(scores, dtype=np.float64)
    mean = scores.mean(axis=1, keepdims=True)
    std = scores.std(axis=1, keepdims=True)
    return (scores - mean) / np.where(std > 0, std, 1.0)


def group_scores(z: np.ndarray) -> np.ndarray:
    """The group score of every film from members x films standardised scores (see the module doc)."""
    z = np.asarray(z, dtype=np.float64)
    misery = np.clip(MISERY_FLOOR - z, 0.0, None).sum(axis=0)
    score = z.mean(axis=0) - MISERY_WEIGHT * misery
    score[(z < VETO).any(axis=0)] -= VETO_PENALTY
    return score


def watchlist_read(freshness: str) -> bool:
    """Whether a member's films read with this freshness carry their watchlist (Letterboxd's RSS feed has none)."""
    return freshness != UNREAD_WATCHLIST


def watchlist_note(name: str, freshness: str) -> str | None:
    """What to tell the group about one member's watchlist, named, when it was not read whole and fresh."""
    note = WATCHLIST_NOTES.get(freshness)
    return note.format(name=name) if note else None


def nothing_to_pick(unread: Sequence[str], names: Sequence[str], entries: int, unmatched: Sequence[dict],
                    night: NightPicks) -> BadRequest:
    """The 400 of a watchlist night with no film to pick, saying why: watchlists unread, empty, unknown or seen."""
    if unread and len(unread) == len(names):
        message = (f"Letterboxd would not serve the watchlists of {and_list(unread)}, so there is nothing to rank. "
                   "Upload your Letterboxd exports instead: each holds your watchlist (watchlist.csv).")
    elif entries == 0:
        missing = f" (Letterboxd would not serve {and_list(unread)}'s)" if unread else ""
        message = (f"Nothing is on any of your watchlists{missing}, so there is nothing to rank. Add films to a "
                   "watchlist on Letterboxd, or leave out from_list for films from the whole catalog.")
    elif night.listed == 0:
        shown = [f"{u['name']} ({u['year']})" if u["year"] else u["name"] for u in unmatched[:UNMATCHED_NAMED]]
        message = (f"None of the {entries} films on your watchlists is one we know"
                   + (f": {'; '.join(shown)}{'; ...' if len(unmatched) > len(shown) else ''}." if shown else "."))
    else:
        message = (f"None of the {night.listed} films on your watchlists can be picked tonight: {night.seen} "
                   f"one of you has seen, {len(night.not_out_yet)} not out yet.")
    return BadRequest(message, NO_WATCHLIST_FILMS)


def and_list(names: Sequence[str]) -> str:
    """Names as a sentence writes them: "a", "a and b", "a, b and c"."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def watchlist_bonus(holders: np.ndarray, members: int) -> np.ndarray:
    """Per film, the night's bonus for the watchlists holding it (see the module doc); none for one watchlist."""
    holders = np.asarray(holders, dtype=np.float64)
    return WATCHLIST_BONUS * np.clip(holders - 1.0, 0.0, None) / max(members - 1, 1)


def night_order(group: np.ndarray, holders: np.ndarray, members: int) -> np.ndarray:
    """Positions of films in a watchlist night's order: by night score, then on more watchlists, then group score."""
    group = np.asarray(group, dtype=np.float64)
    holders = np.asarray(holders, dtype=np.float64)
    night = group + watchlist_bonus(holders, members)
    return np.lexsort((-group, -holders, -night))


def seen_mask(catalog: Catalog, members: Sequence[Member]) -> np.ndarray:
    """A boolean array over the catalog: True for every film one of the members has seen."""
    mask = np.zeros(len(catalog), dtype=bool)
    seen = catalog.indices_of(list(set().union(*(m.seen_ids for m in members))))
    mask[seen[seen >= 0]] = True
    return mask


def _meter(served, raw: np.ndarray, z_row: np.ndarray, picks: np.ndarray) -> np.ndarray:
    """Per pick, the member's chance of liking it (calibrated when the model is), else their percentile."""
    chance = served.match(raw[picks])
    if chance is not None:
        return np.asarray(chance, dtype=np.int64)
    order = np.sort(z_row)
    return np.clip(np.round(100.0 * np.searchsorted(order, z_row[picks]) / max(order.size, 1)), 1, 99).astype(np.int64)


def group_picks(served, catalog: Catalog, members: Sequence[Member], names: Sequence[str], filters: Filters,
                count: int, today: date) -> list[GroupPick]:
    """Up to `count` varied films none of the members has seen, best for the group first, each explained per member.

    `served` is a HybridModel bound to `catalog`; films not out yet on `today` are never picked.
    """
    raw = np.vstack([served.score(m) for m in members])
    z = standardise_rows(raw)
    total = group_scores(z)
    watchlists = set().union(*(m.watchlist_ids for m in members))
    allowed = filters.mask(catalog, watchlists) & ~seen_mask(catalog, members) & ~unreleased_mask(catalog, today)
    allowed &= catalog.is_movie
    pool = shortlist(total.astype(np.float32), allowed, count)
    picks = np.asarray(diversify(catalog, catalog_content(catalog), pool, total[pool], count, filters.diversity,
                                 filters.max_per_director), dtype=np.int64)
    picks = picks[np.argsort(-total[picks], kind="stable")]
    return _explained(served, catalog, members, names, raw, z, total, picks)


def watchlist_picks(served, catalog: Catalog, members: Sequence[Member], names: Sequence[str],
                    watchlists: Sequence[set[int]], seen_entries: Sequence[ProfileFilm], filters: Filters,
                    count: int, today: date) -> NightPicks:
    """Up to `count` films of the members' watchlists in the night's order (see the module doc), each explained
    per member with whose watchlists hold it.

    `served` is a HybridModel bound to `catalog`; `watchlists` are the film ids on each member's watchlist (empty
    for a member whose watchlist could not be read). Films a member has seen (by id, or by title and year among
    `seen_entries`, the members' own films) and films not out yet on `today` are left out.
    """
    holders = np.zeros(len(catalog), dtype=np.int64)
    for ids in watchlists:
        index = catalog.indices_of(list(ids))
        holders[index[index >= 0]] += 1
    listed = holders > 0
    seen = listed & seen_mask(catalog, members)
    unseen = np.flatnonzero(listed & ~seen)
    kept = {film.film_id for film in exclude_seen([catalog.films[i] for i in unseen], seen_entries)}
    seen[[i for i in unseen if int(catalog.film_ids[i]) not in kept]] = True
    unreleased = listed & ~seen & unreleased_mask(catalog, today)
    candidates = listed & ~seen & ~unreleased
    allowed = candidates & filters.mask(catalog, set().union(*watchlists))
    raw = np.vstack([served.score(m) for m in members])
    z = standardise_rows(raw)
    total = group_scores(z)
    pool = np.flatnonzero(allowed)
    picks = pool[night_order(total[pool], holders[pool], len(members))][:count]
    night = total + watchlist_bonus(holders, len(members))
    explained = _explained(served, catalog, members, names, raw, z, night, picks, watchlists)
    return NightPicks(tuple(explained), int(listed.sum()), int(seen.sum()),
                      tuple(catalog.films[i] for i in np.flatnonzero(unreleased)), int((candidates & ~allowed).sum()))


def _explained(served, catalog: Catalog, members: Sequence[Member], names: Sequence[str], raw: np.ndarray,
               z: np.ndarray, total: np.ndarray, picks: np.ndarray,
               watchlists: Sequence[set[int]] = ()) -> list[GroupPick]:
    """The picks (catalog positions) as GroupPicks: each member's meter and leading reason, and whose watchlists."""
    meters = [_meter(served, raw[i], z[i], picks) for i in range(len(members))]
    out = []
    for k, index in enumerate(picks.tolist()):
        film = catalog.films[index]
        views = []
        for i, (member, name) in enumerate(zip(members, names)):
            reasons = served.explain(member, film.film_id).reasons
            views.append(MemberView(name, int(meters[i][k]), round(float(z[i, index]), 3),
                                    personal(reasons[0], name) if reasons else None))
        holding = tuple(name for name, ids in zip(names, watchlists) if film.film_id in ids)
        out.append(GroupPick(film, float(total[index]), tuple(views), holding))
    return out
