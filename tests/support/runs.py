"""Follow a recommendation run as a member's browser does: all three channels, then the result."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests

from routes import SSE_RETRY_MS
from tests.support.sse import SseEvent, is_terminal, iter_sse

CHANNELS = ("logs", "recommendations", "status")
RUN_LIMIT_S = 30.0


@dataclass(frozen=True)
class Outcome:
    """How one recommendation run ended, as a member's browser saw it."""

    request_id: str
    streams: dict[str, list[SseEvent]]
    status: int
    body: dict
    elapsed_s: float

    @property
    def terminals(self) -> dict[str, dict | None]:
        return {ch: (events[-1].data if events and is_terminal(events[-1]) else None)
                for ch, events in self.streams.items()}

    @property
    def cards(self) -> list[dict]:
        return [e.data["recommendation"] for e in self.streams["recommendations"] if "type" in e.data]


def read_channel(base: str, channel: str, request_id: str, deadline: float,
                 reconnect: bool = False) -> list[SseEvent]:
    """Read one SSE channel until its terminal event, the server closing it, or the deadline.

    A stalled or dropped stream shows up as a missing terminal event; with `reconnect`, it is opened
    again from its last event id instead, as a browser's EventSource does.
    """
    events: list[SseEvent] = []
    while True:
        headers = {"Accept": "text/event-stream"}
        last_id = next((e.id for e in reversed(events) if e.id), None)
        if last_id:
            headers["Last-Event-ID"] = last_id
        try:
            with requests.get(f"{base}/api/{channel}-stream", params={"request_id": request_id},
                              headers=headers, stream=True, timeout=(5, 5)) as response:
                assert response.status_code == 200, response.text
                for event in iter_sse(response):
                    if event is not None:
                        events.append(event)
                        if is_terminal(event):
                            return events
                    if time.monotonic() > deadline:
                        return events
                return events
        except requests.RequestException:
            if not reconnect or time.monotonic() > deadline:
                return events
            time.sleep(SSE_RETRY_MS / 1000)  # as long as the streams' `retry:` asks a browser to wait


def fetch_result(base: str, request_id: str, deadline: float) -> tuple[int, dict]:
    """GET /api/result until it is no longer pending or the deadline passes; a 503 with Retry-After
    (the service too busy to look) is asked again after it, as the pages do."""
    while True:
        r = requests.get(f"{base}/api/result", params={"request_id": request_id}, timeout=10)
        busy = r.status_code == 503 and "Retry-After" in r.headers
        if r.status_code != 202 and not busy or time.monotonic() > deadline:
            return r.status_code, r.json()
        time.sleep(int(r.headers["Retry-After"]) if busy else 0.05)


def follow(base: str, request_id: str, started: float, limit_s: float = RUN_LIMIT_S,
           result_base: str | None = None, reconnect: bool = False) -> Outcome:
    """Read all three channels at once, then the result, all within limit_s of started."""
    deadline = started + limit_s
    with ThreadPoolExecutor(len(CHANNELS)) as pool:
        futures = {ch: pool.submit(read_channel, base, ch, request_id, deadline, reconnect) for ch in CHANNELS}
        streams = {ch: f.result() for ch, f in futures.items()}
    status, body = fetch_result(result_base or base, request_id, deadline)
    return Outcome(request_id, streams, status, body, time.monotonic() - started)


def start_run(base: str, **fields: Any) -> str:
    """POST /api/recommend as JSON and return the accepted request_id."""
    r = requests.post(f"{base}/api/recommend", json={"include_streaming": False, **fields}, timeout=15)
    assert r.status_code == 202, r.text
    return r.json()["request_id"]


def recommend(base: str, limit_s: float = RUN_LIMIT_S, **fields: Any) -> Outcome:
    """Start a run and follow it to its end."""
    started = time.monotonic()
    return follow(base, start_run(base, **fields), started, limit_s)


def assert_ended_cleanly(outcome: Outcome) -> None:
    """Every channel ended with a terminal event that agrees with the result: a payload or a clear error."""
    terminals = outcome.terminals
    assert all(terminals.values()), f"channels without a terminal event: {terminals}"
    if outcome.status == 200:
        assert all(terminal == {"status": "complete"} for terminal in terminals.values())
        assert isinstance(outcome.body["recommendations"], list)
        assert [c["film_id"] for c in outcome.cards] == [r["film_id"] for r in outcome.body["recommendations"]]
    else:
        assert 400 <= outcome.status < 600 and outcome.status != 500, outcome.body
        assert set(outcome.body) >= {"error", "message"} and outcome.body["message"]
        for terminal in terminals.values():
            assert terminal == {"status": "error", "message": outcome.body["message"]}
    for events in outcome.streams.values():
        assert not any("Traceback" in str(e.data) for e in events)
