"""Which names a Letterboxd member can have: the one rule every entry point checks."""
from __future__ import annotations

import re
from typing import Any

from services.errors import BadRequest

USERNAME_MAX_LENGTH = 40
USERNAME_PATTERN = rf"^[A-Za-z0-9_]{{1,{USERNAME_MAX_LENGTH}}}$"
USERNAME_RULE = (f"A Letterboxd username has 1-{USERNAME_MAX_LENGTH} letters, digits or underscores "
                 "(no spaces, dashes or dots).")
EXPORT_LABEL = "export"

_USERNAME = re.compile(USERNAME_PATTERN)
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_]+")


def is_username(value: Any) -> bool:
    """Return whether value is a name Letterboxd can give a member."""
    return isinstance(value, str) and _USERNAME.fullmatch(value) is not None


def check_username(value: Any) -> str:
    """Return value when it is a possible Letterboxd username, else raise BadRequest saying why."""
    if not is_username(value):
        raise BadRequest(USERNAME_RULE, "invalid_username")
    return value


def export_label(name: Any) -> str:
    """A name for an export run that follows the username rule (the export's own name when it has one)."""
    cleaned = _NOT_ALLOWED.sub("", name if isinstance(name, str) else "")[:USERNAME_MAX_LENGTH]
    return cleaned or EXPORT_LABEL
