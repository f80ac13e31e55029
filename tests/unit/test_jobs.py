from __future__ import annotations

import time

import pytest

from infra.events import MemoryEventBus
from infra.jobs import DONE, FAILED, RUNNING, Emitter, Job, JobRunner, MemoryJobStore
from services.errors import NotFound


def runner(bus=None, store=None) -> JobRunner:
    def mapper(exc):
        if isinstance(exc, NotFound):
            return 404, exc.body()
        return 500, {"error": "internal_error", "message": "boom"}

    return JobRunner(store or MemoryJobStore(), bus or MemoryEventBus(), 2, 60, mapper)


def channel(bus, name):
    return [e[1] for e in bus.read("job1", name, None, 0)]


def test_finished_job_keeps_its_result_and_ends_every_channel():
    bus = MemoryEventBus()
    jobs = runner(bus)
    jobs.create("job1", "client")

    def work(em: Emitter):
        em.status("scoring", "Scoring", 1, 2)
        em.log("hello")
        em.recommendation({"film_id": 1, "title": "Arrival"})
        return 200, {"ok": True}

    status, payload = jobs.run("job1", work, Emitter(bus, "job1"))
    assert (status, payload) == (200, {"ok": True})
    job = jobs.store.get("job1")
    assert job.state == DONE and job.payload == {"ok": True}
    for name in ("logs", "recommendations", "status"):
        assert channel(bus, name)[-1] == {"status": "complete"}
    assert channel(bus, "status")[0]["progress"] == 0.5


def test_failing_job_reports_its_error_on_all_channels():
    bus = MemoryEventBus()
    jobs = runner(bus)
    jobs.create("job1", "client")

    def work(em):
        raise NotFound("No such member")

    status, payload = jobs.run("job1", work, Emitter(bus, "job1"))
    assert status == 404 and payload["message"] == "No such member"
    assert jobs.store.get("job1").state == FAILED
    for name in ("logs", "recommendations", "status"):
        assert channel(bus, name)[-1] == {"status": "error", "message": "No such member"}


def test_emitter_asks_to_stop_once_count_cards_are_sent_and_drops_duplicates():
    bus = MemoryEventBus()
    em = Emitter(bus, "job1", count=2)
    em.recommendation({"film_id": 1})
    em.recommendation({"film_id": 1})
    assert not em.cancelled
    em.recommendation({"film_id": 2})
    assert em.cancelled
    em.recommendation({"film_id": 3})
    assert [e["recommendation"]["film_id"] for e in channel(bus, "recommendations")] == [1, 2]


def test_request_id_cannot_be_created_twice():
    jobs = runner()
    assert jobs.create("job1", "a")
    assert not jobs.create("job1", "b")


def test_job_whose_heartbeat_stopped_is_reported_failed():
    bus = MemoryEventBus()
    jobs = runner(bus)
    old = time.time() - 3600
    jobs.store.put(Job("job1", RUNNING, old, old, "client"), 60)
    failed = jobs.fail_if_stale(jobs.store.get("job1"))
    assert failed.state == FAILED and failed.http_status == 503
    assert channel(bus, "status")[-1]["status"] == "error"


def test_a_heartbeat_that_lands_after_the_job_ended_leaves_its_result():
    bus = MemoryEventBus()
    jobs = runner(bus)
    jobs.create("job1", "client")
    running = []

    def work(em: Emitter):
        running.append(jobs.store.get("job1"))  # what a heartbeat taken now would write back
        return 200, {"ok": True}

    jobs.run("job1", work, Emitter(bus, "job1"))
    late = running[0]
    assert late.state == RUNNING
    jobs.store.put(Job("job1", RUNNING, late.created, time.time(), late.owner), 60)  # the heartbeat lands late
    job = jobs.store.get("job1")
    assert job.state == DONE and job.payload == {"ok": True}
    assert jobs.fail_if_stale(job) == job


def test_results_expire_after_their_ttl():
    now = [1000.0]
    store = MemoryJobStore(clock=lambda: now[0])
    store.put(Job("job1", DONE, 1.0, 1.0, "c", 200, {}), ttl_s=900)
    now[0] += 899
    assert store.get("job1") is not None
    now[0] += 2
    assert store.get("job1") is None


def test_ctrl_c_ends_the_jobs_channels_and_then_goes_on_to_stop_the_process():
    bus = MemoryEventBus()
    jobs = runner(bus)
    jobs.create("job1", "client")

    def work(em: Emitter):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        jobs.run("job1", work, Emitter(bus, "job1"))
    job = jobs.store.get("job1")
    assert job.state == FAILED and job.payload["error"] == "interrupted"
    for name in ("logs", "recommendations", "status"):
        assert channel(bus, name)[-1] == {"status": "error", "message": "The recommendation was interrupted."}
    assert not any("Something went wrong" in str(e) for e in channel(bus, "logs"))


def test_a_progress_step_the_server_does_not_list_is_refused():
    with pytest.raises(ValueError, match="unknown progress step"):
        Emitter(MemoryEventBus(), "job1").status("thinking", "Hmm")


def test_a_result_over_the_size_cap_is_replaced_by_an_error_and_one_at_it_is_kept():
    bus = MemoryEventBus()
    jobs = JobRunner(MemoryJobStore(), bus, 1, 60, lambda exc: (500, {}), max_result_bytes=100)
    at_cap = {"x": "a" * (100 - len('{"x":""}'))}
    jobs.create("job1", "c")
    assert jobs.run("job1", lambda em: (200, at_cap), Emitter(bus, "job1")) == (200, at_cap)

    jobs.create("job2", "c")
    status, payload = jobs.run("job2", lambda em: (200, {"x": "a" * 101}), Emitter(bus, "job2"))

    assert status == 500 and payload["error"] == "result_too_large"
    assert jobs.store.get("job2").payload == payload
    assert [e[1] for e in bus.read("job2", "status", None, 0)][-1]["status"] == "error"


def clocked_runner(now: list[float], result_ttl: float = 900, events_age: float = 3600) -> JobRunner:
    store = MemoryJobStore(clock=lambda: now[0])
    bus = MemoryEventBus(max_age_s=events_age, clock=lambda: now[0])
    return JobRunner(store, bus, 1, result_ttl, lambda exc: (500, {"error": "x", "message": "boom"}))


def test_a_finished_jobs_events_expire_with_its_result_and_only_then_is_its_id_free():
    now = [1000.0]
    jobs = clocked_runner(now)
    assert jobs.create("job1", "a")
    jobs.run("job1", lambda em: (200, {"n": 1}), Emitter(jobs.bus, "job1"))
    now[0] += 899
    assert jobs.store.get("job1") is not None and jobs.bus.exists("job1")
    assert not jobs.create("job1", "b")

    now[0] += 2
    assert jobs.store.get("job1") is None and not jobs.bus.exists("job1")
    assert jobs.create("job1", "b")
    jobs.run("job1", lambda em: (200, {"n": 2}), Emitter(jobs.bus, "job1"))
    statuses = [e[1] for e in jobs.bus.read("job1", "status", None, 0)]
    assert statuses == [{"status": "complete"}], "nothing of the first job is left in the second's stream"


def test_an_id_stays_reserved_while_its_events_outlive_its_record():
    now = [1000.0]
    jobs = clocked_runner(now)
    assert jobs.create("job1", "a")
    Emitter(jobs.bus, "job1").status("queued", "Waiting", 0, 1)  # a job whose process died before it ran
    now[0] += 1000
    assert jobs.store.get("job1") is None and jobs.bus.exists("job1")

    assert not jobs.create("job1", "b")
    now[0] += 3600
    assert jobs.create("job1", "b")
