"""A burst as deployed: members arriving in the same second against gunicorn, an RQ worker and Redis.

Scaled to CI: 100 members post the sample export at once to two gunicorn workers with one RQ
worker behind them. The queue is kept short on purpose, so part of the crowd is refused with
503 and Retry-After and comes back after it, as the page does.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest
import requests

from tests.support.gunicorn import Gunicorn
from tests.support.redis_server import RedisServer
from tests.support.runs import follow
from tests.support.var import copy_var

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = 100
QUEUE_LIMIT = 40
BURST_LIMIT_S = 150


@dataclass
class Member:
    """What one member of the crowd saw."""

    posts: list[int] = field(default_factory=list)
    refusals_without_retry_after: int = 0
    request_id: str | None = None
    problem: str = ""
    result_status: int | None = None
    terminals: dict = field(default_factory=dict)


@pytest.fixture(scope="module")
def deployment(live_app, shared_var, tmp_path_factory) -> Iterator[str]:
    """Two gunicorn workers in the RQ mode of the Procfile, one RQ worker, and a Redis of their own."""
    tmp = tmp_path_factory.mktemp("burst")
    var = copy_var(shared_var, tmp / "var")
    redis_server = RedisServer(tmp / "redis").start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN", "REDIS", "TMDB", "LETTERBOXD"))}
    env.update({
        "REDIS_URL": redis_server.url, "VAR_DIR": str(var), "RATELIMIT_ENABLED": "false", "TMDB_KEY": "",
        "LETTERBOXD_BASE_URL": "http://127.0.0.1:9", "TMDB_BASE_URL": "http://127.0.0.1:9/3",
        "JUSTWATCH_BASE_URL": "http://127.0.0.1:9", "LOG_LEVEL": "WARNING", "PIPELINE_BACKEND": "rq",
        "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "400", "MAX_QUEUED_JOBS": str(QUEUE_LIMIT),
        "BUSY_RETRY_AFTER_S": "1", "SSE_HEARTBEAT_S": "1",
    })
    web = Gunicorn(env, workers=2, log=tmp / "access.log")
    worker_log = open(tmp / "worker.log", "ab")
    worker = subprocess.Popen([sys.executable, "main.py", "worker"], cwd=ROOT, env=env, stdout=worker_log,
                              stderr=subprocess.STDOUT)
    try:
        web.wait_ready()
        yield web.url
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        worker_log.close()
        web.stop()
        redis_server.stop()


def run_member(url: str, export: bytes, gate: threading.Barrier, started: float) -> Member:
    """Post at the gate's signal, wait out any 503 as its Retry-After says, then follow the run to its end,
    opening a stalled stream again from its last event as the page does."""
    seen = Member()
    gate.wait()
    try:
        while True:
            r = requests.post(f"{url}/api/recommend", files={"export": ("export.zip", export)},
                              data={"include_streaming": "false", "count": "5"}, timeout=60)
            seen.posts.append(r.status_code)
            if r.status_code != 503:
                break
            body = r.json()
            assert set(body) >= {"error", "message"} and body["error"] == "busy", body
            if "Retry-After" not in r.headers:
                seen.refusals_without_retry_after += 1
                break
            time.sleep(int(r.headers["Retry-After"]))
        if r.status_code != 202:
            seen.problem = f"recommend answered {r.status_code}: {r.text[:200]}"
            return seen
        seen.request_id = r.json()["request_id"]
        outcome = follow(url, seen.request_id, started, limit_s=BURST_LIMIT_S, reconnect=True)
        seen.result_status = outcome.status
        seen.terminals = outcome.terminals
    except Exception as exc:  # noqa: BLE001 - a stream answering 404 or 5xx is reported with the others
        seen.problem = f"{type(exc).__name__}: {exc}"
    return seen


@pytest.mark.timeout(BURST_LIMIT_S + 60, func_only=True)
def test_a_burst_of_members_is_served_or_told_to_retry_and_every_accepted_run_ends(deployment, sample_export):
    gate = threading.Barrier(MEMBERS)
    started = time.monotonic()
    with ThreadPoolExecutor(MEMBERS) as pool:
        crowd = list(pool.map(lambda _: run_member(deployment, sample_export, gate, started), range(MEMBERS)))

    problems = [m.problem for m in crowd if m.problem]
    assert problems == [], problems[:5]
    posts = [status for m in crowd for status in m.posts]
    assert not [s for s in posts if s >= 500 and s != 503], "no 5xx other than the refusals"
    assert sum(m.refusals_without_retry_after for m in crowd) == 0
    assert posts.count(503) > 0, "the short queue refused part of the crowd up front"
    assert all(m.request_id for m in crowd), "every member got in, after waiting if told to"
    assert len({m.request_id for m in crowd}) == MEMBERS
    assert [m.result_status for m in crowd] == [200] * MEMBERS
    complete = {"logs": {"status": "complete"}, "recommendations": {"status": "complete"},
                "status": {"status": "complete"}}
    assert [m.terminals for m in crowd] == [complete] * MEMBERS
