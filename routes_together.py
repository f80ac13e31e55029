"""HTTP for taste match, group night and year in review: parse and cap input, call the facade, serialise."""
from __future__ import annotations

from typing import Any

from dataclasses import replace

from flask import Blueprint, Response, jsonify, request

from routes import NEW_REQUEST_ID_RE, client_key, facade, json_body, limiter, parse_json, valid_request_id
from services.errors import BadRequest, NotFound
from services.party import EXPORT_FIELD, MAX_GROUP, member_usernames
from services.usernames import check_username
from services.year_review import summary_svg

MIN_YEAR, MAX_YEAR = 1874, 2100

bp = Blueprint("social", __name__)


def party_input() -> tuple[dict, list[str], list[tuple[int, bytes, str]]]:
    """(fields, usernames, exports by slot) from JSON or form data."""
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        fields: dict[str, Any] = request.form.to_dict()
        if "filters" in fields:
            fields["filters"] = parse_json(fields["filters"], "filters", "invalid_filters")
        names = request.form.getlist("members")
        if len(names) == 1 and names[0].lstrip().startswith("["):
            names = parse_json(names[0], "members", "invalid_members")
        names = [n for n in names if n != ""] if isinstance(names, list) else names
        if len(request.files) > MAX_GROUP:
            raise BadRequest(f"A group has at most {MAX_GROUP} members.", "too_many_members")
        exports = []
        for key, upload in request.files.items():
            slot = EXPORT_FIELD.fullmatch(key)
            if slot is None:
                raise BadRequest(f"Unknown file field {key!r}: exports go in export_1 .. export_{MAX_GROUP}.",
                                 "invalid_members")
            exports.append((int(slot.group(1)), upload.read(), upload.filename or "export.zip"))
        return fields, member_usernames(names), exports
    body = json_body()
    return body, member_usernames(body.get("members")), []


def single_input() -> tuple[dict, list[str], list[tuple[int, bytes, str]]]:
    """(fields, [username] or [], [the export in slot 1] or []) of a one-member request."""
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        fields: dict[str, Any] = request.form.to_dict()
        upload = request.files.get("export")
        if upload is not None:
            return fields, [], [(1, upload.read(), upload.filename or "export.zip")]
    else:
        fields = json_body()
    name = fields.get("username")
    return fields, [] if name in (None, "") else [check_username(name)], []


def check_year(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        year = int(value)
    except (TypeError, ValueError):
        raise BadRequest("year must be a whole number such as 2024.", "invalid_year") from None
    if isinstance(value, bool) or isinstance(value, float) or not MIN_YEAR <= year <= MAX_YEAR:
        raise BadRequest(f"year must be between {MIN_YEAR} and {MAX_YEAR}.", "invalid_year")
    return year


def checked_request_id(fields: dict) -> None:
    value = fields.get("request_id")
    if value not in (None, "") and (not isinstance(value, str) or not NEW_REQUEST_ID_RE.fullmatch(value)):
        raise BadRequest("A request_id you choose must be 16-64 random letters, digits, '_' or '-'; "
                         "omit it to get one.", "invalid_request_id")


def run_party(kind: str, minimum: int, maximum: int) -> tuple[Response, int]:
    social = facade().social
    facade().admit_client(client_key())  # before the uploads are read
    fields, usernames, exports = single_input() if kind == "year_review" else party_input()
    checked_request_id(fields)
    party = social.build(fields, usernames, exports, minimum=minimum, maximum=maximum)
    if kind == "year_review":
        party = replace(party, year=check_year(fields.get("year")))
    work = getattr(social, kind)
    if party.sync:
        status, payload = social.run_sync(work, party, client_key())
        return jsonify(payload), status
    request_id = social.start(work, party, client_key())
    return jsonify({"request_id": request_id, "members": party.names, "status": "accepted"}), 202


@bp.post("/api/group")
@limiter.limit("5/minute")
def group() -> tuple[Response, int]:
    return run_party("group", 2, MAX_GROUP)


@bp.post("/api/compare")
@limiter.limit("5/minute")
def compare() -> tuple[Response, int]:
    return run_party("compare", 2, 2)


@bp.post("/api/year-review")
@limiter.limit("5/minute")
def year_review() -> tuple[Response, int]:
    return run_party("year_review", 1, 1)


def stored_review() -> dict:
    """The last year in review of a request, as stored when it finished (never recomputed)."""
    request_id = valid_request_id(request.args.get("request_id"))
    status, payload = facade().result(request_id)
    if status == 200 and payload.get("kind") != "year_review":
        raise NotFound("That request is not a year in review.", "unknown_request")
    if status != 200:
        raise NotFound("That year in review is still running or failed; see /api/result.", "unknown_request")
    return payload


@bp.get("/api/year-review")
@limiter.limit("60/minute")
def year_review_result() -> Response:
    return jsonify(stored_review())


@bp.get("/api/year-review/image")
@limiter.limit("60/minute")
def year_review_image() -> Response:
    review = stored_review()
    svg = summary_svg(review, review["member"]["name"])
    filename = f"year-in-review-{review['year']}.svg"
    return Response(svg, mimetype="image/svg+xml",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/together")
def together_page() -> Response:
    from flask import current_app, send_from_directory

    return send_from_directory(current_app.static_folder, "together.html")
