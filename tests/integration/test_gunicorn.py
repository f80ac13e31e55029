"""Production shape: gunicorn workers and instances sharing jobs and streams through Redis."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.support.redis_server import free_port
from tests.support.sse import read_stream

ROOT = Path(__file__).resolve().parents[2]
BOOT_TIMEOUT_S = 90


class Gunicorn:
    def __init__(self, env: dict, workers: int, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        gunicorn = Path(sys.executable).parent / "gunicorn"
        self.proc = subprocess.Popen(
            [str(gunicorn), "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{self.port}", "-w", str(workers),
             "--access-logfile", str(log), "--access-logformat", '%(p)s "%(r)s" %(s)s', "main:create_app()"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("gunicorn exited")
            try:
                if requests.get(f"{self.url}/_health", timeout=10).status_code == 200:
                    return
            except requests.RequestException:
                pass  # still booting
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not become ready")

    def pids_for(self, fragment: str) -> list[str]:
        return [m.group(1) for m in re.finditer(r'^<?(\d+)>? "([^"]*)"', self.log.read_text(), re.M)
                if fragment in m.group(2)]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


@pytest.fixture()
def gunicorn_env(redis_url, shared_var, live_app):
    # live_app has built the store and model in shared_var; the servers below reuse them.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUNICORN")}
    env.update({
        "REDIS_URL": redis_url, "VAR_DIR": str(shared_var), "RATELIMIT_ENABLED": "false", "TMDB_KEY": "",
        "LETTERBOXD_BASE_URL": "http://127.0.0.1:9", "TMDB_BASE_URL": "http://127.0.0.1:9/3",
        "LOG_LEVEL": "WARNING", "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "16",
    })
    return env


def fresh_get(url: str, **params) -> requests.Response:
    return requests.get(url, params=params, headers={"Connection": "close"}, timeout=30)


def test_job_started_on_one_worker_is_streamed_and_fetched_by_others(gunicorn_env, sample_export, tmp_path):
    a = Gunicorn(gunicorn_env, workers=2, log=tmp_path / "a.log")
    b = Gunicorn(gunicorn_env, workers=1, log=tmp_path / "b.log")
    try:
        a.wait_ready()
        b.wait_ready()
        r = requests.post(f"{a.url}/api/recommend", files={"export": ("e.zip", sample_export)},
                          data={"include_streaming": "false"}, headers={"Connection": "close"}, timeout=30)
        assert r.status_code == 202
        request_id = r.json()["request_id"]

        # Another instance, with no memory shared with the first, streams and fetches the same job.
        events = read_stream(b.url, "recommendations", request_id)
        assert events[-1].data == {"status": "complete"} and len(events) > 20
        result = fresh_get(f"{b.url}/api/result", request_id=request_id)
        assert result.status_code == 200
        assert [x["film_id"] for x in result.json()["recommendations"]] == \
               [e.data["recommendation"]["film_id"] for e in events[:-1]]

        # Within instance a, fresh connections land on both workers; each serves the job.
        for _ in range(60):
            assert fresh_get(f"{a.url}/api/result", request_id=request_id).status_code == 200
            if len(set(a.pids_for("/api/result"))) == 2:
                break
        (post_pid,) = a.pids_for("POST /api/recommend")
        assert set(a.pids_for("/api/result")) - {post_pid}, "no request reached the other worker"
    finally:
        a.stop()
        b.stop()
