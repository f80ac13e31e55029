"""A request of the together page (group night, taste match, year in review): who the members are and the
options, checked; pure, no I/O."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from services.errors import BadRequest
from services.recommend_request import RecommendRequest, RequestLimits, check_count, check_country, check_filters, \
    bool_field, validate_request
from services.usernames import check_username

MAX_GROUP = 8
MIN_GROUP = 2
MIN_YEAR, MAX_YEAR = 1874, 2100
EXPORT_FIELD = re.compile(r"^export_([1-8])$")
GROUP, COMPARE, YEAR_REVIEW = "group", "compare", "year_review"
WATCHLISTS = "watchlists"  # a group's from_list: rank the films on the members' watchlists
# How many members each kind of together request takes, at least and at most.
MEMBERS = {GROUP: (MIN_GROUP, MAX_GROUP), COMPARE: (2, 2), YEAR_REVIEW: (1, 1)}
Upload = tuple[int, bytes, str]  # (export slot 1-8, the file's bytes, its name)


@dataclass(frozen=True)
class TogetherRequest:
    """A validated together request: one RecommendRequest per member, plus shared options."""

    kind: str
    members: tuple[RecommendRequest, ...]
    country: str
    count: int
    sync: bool
    include_streaming: bool = True
    filters: Any = None
    request_id: str | None = None
    year: int | None = None  # year in review
    from_list: str | None = None  # a group: WATCHLISTS ranks the films on the members' watchlists
    fields: Mapping[str, Any] = field(default_factory=dict, repr=False)  # as received, names included, for RQ
    uploads: tuple[Upload, ...] = field(default=(), repr=False)  # as received, for RQ workers

    @property
    def names(self) -> list[str]:
        return [m.username for m in self.members]


def member_usernames(value: Any) -> list[str]:
    """The usernames a request names: a JSON list, or a list of form values."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest("members must be a list of Letterboxd usernames.", "invalid_members")
    if len(value) > MAX_GROUP:
        raise BadRequest(f"A group has at most {MAX_GROUP} members; {len(value)} were given.", "too_many_members")
    return [check_username(v.strip()) if v.strip() else check_username(v) for v in value]


def check_year(value: Any) -> int | None:
    """A year in review's year: a whole number in range, or None for the latest year of the diary."""
    if value in (None, ""):
        return None
    try:
        year = int(value)
    except (TypeError, ValueError):
        raise BadRequest("year must be a whole number such as 2024.", "invalid_year") from None
    if isinstance(value, bool) or isinstance(value, float) or not MIN_YEAR <= year <= MAX_YEAR:
        raise BadRequest(f"year must be between {MIN_YEAR} and {MAX_YEAR}.", "invalid_year")
    return year


def check_group_list(value: Any) -> str | None:
    """A group's from_list: None for a group night over the catalog, or WATCHLISTS; else a 400."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or value.strip().lower() != WATCHLISTS:
        raise BadRequest(f'A group\'s from_list can only be "{WATCHLISTS}": the films on the members\' watchlists.',
                         "invalid_from_list")
    return WATCHLISTS


def validate_together(kind: str, fields: Mapping[str, Any], usernames: Sequence[str],
                      exports: Sequence[tuple[int, Any, bytes, str]], limits: RequestLimits) -> TogetherRequest:
    """Check the members (usernames and parsed exports, by slot) and the shared options of one kind of request.

    Raises BadRequest for too few or too many members, and for the same member twice.
    """
    minimum, maximum = MEMBERS[kind]
    total = len(usernames) + len(exports)
    if maximum == 1 and total != 1:
        raise BadRequest("Give one member: a username or an export.", "invalid_username")
    what = "A taste match compares exactly two members" if minimum == maximum == 2 else \
        f"A group needs {minimum} to {maximum} members"
    if total < minimum:
        raise BadRequest(f"{what}; {total} {'was' if total == 1 else 'were'} given.", "too_few_members")
    if total > maximum:
        raise BadRequest(f"{what}; {total} were given.", "too_many_members")
    members: list[RecommendRequest] = []
    for name in usernames:
        members.append(validate_request({"username": name}, limits))
    for slot, export, upload, filename in sorted(exports, key=lambda e: e[0]):
        members.append(validate_request({"username": f"member{slot}" if not getattr(export, "username", None)
                                         else None}, limits, export=export, upload=upload, filename=filename))
    names = [m.username.lower() for m in members]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise BadRequest(f"The same member is given twice: {', '.join(twice)}.", "duplicate_member")
    return TogetherRequest(
        kind=kind,
        members=tuple(members),
        country=check_country(fields.get("country"), limits.default_country),
        count=check_count(fields.get("count", limits.default_count), limits.max_count),
        sync=bool_field(fields.get("sync"), "sync", False),
        include_streaming=bool_field(fields.get("include_streaming"), "include_streaming", True),
        filters=check_filters(fields.get("filters")),
        request_id=fields.get("request_id") or None,
        year=check_year(fields.get("year")) if kind == YEAR_REVIEW else None,
        from_list=check_group_list(fields.get("from_list")) if kind == GROUP else None,
        fields={**fields, "members": list(usernames)},
        uploads=tuple((slot, upload, filename) for slot, _, upload, filename in exports),
    )


def personal(reason: str, name: str) -> str:
    """A reason written to the member ("you rated ...") rewritten about them ("Sam rated ...")."""
    text = re.sub(r"\byour\b", f"{name}'s", reason)
    text = re.sub(r"\bYour\b", f"{name}'s", text)
    text = re.sub(r"\byou\b", name, text)
    return re.sub(r"\bYou\b", name, text)
