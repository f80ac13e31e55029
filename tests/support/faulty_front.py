"""An HTTP front for one upstream that passes requests through, or resets or trickles the ones it is told to."""
from __future__ import annotations

import socket
import struct
import threading
import time
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}
TRICKLE_INTERVAL_S = 0.05
TRICKLE_MAX_S = 120.0
TRICKLE_CLAIMED_BYTES = 1_000_000


class FaultyFront:
    """An HTTP front for one upstream: passes requests through, or resets or trickles the ones it is told to."""

    def __init__(self, upstream_url: str) -> None:
        parts = urlsplit(upstream_url)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.mode: str | None = None  # None (pass through), "reset" or "trickle"
        self.paths: tuple[str, ...] = ()  # only these path prefixes misbehave; all when empty
        self.served = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def set(self, mode: str | None, paths: tuple[str, ...] = ()) -> None:
        """Misbehave in this way from now on (None passes everything through)."""
        with self._lock:
            self.mode, self.paths = mode, tuple(paths)

    def mode_for(self, path: str) -> str | None:
        with self._lock:
            if self.paths and not any(path.startswith(p) for p in self.paths):
                return None
            return self.mode

    def start(self) -> "FaultyFront":
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with front._lock:
                    front.served += 1
                mode = front.mode_for(urlsplit(self.path).path)
                if mode == "reset":
                    self._reset()
                elif mode == "trickle":
                    self._trickle()
                else:
                    self._pass(body)

            def _reset(self) -> None:
                # Linger 0 makes close() send RST instead of FIN: "connection reset by peer".
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
                self.close_connection = True

            def _trickle(self) -> None:
                self.close_connection = True
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(TRICKLE_CLAIMED_BYTES))
                    self.end_headers()
                    self.wfile.flush()
                    until = time.monotonic() + TRICKLE_MAX_S
                    while (time.monotonic() < until and front.mode_for(urlsplit(self.path).path) == "trickle"
                           and not front._stop.wait(TRICKLE_INTERVAL_S)):
                        self.wfile.write(b" ")
                        self.wfile.flush()
                except OSError:
                    return

            def _pass(self, body: bytes) -> None:
                upstream = HTTPConnection(*front.upstream, timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
                    upstream.request(self.command, self.path, body=body or None, headers=headers)
                    answer = upstream.getresponse()
                    payload = answer.read()
                    self.send_response(answer.status)
                    for name, value in answer.getheaders():
                        if name.lower() not in HOP_HEADERS:
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(payload)
                except OSError:
                    self.close_connection = True
                finally:
                    upstream.close()

            do_GET = do_POST = do_HEAD = _serve

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, name="faulty-front", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
