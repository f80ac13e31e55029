from __future__ import annotations

import threading

from infra.events import MemoryEventBus, is_terminal


def test_reader_after_an_id_gets_exactly_the_later_events():
    bus = MemoryEventBus()
    ids = [bus.publish("r1", "logs", {"message": str(i)}) for i in range(5)]
    events = bus.read("r1", "logs", ids[1], timeout_s=0)
    assert [e[1]["message"] for e in events] == ["2", "3", "4"]
    assert [e[0] for e in events] == ids[2:]


def test_two_readers_each_get_every_event():
    bus = MemoryEventBus()
    for i in range(3):
        bus.publish("r1", "status", {"n": i})
    first = bus.read("r1", "status", None, 0)
    second = bus.read("r1", "status", None, 0)
    assert first == second and len(first) == 3


def test_channels_and_requests_are_separate_streams():
    bus = MemoryEventBus()
    bus.publish("r1", "logs", {"a": 1})
    bus.publish("r2", "logs", {"b": 1})
    bus.publish("r1", "status", {"c": 1})
    assert [e[1] for e in bus.read("r1", "logs", None, 0)] == [{"a": 1}]
    assert [e[1] for e in bus.read("r2", "logs", None, 0)] == [{"b": 1}]


def test_waiting_reader_wakes_when_an_event_is_published():
    bus = MemoryEventBus()
    got = []
    reader = threading.Thread(target=lambda: got.extend(bus.read("r1", "logs", None, timeout_s=5)))
    reader.start()
    bus.publish("r1", "logs", {"message": "hello"})
    reader.join(5)
    assert got and got[0][1] == {"message": "hello"}


def test_queue_is_bounded_and_keeps_the_newest_events():
    bus = MemoryEventBus(maxsize=3)
    for i in range(10):
        bus.publish("r1", "logs", {"n": i})
    assert [e[1]["n"] for e in bus.read("r1", "logs", None, 0)] == [7, 8, 9]


def test_idle_streams_are_evicted_after_max_age():
    now = [0.0]
    bus = MemoryEventBus(max_age_s=60, clock=lambda: now[0])
    bus.publish("r1", "logs", {"n": 1})
    assert bus.exists("r1")
    now[0] = 61
    assert not bus.exists("r1")
    assert bus.read("r1", "logs", None, 0) == []


def test_terminal_events_are_recognised_but_cards_are_not():
    assert is_terminal({"status": "complete"})
    assert is_terminal({"status": "error", "message": "x"})
    assert not is_terminal({"status": "running", "step": "scoring"})
    assert not is_terminal({"type": "recommendation", "status": "complete"})
