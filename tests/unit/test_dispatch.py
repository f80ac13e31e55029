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
from recommender.event_streams import EXPIRED_MESSAGE, EventStreams
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

    dispatch = Dispatcher(s, jobs=jobs, bus=bus, link=None, runs={"recommend": run})
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
    dispatch = Dispatcher(s, jobs=jobs, bus=bus, link=None,
                          runs={"recommend": lambda req, em: (hold.wait(10), (200, {}))[1]})
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


class _CrowdedStore(MemoryJobStore):
    """A job store that, like Redis with every pooled connection taken, cannot answer its first reads."""

    def __init__(self, busy_reads: int) -> None:
        super().__init__()
        self.busy_reads = busy_reads

    def get(self, request_id):
        if self.busy_reads > 0:
            self.busy_reads -= 1
            raise Busy("no free Redis connection", "busy", retry_after=1)
        return super().get(request_id)


def test_a_stream_rides_out_a_store_too_busy_to_answer_instead_of_answering_503():
    s = settings(sse_heartbeat_s=0.01, stream_wait_for_job_s=2.0)
    bus = MemoryEventBus()
    store = _CrowdedStore(busy_reads=0)
    jobs = JobRunner(store, bus, 1, 60, lambda exc: (500, {}))
    jobs.create("crowded-1", "a")
    store.put(Job("crowded-1", DONE, 1.0, 2.0, "a", 200, {}), 60)
    bus.publish("crowded-1", "status", {"status": "complete"})
    store.busy_reads = 3
    events = [e for e in EventStreams(s, bus=bus, jobs=jobs, slots=MemorySlots()).stream("crowded-1", "status",
                                                                                          None, "a") if e]
    assert events and events[-1][1]["status"] == "complete" and store.busy_reads == 0


def test_a_store_busy_for_the_whole_wait_still_answers_503_in_the_end():
    s = settings(stream_wait_for_job_s=0.3)
    store = _CrowdedStore(busy_reads=10**6)
    jobs = JobRunner(store, MemoryEventBus(), 1, 60, lambda exc: (500, {}))
    started = time.monotonic()
    with pytest.raises(Busy):
        EventStreams(s, bus=MemoryEventBus(), jobs=jobs, slots=MemorySlots()).stream("crowded-2", "status", None, "a")
    assert time.monotonic() - started < 2.0


def test_requests_are_read_a_few_at_a_time_and_one_that_waits_too_long_is_refused_with_retry_after():
    s = settings(submit_concurrency=2, submit_wait_s=0.2)
    bus = MemoryEventBus()
    jobs = JobRunner(MemoryJobStore(), bus, 1, 60, lambda exc: (500, {}))
    dispatch = Dispatcher(s, jobs=jobs, bus=bus, link=None, runs={"recommend": lambda req, em: (200, {})})
    inside = threading.Semaphore(0)
    leave = threading.Event()
    peak, now, lock = [0], [0], threading.Lock()

    def submit():
        with dispatch.submitting():
            with lock:
                now[0] += 1
                peak[0] = max(peak[0], now[0])
            inside.release()
            leave.wait(10)
            with lock:
                now[0] -= 1

    holders = [threading.Thread(target=submit) for _ in range(2)]
    for t in holders:
        t.start()
    assert inside.acquire(timeout=5) and inside.acquire(timeout=5)
    began = time.monotonic()
    with pytest.raises(Busy) as refused:
        with dispatch.submitting():
            pass
    assert time.monotonic() - began >= 0.2
    assert refused.value.status == 503 and 3 <= refused.value.retry_after <= 6
    late = threading.Thread(target=submit)  # waits for a place rather than being refused at once
    late.start()
    time.sleep(0.05)
    leave.set()
    for t in [*holders, late]:
        t.join(5)
    assert inside.acquire(timeout=5)
    assert peak[0] == 2 and now[0] == 0
    with dispatch.submitting():  # every place came back
        pass
