"""A recommendation request, validated from the fields a client sent: pure, no I/O."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

from services.coldstart import MOODS
from services.errors import BadRequest
from services.feedback import Feedback, check_feedback
from services.filters import Filters
from services.lists import MAX_LIST_FILMS, check_from_list
from services.usernames import check_username, export_label
from services.vocabulary import COUNTRIES

MAX_CATEGORY_LENGTH = 40
ANONYMOUS = ""  # the username of a mood-only run: no member, no profile
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


@dataclass(frozen=True)
class RequestLimits:
    """The settings that bound a request."""

    default_country: str = "GB"
    default_count: int = 20
    max_count: int = 100
    feedback_max_films: int = 500


@dataclass(frozen=True)
class RecommendRequest:
    """A validated recommendation request: a username or an export, plus options."""

    username: str
    country: str
    include_streaming: bool = True
    count: int = 20
    sync: bool = False
    request_id: str | None = None
    mood: str | None = None
    category: str | None = None
    filters: Any = None
    export: Any = field(default=None, repr=False)  # infra.export_reader.ExportFiles
    fields: Mapping[str, Any] = field(default_factory=dict, repr=False)  # as received, for RQ workers
    upload: bytes | None = field(default=None, repr=False)
    filename: str = ""
    contribute: bool = False  # the member opted in to add their ratings to the shared corpus
    feedback: Feedback = field(default_factory=Feedback)  # "seen it" / "not for me" kept by the browser
    from_list: Any = None  # services.lists.ListSpec: rank this list instead of the catalog

    kind: ClassVar[str] = "recommend"  # the kind of job it runs as (a together request names its own)

    @property
    def uploads(self) -> tuple[tuple[int, bytes, str], ...]:
        """The upload as received, as (slot, bytes, file name): what an RQ worker reads again."""
        return ((1, self.upload, self.filename),) if self.upload is not None else ()

    @property
    def anonymous(self) -> bool:
        """Whether the run has no member at all (a mood and nothing else)."""
        return self.export is None and self.username == ANONYMOUS


def bool_field(value: Any, name: str, default: bool) -> bool:
    """Read a true/false field sent as JSON or as form text."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise BadRequest(f"{name} must be true or false.", f"invalid_{name}")


def check_country(value: Any, default: str) -> str:
    country = str(value or default).upper()
    if country not in COUNTRIES:
        raise BadRequest(f"Unknown country code {country!r}; use an ISO code such as GB or US.", "invalid_country")
    return country


def check_count(value: Any, maximum: int) -> int:
    try:
        count = int(value)
    except (TypeError, ValueError):
        raise BadRequest("count must be a whole number.", "invalid_count") from None
    if not 1 <= count <= maximum:
        raise BadRequest(f"count must be between 1 and {maximum}.", "invalid_count")
    return count


def check_filters(value: Any) -> Filters:
    fields = value or {}
    if not isinstance(fields, dict):
        raise BadRequest("filters must be a JSON object.", "invalid_filters")
    try:
        return Filters.from_request(fields)
    except ValueError as exc:
        raise BadRequest(str(exc), "invalid_filters") from exc


def check_mood(mood: Any, category: Any) -> None:
    if mood is not None and (not isinstance(mood, str) or mood.lower() not in MOODS):
        raise BadRequest(f"mood must be one of: {', '.join(sorted(MOODS))}.", "invalid_mood")
    if category is not None and (not isinstance(category, str) or len(category) > MAX_CATEGORY_LENGTH):
        raise BadRequest("category must be a genre name.", "invalid_category")


def validate_request(fields: Mapping[str, Any], limits: RequestLimits, *, export: Any = None,
                     upload: bytes | None = None, filename: str = "") -> RecommendRequest:
    """Check every field before any work starts; raise BadRequest naming the first bad one.

    Without an export the username must be one Letterboxd can have; with one, the run is
    labelled with the export's own username (or "export"). A mood alone needs neither: the
    run has no member (username "") and gets mood picks.
    """
    if export is None and fields.get("username") in (None, "") and fields.get("mood"):
        username = ANONYMOUS
    elif export is None:
        username = check_username(fields.get("username"))
    else:
        username = export_label(fields.get("username") or getattr(export, "username", None))
    from_list = check_from_list(fields.get("from_list"))
    if from_list is not None and username == ANONYMOUS:
        raise BadRequest("Ranking a list needs a username or an export, to know whose taste to rank it by.",
                         "invalid_username")
    country = check_country(fields.get("country"), limits.default_country)
    # A list is ranked whole unless a count asks for its top films only.
    default_count = MAX_LIST_FILMS if from_list is not None else limits.default_count
    count = check_count(fields.get("count", default_count), max(limits.max_count, default_count))
    filters = check_filters(fields.get("filters"))
    mood = fields.get("mood") or None
    category = fields.get("category") or None
    check_mood(mood, category)
    return RecommendRequest(
        username=username,
        country=country,
        include_streaming=bool_field(fields.get("include_streaming"), "include_streaming", True),
        count=count,
        sync=bool_field(fields.get("sync"), "sync", False),
        contribute=bool_field(fields.get("contribute"), "contribute", False),
        feedback=check_feedback(fields.get("feedback"), limits.feedback_max_films),
        request_id=fields.get("request_id") or None,
        mood=mood,
        category=category,
        filters=filters,
        export=export,
        fields=dict(fields),
        upload=upload,
        filename=filename,
        from_list=from_list,
    )


MORE_LIKE_DEFAULT_COUNT = 8


@dataclass(frozen=True)
class MoreLikeRequest:
    """Films like one film, for the member of a finished run, leaving out films already on the page."""

    request_id: str
    film_id: int
    count: int = MORE_LIKE_DEFAULT_COUNT
    exclude: tuple[int, ...] = ()


def _positive_id(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise BadRequest(f"{name} must be a positive whole number.", f"invalid_{name}")
    return value


def validate_more_like(fields: Mapping[str, Any], request_id: str, limits: RequestLimits) -> MoreLikeRequest:
    """Check a "more like this" request: a film id, an optional count and the film ids to leave out."""
    film_id = _positive_id(fields.get("film_id"), "film_id")
    count = check_count(fields.get("count", MORE_LIKE_DEFAULT_COUNT), limits.max_count)
    exclude = fields.get("exclude") or []
    if not isinstance(exclude, list) or len(exclude) > limits.feedback_max_films:
        raise BadRequest(f"exclude must be a list of at most {limits.feedback_max_films} film ids.",
                         "invalid_exclude")
    return MoreLikeRequest(request_id, film_id, count, tuple(_positive_id(v, "exclude") for v in exclude))
