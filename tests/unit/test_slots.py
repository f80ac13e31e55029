"""Per-client stream slots are leases: renewed while a stream runs, given back when it ends, lapsed when abandoned."""
from __future__ import annotations

from config import load_settings
from infra.events import MemoryEventBus
from infra.jobs import JobRunner, MemoryJobStore
from infra.slots import MemorySlots
from recommender.event_streams import EventStreams, stream_lease_s
from routes import sse
from tests.support.clock import Clock


def test_a_token_counts_until_given_back_or_lapsed():
    clock = Clock()
    slots = MemorySlots(lease_s=10, clock=clock)
    first, second = slots.take("a", 2), slots.take("a", 2)
    assert first and second and first != second
    assert slots.take("a", 2) is None and slots.take("b", 2), "the limit is per client"
    slots.give_back("a", first)
    assert slots.held("a") == 1
    clock.now += 10.5
    assert slots.held("a") == 0, "the token nobody gave back lapsed"
    assert slots.take("a", 2) and slots.take("a", 2) and slots.take("a", 2) is None


def test_renewing_keeps_a_token_and_a_lapsed_one_is_not_brought_back():
    clock = Clock()
    slots = MemorySlots(lease_s=10, clock=clock)
    kept, dropped = slots.take("a", 5), slots.take("a", 5)
    clock.now += 8
    slots.renew("a", kept)
    clock.now += 8
    assert slots.held("a") == 1
    slots.renew("a", dropped)
    assert slots.held("a") == 1
    slots.give_back("a", dropped)
    slots.give_back("a", kept)
    assert slots.held("a") == 0


def streams_for_a_waiting_job(slots: MemorySlots, request_id: str) -> EventStreams:
    s = load_settings(environ={}, overrides={"sse_heartbeat_s": 0.01, "ratelimit_enabled": True,
                                             "max_streams_per_client": 1})
    bus = MemoryEventBus()
    jobs = JobRunner(MemoryJobStore(), bus, 1, 60, lambda exc: (500, {}))
    jobs.create(request_id, "a")
    return EventStreams(s, bus=bus, jobs=jobs, slots=slots)


def test_an_open_stream_renews_its_slot_at_each_heartbeat():
    clock = Clock()
    slots = MemorySlots(lease_s=1, clock=clock)
    events = streams_for_a_waiting_job(slots, "r1").stream("r1", "logs", None, "a")
    for _ in range(5):
        clock.now += 0.9  # more than the whole lease goes by, a heartbeat at a time
        assert next(events) is None
    assert slots.held("a") == 1, "the running stream kept its place"
    events.close()
    assert slots.held("a") == 0


def test_sse_closes_the_stream_it_formats_when_it_is_closed():
    slots = MemorySlots(lease_s=60)
    body = sse(streams_for_a_waiting_job(slots, "r2").stream("r2", "status", None, "a"))
    assert next(body).startswith("retry:") and next(body) == ": ping\n\n"
    assert slots.held("a") == 1
    body.close()
    assert slots.held("a") == 0, "the place came back as the response closed, not when the collector ran"


def test_the_lease_outlives_two_heartbeats():
    s = load_settings(environ={}, overrides={"sse_heartbeat_s": 15})
    assert stream_lease_s(s) > 2 * 15
