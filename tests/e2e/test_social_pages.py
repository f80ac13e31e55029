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


def test_a_pasted_line_up_is_ranked_with_the_unmatched_title_named(open_page, app_url, live_app):
    catalog = live_app.facade.catalog()
    known = sorted((f for f in catalog.films if f.year and f.corpus_count >= 20), key=lambda f: -f.corpus_count)[:5]
    titles = {f.title for f in known}
    assert len(titles) == 5
    page, watch = open_page()
    page.goto(f"{app_url}/")
    page.click("#sample-use")
    page.wait_for_selector("#file-chosen:not([hidden])")
    page.click("#list-panel summary")
    page.fill("#from-list", "\n".join(f"{f.title} ({f.year})" for f in known) + "\nZzqx Not A Film (1902)")
    page.click("#submit")
    page.wait_for_url("**/results?**")
    wait_until_complete(page)
    summary = page.inner_text("#list-summary")
    assert "5 of 6 titles matched, 5 ranked" in summary
    page.click("#list-summary summary")
    assert "Zzqx Not A Film (1902)" in page.inner_text("#list-summary")
    shown = page.locator("#cards > li.card-item:not(.card-skeleton) h3").all_inner_texts()
    assert len(shown) == 5 and all(any(t in s for t in titles) for s in shown)
    page.screenshot(path=str(README_SCREENSHOTS / "ranked-list.png"))
    watch.assert_clean()
