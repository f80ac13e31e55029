"""A full server: the page waits out the 503's Retry-After, tells the member, and gets in on its own."""
from __future__ import annotations

import time

import pytest
import requests

from tests.e2e.conftest import wait_until_complete

pytestmark = pytest.mark.e2e

MEMBER = "cinephile"
SLOW_PAGE_S = 3.0


@pytest.fixture(scope="module")
def full_app_url(start_app, fake_upstreams, online_var) -> str:
    """The app with one pipeline thread and room for one waiting job, so two runs fill it."""
    return start_app({"ratelimit_enabled": False, "var_dir": online_var, "pipeline_pool_size": 1,
                      "max_queued_jobs": 1, "busy_retry_after_s": 1,
                      **fake_upstreams.settings_overrides()}).url


def post_run(url: str) -> requests.Response:
    return requests.post(f"{url}/api/recommend", json={"username": MEMBER, "include_streaming": False}, timeout=30)


def wait_running(url: str, request_id: str, limit_s: float = 30) -> None:
    deadline = time.monotonic() + limit_s
    while requests.get(f"{url}/api/result", params={"request_id": request_id}, timeout=10).json().get(
            "status") != "running":
        assert time.monotonic() < deadline, "the first run did not start"
        time.sleep(0.05)


def test_a_member_refused_by_a_full_server_waits_is_told_and_gets_in(open_page, full_app_url, fake_upstreams):
    fake_upstreams.reset()
    fake_upstreams.letterboxd.control.set(latency_s=SLOW_PAGE_S)
    try:
        running = post_run(full_app_url)
        assert running.status_code == 202
        wait_running(full_app_url, running.json()["request_id"])
        assert post_run(full_app_url).status_code == 202  # waits for the pipeline thread
        refused = post_run(full_app_url)
        assert refused.status_code == 503 and refused.json()["error"] == "busy"
        assert int(refused.headers["Retry-After"]) >= 1

        page, watch = open_page()
        posts: list[int] = []
        page.on("response", lambda r: posts.append(r.status) if r.url.endswith("/api/recommend") else None)
        page.goto(f"{full_app_url}/")
        page.fill("#username", MEMBER)
        page.click("#submit")
        page.locator("#form-alert", has_text="Busy, trying again in").wait_for()
        # Room is made once the two runs finish; the page gets in on one of its own retries.
        fake_upstreams.letterboxd.control.set(latency_s=0)
        page.wait_for_url(f"**/{MEMBER}?request_id=*", timeout=180_000)
        assert posts[0] == 503 and posts[-1] == 202
        wait_until_complete(page)
        assert page.locator("#cards article").count() >= 1
        watch.assert_clean()
    finally:
        fake_upstreams.letterboxd.control.set(latency_s=0)
