"""Mood picks, list ranking, taste match, group night and year in review, clicked through in Chromium."""
from __future__ import annotations

import pytest

from pathlib import Path

from tests.e2e.conftest import README_SCREENSHOTS, RUN_TIMEOUT_MS, wait_until_complete

pytestmark = pytest.mark.e2e

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample_export.zip"


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


def twin_export(tmp_path, name: str, drop: int = 0):
    from tests.integration.test_together import export_with_name

    path = tmp_path / f"{name}.zip"
    path.write_bytes(export_with_name(SAMPLE.read_bytes(), name, drop))
    return str(path)


def test_compare_with_a_friend_is_reached_from_the_results_page(open_page, app_url, finished_export_run, tmp_path):
    page, watch = open_page()
    page.goto(f"{app_url}/results?request_id={finished_export_run}")
    wait_until_complete(page)
    page.click("#compare-link")
    page.wait_for_url("**/together**")
    page.set_input_files("#compare-member-1-file", str(SAMPLE))
    page.set_input_files("#compare-member-2-file", twin_export(tmp_path, "twin"))
    page.click("#compare-submit")
    page.wait_for_selector("body.compare-complete", timeout=RUN_TIMEOUT_MS)
    assert page.inner_text("#compare-percent") == "100%"
    assert "samplecinephile and twin" in page.inner_text("#compare-result")
    assert page.locator("#compare-cards .meters meter").count() == 10  # five films, a meter each
    page.screenshot(path=str(README_SCREENSHOTS / "compare.png"), full_page=True)
    watch.assert_clean()


def group_night(open_page, app_url: str, exports: list, from_watchlists: bool = False):
    """(page, watch, cards) of a group night run on /together for members given by these export files."""
    page, watch = open_page()
    page.goto(f"{app_url}/together#group")
    for slot, export in enumerate(exports, start=1):
        if slot > 2:
            page.click("#group-add")
        page.set_input_files(f"#group-member-{slot}-file", str(export))
    if from_watchlists:
        page.check("#group-from-watchlists")
    page.click("#group-submit")
    page.wait_for_selector("body.group-complete", timeout=RUN_TIMEOUT_MS)
    return page, watch, page.locator("#group-cards > li.card-item")


def test_group_night_adds_members_one_by_one_and_shows_a_meter_each(open_page, app_url, tmp_path):
    page, watch, cards = group_night(open_page, app_url, [SAMPLE, twin_export(tmp_path, "bo", 30),
                                                          twin_export(tmp_path, "cy", 10)])
    assert cards.count() == 20
    assert cards.first.locator("meter").count() == 3
    assert "cy" in cards.first.inner_text() and "average" in page.inner_text("#group-method")
    progress = page.inner_text("#group-progress")
    assert "cy: matched" in progress and "bo: matched" in progress
    page.screenshot(path=str(README_SCREENSHOTS / "group-night.png"), full_page=True)
    watch.assert_clean()


def test_watchlist_night_ranks_the_films_on_the_members_watchlists_and_says_whose(open_page, app_url, tmp_path):
    page, watch, cards = group_night(open_page, app_url, [SAMPLE, twin_export(tmp_path, "bo")],
                                     from_watchlists=True)
    assert cards.count() >= 3
    assert cards.first.locator(".on-watchlists").inner_text() == "On the watchlists of samplecinephile and bo"
    assert cards.first.locator("meter").count() == 2
    notes = page.locator("#group-notes")
    assert notes.is_visible() and "films on your watchlists" in notes.inner_text()
    assert "watchlists" in page.inner_text("#group-method")
    page.screenshot(path=str(README_SCREENSHOTS / "watchlist-night.png"), full_page=True)
    watch.assert_clean()


def test_a_watchlist_night_with_empty_watchlists_says_there_is_nothing_to_rank(open_page, app_url, tmp_path):
    from tests.integration.test_watchlist_night import export_with

    exports = []
    for name in ("ann", "bo"):
        path = tmp_path / f"{name}.zip"
        path.write_bytes(export_with(SAMPLE.read_bytes(), name, []))
        exports.append(str(path))
    page, watch = open_page()
    page.goto(f"{app_url}/together#group")
    page.set_input_files("#group-member-1-file", exports[0])
    page.set_input_files("#group-member-2-file", exports[1])
    page.check("#group-from-watchlists")
    page.click("#group-submit")
    alert = page.locator("#group-alert:not([hidden])")
    alert.wait_for(timeout=RUN_TIMEOUT_MS)
    assert alert.locator(".alert-title").inner_text() == "Nothing to rank"
    assert "Nothing is on any of your watchlists" in alert.inner_text()
    assert page.locator("#group-cards > li.card-item").count() == 0
    watch.assert_clean()


def test_year_in_review_draws_its_charts_and_offers_the_image(open_page, app_url):
    page, watch = open_page()
    page.goto(f"{app_url}/together#year")
    page.set_input_files("#year-member-1-file", str(SAMPLE))
    page.fill("#year-input", "2024")
    page.click("#year-submit")
    page.wait_for_selector("body.year-complete", timeout=RUN_TIMEOUT_MS)
    assert page.inner_text("#year-heading") == "samplecinephile's 2024 in film"
    assert page.locator("#year-result svg.chart-months rect.chart-bar, #year-result svg.chart-months rect").count() >= 12
    assert "films logged" in page.inner_text("#year-stats")
    with page.expect_download() as download:
        page.click("#year-image")
    path = download.value.path()
    assert download.value.suggested_filename == "year-in-review-2024.svg"
    assert "2024 in film" in Path(path).read_text()
    page.screenshot(path=str(README_SCREENSHOTS / "year-in-review.png"), full_page=True)
    watch.assert_clean()


@pytest.mark.parametrize("form", ["group", "compare"])
def test_a_member_that_is_not_a_username_is_named_and_nothing_is_sent(open_page, app_url, form):
    page, watch = open_page()
    sent = []
    page.on("request", lambda request: sent.append(request.url) if f"/api/{form}" in request.url else None)
    page.goto(f"{app_url}/together")
    page.fill(f"#{form}-member-1-name", "cinephile")
    page.fill(f"#{form}-member-2-name", "no spaces allowed")
    page.click(f"#{form}-submit")
    alert = page.locator(f"#{form}-alert:not([hidden])")
    alert.wait_for()
    assert alert.locator(".alert-title").inner_text() == "Please check the members"
    assert "Member 2" in alert.inner_text() and "no spaces allowed" in alert.inner_text()
    assert sent == []
    watch.assert_clean()
