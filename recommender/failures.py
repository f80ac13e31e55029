"""Failures as members see them: source and upload problems mapped to AppErrors, job errors to bodies."""
from __future__ import annotations

from infra.export_reader import BadUpload, ExportFiles, UploadTooLarge, read_upload
from infra.http import (
    CircuitOpen,
    UpstreamBadResponse,
    UpstreamBlocked,
    UpstreamError,
    UpstreamTimeout,
    UserNotFound,
)
from infra.jobs import DONE
from services.errors import (
    LETTERBOXD_BLOCKED,
    LETTERBOXD_UNAVAILABLE,
    LETTERBOXD_UNREACHABLE,
    AppError,
    BadRequest,
    NotFound,
    PayloadTooLarge,
    UpstreamUnavailable,
)

EXPORT_HINT = ("Upload your Letterboxd export instead (on Letterboxd: Settings, Data, Export your data): "
               "it needs no connection to Letterboxd.")


def _unavailable(message: str, code: str) -> UpstreamUnavailable:
    return UpstreamUnavailable(message, code, extra={"hint": EXPORT_HINT})


def upstream_error(exc: BaseException) -> AppError:
    """Map a source failure to a member-facing error; anything else is raised again.

    One message per state, saying what happened; the action that works (the export) is the hint.
    """
    if isinstance(exc, AppError):
        return exc
    if isinstance(exc, UserNotFound):
        return NotFound("We couldn't find that Letterboxd member. Check the spelling.", "unknown_user")
    if isinstance(exc, CircuitOpen) and exc.unreachable or _no_connection(exc):
        return _unavailable("There is no connection to Letterboxd from here right now.", LETTERBOXD_UNREACHABLE)
    if isinstance(exc, (UpstreamBlocked, CircuitOpen)):
        return _unavailable("Letterboxd is refusing automated requests right now and we have no recent copy "
                            "of this profile.", LETTERBOXD_BLOCKED)
    if isinstance(exc, UpstreamError):
        return _unavailable("Letterboxd is not answering right now. Please try again shortly.",
                            LETTERBOXD_UNAVAILABLE)
    raise exc


def _no_connection(exc: BaseException) -> bool:
    """True when no HTTP answer came back at all (refused, reset, no network), as opposed to a slow one."""
    return (isinstance(exc, UpstreamError) and not isinstance(exc, (UpstreamBlocked, CircuitOpen, UpstreamTimeout, UpstreamBadResponse))
            and exc.status is None)


def parse_upload(data: bytes, filename: str, settings) -> ExportFiles:
    """Read a Letterboxd export upload within the settings' bounds, mapping its problems to clear 400/413 errors."""
    try:
        return read_upload(data, filename, settings.max_upload_bytes,
                           max_rows_per_file=settings.export_max_rows_per_file, max_rows=settings.export_max_rows,
                           max_title_chars=settings.export_max_title_chars,
                           max_uncompressed_bytes=int(settings.export_max_uncompressed_mb * 1024 * 1024))
    except UploadTooLarge as exc:
        raise PayloadTooLarge(str(exc), "upload_too_large") from exc
    except BadUpload as exc:
        raise BadRequest(str(exc), "invalid_upload") from exc


def terminal_event(job) -> dict:
    """The terminal event that matches how a job ended."""
    if job.state == DONE:
        return {"status": "complete"}
    return {"status": "error", "message": (job.payload or {}).get("message", "The recommendation failed.")}


def error_body(exc: BaseException) -> tuple[int, dict]:
    """The status and body a failed job reports."""
    if isinstance(exc, AppError):
        return exc.status, exc.body()
    return 500, {"error": "internal_error", "message": "Something went wrong while recommending. Please retry."}
