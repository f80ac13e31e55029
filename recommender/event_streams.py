"""Reading a request's events: per-client stream quota, heartbeats, and an end even when the bus lost it."""
from __future__ import annotations

import time
from typing import Iterator

from infra.events import EventBus, is_terminal
from infra.jobs import JobRunner
from recommender.failures import terminal_event
from services.errors import AppError, Busy, NotFound, TooManyRequests

JOB_APPEAR_POLL_S = 0.1
LEASE_GRACE_S = 2.0  # a stream's slot outlives two missed heartbeats by this much
EXPIRED_MESSAGE = "This request has expired; please start again."


def stream_lease_s(settings) -> float:
    """How long a stream's slot counts without being renewed: an open stream renews at least once a heartbeat."""
    return 2 * settings.sse_heartbeat_s + LEASE_GRACE_S


class EventStreams:
    """Opens SSE channels for clients, at most `max_streams_per_client` at a time each (fleet-wide with Redis).

    A stream's slot is a lease it renews while it runs, so a stream the server abandoned without
    closing it (a dropped connection) gives its place back within `stream_lease_s` all the same.
    """

    def __init__(self, settings, *, bus: EventBus, jobs: JobRunner, slots) -> None:
        self.settings = settings
        self.bus = bus
        self.jobs = jobs
        self.slots = slots

    def stream(self, request_id: str, channel: str, last_id: str | None, client: str) -> Iterator:
        """Events of one channel after last_id, then None heartbeats while idle, until terminal.

        Raises NotFound for an unknown request, and a 503 the client may retry when Redis
        cannot tell whether the request exists.
        """
        # A page may open its stream with an id of its own choosing just before it posts the job.
        deadline = time.monotonic() + self.settings.stream_wait_for_job_s
        while not self._known(request_id, deadline):
            if time.monotonic() >= deadline:
                raise NotFound("No such request, or its events have expired.", "unknown_request")
            time.sleep(JOB_APPEAR_POLL_S)
        token = self._take(client)
        return self._events(request_id, channel, last_id, client, token)

    def _known(self, request_id: str, deadline: float) -> bool:
        """Whether the request exists. Redis too busy to answer (a burst holds every connection of this
        process) is asked again until `deadline`: an EventSource that gets a 503 gives up for good."""
        while True:
            try:
                return self.jobs.store.get(request_id) is not None or self.bus.exists(request_id)
            except Busy:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(JOB_APPEAR_POLL_S)

    def _take(self, client: str) -> str | None:
        if not self.settings.ratelimit_enabled:
            return None
        token = self.slots.take(client, self.settings.max_streams_per_client)
        if token is None:
            raise TooManyRequests("Too many open streams from your address.", "too_many_streams")
        return token

    def _events(self, request_id: str, channel: str, last_id: str | None, client: str,
                token: str | None) -> Iterator:
        deadline = time.monotonic() + self.settings.stream_max_age_s
        renewed = time.monotonic()
        try:
            while (now := time.monotonic()) < deadline:
                if token is not None and now - renewed >= self.settings.sse_heartbeat_s:
                    self.slots.renew(client, token)
                    renewed = now
                events = self.bus.read(request_id, channel, last_id, self.settings.sse_heartbeat_s)
                for event_id, data in events:
                    last_id = event_id
                    yield event_id, data
                    if is_terminal(data):
                        return
                if events:
                    continue
                try:
                    job = self.jobs.store.get(request_id)
                except AppError:
                    yield None  # Redis is away for now: keep the reader, whose events come once it is back
                    continue
                if job is None:  # the record expired with its events: say so rather than just stop
                    yield last_id or "0", {"status": "error", "message": EXPIRED_MESSAGE}
                    return
                job = self.jobs.fail_if_stale(job)
                if job.finished and not self.bus.read(request_id, channel, last_id, 0):
                    # The job is over but the bus holds no terminal event for it (Redis came back
                    # empty, or the job ended before an outage): end the channel as the job ended.
                    yield last_id or "0", terminal_event(job)
                    return
                yield None
        finally:
            if token is not None:
                self.slots.give_back(client, token)
