"""Read Server-Sent Events as a browser does: ids, data lines, comments, Last-Event-ID."""
from __future__ import annotations

import json
from dataclasses import dataclass

import requests


@dataclass(frozen=True)
class SseEvent:
    id: str | None
    data: dict


def iter_sse(response: requests.Response):
    """Yield SseEvent for each event and None for each comment (heartbeat)."""
    event_id, data_lines = None, []
    for raw in response.iter_lines(decode_unicode=True):
        if raw is None:
            continue
        line = raw
        if line == "":
            if data_lines:
                yield SseEvent(event_id, json.loads("\n".join(data_lines)))
            event_id, data_lines = None, []
        elif line.startswith(":"):
            yield None
        elif line.startswith("id:"):
            event_id = line[3:].strip()
        elif line.startswith("data:"):
            data_lines.append(line[5:].lstrip())


def is_terminal(event: SseEvent) -> bool:
    return event.data.get("status") in ("complete", "error") and "type" not in event.data


def read_stream(base_url: str, channel: str, request_id: str, last_event_id: str | None = None,
                limit: int | None = None, timeout: float = 60.0) -> list[SseEvent]:
    """Read one channel until its terminal event (or `limit` events), like an EventSource."""
    headers = {"Accept": "text/event-stream"}
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    events: list[SseEvent] = []
    with requests.get(f"{base_url}/api/{channel}-stream", params={"request_id": request_id},
                      headers=headers, stream=True, timeout=timeout) as response:
        response.raise_for_status()
        assert response.headers["Content-Type"].startswith("text/event-stream")
        for event in iter_sse(response):
            if event is None:
                continue
            events.append(event)
            if is_terminal(event) or (limit is not None and len(events) >= limit):
                break
    return events
