"""The shape of the code: arrows one way, no module in another package's internals, one name per module."""
from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("recommender", "infra", "services")
TOP_LEVEL = ("main.py", "routes.py", "routes_together.py", "config.py", "gunicorn.conf.py")
# The model's own modules still share HybridModel's view and state between them.
SHARES_INTERNALS = ROOT / "services" / "recsys"


def product_files() -> list[Path]:
    files = [p for package in PACKAGES for p in (ROOT / package).rglob("*.py")]
    return files + [ROOT / name for name in TOP_LEVEL]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, known: set[str]) -> set[str]:
    """The product modules a file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in known else node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found & known


def test_no_module_imports_itself_through_others():
    modules = {module_name(p): p for p in product_files()}
    graph = {name: imports(path, set(modules)) - {name} for name, path in modules.items()}
    cycles, state = [], {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for other in sorted(graph[name]):
            if state.get(other) == "open":
                cycles.append(trail[trail.index(other):] + [other])
            elif other not in state:
                visit(other, trail + [other])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_services_import_no_io_and_nothing_above_them():
    for path in (ROOT / "services").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from|import) (flask|requests|redis|rq|infra|recommender)\b", text, re.M), path


def test_no_module_reaches_an_underscore_name_of_another():
    trees = {p: ast.parse(p.read_text(encoding="utf-8")) for p in product_files()}
    defined: dict[str, set[Path]] = defaultdict(set)
    for path, tree in trees.items():
        for node in ast.walk(tree):
            name = getattr(node, "name", None) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                        ast.ClassDef)) else None
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                name = node.attr
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                name = node.id
            if name and name.startswith("_") and not name.startswith("__"):
                defined[name].add(path)
    reached = []
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.Attribute) and not (isinstance(node.value, ast.Name)
                                                          and node.value.id in ("self", "cls")):
                names = [node.attr]
            else:
                continue
            for name in names:
                if not name.startswith("_") or name.startswith("__") or path in defined.get(name, {path}):
                    continue
                if not (path.parent == SHARES_INTERNALS and any(o.parent == path.parent for o in defined[name])):
                    reached.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert reached == []


def test_no_two_modules_share_a_file_name():
    by_name: dict[str, list[str]] = defaultdict(list)
    for path in product_files():
        if path.name != "__init__.py":
            by_name[path.name].append(str(path.relative_to(ROOT)))
    assert {name: paths for name, paths in by_name.items() if len(paths) > 1} == {}


def test_the_module_maps_name_every_module_and_nothing_else():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    architecture = readme.split("## Architecture", 1)[1].split("```", 2)[1]
    named = set(re.findall(r"[a-z_]+", architecture))
    for package in PACKAGES:
        for path in (ROOT / package).glob("*.py"):
            assert path.stem == "__init__" or path.stem in named, f"README's map lacks {path}"
    for name in TOP_LEVEL:
        assert name in architecture, f"README's map lacks {name}"
    module_map = (ROOT / "recommender" / "__init__.py").read_text(encoding="utf-8")
    listed = set(re.findall(r"recommender/([a-z_]+)\.py", module_map))
    assert listed == {p.stem for p in (ROOT / "recommender").glob("*.py") if p.stem != "__init__"}
