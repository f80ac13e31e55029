"""HTTP only: parse and cap input, call the facade once, serialise the answer."""
from __future__ import annotations

import hmac
import json
import math
import re
from typing import TYPE_CHECKING, Any, Iterator
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, jsonify, request, send_from_directory, stream_with_context
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from services.errors import AppError, BadRequest, NotFound
from services.usernames import check_username, is_username

if TYPE_CHECKING:
    from recommender.facade import Recommender

bp = Blueprint("api", __name__)
limiter = Limiter(key_func=get_remote_address)

REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
# An id a client chooses for a new job must be long enough not to be guessed (the server's own have 24).
NEW_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
CONTRIBUTION_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
SHARE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
STREAM_CHANNELS = {"logs": "logs", "recommendations": "recommendations", "status": "status"}
SSE_RETRY_MS = 2000
META_MAX_AGE_S = 3600


def facade() -> "Recommender":
    """The app's facade; while the app starts, waits for it."""
    return current_app.extensions["startup"].facade()


def client_key() -> str:
    return get_remote_address() or "unknown"


def check_new_request_id(value: Any) -> None:
    """A request_id a client chooses for a new job (optional): long and random enough not to be guessed."""
    if value not in (None, "") and (not isinstance(value, str) or not NEW_REQUEST_ID_RE.fullmatch(value)):
        raise BadRequest("A request_id you choose must be 16-64 random letters, digits, '_' or '-'; "
                         "omit it to get one.", "invalid_request_id")


def valid_request_id(value: Any, required: bool = True) -> str | None:
    if value in (None, "") and not required:
        return None
    if not isinstance(value, str) or not REQUEST_ID_RE.fullmatch(value):
        raise BadRequest("request_id must be 8-64 letters, digits, '_' or '-'.", "invalid_request_id")
    return value


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is too large a number")
    return value


def _not_a_number(name: str) -> float:
    raise ValueError(f"{name} is not a number")


def parse_json(text: str | bytes, what: str, code: str) -> Any:
    """Parse client JSON; numbers must be finite, and nesting too deep for the parser is bad JSON too."""
    try:
        return json.loads(text, parse_float=_finite, parse_constant=_not_a_number)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"{what} is not valid JSON, or is nested too deeply.", code) from exc


def json_body() -> dict:
    body = parse_json(request.get_data(cache=True), "The body", "invalid_json") if request.is_json else None
    if not isinstance(body, dict):
        raise BadRequest("Send a JSON object (Content-Type: application/json).", "invalid_json")
    return body


def recommend_input() -> tuple[dict, bytes | None, str]:
    """The request's fields and optional export upload, from JSON or multipart form data."""
    if request.mimetype == "multipart/form-data":
        fields: dict[str, Any] = request.form.to_dict()
        for name in ("filters", "feedback"):
            if name in fields:
                fields[name] = parse_json(fields[name], name, f"invalid_{name}")
        if "list_file" in request.files:  # a Letterboxd list export CSV, ranked like pasted titles
            fields["from_list"] = request.files["list_file"].read().decode("utf-8-sig", "replace")
        upload = request.files.get("export")
        if upload is None:
            return fields, None, ""
        return fields, upload.read(), upload.filename or "export.zip"
    return json_body(), None, ""


def operator() -> bool:
    """Whether the caller may see the incident counters: anyone, unless INTERNAL_TOKEN is set."""
    token = current_app.config["SETTINGS"].internal_token
    given = request.headers.get("X-Internal-Token", "").encode("utf-8", "surrogateescape")
    return not token or hmac.compare_digest(given, token.encode("utf-8"))


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@bp.before_app_request
def refuse_cross_site_posts():
    """Refuse a state-changing request a page of another site sent (a form post in a visitor's name).

    Allowed: no Origin header and no cross-site Sec-Fetch-Site (curl, scripts, old browsers), our own
    host, or an origin listed in CORS_ORIGINS.
    """
    if request.method not in UNSAFE_METHODS:
        return None
    origin = request.headers.get("Origin")
    if origin is not None:
        if origin in current_app.config["SETTINGS"].cors_origins or urlsplit(origin).netloc == request.host:
            return None
    elif request.headers.get("Sec-Fetch-Site", "none") != "cross-site":
        return None
    return jsonify({"error": "cross_site_request",
                    "message": "Requests from pages of other sites are refused; use this site's own pages."}), 403


@bp.get("/_health")
def health() -> Response:
    body = current_app.extensions["startup"].health()
    if not operator():
        body.pop("incident", None)  # INTERNAL_TOKEN guards the incident counters everywhere
    return jsonify(body)


@bp.get("/_incident-status")
@limiter.limit("30/minute")
def incident_status() -> Response:
    if not operator():
        return jsonify({"error": "unauthorized", "message": "A valid X-Internal-Token header is required."}), 401
    return jsonify(facade().incident())


@bp.post("/api/get_pages")
@limiter.limit("10/minute")
def get_pages() -> Response:
    username = check_username(json_body().get("username"))
    return jsonify({"username": username, "pages": facade().page_count(username)})


@bp.post("/api/recommend")
@limiter.limit("5/minute")
def recommend() -> tuple[Response, int]:
    facade().admit_client(client_key())  # before the upload is read
    request.get_data(cache=True)  # the body arrives at the client's pace, before a place is taken
    with facade().submitting():
        fields, upload, filename = recommend_input()
        req = facade().build_request(fields, upload, filename)
        check_new_request_id(req.request_id)
        if not req.sync:
            request_id = facade().start(req, client_key())
            return jsonify({"request_id": request_id, "username": req.username, "status": "accepted"}), 202
    status, payload = facade().run_sync(req, client_key())  # on the pipeline pool, outside the places above
    return jsonify(payload), status


@bp.post("/api/more_like")
@limiter.limit("30/minute")
def more_like() -> Response:
    body = json_body()
    return jsonify(facade().more_like(valid_request_id(body.get("request_id")), body))


@bp.post("/api/share")
@limiter.limit("20/minute")
def share() -> Response:
    return jsonify(facade().share(valid_request_id(json_body().get("request_id"))))


@bp.get("/api/shared/<share_id>")
@limiter.limit("60/minute")
def shared(share_id: str) -> Response:
    if not SHARE_ID_RE.fullmatch(share_id):
        raise NotFound("This shared list has expired or never existed.", "unknown_share")
    return jsonify(facade().shared(share_id))


@bp.delete("/api/contributions/<token>")
@limiter.limit("20/minute")
def delete_contribution(token: str) -> Response:
    if not CONTRIBUTION_TOKEN.fullmatch(token):
        raise BadRequest("That is not a contribution token.", "invalid_token")
    facade().delete_contribution(token)
    return jsonify({"deleted": True})


@bp.get("/api/result")
@limiter.limit("60/minute")
def result() -> tuple[Response, int]:
    request_id = valid_request_id(request.args.get("request_id"))
    status, payload = facade().result(request_id)
    return jsonify(payload), status


def sse(events: Iterator[tuple[str, dict] | None]) -> Iterator[str]:
    """Format facade events as Server-Sent Events; None is an idle heartbeat."""
    try:
        yield f"retry: {SSE_RETRY_MS}\n\n"
        for event in events:
            if event is None:
                yield ": ping\n\n"
            else:
                event_id, data = event
                yield f"id: {event_id}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()  # the stream gives its slot back now, not whenever the collector finds it


@bp.get("/api/<channel>-stream")
@limiter.limit("20/minute", key_func=lambda: f"{client_key()}:{request.view_args.get('channel')}")
def stream(channel: str) -> Response:
    if channel not in STREAM_CHANNELS:
        raise NotFound(f"There is no {channel} stream.", "unknown_stream")
    request_id = valid_request_id(request.args.get("request_id"))
    last_id = request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
    events = facade().stream(request_id, channel, last_id, client_key())
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return Response(stream_with_context(sse(events)), mimetype="text/event-stream", headers=headers)


@bp.get("/api/meta")
def meta() -> Response:
    response = jsonify(facade().meta())
    response.cache_control.public = True
    response.cache_control.max_age = META_MAX_AGE_S
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/api/openapi.json")
def openapi() -> Response:
    return send_from_directory(current_app.root_path, "openapi.json", mimetype="application/json")


@bp.get("/")
def landing() -> Response:
    return send_from_directory(current_app.static_folder, "index.html")


@bp.get("/results")
def results_page() -> Response:
    return send_from_directory(current_app.static_folder, "results.html")


@bp.get("/<username>")
def member_page(username: str) -> Response:
    if not is_username(username):
        raise NotFound("No such page.", "not_found")
    return send_from_directory(current_app.static_folder, "results.html")


def register_error_handlers(app) -> None:
    """Turn every error into {"error", "message"} with the right status."""
    from werkzeug.exceptions import HTTPException

    @app.errorhandler(AppError)
    def app_error(exc: AppError):
        response = jsonify(exc.body())
        response.status_code = exc.status
        if getattr(exc, "retry_after", None):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = re.sub(r"[^a-z0-9]+", "_", (exc.name or "error").lower()).strip("_")
        message = exc.description or exc.name
        if exc.code == 413:
            limit = app.config["SETTINGS"].max_upload_mb
            message = f"The upload is larger than the {limit:g} MB limit."
        elif exc.code == 429:
            message = f"Too many requests: limit is {exc.description}. Please wait a moment and retry."
        response = jsonify({"error": code, "message": message})
        response.status_code = exc.code or 500
        if exc.code == 429 and getattr(exc, "retry_after", None):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unhandled error")
        return jsonify({"error": "internal_error", "message": "Something went wrong on our side."}), 500
