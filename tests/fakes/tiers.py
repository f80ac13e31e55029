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


class HandlerTier:
    """A tier that calls a fake server's dispatch() directly: its routes and failure modes, no sockets."""

    def __init__(self, fake: Any, name: str = "requests", user_agent: str = "python-requests/2 test") -> None:
        self.fake = fake
        self.name = name
        self.user_agent = user_agent

    def send(self, method: str, url: str, *, params: Mapping[str, Any] | None, headers: Mapping[str, str],
             json_body: Any, timeout: float) -> Response:
        from urllib.parse import urlencode

        parts = urlsplit(url)
        raw = parts.path + (f"?{urlencode(params)}" if params else "")
        body = json.dumps(json_body).encode() if json_body is not None else b""
        answer = self.fake.dispatch(method, raw, {"User-Agent": self.user_agent, **headers}, body)
        hdrs = {k.lower(): v for k, v in answer.headers.items()} | {"content-type": answer.content_type}
        return Response(answer.status, answer.payload().decode("utf-8"), hdrs, url, self.name)
