"""The landing and results pages in headless Chromium, used as a member would use them."""
from __future__ import annotations

import csv
import io
import threading
import zipfile
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.conftest import README_SCREENSHOTS, RUN_TIMEOUT_MS, wait_until_complete

pytestmark = pytest.mark.e2e

SAMPLE_EXPORT = Path(__file__).resolve().parents[1] / "data" / "sample_export.zip"
XSS_TITLE = "<img src=x onerror=alert(1)>"
MIN_CARDS = 20


def cards(page):
    return page.locator("#cards > li.card-item:not(.card-skeleton)")


def export_with_extra_rating(title: str, year: int) -> bytes:
    """The sample export with one more rated film appended to ratings.csv and watched.csv."""
    source = zipfile.ZipFile(SAMPLE_EXPORT)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename in {"ratings.csv", "watched.csv"}:
                text = data.decode("utf-8-sig").rstrip("\r\n")
                row = io.StringIO()
                extra = ["2024-02-02", title, str(year), "https://boxd.it/zzzz"]
                if info.filename == "ratings.csv":
                    extra.append("4")
                csv.writer(row, lineterminator="").writerow(extra)
                data = f"{text}\n{row.getvalue()}\n".encode("utf-8")
            target.writestr(info, data)
    return out.getvalue()


def test_landing_page_offers_username_and_export_with_local_country(open_page, app_url):
    page, watch = open_page(locale="en-GB")
    page.goto(f"{app_url}/")

    assert page.locator("h1").inner_text()
    assert page.input_value("#country") == "GB"
    assert page.locator("label[for=username]").is_visible()
    assert page.locator("#dropzone").is_visible()
    assert page.is_checked("#include-streaming")
    page.click("#newcomer summary")
    assert page.locator("#mood-grid input[type=radio]").count() == 8
    README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.click("#newcomer summary")
    page.screenshot(path=str(README_SCREENSHOTS / "landing.png"), full_page=True)
    watch.assert_clean()


def test_the_pages_lists_are_the_servers_lists(open_page, app_url):
    page, watch = open_page(locale="uk-UA")
    page.goto(f"{app_url}/")
    meta = requests.get(f"{app_url}/api/meta", timeout=10).json()

    countries = page.eval_on_selector_all("#country option", "options => options.map(o => [o.value, o.textContent])")
    assert countries == meta["countries"]
    assert page.input_value("#country") == "UA", "a Ukrainian browser starts on a country the server accepts"
    page.click("#newcomer summary")
    moods = page.eval_on_selector_all("#mood-grid input[type=radio]", "inputs => inputs.map(i => i.value)")
    assert moods == [""] + [key for key, _, _ in meta["moods"]]
    genres = page.eval_on_selector_all("#category option", "options => options.map(o => o.value)")
    assert [g for g in genres if g] == meta["genres"]
    watch.assert_clean()


def test_the_form_waits_for_the_servers_lists_and_then_takes_the_first_click(open_page, app_url, live_app):
    """The page's script waits for /api/meta: until then a click would be lost, so the form takes none."""
    arrived = threading.Event()
    serve = live_app.app.wsgi_app

    def late_meta(environ, start_response):
        if environ.get("PATH_INFO") == "/api/meta":
            arrived.wait(10)
        return serve(environ, start_response)

    live_app.app.wsgi_app = late_meta
    try:
        page, watch = open_page()
        page.goto(f"{app_url}/", wait_until="load", ready=False)
        assert page.get_attribute("html", "data-ready") is None
        assert page.eval_on_selector("#recommend-form", "f => getComputedStyle(f).pointerEvents") == "none"
        arrived.set()
        page.wait_for_selector("html[data-ready]", state="attached")
        assert page.eval_on_selector("#recommend-form", "f => getComputedStyle(f).pointerEvents") == "auto"
        page.click("#sample-use")
        page.wait_for_selector("#file-chosen:not([hidden])")
        watch.assert_clean()
    finally:
        arrived.set()
        live_app.app.wsgi_app = serve


def test_invalid_username_is_explained_before_anything_is_sent(open_page, app_url):
    page, watch = open_page()
    page.goto(f"{app_url}/")
    requests_sent: list[str] = []
    page.on("request", lambda req: requests_sent.append(req.url)
            if "/api/" in req.url and "/api/meta" not in req.url else None)

    page.fill("#username", "not a name!")
    page.click("#submit")

    assert page.locator("#username-error").is_visible()
    assert "letters, digits" in page.inner_text("#username-error")
    assert page.get_attribute("#username", "aria-invalid") == "true"
    assert requests_sent == []
    watch.assert_clean()


def test_uploading_the_sample_export_shows_progress_then_cards_and_charts(open_page, app_url):
    page, watch = open_page()
    page.goto(f"{app_url}/")

    page.set_input_files("#export-file", str(SAMPLE_EXPORT))
    assert "sample_export.zip" in page.inner_text("#file-chosen")
    page.uncheck("#include-streaming")
    page.click("#submit")
    page.wait_for_url("**/results?request_id=*", timeout=RUN_TIMEOUT_MS)
    assert page.locator("progress#progress").is_visible()
    wait_until_complete(page)

    assert cards(page).count() >= MIN_CARDS
    assert page.evaluate("document.getElementById('progress').value") == 1
    assert page.locator("#log-lines li").count() > 0
    assert page.locator("#steps .step.is-done").count() >= 4
    charts = page.locator("#analytics svg.chart")
    assert charts.count() >= 4
    for index in range(charts.count()):
        assert charts.nth(index).locator(":scope > title").text_content()
    assert page.locator("#analytics .chart-bar").count() > 0
    first = cards(page).first
    assert first.locator("h3.film-title").inner_text()
    assert first.locator(".film-why li").count() >= 1
    assert first.locator(".poster img").count() == 1
    README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(README_SCREENSHOTS / "results.png"),
                    clip={"x": 0, "y": 0, "width": 1280, "height": 1500}, full_page=True)
    watch.assert_clean()


def test_filters_and_sorting_apply_in_place(open_page, app_url, finished_export_run):
    page, watch = open_page()
    page.goto(f"{app_url}/results?request_id={finished_export_run}")
    wait_until_complete(page)
    total = cards(page).count()
    assert total >= MIN_CARDS

    page.click("#genre-dropdown summary")
    first_genre = page.locator("#genre-options input[type=checkbox]").first
    genre = first_genre.get_attribute("value")
    first_genre.check()
    page.keyboard.press("Escape")
    shown = cards(page).count()
    assert 0 < shown <= total
    for index in range(shown):
        assert genre in cards(page).nth(index).locator(".genres li").all_inner_texts()
    assert f"of {total}" in page.inner_text("#results-count")

    page.select_option("#sort", "year-asc")
    years = [int(text) for text in page.locator("#cards .film-year").all_inner_texts()]
    assert years == sorted(years)

    page.click("#filters-reset")
    expect(cards(page)).to_have_count(total)
    assert page.input_value("#sort") == "match"
    watch.assert_clean()


def test_more_like_this_on_a_shared_list_regroups_the_picks_on_the_page(open_page, app_url, finished_export_run):
    kept = requests.post(f"{app_url}/api/share", json={"request_id": finished_export_run}, timeout=10)
    assert kept.ok, kept.text
    page, watch = open_page()
    page.goto(f"{app_url}/results?share={kept.json()['share_id']}")
    wait_until_complete(page)
    before = page.locator("#cards h3.film-title").all_inner_texts()
    anchor_title = before[0]

    cards(page).first.locator("button.more-like").click()

    expect(page.locator("#like-banner")).to_be_visible()
    assert page.evaluate("document.activeElement.id") == "like-banner"
    banner = page.inner_text("#like-banner")
    titles = page.locator("#cards h3.film-title").all_inner_texts()
    assert titles[0] == anchor_title and set(titles) <= set(before)
    if len(titles) > 1:
        assert banner.startswith(f"Films like {anchor_title}: the picks that share its director")
    else:
        assert banner.startswith("None of your other picks share its director")
    page.click("#like-banner button")
    assert page.locator("#like-banner").is_hidden()
    assert page.locator("#cards h3.film-title").all_inner_texts() == before
    assert page.evaluate("document.activeElement.classList.contains('more-like')")
    watch.assert_clean()


def test_more_like_this_brings_new_films_from_the_model(open_page, app_url, finished_export_run):
    page, watch = open_page()
    page.goto(f"{app_url}/results?request_id={finished_export_run}")
    wait_until_complete(page)
    before = set(page.locator("#cards h3.film-title").all_inner_texts())
    anchor = cards(page).first
    anchor_title = anchor.locator("h3.film-title").inner_text()

    anchor.locator("button.more-like").click()

    expect(page.locator("#like-banner")).to_be_visible()
    assert page.evaluate("document.activeElement.id") == "like-banner"
    assert f"New films like {anchor_title}" in page.inner_text("#like-banner")
    titles = page.locator("#cards h3.film-title").all_inner_texts()
    assert titles[0] == anchor_title and len(titles) > 1
    assert not set(titles[1:]) & before, "every film it brings is new to the page"
    assert cards(page).nth(1).locator(".film-why li").first.inner_text() == f"Like {anchor_title}"
    page.click("#like-banner button")
    assert page.locator("#like-banner").is_hidden()
    assert set(page.locator("#cards h3.film-title").all_inner_texts()) == before
    watch.assert_clean()


def test_csv_export_is_a_letterboxd_list_import_of_the_shown_picks(open_page, app_url, finished_export_run):
    page, watch = open_page()
    page.goto(f"{app_url}/results?request_id={finished_export_run}")
    wait_until_complete(page)
    titles = page.locator("#cards h3.film-title").all_inner_texts()

    with page.expect_download() as download:
        page.click("#export-csv")
    text = Path(download.value.path()).read_text(encoding="utf-8")

    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0].keys()) == ["Title", "Year", "tmdbID", "imdbID", "LetterboxdURI"]
    assert [row["Title"] for row in rows] == titles
    assert all(row["Year"].isdigit() or row["Year"] == "" for row in rows)
    assert download.value.suggested_filename.endswith(".csv")
    watch.assert_clean()


def test_theme_toggle_switches_and_is_remembered(open_page, app_url):
    page, watch = open_page(color_scheme="light")
    page.goto(f"{app_url}/")
    wired = "#theme-toggle[title]"  # the page's module sets the title once it has wired the button
    page.wait_for_selector(wired)
    light_background = page.evaluate("getComputedStyle(document.body).backgroundColor")

    page.click("#theme-toggle")

    assert page.get_attribute("html", "data-theme") == "dark"
    assert page.get_attribute("#theme-toggle", "aria-pressed") == "true"
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != light_background
    page.reload()
    assert page.get_attribute("html", "data-theme") == "dark"
    page.wait_for_selector(wired)
    page.click("#theme-toggle")
    assert page.get_attribute("html", "data-theme") == "light"
    watch.assert_clean()


def test_a_film_titled_with_markup_renders_as_text(open_page, app_url):
    page, watch = open_page()
    page.goto(f"{app_url}/")

    page.set_input_files("#export-file", files=[{
        "name": "letterboxd-export.zip", "mimeType": "application/zip",
        "buffer": export_with_extra_rating(XSS_TITLE, 2031),
    }])
    page.uncheck("#include-streaming")
    page.click("#submit")
    wait_until_complete(page)
    page.click("#profile-summary .unmatched summary")

    listed = page.locator(".unmatched-list li").all_inner_texts()
    assert f"{XSS_TITLE} (2031) · not in our catalog" in listed
    assert page.locator("img[src='x']").count() == 0
    watch.assert_clean()


def test_unreachable_letterboxd_gives_a_friendly_error_with_the_export_hint(open_page, app_url):
    page, watch = open_page()
    page.goto(f"{app_url}/")

    page.fill("#username", "somebody_new")
    page.click("#submit")
    page.wait_for_selector("#page-alert:not([hidden]), #form-alert:not([hidden])", timeout=RUN_TIMEOUT_MS)

    alert = page.locator("#page-alert:not([hidden]), #form-alert:not([hidden])").inner_text()
    assert "Letterboxd" in alert
    assert "export" in alert.lower()
    watch.assert_clean()


def test_keyboard_reaches_the_first_card_after_the_filters(open_page, app_url, finished_export_run):
    page, watch = open_page()
    page.goto(f"{app_url}/results?request_id={finished_export_run}")
    wait_until_complete(page)

    page.focus("#filters-reset")
    page.keyboard.press("Tab")

    focused = page.evaluate("document.activeElement.closest('article')?.dataset.filmId || ''")
    assert focused == cards(page).first.locator("article").get_attribute("data-film-id")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    watch.assert_clean()


def test_results_fit_a_360_pixel_wide_screen(open_page, app_url, finished_export_run):
    page, watch = open_page(viewport={"width": 360, "height": 780}, color_scheme="dark")
    page.goto(f"{app_url}/results?request_id={finished_export_run}")
    wait_until_complete(page)

    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert cards(page).first.is_visible()
    watch.assert_clean()


def test_csv_fields_are_quoted_the_rfc_4180_way(open_page, app_url):
    page, watch = open_page()
    page.goto(f"{app_url}/")

    text = page.evaluate("""async () => {
        const { toLetterboxdCsv } = await import("/static/js/csv.js");
        return toLetterboxdCsv([
            { title: 'Crouching Tiger, Hidden "Dragon"', year: 2000, tmdb_id: 146, imdb_id: "tt0190332",
              letterboxd_url: "https://letterboxd.com/film/crouching-tiger-hidden-dragon/" },
            { title: "Line\\nbreak", year: null, tmdb_id: null, imdb_id: null, letterboxd_url: null },
        ]);
    }""")

    assert text.split("\r\n")[1] == (
        '"Crouching Tiger, Hidden ""Dragon""",2000,146,tt0190332,'
        "https://letterboxd.com/film/crouching-tiger-hidden-dragon/")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[2] == ["Line\nbreak", "", "", "", ""]
    watch.assert_clean()


def test_an_error_is_titled_by_what_the_member_can_do_about_it(open_page, app_url):
    page, watch = open_page()
    page.goto(f"{app_url}/")

    titles = page.evaluate("""async () => {
        const { errorTitle } = await import("/static/js/common.js");
        return [
            { status: 404, code: "user_not_found" }, { status: 503, code: "busy" },
            { status: 503, code: "redis_unavailable" }, { status: 503, code: "letterboxd_unreachable" },
            { status: 503, code: "letterboxd_blocked" }, { status: 503, code: "letterboxd_unavailable" },
            { status: 429, code: "too_many_requests" }, { status: 400, code: "bad_request" },
        ].map((error) => errorTitle(error, "Otherwise"));
    }""")

    assert titles == [
        "No such Letterboxd member", "We are very busy right now", "We are very busy right now",
        "No connection to Letterboxd", "Letterboxd is refusing our requests",
        "Letterboxd is not answering us right now", "Slow down a little", "Otherwise"]
    watch.assert_clean()


def test_csv_titles_a_spreadsheet_would_evaluate_are_prefixed(open_page, app_url):
    page, watch = open_page()
    page.goto(f"{app_url}/")

    text = page.evaluate("""async () => {
        const { toLetterboxdCsv } = await import("/static/js/csv.js");
        return toLetterboxdCsv(["=1+1", "+cmd", "-2+3", "@SUM(A1)", "Heat", "M*A*S*H"].map(
            (title) => ({ title, year: 2000 })));
    }""")

    titles = [row[0] for row in csv.reader(io.StringIO(text))][1:]
    assert titles == ["'=1+1", "'+cmd", "'-2+3", "'@SUM(A1)", "Heat", "M*A*S*H"]
    watch.assert_clean()


def test_a_card_shows_markup_in_every_field_as_text(open_page, app_url):
    page, watch = open_page()
    page.goto(f"{app_url}/")

    texts = page.evaluate("""async (markup) => {
        const { renderCard } = await import("/static/js/cards.js");
        const card = renderCard({
            film_id: 1, title: markup, original_title: markup, year: 2001, director: markup, directors: [markup],
            genres: [markup], reasons: [markup], runtime: 90, match: 50, poster: "javascript:alert(1)",
            streaming: [{ provider: markup, type: "flatrate", url: "javascript:alert(1)" }],
            letterboxd_url: "javascript:alert(1)", tmdb_id: 5, imdb_id: null, in_watchlist: false,
        }, { country: "GB", onMoreLikeThis: () => {} });
        document.querySelector("main").appendChild(card);
        return {
            title: card.querySelector(".film-title").textContent,
            reason: card.querySelector(".reasons li").textContent,
            provider: card.querySelector(".offer-provider").textContent,
            hrefs: [...card.querySelectorAll("a")].map((a) => a.getAttribute("href") || ""),
        };
    }""", XSS_TITLE)

    assert texts["title"] == XSS_TITLE
    assert texts["reason"] == XSS_TITLE
    assert texts["provider"] == XSS_TITLE
    assert not any(href.startswith("javascript:") for href in texts["hrefs"])
    assert page.locator("img[src='x']").count() == 0
    watch.assert_clean()
