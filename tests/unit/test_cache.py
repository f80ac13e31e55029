from __future__ import annotations

import threading

from infra.cache import MemoryCache
from tests.support.clock import Clock


def test_value_expires_after_its_ttl():
    clock = Clock(0.0)
    cache = MemoryCache(clock=clock)
    cache.set("profile", "alice", {"films": 3}, ttl_s=10)
    clock.now = 9.9
    assert cache.get("profile", "alice") == {"films": 3}
    clock.now = 10.1
    assert cache.get("profile", "alice") is None


def test_least_recently_used_entry_is_evicted_at_max_size():
    cache = MemoryCache(max_size=2)
    cache.set("n", "a", 1, 60)
    cache.set("n", "b", 2, 60)
    assert cache.get("n", "a") == 1  # a is now the most recent
    cache.set("n", "c", 3, 60)
    assert cache.get("n", "b") is None
    assert cache.get("n", "a") == 1 and cache.get("n", "c") == 3
    assert len(cache) == 2


def test_namespaces_keep_equal_keys_apart():
    cache = MemoryCache()
    cache.set("tmdb", "1", "film", 60)
    cache.set("profile", "1", "member", 60)
    assert cache.get("tmdb", "1") == "film"
    assert cache.get("profile", "1") == "member"


def test_concurrent_misses_compute_a_key_once():
    cache = MemoryCache()
    calls = []
    gate = threading.Event()

    def compute():
        calls.append(1)
        gate.wait(2)
        return {"value": 42}

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get_or_compute("n", "k", 60, compute)))
               for _ in range(8)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join()
    assert calls == [1]
    assert results == [{"value": 42}] * 8


def test_none_results_are_not_cached():
    cache = MemoryCache()
    calls = []
    cache.get_or_compute("n", "k", 60, lambda: calls.append(1))
    cache.get_or_compute("n", "k", 60, lambda: calls.append(1))
    assert len(calls) == 2
