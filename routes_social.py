"""HTTP for taste match, group night and year in review: parse and cap input, call the facade, serialise."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from routes import NEW_REQUEST_ID_RE, client_key, facade, json_body, limiter, parse_json
from services.errors import BadRequest
from services.party import EXPORT_FIELD, MAX_GROUP, member_usernames

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


def checked_request_id(fields: dict) -> None:
    value = fields.get("request_id")
    if value not in (None, "") and (not isinstance(value, str) or not NEW_REQUEST_ID_RE.fullmatch(value)):
        raise BadRequest("A request_id you choose must be 16-64 random letters, digits, '_' or '-'; "
                         "omit it to get one.", "invalid_request_id")


def run_party(kind: str, minimum: int, maximum: int) -> tuple[Response, int]:
    social = facade().social
    facade().admit_client(client_key())  # before the uploads are read
    fields, usernames, exports = party_input()
    checked_request_id(fields)
    party = social.build(fields, usernames, exports, minimum=minimum, maximum=maximum)
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


@bp.get("/together")
def together_page() -> Response:
    from flask import current_app, send_from_directory

    return send_from_directory(current_app.static_folder, "together.html")
