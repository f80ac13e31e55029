"""Errors a member can see: each carries its HTTP status, a short code and a readable message.

    AppError
    ├── BadRequest (400)        invalid input, bad upload
    ├── NotFound (404)          unknown member, unknown or expired request
    ├── Conflict (409)          a request_id that is already in use
    ├── PayloadTooLarge (413)   upload over the size limit
    ├── TooManyRequests (429)   per-client job or stream limits
    ├── UpstreamUnavailable (503) Letterboxd blocked and nothing cached
    └── Busy (503)              full queue or unreachable shared state; retry after `retry_after` s
"""
from __future__ import annotations


class AppError(Exception):
    """An error with an HTTP status, a machine-readable code and a message for people."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, code: str | None = None, extra: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.extra = extra or {}

    def body(self) -> dict:
        return {"error": self.code, "message": self.message, **self.extra}


class BadRequest(AppError):
    status = 400
    code = "bad_request"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"


class TooManyRequests(AppError):
    status = 429
    code = "too_many_requests"


class UpstreamUnavailable(AppError):
    status = 503
    code = "upstream_unavailable"


class Busy(AppError):
    """The service cannot take this request now; the client should retry after `retry_after` seconds."""

    status = 503
    code = "busy"  # BUSY below

    def __init__(self, message: str, code: str | None = None, retry_after: int = 5,
                 extra: dict | None = None) -> None:
        super().__init__(message, code, extra)
        self.retry_after = max(1, int(retry_after))


# Codes the pages treat alike, served to them with /api/meta so they keep no copies.
BUSY = "busy"
REDIS_UNAVAILABLE = "redis_unavailable"
LETTERBOXD_UNREACHABLE, LETTERBOXD_BLOCKED, LETTERBOXD_UNAVAILABLE = (
    "letterboxd_unreachable", "letterboxd_blocked", "letterboxd_unavailable")
UNKNOWN_REQUEST = "unknown_request"
LIST_UNMATCHED, EMPTY_WATCHLIST, NO_WATCHLIST_FILMS = "list_unmatched", "empty_watchlist", "no_watchlist_films"
ERROR_GROUPS = {
    "busy": [BUSY, REDIS_UNAVAILABLE],  # this service is busy: the page waits and asks again
    "source_unavailable": [LETTERBOXD_UNREACHABLE, LETTERBOXD_BLOCKED, LETTERBOXD_UNAVAILABLE],  # the export helps
    "expired": [UNKNOWN_REQUEST, NotFound.code],  # a run the server no longer keeps
    "nothing_to_rank": [LIST_UNMATCHED, EMPTY_WATCHLIST, NO_WATCHLIST_FILMS],  # the list or watchlists gave no film
}
