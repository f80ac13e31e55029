"""The Redis-backed cache, event bus and job store against a real redis-server."""
from __future__ import annotations

import threading
import time
import uuid

import pytest

from infra.cache import MemoryCache, RedisCache
from infra.events import MemoryEventBus, RedisEventBus
from infra.jobs import DONE, Job, MemoryJobStore, RedisJobStore
from infra.redis_link import RedisLink
from tests.support.redis_server import RedisServer


@pytest.fixture()
def link(redis_url):
    return RedisLink(redis_url, retry_after_s=0.2)


def rid() -> str:
    return uuid.uuid4().hex


def test_events_survive_in_redis_and_resume_after_last_id(link):
    bus = RedisEventBus(link, MemoryEventBus())
    request_id = rid()
    ids = [bus.publish(request_id, "logs", {"n": i}) for i in range(4)]
    other_process_bus = RedisEventBus(RedisLink(link.url), MemoryEventBus())
    assert [e[1]["n"] for e in other_process_bus.read(request_id, "logs", None, 0)] == [0, 1, 2, 3]
    assert [e[0] for e in other_process_bus.read(request_id, "logs", ids[1], 0)] == ids[2:]
    assert other_process_bus.exists(request_id)


def test_blocked_reader_is_woken_by_a_publish_from_another_bus(link):
    reader_bus = RedisEventBus(link, MemoryEventBus())
    writer_bus = RedisEventBus(RedisLink(link.url), MemoryEventBus())
    request_id = rid()
    got = []
    reader = threading.Thread(target=lambda: got.extend(reader_bus.read(request_id, "status", None, 5)))
    reader.start()
    writer_bus.publish(request_id, "status", {"status": "complete"})
    reader.join(5)
    assert got and got[0][1] == {"status": "complete"}


def test_stream_length_is_bounded(link):
    bus = RedisEventBus(link, MemoryEventBus(), maxsize=5)
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
    a = RedisJobStore(link, MemoryJobStore())
    b = RedisJobStore(RedisLink(link.url), MemoryJobStore())
    job = Job(rid(), DONE, 1.0, 2.0, "c", 200, {"recommendations": []})
    assert a.create(job, 60)
    assert not b.create(job, 60)
    assert b.get(job.request_id) == job


def test_redis_outage_falls_back_and_recovers(tmp_path):
    server = RedisServer(tmp_path / "r").start()
    try:
        link = RedisLink(server.url, retry_after_s=0.1, socket_timeout_s=0.5)
        cache = RedisCache(link, MemoryCache())
        bus = RedisEventBus(link, MemoryEventBus())
        cache.set("n", "k", 1, 30)
        server.stop()
        cache.set("n", "down", 2, 30)  # no exception: the in-process store takes it
        assert cache.get("n", "down") == 2
        assert bus.publish("r1", "logs", {"n": 1})  # in-process bus takes it
        assert not link.up
        server.start()
        deadline = time.monotonic() + 5
        while not link.ping() and time.monotonic() < deadline:
            time.sleep(0.05)
        cache.set("n", "back", 3, 30)
        assert link.client.get("lbr:cache:n:back") == b"3"
    finally:
        server.stop()


def test_a_shared_list_in_redis_carries_its_ttl_and_any_instance_reads_it(link):
    from infra.shared_results import KEY_PREFIX, RedisSharedResults

    ttl = 30 * 86400
    writer, reader = RedisSharedResults(link.client, ttl), RedisSharedResults(link.client, ttl)
    share_id, _ = writer.put({"recommendations": [{"film_id": 1}]})

    assert reader.get(share_id) == {"recommendations": [{"film_id": 1}]}
    assert ttl - 5 <= link.client.ttl(KEY_PREFIX + share_id) <= ttl
    assert reader.get("no-such-share-id-here") is None
