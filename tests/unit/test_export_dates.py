from __future__ import annotations

import pytest

from services.export_dates import DAY_MONTH, MONTH_DAY, DateReading, reading_for


def test_letterboxd_dates_are_read_as_they_are_and_need_no_repair():
    reading = reading_for(["2023-07-28", "", "2024-01-02"])

    assert reading == DateReading() and reading.repairs() == []
    assert [reading.read(v) for v in ("2023-07-28", " 2024-01-02 ", "", None)] == ["2023-07-28", "2024-01-02", "", ""]


def test_a_day_over_12_decides_day_then_month_for_the_whole_file():
    reading = reading_for(["05/07/2023", "28/07/2023", "01/08/2023"])

    assert reading.order == DAY_MONTH and not reading.assumed
    assert [reading.read(v) for v in ("05/07/2023", "28/07/2023")] == ["2023-07-05", "2023-07-28"]
    assert reading.repairs() == ["dates read as day/month (28/07/2023)"]


def test_a_second_number_over_12_decides_month_then_day():
    reading = reading_for(["7/5/2023", "7/28/2023"])

    assert reading.order == MONTH_DAY and reading.read("7/5/2023") == "2023-07-05"
    assert reading.repairs() == ["dates read as month/day (7/28/2023)"]


def test_dots_dashes_and_two_digit_years_are_read_too():
    dots = reading_for(["28.07.2023", "01.08.2023"])
    dashes = reading_for(["28-07-23", "3-1-69"])

    assert dots.read("01.08.2023") == "2023-08-01"
    assert dashes.read("28-07-23") == "2023-07-28" and dashes.read("3-1-69") == "1969-01-03"


def test_when_no_value_decides_the_order_is_assumed_from_the_separator_and_said():
    slashes = reading_for(["7/5/2023", "1/2/2024"])
    dots = reading_for(["7.5.2023"])

    assert slashes.order == MONTH_DAY and slashes.read("7/5/2023") == "2023-07-05"
    assert slashes.repairs() == ["dates read as month/day (7/5/2023), assumed: no day in this file is over 12; "
                                 "as spreadsheets write dates with '/'"]
    assert dots.order == DAY_MONTH and dots.read("7.5.2023") == "2023-05-07"


def test_an_undecided_file_takes_the_order_another_file_of_the_export_shows():
    reading = reading_for(["7/5/2023"], fallback=(DAY_MONTH, "diary.csv"))

    assert reading.order == DAY_MONTH and reading.read("7/5/2023") == "2023-05-07"
    assert reading.assumed == "no day in this file is over 12; as diary.csv shows"


def test_an_assumed_order_that_would_put_a_date_out_of_range_gives_way_to_the_other():
    reading = reading_for(["12/1/2025"], earliest="1900-01-01", latest="2025-06-02")

    assert reading.order == DAY_MONTH and reading.read("12/1/2025") == "2025-01-12"
    assert reading.assumed == "no day in this file is over 12; the other order puts a date out of range"


def test_a_file_that_writes_both_orders_reads_only_the_dates_that_show_their_own():
    reading = reading_for(["28/07/2023", "7/28/2023", "3/4/2023", "5/5/2023"])

    assert reading.conflicting
    assert [reading.read(v) for v in ("28/07/2023", "7/28/2023", "3/4/2023", "5/5/2023")] == [
        "2023-07-28", "2023-07-28", None, "2023-05-05"]
    assert reading.repairs() == ["dates read as day/month or month/day, each by its day over 12 "
                                 "(28/07/2023, 7/28/2023); the file writes both"]


def test_times_and_other_year_first_forms_are_read_and_said():
    reading = reading_for(["2023-07-28 00:00:00", "2023/7/29", "7/30/2023 12:00:00 AM"])

    assert [reading.read(v) for v in ("2023-07-28 00:00:00", "2023-07-28T13:45", "2023/7/29",
                                      "7/30/2023 12:00:00 AM")] == [
        "2023-07-28", "2023-07-28", "2023-07-29", "2023-07-30"]
    assert reading.repairs() == ["dates read as month/day (7/30/2023 12:00:00 AM)",
                                 "dates read as year/month/day (2023/7/29)",
                                 "dates read without their time (2023-07-28 00:00:00)"]


@pytest.mark.parametrize("value", ["someday", "2024-02-30", "31/31/2023", "2023-13-01", "28/07", "1e5", "x" * 10_000])
def test_a_value_that_is_no_date_reads_as_none(value):
    assert reading_for([value, "28/07/2023"]).read(value) is None
