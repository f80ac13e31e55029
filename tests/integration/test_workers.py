"""Processes that die: RQ workers killed mid-job, Redis stopped mid-run, the collector and training killed.

Every process here is a real one (redis-server, `python main.py worker|serve|collect|train`)
and is killed with SIGKILL, the way an out-of-memory killer or a lost machine ends it.
"""
from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Iterator

import pytest
import redis
import requests

from infra.jobs import STALE_AFTER_S
from infra.store import Store
from tests.fakes import FakeUpstreams
from tests.support.runs import assert_ended_cleanly, fetch_result, follow, recommend, start_run
from tests.support.var import copy_var
from tests.support.redis_server import RedisServer, free_port
from tests.support.sse import is_terminal, iter_sse

ROOT = Path(__file__).resolve().parents[2]
BOOT_TIMEOUT_S = 60
KILL_FAILURE_LIMIT_S = STALE_AFTER_S + 15
SLOW_PAGE_S = 4.0
COLLECT_MEMBERS = 30
SALT = "test-salt"
TRAIN_FILMS = 1500
FAKE_WORLD = {"popular_members": 60}
FAKE_SERVERS = {"page_size": 12}

pytestmark = pytest.mark.usefixtures("calm_fakes")


# ----- processes ---------------------------------------------------------------------------------


def base_env(fakes: FakeUpstreams, var: Path, redis_url: str = "", **extra: str) -> dict[str, str]:
    """Environment for a `python main.py ...` process pointed at the fakes, with nothing from .env that matters."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN", "REDIS", "TMDB", "LETTERBOXD"))}
    env.update({
        "VAR_DIR": str(var), "REDIS_URL": redis_url, "TMDB_KEY": "", "LOG_LEVEL": "WARNING",
        "LETTERBOXD_BASE_URL": fakes.letterboxd.url, "TMDB_BASE_URL": f"{fakes.tmdb.url}/3",
        "JUSTWATCH_BASE_URL": fakes.justwatch.url, "LETTERBOXD_RETRY_SLEEP_S": "0",
        "LETTERBOXD_THROTTLE_SLEEP_S": "0", "LETTERBOXD_HTTP_TIMEOUT": "10", "SSE_HEARTBEAT_S": "0.5",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start `python main.py <args>` with stdout and stderr into log."""
    handle = open(log, "ab")
    try:
        return subprocess.Popen([sys.executable, "main.py", *args], cwd=ROOT, env=env, stdout=handle,
                                stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        handle.close()


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL one process we started, and reap it."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def wait_for(condition, limit_s: float, what: str, step_s: float = 0.05):
    """Poll condition() until it returns something truthy, or fail after limit_s."""
    deadline = time.monotonic() + limit_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(step_s)


class WebProcess:
    """`python main.py serve` on a port of its own."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = spawn(["serve", "--port", str(self.port)], env, log)

    def wait_ready(self) -> "WebProcess":
        def up() -> bool:
            assert self.proc.poll() is None, "the web process exited"
            try:
                health = requests.get(f"{self.url}/_health", timeout=2)
                return health.status_code == 200 and health.json()["model"]["state"] == "ready"
            except requests.ConnectionError:
                return False

        wait_for(up, BOOT_TIMEOUT_S, "the web process", 0.2)
        return self

    def stop(self) -> None:
        kill(self.proc)


# ----- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def var(live_app, shared_var, tmp_path_factory) -> Path:
    """A copy of the session's runtime folder (store and trained model) for this module's processes."""
    return copy_var(shared_var, tmp_path_factory.mktemp("workers-var"))


@pytest.fixture(scope="module")
def queue_redis(tmp_path_factory) -> Iterator[RedisServer]:
    """A Redis of this module's own, so queued jobs and shared state meet no other test."""
    server = RedisServer(tmp_path_factory.mktemp("queue-redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def rq_app(start_app, fakes, var, queue_redis):
    """A web instance that only enqueues: pipelines run in `python main.py worker` processes."""
    return start_app({"redis_url": queue_redis.url, "pipeline_backend": "rq", "var_dir": var,
                      "ratelimit_enabled": False, "letterboxd_base_url": fakes.letterboxd.url,
                      "letterboxd_http_timeout": 10.0})


@pytest.fixture()
def workers(fakes, var, queue_redis, tmp_path) -> Iterator[list]:
    """Start RQ worker processes; each is killed at the end of the test."""
    started: list[subprocess.Popen] = []

    def start(*args: str, **env_extra: str) -> subprocess.Popen:
        env = base_env(fakes, var, queue_redis.url, PIPELINE_BACKEND="rq", **env_extra)
        proc = spawn(["worker", *args], env, tmp_path / f"worker-{len(started)}.log")
        started.append(proc)
        return proc

    yield start
    for proc in started:
        kill(proc)


def first_event(base: str, channel: str, request_id: str, wanted, limit_s: float):
    """Read a channel only until an event matching wanted(data) arrives; return it, or None at the deadline."""
    deadline = time.monotonic() + limit_s
    with requests.get(f"{base}/api/{channel}-stream", params={"request_id": request_id},
                      headers={"Accept": "text/event-stream"}, stream=True, timeout=(5, 5)) as response:
        assert response.status_code == 200, response.text
        for event in iter_sse(response):
            if event is not None and wanted(event.data):
                return event
            if time.monotonic() > deadline or (event is not None and is_terminal(event)):
                return None
    return None


# ----- RQ workers ----------------------------------------------------------------------------------


@pytest.mark.timeout(120, func_only=True)
def test_a_worker_killed_mid_job_is_reported_failed_everywhere_and_the_member_can_retry(rq_app, fakes, workers):
    fakes.letterboxd.control.set(latency_s=SLOW_PAGE_S)
    worker = workers()
    request_id = start_run(rq_app.url, username="member001")
    scraping = first_event(rq_app.url, "status", request_id, lambda d: d.get("step") == "scraping",
                           BOOT_TIMEOUT_S)
    assert scraping is not None, "the worker picked the job up"
    kill(worker)
    killed_at = time.monotonic()

    status, body = fetch_result(rq_app.url, request_id, killed_at + KILL_FAILURE_LIMIT_S)
    assert status == 503 and body["error"] == "worker_lost", body
    assert time.monotonic() - killed_at < KILL_FAILURE_LIMIT_S
    outcome = follow(rq_app.url, request_id, time.monotonic(), limit_s=10)
    assert_ended_cleanly(outcome)
    assert outcome.status == 503 and outcome.body == body

    fakes.letterboxd.control.set(latency_s=0)
    workers()
    retry = recommend(rq_app.url, limit_s=BOOT_TIMEOUT_S, username="member001")
    assert_ended_cleanly(retry)
    assert retry.status == 200 and retry.body["recommendations"]
    again = requests.get(f"{rq_app.url}/api/result", params={"request_id": request_id}, timeout=10)
    assert again.status_code == 503, "the lost job stays failed and is not run twice"


@pytest.mark.timeout(120, func_only=True)
def test_two_web_instances_serve_one_rq_jobs_streams_and_result(rq_app, fakes, var, queue_redis, workers,
                                                               sample_export, tmp_path):
    other = WebProcess(base_env(fakes, var, queue_redis.url, PIPELINE_BACKEND="rq", RATELIMIT_ENABLED="false"),
                       tmp_path / "web-b.log").wait_ready()
    try:
        started = time.monotonic()
        r = requests.post(f"{rq_app.url}/api/recommend", files={"export": ("export.zip", sample_export)},
                          data={"include_streaming": "false", "count": "12"}, timeout=30)
        assert r.status_code == 202, r.text
        request_id = r.json()["request_id"]
        burst = workers("--burst")

        on_other = follow(other.url, request_id, started, limit_s=BOOT_TIMEOUT_S)
        assert_ended_cleanly(on_other)
        assert on_other.status == 200 and len(on_other.cards) == 12
        on_first = follow(rq_app.url, request_id, started, limit_s=BOOT_TIMEOUT_S)
        assert on_first.body == on_other.body
        for channel in on_first.streams:
            assert [e.id for e in on_first.streams[channel]] == [e.id for e in on_other.streams[channel]]
        assert burst.wait(timeout=30) == 0, "the burst worker ran the job and left"
    finally:
        other.stop()


@pytest.mark.timeout(120, func_only=True)
def test_group_and_compare_jobs_run_on_an_rq_worker_and_none_in_the_web_process(rq_app, workers, sample_export,
                                                                               tmp_path):
    started = time.monotonic()
    ran_before = rq_app.facade.jobs.ran
    group = requests.post(f"{rq_app.url}/api/group", files={"export_1": ("a.zip", sample_export)},
                          data={"members": ["member004", "member006"], "count": "6", "include_streaming": "false"},
                          timeout=30)
    compare = requests.post(f"{rq_app.url}/api/compare", files={"export_1": ("a.zip", sample_export)},
                            data={"members": "member005", "include_streaming": "false"}, timeout=30)
    assert group.status_code == 202 and compare.status_code == 202, (group.text, compare.text)
    burst = workers("--burst", LOG_LEVEL="INFO")

    for answer, kind in ((group, "group"), (compare, "compare")):
        outcome = follow(rq_app.url, answer.json()["request_id"], started, limit_s=BOOT_TIMEOUT_S)
        assert_ended_cleanly(outcome)
        assert outcome.status == 200 and outcome.body["kind"] == kind and outcome.cards, outcome.body
    assert burst.wait(timeout=30) == 0, "the burst worker ran both jobs and left"
    assert rq_app.facade.jobs.ran == ran_before, "the web process ran none of them"
    log = (tmp_path / "worker-0.log").read_text()
    for answer, kind in ((group, "group"), (compare, "compare")):
        assert f"{answer.json()['request_id']}: {kind}" in log
    # The worker logs each job's id and kind, never its arguments: no byte of an upload reaches the log.
    assert "UEsDB" not in log and "export_1" not in log


@pytest.mark.timeout(90, func_only=True)
def test_finished_rq_jobs_do_not_count_against_the_clients_running_jobs(start_app, fakes, var, queue_redis,
                                                                      workers):
    app = start_app({"redis_url": queue_redis.url, "pipeline_backend": "rq", "var_dir": var,
                     "ratelimit_enabled": True, "max_active_jobs_per_client": 1,
                     "letterboxd_base_url": fakes.letterboxd.url})
    workers()
    first = recommend(app.url, limit_s=BOOT_TIMEOUT_S, username="member002")
    assert first.status == 200
    second = requests.post(f"{app.url}/api/recommend", json={"username": "member003", "include_streaming": False},
                           timeout=15)
    assert second.status_code == 202, second.text


# ----- Redis stopped and started again ------------------------------------------------------------


@pytest.fixture()
def flaky_redis(tmp_path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "flaky-redis").start()
    yield server
    server.stop()


def no_server_error(response: requests.Response) -> requests.Response:
    assert response.status_code < 500 or response.status_code == 503 and "error" in response.json(), response.text
    assert "Traceback" not in response.text
    return response


def refused_for_now(response: requests.Response) -> None:
    """A request refused while Redis is away: 503 with a readable body and a Retry-After to wait."""
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "redis_unavailable" and response.json()["message"]
    assert int(response.headers["Retry-After"]) >= 1


def run_through_an_outage(base: str, fakes: FakeUpstreams, flaky_redis: RedisServer, username: str):
    """Start a slow run, stop Redis once it reads the member's films, and follow the run to its end."""
    fakes.letterboxd.control.set(latency_s=1.0)
    started = time.monotonic()
    request_id = start_run(base, username=username)
    assert first_event(base, "status", request_id, lambda d: d.get("step") == "scraping", 20)
    flaky_redis.stop()
    outcome = follow(base, request_id, started)
    fakes.letterboxd.control.set(latency_s=0)
    return request_id, outcome


@pytest.mark.timeout(120, func_only=True)
def test_the_app_refuses_new_jobs_while_redis_is_down_finishes_the_ones_in_flight_and_recovers(
        start_app, fakes, flaky_redis, sample_export):
    app = start_app({"redis_url": flaky_redis.url, "ratelimit_enabled": True,
                     "letterboxd_base_url": fakes.letterboxd.url})
    health = requests.get(f"{app.url}/_health", timeout=10).json()
    assert health["redis"] == {"configured": True, "reachable": True} and health["degraded"] is False

    request_id, outcome = run_through_an_outage(app.url, fakes, flaky_redis, "member010")
    assert_ended_cleanly(outcome)
    assert outcome.status == 200

    down = no_server_error(requests.get(f"{app.url}/_health", timeout=10)).json()
    assert down["redis"] == {"configured": True, "reachable": False} and down["degraded"] is True

    # No job is accepted that another process could not see; what needs no shared state still answers.
    refused_for_now(requests.post(f"{app.url}/api/recommend", json={"username": "member011"}, timeout=30))
    refused_for_now(requests.post(f"{app.url}/api/recommend", files={"export": ("e.zip", sample_export)},
                                  data={"sync": "true", "count": "5", "include_streaming": "false"}, timeout=60))
    no_server_error(requests.post(f"{app.url}/api/get_pages", json={"username": "member012"}, timeout=30))
    kept = requests.get(f"{app.url}/api/result", params={"request_id": request_id}, timeout=10)
    assert kept.status_code == 200 and kept.json() == outcome.body
    refused_for_now(requests.get(f"{app.url}/api/result", params={"request_id": "someone-elses-job-0"},
                                 timeout=10))

    flaky_redis.start()
    wait_for(lambda: requests.get(f"{app.url}/_health", timeout=10).json()["redis"]["reachable"], 15,
             "health to see Redis again", 0.2)
    client = redis.Redis(port=flaky_redis.port)
    assert json.loads(client.get(f"lbr:job:{request_id}"))["state"] == "done", "the held record was written"
    after = recommend(app.url, username="member013")
    assert_ended_cleanly(after)
    assert client.xlen(f"lbr:events:{after.request_id}:status") == len(after.streams["status"])
    assert client.exists(f"lbr:job:{after.request_id}")
    assert client.keys("*recommend*"), "rate-limit counters are back in Redis"


@pytest.mark.timeout(150, func_only=True)
def test_a_job_that_ended_while_redis_was_down_is_read_whole_from_another_process_once_redis_returns(
        start_app, fakes, flaky_redis, var, tmp_path):
    app = start_app({"redis_url": flaky_redis.url, "ratelimit_enabled": False,
                     "letterboxd_base_url": fakes.letterboxd.url})
    other = WebProcess(base_env(fakes, var, flaky_redis.url, RATELIMIT_ENABLED="false"),
                       tmp_path / "web-b.log").wait_ready()
    try:
        request_id, during = run_through_an_outage(app.url, fakes, flaky_redis, "member014")
        assert during.status == 200
        flaky_redis.start()
        wait_for(lambda: requests.get(f"{app.url}/_health", timeout=10).json()["redis"]["reachable"], 15, "redis")
        again = follow(other.url, request_id, time.monotonic(), limit_s=15)
        assert_ended_cleanly(again)
        assert again.body == during.body
        # Everything published during the outage arrives, under the ids the first reader saw.
        for channel, events in during.streams.items():
            outage_ids = [e.id for e in events][-len(again.streams[channel]):]
            assert [e.id for e in again.streams[channel]] == outage_ids
            assert [e.data for e in again.streams[channel]] == [e.data for e in events][-len(outage_ids):]
    finally:
        other.stop()


# ----- the collector -------------------------------------------------------------------------------


def expected_rows(world, names) -> tuple[int, int]:
    rated = sum(lg.rating is not None for name in names for lg in world.members[name].films)
    unrated = sum(lg.rating is None for name in names for lg in world.members[name].films)
    return rated, unrated


def counts(var: Path) -> dict:
    store = Store.open(var / "store.sqlite", ROOT / "data")
    try:
        return store.collected_counts()
    finally:
        store.close()


@pytest.mark.timeout(150, func_only=True)
def test_a_collector_killed_at_any_point_resumes_and_stores_each_rating_once(fakes, world, tmp_path, live_app,
                                                                             shared_var):
    var = copy_var(shared_var, tmp_path / "var")
    env = base_env(fakes, var, COLLECTOR_SALT=SALT)
    args = ["collect", "--members", str(COLLECT_MEMBERS), "--pages", "1"]
    before = counts(var)
    for kill_after in (2, 9, 25):
        fakes.letterboxd.control.reset()
        proc = spawn(args, env, tmp_path / "collect.log")
        try:
            wait_for(lambda: fakes.letterboxd.control.count() >= kill_after or proc.poll() is not None,
                     BOOT_TIMEOUT_S, "the collector to fetch pages", 0.005)
        finally:
            kill(proc)
    partial = counts(var)
    assert partial["complete_members"] < COLLECT_MEMBERS, "the kills landed mid-run"

    finish = subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert finish.returncode == 0, finish.stderr[-2000:]
    stats = json.loads(finish.stdout[finish.stdout.index("{"):])
    assert stats["members_skipped"] == partial["complete_members"] - before["complete_members"]
    final = counts(var)
    rated, unrated = expected_rows(world, world.popular[:COLLECT_MEMBERS])
    assert final["complete_members"] - before["complete_members"] == COLLECT_MEMBERS
    assert (final["ratings"] - before["ratings"], final["unrated"] - before["unrated"]) == (rated, unrated)

    rerun = subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=120)
    assert json.loads(rerun.stdout[rerun.stdout.index("{"):])["rows_stored"] == 0
    assert counts(var) == final


@pytest.mark.timeout(60, func_only=True)
def test_collect_without_a_page_count_runs(fakes, tmp_path, live_app, shared_var):
    var = copy_var(shared_var, tmp_path / "var")
    done = subprocess.run([sys.executable, "main.py", "collect", "--members", "2"], cwd=ROOT,
                          env=base_env(fakes, var, COLLECTOR_SALT=SALT), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-1500:]
    assert counts(var)["complete_members"] >= 2


# ----- training --------------------------------------------------------------------------------------


def small_corpus(folder: Path, films: int = TRAIN_FILMS) -> Path:
    """The embedded catalog with only the ratings of its most rated films, so training takes seconds."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "data" / "catalog.csv.gz", folder / "catalog.csv.gz")
    lines = gzip.decompress((ROOT / "data" / "ratings.csv.gz").read_bytes()).decode().splitlines()
    header, rows = lines[0], [line.split(",") for line in lines[1:]]
    kept = {film for film, _ in Counter(row[1] for row in rows).most_common(films)}
    text = "\n".join([header, *(",".join(row) for row in rows if row[1] in kept)]) + "\n"
    with gzip.GzipFile(folder / "ratings.csv.gz", "wb", mtime=0) as out:
        out.write(text.encode())
    return folder


@pytest.mark.timeout(150, func_only=True)
def test_training_killed_mid_write_leaves_the_previous_model_in_use(fakes, tmp_path, start_app, live_app,
                                                                   shared_var, sample_export):
    from infra.model_store import ModelStore

    var = copy_var(shared_var, tmp_path / "var")
    _, before = ModelStore(var / "models").current()
    # A smaller corpus makes training take seconds; what is under test is the write.
    env = base_env(fakes, var, DATA_DIR=str(small_corpus(tmp_path / "data")))
    proc = spawn(["train"], env, tmp_path / "train.log")
    try:
        wait_for(lambda: any((var / "models").glob(".model.*.tmp")) or proc.poll() is not None,
                 120, "training to start writing", 0.001)
    finally:
        kill(proc)
    assert proc.returncode == -signal.SIGKILL, "killed while writing, not after"

    model, version = ModelStore(var / "models").current()
    assert version == before and len(model.item_ids) > 1000
    app = start_app({"var_dir": var, "ratelimit_enabled": False})
    r = requests.post(f"{app.url}/api/recommend", files={"export": ("export.zip", sample_export)},
                      data={"sync": "true", "count": "5", "include_streaming": "false"}, timeout=60)
    assert r.status_code == 200 and r.json()["model_version"] == before
