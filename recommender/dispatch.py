"""Accepting a job of any kind: capacity and per-client quota, a fresh request_id, then a thread or an RQ job.

Every kind of job (recommend, group, compare, year review) starts here, so with
PIPELINE_BACKEND=rq each runs on an RQ worker, as admission counted it. A request is refused
up front (503 with Retry-After) when the queue it would join is full, and is accepted only once
its job record is where every process can read it.
"""
from __future__ import annotations

import base64
import random
import secrets
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping

from infra.events import EventBus
from infra.jobs import FAILED, Job, Emitter, JobRunner
from infra.redis_link import RedisLink
from services import vocabulary as steps
from services.errors import BUSY, AppError, Busy, Conflict, TooManyRequests
from services.recommend_request import RecommendRequest

WORKER_ENTRY = "recommender.worker.run_job"
RECOMMEND = RecommendRequest.kind
FULL_MESSAGE = "Many members are asking at once; your request will be taken in a few seconds."

Run = Callable[[Any, Emitter], tuple[int, dict]]


def job_arguments(request_id: str, req) -> tuple:
    """What an RQ job of this request carries, as JSON: its kind, the fields as received, uploads base64-encoded."""
    uploads = [[slot, base64.b64encode(data).decode(), filename] for slot, data, filename in req.uploads]
    return request_id, req.kind, {**req.fields, "request_id": None}, uploads


class Dispatcher:
    """Admits jobs of every kind and runs them in this process (a thread pool) or on RQ workers."""

    def __init__(self, settings, *, jobs: JobRunner, bus: EventBus, link: RedisLink | None,
                 runs: Mapping[str, Run]) -> None:
        self.settings = settings
        self.jobs = jobs
        self.bus = bus
        self.link = link
        self.runs = runs
        self._submitting = threading.BoundedSemaphore(max(1, int(settings.submit_concurrency)))

    @contextmanager
    def submitting(self) -> Iterator[None]:
        """Hold one of this process's few places for reading and admitting a request.

        In a burst, hundreds of request threads parsing uploads at once would share the GIL with
        every open stream, whose first event would then wait seconds; queued here instead, they
        leave the interpreter to the streams. A request that waits longer than `submit_wait_s` is
        refused with 503 and Retry-After.
        """
        if not self._submitting.acquire(timeout=max(0.0, self.settings.submit_wait_s)):
            raise Busy(FULL_MESSAGE, BUSY, retry_after=self._retry_after())
        try:
            with self.jobs.fair.running():  # reading a large upload gives way to small ones
                yield
        finally:
            self._submitting.release()

    @property
    def queued(self) -> bool:
        """Whether jobs go to RQ workers (PIPELINE_BACKEND=rq with REDIS_URL) rather than this process."""
        return self.settings.pipeline_backend == "rq" and self.link is not None

    def _retry_after(self) -> int:
        # Spread the retries of a refused crowd over a window instead of bringing it back at once.
        base = max(1, int(self.settings.busy_retry_after_s))
        return base + random.randint(0, base)

    def check_capacity(self) -> None:
        """Refuse with 503 and Retry-After while the queue this request would join is full."""
        if self.queued:
            from infra.queue import waiting

            count = self.link.call(waiting)
        else:
            count = self.jobs.waiting()
        if count >= self.settings.max_queued_jobs:
            raise Busy(FULL_MESSAGE, BUSY, retry_after=self._retry_after())

    def admit_client(self, client: str) -> None:
        """Refuse when the queue is full or the client already runs its share of jobs (before reading uploads)."""
        self.check_capacity()
        if self.settings.ratelimit_enabled and \
                self.jobs.store.active_for(client) >= self.settings.max_active_jobs_per_client:
            raise TooManyRequests("You already have several recommendations running; wait for one to finish.",
                                  "too_many_jobs")

    def admit(self, req: Any, client: str) -> str:
        """Check capacity and the client's running jobs, claim the request_id and announce the job."""
        self.admit_client(client)
        request_id = req.request_id or secrets.token_urlsafe(18)
        if not self.jobs.create(request_id, client):
            raise Conflict("That request_id is already in use; omit it to get a fresh one.", "request_id_in_use")
        # Readers see a first event at once, even while the job waits for a free pipeline.
        Emitter(self.bus, request_id).status(steps.QUEUED, "Waiting for a free worker", 0, 1)
        return request_id

    def emitter(self, request_id: str, req: Any) -> Emitter:
        """The job's emitter; a recommendation stops early once its count of cards went out."""
        return Emitter(self.bus, request_id, req.count if req.kind == RECOMMEND else None)

    def start(self, req: Any, client: str) -> str:
        """Accept a job (of the request's kind) and run it in the background; returns its request_id."""
        kind = req.kind
        run = self.runs[kind]
        request_id = self.admit(req, client)
        if self.queued:
            from infra.queue import enqueue

            try:
                self.link.call(lambda r: enqueue(r, WORKER_ENTRY, job_arguments(request_id, req),
                                                 job_id=f"lbr-{request_id}", description=f"{kind} {request_id}"))
            except AppError as exc:
                self._withdraw(request_id, exc)
                raise
            return request_id
        self.jobs.submit(request_id, lambda em: run(req, em), self.emitter(request_id, req))
        return request_id

    def _withdraw(self, request_id: str, exc: AppError) -> None:
        """End a job that could not be queued, so nothing waits for it (the client was told to retry)."""
        now = time.time()
        job = Job(request_id, FAILED, now, now, "", exc.status, exc.body())
        self.jobs.store.put(job, self.settings.job_result_ttl)
        Emitter(self.bus, request_id).finish(False, exc.message)

    def run_sync(self, req: Any, client: str) -> tuple[int, dict]:
        """Run a job to its end on this process's pool, waiting for it here (events still stream).

        An answer asked to wait (`sync`) is served by the process that holds the connection, whatever
        the backend: there is nobody else to hand it to.
        """
        run = self.runs[req.kind]
        request_id = self.admit(req, client)
        return self.jobs.run_pooled(request_id, lambda em: run(req, em), self.emitter(request_id, req))
