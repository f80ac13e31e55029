"""The Redis-backed cache, event bus and job store against a real redis-server."""
from __future__ import annotations

import threading
import time
import uuid
from typing import Iterator

import pytest

from infra.cache import MemoryCache, RedisCache
from infra.events import RedisEventBus
from infra.jobs import DONE, PENDING, RUNNING, Job, RedisJobStore
from infra.redis_link import RedisBusy, RedisLink, RedisUnavailable
from infra.slots import RedisSlots
from tests.support.redis_server import RedisServer


@pytest.fixture()
def link(redis_url):
    return RedisLink(redis_url, retry_after_s=0.2)


def rid() -> str:
    return uuid.uuid4().hex


def test_events_survive_in_redis_and_resume_after_last_id(link):
    bus = RedisEventBus(link)
    request_id = rid()
    ids = [bus.publish(request_id, "logs", {"n": i}) for i in range(4)]
    other_process_bus = RedisEventBus(RedisLink(link.url))
    assert [e[1]["n"] for e in other_process_bus.read(request_id, "logs", None, 0)] == [0, 1, 2, 3]
    assert [e[0] for e in other_process_bus.read(request_id, "logs", ids[1], 0)] == ids[2:]
    assert other_process_bus.exists(request_id)


def test_blocked_reader_is_woken_by_a_publish_from_another_bus(link):
    reader_bus = RedisEventBus(link)
    writer_bus = RedisEventBus(RedisLink(link.url))
    request_id = rid()
    got = []
    reader = threading.Thread(target=lambda: got.extend(reader_bus.read(request_id, "status", None, 5)))
    reader.start()
    writer_bus.publish(request_id, "status", {"status": "complete"})
    reader.join(5)
    assert got and got[0][1] == {"status": "complete"}


def test_stream_length_is_bounded(link):
    bus = RedisEventBus(link, maxsize=5)
    request_id = rid()
    for i in range(20):
        bus.publish(request_id, "logs", {"n": i})
    assert [e[1]["n"] for e in bus.read(request_id, "logs", None, 0)] == [15, 16, 17, 18, 19]


def test_cache_is_shared_between_instances(link):
    a = RedisCache(link, MemoryCache())
    b = RedisCache(RedisLink(link.url), MemoryCache())
    key = rid()
    a.set("profile", key, {"films": [1, 2]}, 30)
    assert b.get("profile", key) == {"films": [1, 2]}
    b.delete("profile", key)
    assert a.get("profile", key) is None


def test_get_or_compute_runs_once_across_instances(link):
    caches = [RedisCache(RedisLink(link.url), MemoryCache()) for _ in range(4)]
    key = rid()
    calls = []
    gate = threading.Event()

    def compute():
        calls.append(1)
        gate.wait(2)
        return "v"

    results = []
    threads = [threading.Thread(target=lambda c=c: results.append(c.get_or_compute("n", key, 30, compute)))
               for c in caches]
    for t in threads:
        t.start()
    time.sleep(0.1)  # let every instance reach the lock before the first computation ends
    gate.set()
    for t in threads:
        t.join()
    assert results == ["v"] * 4
    assert calls == [1]


def test_job_state_is_readable_from_another_instance(link):
    a = RedisJobStore(link)
    b = RedisJobStore(RedisLink(link.url))
    job = Job(rid(), DONE, 1.0, 2.0, "c", 200, {"recommendations": []})
    assert a.create(job, 60)
    assert not b.create(job, 60)
    assert b.get(job.request_id) == job


def test_a_late_heartbeat_from_any_process_leaves_a_finished_job_as_it_ended(link):
    a, b = RedisJobStore(link), RedisJobStore(RedisLink(link.url))
    request_id = rid()
    running = Job(request_id, RUNNING, 1.0, 2.0, "c")
    assert a.create(Job(request_id, PENDING, 1.0, 1.0, "c"), 60)
    a.put(running, 60)
    assert b.get(request_id) == running  # unfinished records still replace each other
    done = Job(request_id, DONE, 1.0, 3.0, "c", 200, {"recommendations": []})
    a.put(done, 60)
    b.put(Job(request_id, RUNNING, 1.0, 4.0, "c"), 60)  # another process's heartbeat, taken before the end
    a.put(Job(request_id, RUNNING, 1.0, 4.0, "c"), 60)
    assert a.get(request_id) == done and b.get(request_id) == done


def wait_until_up(link: RedisLink) -> None:
    deadline = time.monotonic() + 5
    while not link.ping() and time.monotonic() < deadline:
        time.sleep(0.05)


class Outage:
    """A redis-server of the test's own that can go away and come back, and a link to it that notices soon."""

    def __init__(self, server: RedisServer) -> None:
        self.server = server
        self.link = RedisLink(server.url, retry_after_s=0.1, socket_timeout_s=0.5)

    def begin(self) -> None:
        self.server.stop()

    def end(self) -> None:
        """Start the server again and wait until the link answers."""
        self.server.start()
        wait_until_up(self.link)


@pytest.fixture
def outage(tmp_path) -> Iterator[Outage]:
    made = Outage(RedisServer(tmp_path / "r").start())
    yield made
    made.link.close()
    made.server.stop()


def test_redis_outage_falls_back_and_recovers(outage):
    link = outage.link
    cache = RedisCache(link, MemoryCache())
    cache.set("n", "k", 1, 30)
    outage.begin()
    cache.set("n", "down", 2, 30)  # no exception: the in-process store takes it
    assert cache.get("n", "down") == 2
    assert not link.up
    outage.end()
    cache.set("n", "back", 3, 30)
    assert link.client.get("lbr:cache:n:back") == b"3"


def test_events_held_during_an_outage_reach_a_reader_elsewhere_under_the_same_ids(outage):
    bus = RedisEventBus(outage.link)
    request_id = rid()
    before = bus.publish(request_id, "logs", {"n": 0})
    outage.begin()
    during = [bus.publish(request_id, "logs", {"n": n}) for n in (1, 2, 3)]
    assert not outage.link.up
    # A reader in this process sees them at once, resuming after the id it had.
    assert [e[0] for e in bus.read(request_id, "logs", before, 0)] == during
    seen_during_outage = during[0]
    outage.end()  # the first answer writes the held events (this Redis came back empty)
    elsewhere = RedisEventBus(RedisLink(outage.server.url))
    try:
        assert [(e[0], e[1]["n"]) for e in elsewhere.read(request_id, "logs", None, 0)] == \
            list(zip(during, (1, 2, 3)))
        assert [e[1]["n"] for e in elsewhere.read(request_id, "logs", seen_during_outage, 0)] == [2, 3]
        after = bus.publish(request_id, "logs", {"n": 4})
        assert elsewhere.read(request_id, "logs", during[-1], 0) == [(after, {"n": 4})]
    finally:
        elsewhere.link.close()


def test_a_job_cannot_be_created_while_redis_is_away_and_records_written_then_arrive_later(outage):
    store = RedisJobStore(outage.link)
    running = Job(rid(), "running", 1.0, 2.0, "c")
    assert store.create(running, 60)
    outage.begin()
    with pytest.raises(RedisUnavailable) as refused:
        store.create(Job(rid(), "pending", 1.0, 1.0, "c"), 60)
    assert refused.value.status == 503 and refused.value.retry_after >= 1
    done = Job(running.request_id, DONE, 1.0, 3.0, "c", 200, {"recommendations": []})
    store.put(done, 60)  # kept here, and read from here, until Redis answers
    assert store.get(running.request_id) == done
    outage.end()
    other = RedisLink(outage.server.url)
    try:
        assert RedisJobStore(other).get(running.request_id) == done
    finally:
        other.close()


def test_a_full_connection_pool_is_busy_not_an_outage(redis_url):
    link = RedisLink(redis_url, max_connections=2, pool_timeout_s=0.2)
    key = f"lbr:test:{rid()}"
    holders = [threading.Thread(target=lambda: link.client.blpop([key], timeout=1.5)) for _ in range(2)]
    for t in holders:
        t.start()
    time.sleep(0.3)
    with pytest.raises(RedisBusy) as busy:
        link.call(lambda r: r.get(key))
    assert busy.value.status == 503
    assert link.run(lambda r: r.get(key), lambda: "fallback") == "fallback"
    assert link.up, "a pool with no free connection is not an outage"
    for t in holders:
        t.join()
    assert link.call(lambda r: r.get(key)) is None
    link.close()


def test_running_jobs_per_client_are_counted_across_processes(link):
    a, b = RedisJobStore(link), RedisJobStore(RedisLink(link.url))
    owner = f"client-{rid()}"
    now = time.time()
    first, second = Job(rid(), "running", now, now, owner), Job(rid(), "pending", now, now, owner)
    assert a.create(first, 60) and b.create(second, 60)
    assert a.active_for(owner) == b.active_for(owner) == 2
    b.put(Job(second.request_id, DONE, now, now, owner, 200, {}), 60)
    assert a.active_for(owner) == 1


def test_open_streams_per_client_are_counted_across_processes(link):
    a, b = RedisSlots(link, 60), RedisSlots(RedisLink(link.url), 60)
    client = f"client-{rid()}"
    first, second = a.take(client, 2), b.take(client, 2)
    assert first and second
    assert a.take(client, 2) is None and b.take(client, 2) is None
    a.give_back(client, second)
    assert b.take(client, 2) is not None


def test_a_stream_slot_in_redis_lapses_unless_renewed(link):
    slots = RedisSlots(link, 1.0)
    client = f"client-{rid()}"
    kept, dropped = slots.take(client, 2), slots.take(client, 2)
    assert kept and dropped and slots.take(client, 2) is None
    time.sleep(0.6)
    slots.renew(client, kept)
    time.sleep(0.6)
    assert slots.take(client, 2) is not None, "the token nobody renewed lapsed and its place is free"
    assert slots.take(client, 2) is None, "the renewed token still counts"


def test_a_shared_list_in_redis_carries_its_ttl_and_any_instance_reads_it(link):
    from infra.shared_results_store import KEY_PREFIX, RedisSharedResults

    ttl = 30 * 86400
    writer, reader = RedisSharedResults(link.client, ttl), RedisSharedResults(link.client, ttl)
    share_id, _ = writer.put({"recommendations": [{"film_id": 1}]})

    assert reader.get(share_id) == {"recommendations": [{"film_id": 1}]}
    assert ttl - 5 <= link.client.ttl(KEY_PREFIX + share_id) <= ttl
    assert reader.get("no-such-share-id-here") is None
