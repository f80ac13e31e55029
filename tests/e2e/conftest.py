"""Browser fixtures: Debian's Chromium driven by Playwright against the app on a real HTTP server."""
from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
# The pictures README shows: written to the test output folder, or where README_SCREENSHOTS says
# (`make screenshots` points it at docs/screenshots, to refresh them on purpose).
README_SCREENSHOTS = Path(os.environ.get("README_SCREENSHOTS") or ROOT / "test-output" / "readme-screenshots")
README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
ACTION_TIMEOUT_MS = 15_000
RUN_TIMEOUT_MS = 60_000


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """One headless Chromium for the whole session."""
    if not CHROMIUM.exists() and not shutil.which("chromium"):
        pytest.skip("Debian's chromium is not installed (make chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")),
            headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class PageWatch:
    """What went wrong inside the page: script errors, policy violations, dialogs."""

    errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.errors == [], self.errors
        assert self.csp_violations == [], self.csp_violations
        assert self.dialogs == [], self.dialogs


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:120]


def wait_for_ready_on_load(page) -> None:
    """goto and reload return once the page's script has wired its controls, as a member's first click expects.

    The load event can come first: the pages' modules wait for /api/meta, and a busy machine answers it late.
    `ready=False` returns at the load event, for a test of the page before then.
    """
    for name in ("goto", "reload"):
        navigate = getattr(page, name)

        def navigate_then_wait(*args, _navigate=navigate, ready: bool = True, **kwargs):
            response = _navigate(*args, **kwargs)
            if ready:
                page.wait_for_selector("html[data-ready]", state="attached")
            return response

        setattr(page, name, navigate_then_wait)


@pytest.fixture
def open_page(browser, request) -> Iterator:
    """Open pages in fresh browser contexts; each test's last page is saved as a screenshot."""
    opened: list = []

    def open_(viewport: dict | None = None, color_scheme: str = "light", locale: str = "en-GB"):
        context = browser.new_context(viewport=viewport or DESKTOP, color_scheme=color_scheme, locale=locale,
                                      accept_downloads=True, reduced_motion="reduce")
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        page = context.new_page()
        watch = PageWatch()
        page.on("pageerror", lambda exc: watch.errors.append(str(exc)))
        page.on("console", lambda msg: watch.csp_violations.append(msg.text)
                if "Content Security Policy" in msg.text else None)

        def on_dialog(dialog) -> None:
            watch.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        wait_for_ready_on_load(page)
        opened.append((context, page))
        return page, watch

    yield open_
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for index, (context, page) in enumerate(opened):
        suffix = f"-{index}" if index else ""
        try:
            page.screenshot(path=str(SCREENSHOTS / f"{_safe_name(request.node.name)}{suffix}.png"), full_page=True)
        finally:
            context.close()


@pytest.fixture(scope="session")
def app_url(live_app) -> str:
    return live_app.url


@pytest.fixture(scope="session")
def finished_export_run(app_url, sample_export) -> str:
    """A request id whose run on the sample export has finished (so pages load it at once)."""
    response = requests.post(
        f"{app_url}/api/recommend", files={"export": ("letterboxd-export.zip", sample_export)},
        data={"country": "GB", "include_streaming": "false", "count": "20", "sync": "true"}, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()["request_id"]


def wait_until_complete(page) -> None:
    page.wait_for_selector("body.is-complete", timeout=RUN_TIMEOUT_MS)


@pytest.fixture(scope="session")
def live_url(start_app, fake_upstreams, online_var) -> str:
    """The app pointed at the fake upstreams (live scraping, TMDB and streaming)."""
    return start_app({"ratelimit_enabled": False, "var_dir": online_var, **fake_upstreams.settings_overrides()}).url


@pytest.fixture(scope="session")
def always_refresh_url(start_app, fake_upstreams, online_var) -> str:
    """The app on the fakes with no fresh-profile cache, so every run scrapes (or falls back)."""
    return start_app({"ratelimit_enabled": False, "profile_fresh_ttl_s": 0.0, "var_dir": online_var,
                      **fake_upstreams.settings_overrides()}).url


# Installed before the page's own scripts: records what the progress line said and how many
# cards were on screen before the run completed, so a test can tell that cards streamed in.
PROGRESS_RECORDER = """
window.__progressSeen = [];
window.__cardsBeforeComplete = 0;
document.addEventListener("DOMContentLoaded", () => {
  const message = document.getElementById("progress-message");
  const cards = document.getElementById("cards");
  if (!message || !cards) return;
  new MutationObserver(() => window.__progressSeen.push(message.textContent))
    .observe(message, { childList: true, characterData: true, subtree: true });
  new MutationObserver(() => {
    if (!document.body.classList.contains("is-complete")) {
      window.__cardsBeforeComplete = Math.max(window.__cardsBeforeComplete, cards.querySelectorAll("article").length);
    }
  }).observe(cards, { childList: true });
});
"""
