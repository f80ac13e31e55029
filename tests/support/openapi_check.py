"""Check a JSON value against the project's OpenAPI schemas (the subset the spec uses)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SPEC = json.loads((Path(__file__).resolve().parents[2] / "openapi.json").read_text())
TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "integer": int, "number": (int, float)}


def resolve(schema: dict) -> dict:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = SPEC["components"]["schemas"][name]
    return schema


def problems(value: Any, schema: dict, path: str = "$") -> list[str]:
    """Every place where value breaks schema (type, required, enum, nullable, items, properties)."""
    schema = resolve(schema)
    if "allOf" in schema:
        if value is None and schema.get("nullable"):
            return []
        return [p for sub in schema["allOf"] for p in problems(value, sub, path)]
    if value is None:
        return [] if schema.get("nullable") or "type" not in schema else [f"{path}: null"]
    out: list[str] = []
    kind = schema.get("type")
    if kind:
        expected = TYPES[kind]
        if isinstance(value, bool) and kind in ("integer", "number"):
            return [f"{path}: bool where {kind} expected"]
        if not isinstance(value, expected):
            return [f"{path}: {type(value).__name__} where {kind} expected"]
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{path}: {value!r} not in {schema['enum']}")
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                out.append(f"{path}: missing {name}")
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                out.extend(problems(value[name], sub, f"{path}.{name}"))
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            out.extend(problems(item, schema["items"], f"{path}[{i}]"))
    return out


def response_schema(path: str, method: str, status: int) -> dict:
    op = SPEC["paths"][path][method.lower()]
    response = op["responses"][str(status)]
    return response["content"]["application/json"]["schema"]
