"""Accepting a request: per-client job quota, a fresh request_id, then a pipeline thread or an RQ job."""
from __future__ import annotations

import secrets
from typing import Callable

from infra.events import EventBus
from infra.jobs import Emitter, JobRunner
from infra.redis_link import RedisLink
from services import vocabulary as steps
from services.errors import Conflict, TooManyRequests
from services.recommend_request import RecommendRequest

WORKER_ENTRY = "recommender.worker.run_pipeline"

Run = Callable[[RecommendRequest, Emitter], tuple[int, dict]]


class Dispatcher:
    """Admits requests and runs them in this process (a thread pool) or on RQ workers."""

    def __init__(self, settings, *, jobs: JobRunner, bus: EventBus, link: RedisLink | None, run: Run) -> None:
        self.settings = settings
        self.jobs = jobs
        self.bus = bus
        self.link = link
        self.run = run

    def admit_client(self, client: str) -> None:
        """Refuse a client already running its share of jobs."""
        if self.settings.ratelimit_enabled and \
                self.jobs.store.active_for(client) >= self.settings.max_active_jobs_per_client:
            raise TooManyRequests("You already have several recommendations running; wait for one to finish.",
                                  "too_many_jobs")

    def admit(self, req: RecommendRequest, client: str) -> str:
        """Check the client's running jobs, claim the request_id and announce the job; return its id."""
        self.admit_client(client)
        request_id = req.request_id or secrets.token_urlsafe(18)
        if not self.jobs.create(request_id, client):
            raise Conflict("That request_id is already in use; omit it to get a fresh one.", "request_id_in_use")
        # Readers see a first event at once, even while the job waits for a free pipeline.
        Emitter(self.bus, request_id).status(steps.QUEUED, "Waiting for a free worker", 0, 1)
        return request_id

    def start(self, req: RecommendRequest, client: str) -> str:
        """Accept a request and run it in the background; returns its request_id."""
        request_id = self.admit(req, client)
        if self.settings.pipeline_backend == "rq" and self.link is not None:
            from infra.queue import enqueue

            enqueue(self.link.client, WORKER_ENTRY, request_id,
                    {**req.fields, "request_id": None}, req.upload, req.filename)
            return request_id
        emitter = Emitter(self.bus, request_id, req.count)
        self.jobs.submit(request_id, lambda em: self.run(req, em), emitter)
        return request_id

    def run_sync(self, req: RecommendRequest, client: str) -> tuple[int, dict]:
        """Run a request to its end on the pipeline pool, waiting for it here (events still stream)."""
        request_id = self.admit(req, client)
        emitter = Emitter(self.bus, request_id, req.count)
        return self.jobs.run_pooled(request_id, lambda em: self.run(req, em), emitter)
