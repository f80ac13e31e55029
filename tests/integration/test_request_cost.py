"""Every dimension of an upload is bounded where it arrives, and what passes has a bounded outcome."""
from __future__ import annotations

import csv
import datetime as dt
import io
import threading
import zipfile

import pytest
import requests

ROWS, FILMS, TITLE_CHARS = 60, 40, 80
HEADER = ["Date", "Name", "Year", "Letterboxd URI", "Rating", "Rewatch", "Tags", "Watched Date"]


@pytest.fixture(scope="module")
def bounded_app(start_app):
    """Small limits, so uploads at and over them are quick to build and send."""
    return start_app({"ratelimit_enabled": False, "export_max_rows_per_file": ROWS, "export_max_films": FILMS,
                      "export_max_title_chars": TITLE_CHARS})


def diary_zip(rows: list[tuple[str, int, str]]) -> bytes:
    """An export whose diary.csv holds (title, year, watched date) rows."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(HEADER)
    for number, (title, year, day) in enumerate(rows):
        writer.writerow([day, title, year, f"https://boxd.it/d{number}", "4", "", "", day])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("diary.csv", text.getvalue())
    return out.getvalue()


def post(base: str, data: bytes) -> requests.Response:
    return requests.post(f"{base}/api/recommend", files={"export": ("export.zip", data)},
                         data={"sync": "true", "include_streaming": "false"}, timeout=60)


def refused(answer: requests.Response, code: str, words: str) -> None:
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert set(body) == {"error", "message"} and body["error"] == code and words in body["message"]


def test_an_upload_at_every_limit_is_answered(bounded_app):
    long_titles = [(f"Film {i} " + "x" * TITLE_CHARS)[:TITLE_CHARS] for i in range(FILMS)]
    rows = [(long_titles[i % FILMS], 2000 + i % 20, f"2024-01-{i % 28 + 1:02d}") for i in range(ROWS)]

    answer = post(bounded_app.url, diary_zip(rows))

    assert answer.status_code == 200, answer.text
    assert answer.json()["profile"]["films"] == FILMS


def test_an_upload_at_every_limit_saved_again_by_a_spreadsheet_is_answered_with_bounded_notes(bounded_app):
    mangled = "AmÃ©lie Ã€ bout de souffle "
    titles = [(f"{i} " + mangled * TITLE_CHARS)[:TITLE_CHARS] for i in range(FILMS)]
    text = io.StringIO()
    writer = csv.writer(text, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    for i in range(ROWS):
        day = f"{i % 28 + 1}/01/2024" if i % 3 else "someday " + "x" * TITLE_CHARS
        writer.writerow([day, titles[i % FILMS] if i % 10 else "", 2000, f"https://boxd.it/d{i}", "4,5", "", "", day])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("diary.csv", text.getvalue().encode("utf-8-sig"))

    answer = post(bounded_app.url, out.getvalue())

    assert answer.status_code == 200, answer.text
    profile = answer.json()["profile"]
    assert profile["films"] == len({titles[i % FILMS] for i in range(ROWS) if i % 10})
    assert [r["what"].split(" (")[0] for r in profile["repairs"]] == [
        "separator ';'", f"{ROWS - ROWS // 10} titles with mangled accents repaired",
        "ratings written with a decimal comma", "dates read as day/month"]
    unread = {u["reason"]: u for u in profile["unread"]}
    assert unread["no title"]["count"] == ROWS // 10
    assert all(len(u["examples"]) <= 3 and all(len(e) <= 100 for e in u["examples"]) for u in profile["unread"])


def test_rows_over_the_limit_are_refused(bounded_app):
    rows = [(f"Film {i % FILMS}", 2000, "2024-01-01") for i in range(ROWS + 1)]
    refused(post(bounded_app.url, diary_zip(rows)), "invalid_upload", f"more than {ROWS} rows")


def test_a_title_over_the_limit_is_refused(bounded_app):
    rows = [("Heat", 1995, "2024-01-01"), ("y" * (TITLE_CHARS + 1), 2000, "2024-01-01")]
    refused(post(bounded_app.url, diary_zip(rows)), "invalid_upload", f"the limit is {TITLE_CHARS}")


def test_distinct_films_over_the_limit_are_refused(bounded_app):
    rows = [(f"Film {i}", 2000, "2024-01-01") for i in range(FILMS + 1)]
    refused(post(bounded_app.url, diary_zip(rows)), "invalid_export", f"more than {FILMS} distinct films")


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1899-12-31",
                                 (dt.date.today() + dt.timedelta(days=3)).isoformat()])
def test_a_diary_date_outside_the_accepted_range_is_refused(bounded_app, day):
    rows = [("Heat", 1995, "2024-01-01"), ("Alien", 1979, day)]
    refused(post(bounded_app.url, diary_zip(rows)), "invalid_export", f"date {day} is outside")


def test_dates_at_both_ends_of_the_range_give_a_bounded_month_chart(bounded_app):
    today = dt.date.today()
    rows = [("Heat", 1995, "1900-01-01"), ("Alien", 1979, today.isoformat())]

    answer = post(bounded_app.url, diary_zip(rows))

    assert answer.status_code == 200, answer.text
    months = answer.json()["analytics"]["months"]
    assert len(months) == (today.year - 1900) * 12 + today.month
    assert months[0] == {"month": "1900-01", "count": 1} and months[-1]["count"] == 1


def test_a_composed_app_holds_numpy_to_its_blas_threads(start_app):
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads() -> set[int]:
        return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}

    # As a process that never limited them starts (the app sets its limit from its startup thread).
    widen = threading.Thread(target=threadpool_limits, args=(2,), kwargs={"user_api": "blas"})
    widen.start()
    widen.join()
    if blas_threads() == {1}:
        pytest.skip("this machine's BLAS runs one thread whatever it is asked")

    start_app({"ratelimit_enabled": False, "blas_threads": 1})

    assert blas_threads() == {1}


def test_a_large_upload_gives_way_to_small_ones_in_the_same_process(start_app, sample_export):
    app = start_app({"ratelimit_enabled": False, "large_upload_mb": 0.05, "max_active_jobs_per_client": 100})
    fair = app.facade.jobs.fair
    catalog = app.facade.catalog().films
    from bench.recommend_export import synthetic_export

    large = synthetic_export(catalog, 3000)
    assert sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(large)).infolist()) > 0.05 * 2**20
    big: dict = {}
    finished = threading.Event()

    def post_large() -> None:
        big["answer"] = post(app.url, large)
        finished.set()

    thread = threading.Thread(target=post_large)
    thread.start()
    small = []
    while not finished.is_set():  # members with ordinary exports keep arriving while it runs
        small.append(post(app.url, sample_export))
    thread.join()

    assert big["answer"].status_code == 200 and big["answer"].json()["profile"]["films"] == 3000
    assert small and all(answer.status_code == 200 for answer in small)
    assert all(answer.json()["recommendations"] for answer in small)
    assert fair.waits >= 1  # the large run held still at a checkpoint while a small one worked
    assert fair.light_working == 0  # every run left its count behind
