"""In-memory HTTP tiers for unit tests: answers come from a function or a script, no sockets."""
from __future__ import annotations

import json
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from infra.http import Response, UpstreamError, UpstreamTimeout

Route = Callable[[str, str, Mapping[str, Any]], "Response | Exception"]


def html(status: int, text: str = "", headers: Mapping[str, str] | None = None) -> Response:
    return Response(status, text, {k.lower(): v for k, v in (headers or {}).items()}, "memory://")


def as_json(data: Any, status: int = 200) -> Response:
    return Response(status, json.dumps(data), {"content-type": "application/json"}, "memory://")


def transport_error(timeout: bool = False) -> Exception:
    return UpstreamTimeout("timed out", transient=True) if timeout else UpstreamError("connection reset", transient=True)


class MemoryTier:
    """A tier whose answers come from `route(method, path, params)` or a list consumed in order."""

    def __init__(self, name: str = "requests", route: Route | None = None,
                 script: list[Response | Exception] | None = None) -> None:
        self.name = name
        self.route = route
        self.script = list(script or [])
        self.calls: list[tuple[str, str, dict]] = []

    def send(self, method: str, url: str, *, params: Mapping[str, Any] | None, headers: Mapping[str, str],
             json_body: Any, timeout: float) -> Response:
        path = urlsplit(url).path
        self.calls.append((method, path, dict(params or {})))
        answer = self.route(method, path, dict(params or {})) if self.route else self.script.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer
