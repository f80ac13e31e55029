"""Several members in one request (a taste match, a group night): who they are, checked; pure, no I/O."""
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
EXPORT_FIELD = re.compile(r"^export_([1-8])$")


@dataclass(frozen=True)
class PartyRequest:
    """A validated request about several members: one RecommendRequest per member, plus shared options."""

    members: tuple[RecommendRequest, ...]
    country: str
    count: int
    sync: bool
    include_streaming: bool = True
    filters: Any = None
    request_id: str | None = None
    year: int | None = None  # year in review
    fields: Mapping[str, Any] = field(default_factory=dict, repr=False)

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


def validate_party(fields: Mapping[str, Any], usernames: Sequence[str], exports: Sequence[tuple[int, Any, bytes, str]],
                   limits: RequestLimits, *, minimum: int = MIN_GROUP, maximum: int = MAX_GROUP) -> PartyRequest:
    """Check the members (usernames and parsed exports, by slot) and the shared options.

    Raises BadRequest for too few or too many members, and for the same member twice.
    """
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
    return PartyRequest(
        members=tuple(members),
        country=check_country(fields.get("country"), limits.default_country),
        count=check_count(fields.get("count", limits.default_count), limits.max_count),
        sync=bool_field(fields.get("sync"), "sync", False),
        include_streaming=bool_field(fields.get("include_streaming"), "include_streaming", True),
        filters=check_filters(fields.get("filters")),
        request_id=fields.get("request_id") or None,
        fields=dict(fields),
    )


def personal(reason: str, name: str) -> str:
    """A reason written to the member ("you rated ...") rewritten about them ("Sam rated ...")."""
    text = re.sub(r"\byour\b", f"{name}'s", reason)
    text = re.sub(r"\bYour\b", f"{name}'s", text)
    text = re.sub(r"\byou\b", name, text)
    return re.sub(r"\bYou\b", name, text)
