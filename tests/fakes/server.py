"""A small threaded HTTP server on 127.0.0.1 with a control object for failure modes.

Every fake upstream serves `/__control`: GET shows the modes and request counts,
POST sets modes from a JSON object, POST `/__control/reset` clears them.

Blocking heuristic (which tier gets through a "challenge"):
    block="plain"    403 challenge when the User-Agent contains "python-requests"
                     (the plain requests tier); cloudscraper and curl_cffi pass.
    block="scripts"  403 challenge unless the request carries a `sec-ch-ua` client-hint
                     header, which only browser impersonation (curl_cffi) and browsers send.
    block="chrome"   403 challenge for everyone but a Firefox fingerprint: a Firefox
                     User-Agent and no `sec-ch-ua` client hints (curl_cffi's Firefox tier).
    block="all"      403 challenge for everyone.
    cookie_pages     grid pages after the first answer a 403 challenge unless the request
                     carries the cookie the first page set (a client without a cookie jar).
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Mapping
from urllib.parse import parse_qs, urlsplit

from tests.fakes.letterboxd_pages import CHALLENGE

BLOCK_MODES = (None, "plain", "scripts", "chrome", "all")
PAGE_COOKIE = "lb_clearance"


@dataclass
class Answer:
    """What a fake handler answers."""

    status: int = 200
    body: bytes | str = b""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    def payload(self) -> bytes:
        return self.body.encode("utf-8") if isinstance(self.body, str) else self.body


def json_answer(data: Any, status: int = 200) -> Answer:
    return Answer(status, json.dumps(data), "application/json;charset=utf-8")


@dataclass
class Seen:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, list[str]]
    user_agent: str
    client_hints: bool
    status: int = 0
    at: float = field(default_factory=time.monotonic)  # when it arrived (time.monotonic)


@dataclass
class Control:
    """Failure modes of one fake upstream; change them directly or through /__control."""

    block: str | None = None
    fail_status: int | None = None  # answer this status instead (429, 500, 503, ...)
    fail_count: int = -1  # how many requests get fail_status; -1 means all of them
    retry_after: float | None = None  # Retry-After seconds sent with fail_status
    slow_s: float = 0.0  # delay before answering (to provoke client timeouts)
    latency_s: float = 0.0  # per-request latency (benchmarks)
    truncate: bool = False  # non-last grid pages come back with half their films
    markup: str = "current"  # "current", "legacy" or "changed" grid markup
    invalid_json: bool = False  # JSON endpoints answer garbage
    fail_paths: tuple[str, ...] = ()  # only paths starting with one of these are affected by fail_status/block
    cookie_pages: bool = False  # later grid pages need the cookie set by the first one
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    MODE_FIELDS = ("block", "fail_status", "fail_count", "retry_after", "slow_s", "latency_s", "truncate", "markup",
                   "invalid_json", "fail_paths", "cookie_pages")

    def set(self, **modes: Any) -> None:
        """Set modes by name."""
        with self.lock:
            for name, value in modes.items():
                if name not in self.MODE_FIELDS:
                    raise ValueError(f"unknown control {name!r}")
                if name == "block" and value not in BLOCK_MODES:
                    raise ValueError(f"block must be one of {BLOCK_MODES}")
                setattr(self, name, tuple(value) if name == "fail_paths" else value)

    def reset(self) -> None:
        """Clear every mode and the request log."""
        defaults = Control()
        with self.lock:
            for name in self.MODE_FIELDS:
                setattr(self, name, getattr(defaults, name))
            self.seen.clear()

    def modes(self) -> dict:
        return {name: getattr(self, name) for name in self.MODE_FIELDS}

    def count(self, prefix: str = "", *, status: int | None = None) -> int:
        """Count requests whose path starts with prefix (and answered status, if given)."""
        with self.lock:
            return sum(1 for s in self.seen if s.path.startswith(prefix) and (status is None or s.status == status))

    def paths(self) -> list[str]:
        with self.lock:
            return [s.path for s in self.seen]

    def busiest_second(self, prefix: str = "") -> int:
        """The most requests (whose path starts with prefix) that arrived within any one second."""
        with self.lock:
            times = sorted(s.at for s in self.seen if s.path.startswith(prefix))
        most, first = 0, 0
        for last, at in enumerate(times):
            while at - times[first] >= 1.0:
                first += 1
            most = max(most, last - first + 1)
        return most

    def _affects(self, path: str) -> bool:
        return not self.fail_paths or any(path.startswith(p) for p in self.fail_paths)

    def blocked(self, path: str, user_agent: str, client_hints: bool) -> bool:
        if self.block is None or not self._affects(path):
            return False
        if self.block == "all":
            return True
        if self.block == "plain":
            return "python-requests" in user_agent
        if self.block == "chrome":
            return "Firefox/" not in user_agent or client_hints
        return not client_hints

    def take_failure(self, path: str) -> Answer | None:
        with self.lock:
            if self.fail_status is None or self.fail_count == 0 or not self._affects(path):
                return None
            if self.fail_count > 0:
                self.fail_count -= 1
            status, retry_after = self.fail_status, self.retry_after
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        return Answer(status, json.dumps({"status_code": status, "status_message": "fake failure"}),
                      "application/json;charset=utf-8", headers)


def challenge_answer() -> Answer:
    return Answer(403, CHALLENGE, "text/html; charset=UTF-8",
                  {"Server": "cloudflare", "cf-mitigated": "challenge", "CF-RAY": "8f00000000000000-LHR"})


Handler = Callable[[str, str, Mapping[str, list[str]], Mapping[str, str], bytes], Answer]


class FakeServer:
    """Serve a handler on 127.0.0.1 (port 0 unless given) in a daemon thread."""

    name = "fake"

    def __init__(self, port: int = 0) -> None:
        self.control = Control()
        self._port = port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def use_world(self, world) -> None:
        """Serve another world from now on."""
        self.world = world

    # Subclasses implement this.
    def handle(self, method: str, path: str, query: Mapping[str, list[str]], headers: Mapping[str, str],
               body: bytes) -> Answer:
        raise NotImplementedError

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "FakeServer":
        fake = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "fake"
            # One buffered write per answer and no Nagle delay: keep-alive answers come back at once.
            wbufsize = 1 << 16
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                answer = fake.dispatch(self.command, self.path, dict(self.headers.items()), body)
                payload = answer.payload() if self.command != "HEAD" else b""
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", answer.content_type)
                    self.send_header("Content-Length", str(len(answer.payload())))
                    for k, v in answer.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            do_GET = do_POST = do_HEAD = _serve

        self._httpd = ThreadingHTTPServer(("127.0.0.1", self._port), RequestHandler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name=f"{self.name}-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "FakeServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def dispatch(self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes) -> Answer:
        parts = urlsplit(raw_path)
        path, query = parts.path, parse_qs(parts.query)
        lower = {k.lower(): v for k, v in headers.items()}
        if path.startswith("/__control"):
            return self._control(method, path, body)
        c = self.control
        seen = Seen(method, path, query, lower.get("user-agent", ""), "sec-ch-ua" in lower)
        with c.lock:
            c.seen.append(seen)
            delay = c.latency_s + c.slow_s
        if delay:
            time.sleep(delay)
        if c.blocked(path, seen.user_agent, seen.client_hints):
            answer = challenge_answer()
        else:
            answer = c.take_failure(path) or self.handle(method, path, query, lower, body)
        seen.status = answer.status
        return answer

    def _control(self, method: str, path: str, body: bytes) -> Answer:
        if method == "POST" and path.rstrip("/") == "/__control/reset":
            self.control.reset()
        elif method == "POST":
            try:
                self.control.set(**json.loads(body or b"{}"))
            except (ValueError, TypeError) as exc:
                return json_answer({"error": str(exc)}, 400)
        return json_answer({"modes": self.control.modes(), "requests": len(self.control.seen)})
