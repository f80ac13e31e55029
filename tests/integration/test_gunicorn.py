"""Production shape: gunicorn workers and instances sharing jobs and streams through Redis."""
from __future__ import annotations

import os

import pytest
import requests

from tests.support.gunicorn import Gunicorn
from tests.support.sse import read_stream


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
