"""Mood picks, list ranking, taste match, group night and year in review, clicked through in Chromium."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import README_SCREENSHOTS, wait_until_complete

pytestmark = pytest.mark.e2e


def test_a_newcomer_gets_mood_picks_without_a_username(open_page, app_url):
    page, watch = open_page()
    page.goto(f"{app_url}/")
    page.click("#newcomer summary")
    page.click("label[for=mood-cozy]")
    assert "no account" in page.inner_text("#submit-label")
    page.click("#submit")
    page.wait_for_url("**/results?**")
    wait_until_complete(page)
    assert page.text_content("#results-eyebrow") == "Mood picks"
    assert "cozy" in page.inner_text("#results-title")
    cards = page.locator("#cards > li.card-item:not(.card-skeleton)")
    assert cards.count() >= 10
    assert "cozy pick" in cards.first.inner_text()
    README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(README_SCREENSHOTS / "mood-no-account.png"))
    watch.assert_clean()
