"""A member types their username; the app scrapes the fake Letterboxd and cards stream into the page."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import PROGRESS_RECORDER, wait_until_complete

pytestmark = pytest.mark.e2e

MEMBER = "cinephile"


def test_typing_a_username_streams_progress_and_cards(open_page, live_url, fake_upstreams):
    fake_upstreams.reset()
    page, watch = open_page()
    page.add_init_script(PROGRESS_RECORDER)
    page.goto(f"{live_url}/")

    page.fill("#username", MEMBER)
    page.select_option("#country", "GB")
    page.click("#submit")
    page.wait_for_url(f"**/{MEMBER}?request_id=*")
    wait_until_complete(page)

    seen = page.evaluate("window.__progressSeen")
    assert any("Letterboxd" in text or "page" in text.lower() for text in seen), seen
    assert page.evaluate("window.__cardsBeforeComplete") >= 1
    assert page.locator("#cards article").count() >= 1
    assert page.inner_text("#results-title") == MEMBER
    assert page.locator("#cards .film-links a").count() >= 1
    assert page.locator("img[src='x']").count() == 0
    watch.assert_clean()


def test_a_results_link_with_only_a_username_starts_its_own_run(open_page, live_url, fake_upstreams):
    fake_upstreams.reset()
    page, watch = open_page()

    page.goto(f"{live_url}/{MEMBER}?country=GB&streaming=0")
    page.wait_for_url("**request_id=*")
    wait_until_complete(page)

    assert page.locator("#cards article").count() >= 1
    assert page.locator("#cards .streaming").count() == 0
    watch.assert_clean()


def test_an_unknown_member_gets_a_friendly_message(open_page, live_url, fake_upstreams):
    fake_upstreams.reset()
    page, watch = open_page()
    page.goto(f"{live_url}/")

    page.fill("#username", "no_such_member_here")
    page.click("#submit")
    alert = page.locator("#page-alert:not([hidden]), #form-alert:not([hidden])")
    alert.wait_for()

    assert "couldn" in alert.inner_text().lower() or "no such" in alert.inner_text().lower()
    watch.assert_clean()


def test_blocked_letterboxd_serves_the_saved_profile_with_a_hint(open_page, always_refresh_url, fake_upstreams):
    fake_upstreams.reset()
    first, _ = open_page()
    first.goto(f"{always_refresh_url}/{MEMBER}?country=GB&streaming=0")
    wait_until_complete(first)

    fake_upstreams.letterboxd.control.set(block="all")
    try:
        page, watch = open_page()
        page.goto(f"{always_refresh_url}/{MEMBER}?country=GB&streaming=0")
        wait_until_complete(page)
        notice = page.locator("#notices .alert-warning")
        assert notice.is_visible()
        assert "export" in notice.inner_text().lower()
        assert page.locator("#cards article").count() >= 1
        watch.assert_clean()
    finally:
        fake_upstreams.reset()
