"""Reading a request's events: per-client stream quota, heartbeats, and an end even when the bus lost it."""
from __future__ import annotations

import threading
import time
from typing import Iterator

from infra.events import EventBus, is_terminal
from infra.jobs import JobRunner
from recommender.failures import terminal_event
from services.errors import NotFound, TooManyRequests

JOB_APPEAR_POLL_S = 0.1


class EventStreams:
    """Opens SSE channels for clients, at most `max_streams_per_client` at a time each."""

    def __init__(self, settings, *, bus: EventBus, jobs: JobRunner) -> None:
        self.settings = settings
        self.bus = bus
        self.jobs = jobs
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()

    def stream(self, request_id: str, channel: str, last_id: str | None, client: str) -> Iterator:
        """Events of one channel after last_id, then None heartbeats while idle, until terminal."""
        # A page may open its stream with an id of its own choosing just before it posts the job.
        deadline = time.monotonic() + self.settings.stream_wait_for_job_s
        while self.jobs.store.get(request_id) is None and not self.bus.exists(request_id):
            if time.monotonic() >= deadline:
                raise NotFound("No such request, or its events have expired.", "unknown_request")
            time.sleep(JOB_APPEAR_POLL_S)
        self._take(client)
        return self._events(request_id, channel, last_id, client)

    def _take(self, client: str) -> None:
        with self._lock:
            if self.settings.ratelimit_enabled and self._open.get(client, 0) >= self.settings.max_streams_per_client:
                raise TooManyRequests("Too many open streams from your address.", "too_many_streams")
            self._open[client] = self._open.get(client, 0) + 1

    def _give_back(self, client: str) -> None:
        with self._lock:
            left = self._open.get(client, 1) - 1
            if left <= 0:
                self._open.pop(client, None)
            else:
                self._open[client] = left

    def _events(self, request_id: str, channel: str, last_id: str | None, client: str) -> Iterator:
        deadline = time.monotonic() + self.settings.stream_max_age_s
        try:
            while time.monotonic() < deadline:
                events = self.bus.read(request_id, channel, last_id, self.settings.sse_heartbeat_s)
                for event_id, data in events:
                    last_id = event_id
                    yield event_id, data
                    if is_terminal(data):
                        return
                if events:
                    continue
                job = self.jobs.store.get(request_id)
                if job is None:
                    return
                job = self.jobs.fail_if_stale(job)
                if job.finished and not self.bus.read(request_id, channel, last_id, 0):
                    # The job is over but this bus holds no terminal event for it (Redis came back
                    # empty, or the job ended before an outage): end the channel as the job ended.
                    yield last_id or "0", terminal_event(job)
                    return
                yield None
        finally:
            self._give_back(client)
