"""What the results page claims, checked against what the server found: counts, controls, messages."""
from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import README_SCREENSHOTS, RUN_TIMEOUT_MS, wait_until_complete
from tests.support.sse import read_stream

pytestmark = pytest.mark.e2e

SAMPLE_EXPORT = Path(__file__).resolve().parents[1] / "data" / "sample_export.zip"
UNKNOWN_TITLES = 130  # more than any panel used to list


def cards(page):
    return page.locator("#cards > li.card-item:not(.card-skeleton)")


def export_with_unknown_films(count: int) -> bytes:
    """The sample export with `count` watched films no catalog holds."""
    source = zipfile.ZipFile(SAMPLE_EXPORT)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "watched.csv":
                text = data.decode("utf-8-sig").rstrip("\r\n")
                rows = io.StringIO()
                writer = csv.writer(rows, lineterminator="\n")
                for i in range(count):
                    writer.writerow(["2024-03-01", f"Qzxv Unfindable Picture {i}", "2021", f"https://boxd.it/q{i}"])
                data = f"{text}\n{rows.getvalue()}".encode("utf-8")
            target.writestr(info, data)
    return out.getvalue()


def finished_run(app_url: str, export: bytes, include_streaming: bool) -> dict:
    response = requests.post(
        f"{app_url}/api/recommend", files={"export": ("letterboxd-export.zip", export)},
        data={"country": "GB", "include_streaming": str(include_streaming).lower(), "count": "20", "sync": "true"},
        timeout=120)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def offline_streaming_run(app_url) -> dict:
    """A finished run that asked for streaming while no streaming source or TMDB can be reached."""
    return finished_run(app_url, SAMPLE_EXPORT.read_bytes(), include_streaming=True)


def test_every_unmatched_title_is_listed_with_the_true_count_and_a_reason(open_page, app_url):
    body = finished_run(app_url, export_with_unknown_films(UNKNOWN_TITLES), include_streaming=False)
    profile = body["profile"]
    assert profile["unmatched_count"] == len(profile["unmatched"]) >= UNKNOWN_TITLES
    assert profile["matched"] + profile["unmatched_count"] == profile["films"]
    assert all(u["reason"] in {"not in catalog", "year differs", "ambiguous"} for u in profile["unmatched"])

    page, watch = open_page()
    page.goto(f"{app_url}/results?request_id={body['request_id']}")
    wait_until_complete(page)
    summary = page.locator("#profile-body details.unmatched summary")
    assert summary.inner_text() == f"{profile['unmatched_count']} titles we could not match"
    summary.click()
    panel = page.locator("#profile-body details.unmatched")
    assert "could not match these titles" in panel.inner_text()
    assert "not in our catalog yet" not in panel.inner_text()
    assert panel.locator(".unmatched-list li").count() == profile["unmatched_count"]
    assert "not in our catalog" in panel.locator(".unmatched-list li").first.inner_text()
    watch.assert_clean()
    log = [e.data.get("message", "") for e in read_stream(app_url, "logs", body["request_id"])]
    counts = [line for line in log if line.startswith(("Read ", "Matched "))]
    assert counts == [f"Read {profile['films']} watched films from your export, and {profile['watchlist']} on the "
                      "watchlist", f"Matched {profile['matched']} of {profile['films']} films to the catalog"]


def test_controls_whose_data_is_missing_are_disabled_and_say_why(open_page, app_url, offline_streaming_run):
    body = offline_streaming_run
    films = body["recommendations"]
    assert body["streaming_status"] == "unknown"
    assert all(f["streaming"] is None for f in films), "offline, where films stream is unknown"
    # Lengths come with the offline catalog for most films; the control follows what the picks know.
    lengths_known = any(f["runtime"] for f in films)

    page, watch = open_page()
    page.goto(f"{app_url}/results?request_id={body['request_id']}")
    wait_until_complete(page)

    assert page.locator("#filter-runtime").is_disabled() == (not lengths_known)
    assert page.locator("#filter-streaming").is_disabled()
    note = page.inner_text("#toolbar-note")
    assert ("Lengths are unknown" in note) == (not lengths_known) and "stream" in note
    gems = sum(1 for f in films if f["obscurity"] is not None and f["obscurity"] >= 67)
    gem_option = page.locator("#filter-obscurity option[value=obscure]")
    assert gem_option.inner_text() == f"Hidden gems ({gems})"
    assert gem_option.is_disabled() == (gems == 0)
    total = cards(page).count()
    for value in page.eval_on_selector_all("#filter-obscurity option:not([disabled])", "o => o.map(x => x.value)"):
        page.select_option("#filter-obscurity", value)
        assert cards(page).count() > 0, f"an enabled band ({value or 'any'}) never empties the list"
    page.select_option("#filter-obscurity", "")
    assert cards(page).count() == total

    page.select_option("#sort", "rating")
    ratings = {f["title"]: f["rating_tmdb"] or f["corpus_mean"] for f in films}
    shown = page.locator("#cards h3.film-title").all_inner_texts()
    assert [ratings[t] for t in shown] == sorted((ratings[t] for t in shown), reverse=True)
    assert shown != [f["title"] for f in films], "sorting by rating changes the order"
    watch.assert_clean()


def test_unknown_streaming_says_unknown_and_the_step_does_not_claim_it_ran(open_page, app_url,
                                                                          offline_streaming_run):
    page, watch = open_page()
    page.goto(f"{app_url}/results?request_id={offline_streaming_run['request_id']}")
    wait_until_complete(page)

    assert "unknown" in page.inner_text("#results-subtitle")
    step = page.locator('#steps [data-step="streaming"]')
    assert step.inner_text() == "Streaming: unknown"
    assert "is-done" not in step.get_attribute("class")
    first = cards(page).first
    assert "unknown" in first.locator(".streaming").inner_text()
    assert "Not on a streaming service" not in page.inner_text("#cards")
    watch.assert_clean()


def test_the_page_says_in_one_line_what_the_match_means(open_page, app_url, offline_streaming_run):
    films = offline_streaming_run["recommendations"]
    matches = [f["match"] for f in films]
    assert matches == sorted(matches, reverse=True), "the list is in the order of the match shown"
    page, watch = open_page()
    page.goto(f"{app_url}/results?request_id={offline_streaming_run['request_id']}")
    wait_until_complete(page)

    assert page.inner_text("#match-note") == offline_streaming_run["match_note"]
    assert "Match" in offline_streaming_run["match_note"]
    watch.assert_clean()


def test_no_connection_to_letterboxd_is_said_once_with_the_export_as_the_way_on(open_page, app_url):
    page, watch = open_page()
    page.goto(f"{app_url}/somebody_offline?country=GB")
    alert = page.locator("#page-alert:not([hidden])")
    alert.wait_for(timeout=RUN_TIMEOUT_MS)

    text = page.inner_text("main")
    assert page.inner_text("#page-alert .alert-title") == "No connection to Letterboxd"
    assert "refusing" not in text.lower()
    message = page.inner_text("#page-alert .alert-message")
    assert "no connection to Letterboxd" in message
    assert text.count(message) == 1, "the message is said once"
    assert text.lower().count("export your data") == 1, "the export is suggested once"
    assert page.locator("#page-alert a[href='/#dropzone']").inner_text() == "Upload your export instead"
    watch.assert_clean()


def test_seen_it_and_not_for_me_replace_the_card_and_leave_the_next_run(open_page, app_url, finished_export_run):
    payload = requests.get(f"{app_url}/api/result", params={"request_id": finished_export_run}, timeout=10).json()
    reserve = [film["title"] for film in payload["reserve"]]
    page, watch = open_page()
    page.goto(f"{app_url}/results?request_id={finished_export_run}")
    wait_until_complete(page)
    total = cards(page).count()
    first = cards(page).first
    seen_title = first.locator("h3.film-title").inner_text()

    first.locator("button.seen-it").click()
    first.locator("select.seen-stars").select_option("4")
    first.locator("button.seen-save").click()

    titles = page.locator("#cards h3.film-title").all_inner_texts()
    assert len(titles) == total and seen_title not in titles
    assert titles[-1] == reserve[0], "the next pick takes the card's place"
    disliked_title = titles[0]
    cards(page).first.locator("button.not-for-me").click()
    titles = page.locator("#cards h3.film-title").all_inner_texts()
    assert len(titles) == total and disliked_title not in titles and titles[-1] == reserve[1]
    stored = page.evaluate("JSON.parse(localStorage.getItem('lbr-feedback'))")
    by_title = {v["title"]: v for v in stored["seen"].values()}
    assert by_title[seen_title]["rating"] == 4
    assert [v["title"] for v in stored["notForMe"].values()] == [disliked_title]

    page.goto(f"{app_url}/")
    page.set_input_files("#export-file", str(SAMPLE_EXPORT))
    page.uncheck("#include-streaming")
    page.click("#submit")
    page.wait_for_url("**/results?request_id=*", timeout=RUN_TIMEOUT_MS)
    wait_until_complete(page)
    again = page.locator("#cards h3.film-title").all_inner_texts()
    # Without the marks the same export's run would show both again (the model is deterministic).
    assert len(again) == total and seen_title not in again and disliked_title not in again
    request_id = page.evaluate("new URLSearchParams(location.search).get('request_id')")
    served = requests.get(f"{app_url}/api/result", params={"request_id": request_id}, timeout=10).json()
    served_titles = {film["title"] for film in served["recommendations"] + served["reserve"]}
    assert seen_title not in served_titles and disliked_title not in served_titles, "the server got the marks"
    watch.assert_clean()


def test_a_shared_export_link_outlives_the_job_and_says_how_long_it_lives(open_page, app_url, start_app,
                                                                            finished_export_run):
    page, watch = open_page()
    page.goto(f"{app_url}/results?request_id={finished_export_run}")
    wait_until_complete(page)
    titles = page.locator("#cards h3.film-title").all_inner_texts()
    page.click("#copy-link")
    expect_life = page.locator("#share-life")
    expect_life.wait_for()
    assert "30 days" in expect_life.inner_text() and "without your export" in expect_life.inner_text()
    url = page.input_value("#share-url")
    assert "/results?share=" in url and finished_export_run not in url

    # Another instance on the same runtime folder has never seen the job: only the shared copy is there.
    other = start_app().url
    share_id = url.split("share=", 1)[1]
    assert requests.get(f"{other}/api/result", params={"request_id": finished_export_run}, timeout=10).status_code == 404
    kept = requests.get(f"{other}/api/shared/{share_id}", timeout=10).json()
    for personal in ("username", "profile", "analytics", "preferences", "contribution", "request_id"):
        assert personal not in kept
    assert not any("in_watchlist" in f or "reasons" in f for f in kept["recommendations"])

    viewer, viewer_watch = open_page()
    viewer.goto(f"{other}/results?share={share_id}")
    wait_until_complete(viewer)
    assert viewer.locator("#cards h3.film-title").all_inner_texts() == titles
    assert "This link works until" in viewer.inner_text("#notices")
    assert viewer.locator("#profile-summary").is_hidden() and viewer.locator("#analytics").is_hidden()
    viewer.goto(f"{other}/results?share=NoSuchShareLink12345")
    viewer.locator("#page-alert:not([hidden])").wait_for()
    assert "expired" in viewer.inner_text("#page-alert")
    watch.assert_clean()
    viewer_watch.assert_clean()


PHONE = {"width": 390, "height": 844}


def test_on_a_phone_the_first_pick_is_on_the_first_screen(open_page, app_url, finished_export_run):
    page, watch = open_page(viewport=PHONE)
    page.goto(f"{app_url}/results?request_id={finished_export_run}")
    wait_until_complete(page)
    page.evaluate("window.scrollTo(0, 0)")

    panel = page.locator("#progress-panel").bounding_box()
    line = page.locator("#progress-message").bounding_box()
    assert panel["height"] <= line["height"] + 2 * 14, "the finished progress panel is one line"
    assert page.locator("#steps").is_hidden() and page.locator("progress#progress").is_hidden()
    assert page.locator("#toolbar").is_hidden() and page.locator("#filters-toggle").is_visible()
    first = cards(page).first.bounding_box()
    assert 0 < first["y"] < PHONE["height"] - 100, "the first card starts well inside the first screen"
    assert first["width"] <= PHONE["width"]
    assert first["height"] < PHONE["height"] * 0.6, "cards are compact"
    README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(README_SCREENSHOTS / "phone.png"))

    page.click("#filters-toggle")
    assert page.locator("#toolbar").is_visible()
    assert page.get_attribute("#filters-toggle", "aria-expanded") == "true"
    page.select_option("#sort", "year-asc")
    years = [int(text) for text in page.locator("#cards .film-year").all_inner_texts()]
    assert years == sorted(years)
    watch.assert_clean()


def test_on_a_desktop_the_filters_and_progress_stay_open(open_page, app_url, finished_export_run):
    page, watch = open_page()
    page.goto(f"{app_url}/results?request_id={finished_export_run}")
    wait_until_complete(page)
    assert page.locator("#toolbar").is_visible() and page.locator("#filters-toggle").is_hidden()
    assert page.locator("#steps").is_visible()
    watch.assert_clean()
