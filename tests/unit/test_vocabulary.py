"""The server's lists are written once: Python owns them, the pages read them from /api/meta."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from services.coldstart import MOODS
from services.errors import BadRequest
from services.usernames import USERNAME_MAX_LENGTH, check_username, export_label, is_username
from services.vocabulary import COUNTRIES, MOOD_DESCRIPTIONS, STEP_NAMES, STEPS, meta, unknown_category_genres

ROOT = Path(__file__).resolve().parents[2]
JS = {path.name: path.read_text(encoding="utf-8") for path in (ROOT / "static" / "js").glob("*.js")}


def test_every_mood_has_a_description_and_nothing_else_does():
    assert set(MOOD_DESCRIPTIONS) == set(MOODS)


def test_every_category_genre_is_a_genre_the_filters_know():
    assert unknown_category_genres() == []


def test_aliases_point_at_shown_steps():
    shown = {s.key for s in STEPS if s.kind == "shown"}
    assert all(s.alias_of in shown for s in STEPS if s.kind == "alias")
    assert {"queued", "training", "done"} <= STEP_NAMES


def test_meta_lists_countries_by_name_with_ukraine():
    countries = meta()["countries"]
    assert [name for _, name in countries] == sorted(name for _, name in countries)
    assert dict(countries) == COUNTRIES and COUNTRIES["UA"] == "Ukraine"


def test_the_pages_keep_no_copy_of_the_servers_lists():
    literals = set()
    for source in JS.values():
        literals |= set(re.findall(r'"([^"\n]*)"', source))
    # Mood labels are left out: "Dark" is also the theme button's label.
    copied = (set(COUNTRIES.values()) | set(MOOD_DESCRIPTIONS.values()) | {"Science Fiction", "Documentary"}) & literals
    assert copied == set()
    assert "/api/meta" in JS["meta.js"]
    assert not re.search(r"A-Za-z0-9", "".join(JS.values())), "the username rule comes from the server"


@pytest.mark.parametrize("name, ok", [
    ("alice", True), ("a_b_9", True), ("x" * USERNAME_MAX_LENGTH, True),
    ("foo-bar", False), ("dotted.name", False), ("", False), ("x" * (USERNAME_MAX_LENGTH + 1), False),
    ("bad name", False), (None, False), (7, False),
])
def test_one_username_rule(name, ok):
    assert is_username(name) is ok
    if ok:
        assert check_username(name) == name
    else:
        with pytest.raises(BadRequest) as caught:
            check_username(name)
        assert caught.value.code == "invalid_username" and "underscores" in caught.value.message


def test_export_runs_are_labelled_by_the_username_rule():
    assert export_label("film-fan.99") == "filmfan99"
    assert export_label("") == "export" and export_label(None) == "export"
    assert is_username(export_label("x" * 80))


def test_infra_never_imports_the_facade_or_the_web_layer():
    for path in (ROOT / "infra").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                assert name.split(".")[0] not in {"recommender", "routes", "main"}, f"{path.name} imports {name}"
