"""Admission: a full pipeline pool refuses up front with 503 and Retry-After; streams always end."""
from __future__ import annotations

import threading
import time

import pytest

from config import load_settings
from infra.events import MemoryEventBus
from infra.jobs import DONE, Emitter, Job, JobRunner, MemoryJobStore
from infra.slots import MemorySlots
from recommender.dispatch import Dispatcher
from recommender.streams import EXPIRED_MESSAGE, EventStreams
from services.errors import Busy, TooManyRequests
from services.recommend_request import RecommendRequest


def settings(**overrides):
    return load_settings(environ={}, overrides={"pipeline_pool_size": 1, "max_queued_jobs": 1,
                                                "busy_retry_after_s": 3, **overrides})


def request() -> RecommendRequest:
    return RecommendRequest(username="someone", country="GB", fields={"username": "someone"})


def test_a_full_pipeline_pool_refuses_the_next_request_with_a_retry_after_and_takes_it_once_room_is_made():
    s = settings()
    bus = MemoryEventBus()
    jobs = JobRunner(MemoryJobStore(), bus, s.pipeline_pool_size, 60, lambda exc: (500, {}))
    release = threading.Event()
    started = threading.Event()

    def run(req, em):
        started.set()
        release.wait(10)
        return 200, {"ok": True}

    dispatch = Dispatcher(s, jobs=jobs, bus=bus, link=None, run=run)
    first = dispatch.start(request(), "a")
    assert started.wait(5)
    second = dispatch.start(request(), "b")  # waits for the one pipeline thread
    with pytest.raises(Busy) as refused:
        dispatch.start(request(), "c")
    assert refused.value.status == 503 and refused.value.code == "busy"
    assert 3 <= refused.value.retry_after <= 6
    release.set()
    deadline = time.monotonic() + 10
    while jobs.store.get(second).state != DONE:  # both ran, so nothing waits any more
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert jobs.store.get(first).state == DONE
    assert dispatch.start(request(), "c")


def test_the_clients_running_jobs_are_limited():
    s = settings(max_active_jobs_per_client=1, max_queued_jobs=10)
    bus = MemoryEventBus()
    jobs = JobRunner(MemoryJobStore(), bus, 1, 60, lambda exc: (500, {}))
    hold = threading.Event()
    dispatch = Dispatcher(s, jobs=jobs, bus=bus, link=None, run=lambda req, em: (hold.wait(10), (200, {}))[1])
    dispatch.start(request(), "a")
    with pytest.raises(TooManyRequests):
        dispatch.start(request(), "a")
    assert dispatch.start(request(), "b")
    hold.set()


def test_a_stream_whose_bus_lost_the_end_ends_as_the_job_record_says():
    s = settings(sse_heartbeat_s=0.01)
    bus = MemoryEventBus()
    store = MemoryJobStore()
    jobs = JobRunner(store, bus, 1, 60, lambda exc: (500, {}))
    jobs.create("lost-end-1", "a")
    Emitter(bus, "lost-end-1").log("started")
    store.put(Job("lost-end-1", DONE, 1.0, 2.0, "a", 200, {}), 60)
    streams = EventStreams(s, bus=bus, jobs=jobs, slots=MemorySlots())
    events = [e for e in streams.stream("lost-end-1", "logs", None, "a") if e is not None]
    assert events[-1][1] == {"status": "complete"} and len(events) == 2


def test_a_stream_whose_job_record_expired_ends_with_an_error_not_a_silent_close():
    s = settings(sse_heartbeat_s=0.01)
    bus = MemoryEventBus()
    store = MemoryJobStore()
    jobs = JobRunner(store, bus, 1, 60, lambda exc: (500, {}))
    jobs.create("gone-1234", "a")
    stream = EventStreams(s, bus=bus, jobs=jobs, slots=MemorySlots()).stream("gone-1234", "status", None, "a")
    store.discard("gone-1234")
    events = [e for e in stream if e is not None]
    assert events == [("0", {"status": "error", "message": EXPIRED_MESSAGE})]
