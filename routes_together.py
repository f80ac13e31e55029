"""HTTP for the together page (group night, taste match, year in review): parse and cap input, call the
facade, serialise."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, send_from_directory

from routes import check_new_request_id, client_key, facade, json_body, limiter, parse_json, valid_request_id
from services.errors import BadRequest, NotFound
from services.together_request import COMPARE, EXPORT_FIELD, GROUP, MAX_GROUP, YEAR_REVIEW, member_usernames
from services.usernames import check_username
from services.year_review import summary_svg

bp = Blueprint("together", __name__)


def members_input() -> tuple[dict, list[str], list[tuple[int, bytes, str]]]:
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


def run_together(kind: str) -> tuple[Response, int]:
    facade().admit_client(client_key())  # before the uploads are read
    fields, usernames, exports = single_input() if kind == YEAR_REVIEW else members_input()
    check_new_request_id(fields.get("request_id"))
    together = facade().build_together(kind, fields, usernames, exports)
    if together.sync:
        status, payload = facade().run_sync(together, client_key())
        return jsonify(payload), status
    request_id = facade().start(together, client_key())
    return jsonify({"request_id": request_id, "members": together.names, "status": "accepted"}), 202


@bp.post("/api/group")
@limiter.limit("5/minute")
def group() -> tuple[Response, int]:
    return run_together(GROUP)


@bp.post("/api/compare")
@limiter.limit("5/minute")
def compare() -> tuple[Response, int]:
    return run_together(COMPARE)


@bp.post("/api/year-review")
@limiter.limit("5/minute")
def year_review() -> tuple[Response, int]:
    return run_together(YEAR_REVIEW)


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
    return send_from_directory(current_app.static_folder, "together.html")
