from __future__ import annotations

from pathlib import Path

import pytest

from infra.export_reader import ExportFiles, read_upload
from services.domain import Repair, Unread
from services.export_import import ImportLimits, InvalidExport, profile_from_export
from services.matching import TitleKeys, normalise_title, title_keys
from tests.support.spreadsheet import resave_export

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample_export.zip"


def row(name: str, year: str | int = "", **cells: str) -> dict[str, str]:
    """Return an export row; keyword names use _ for spaces (Watched_Date)."""
    return {"Name": name, "Year": str(year), **{k.replace("_", " "): v for k, v in cells.items()}}


@pytest.fixture(scope="module")
def sample_profile():
    return profile_from_export(read_upload(SAMPLE.read_bytes(), "export.zip", 10_000_000))


def by_title(profile, title: str, year: int | None = None):
    matches = [f for f in profile.films if f.title == title and (year is None or f.year == year)]
    assert len(matches) == 1, matches
    return matches[0]


def test_the_sample_export_becomes_one_profile_film_per_distinct_film(sample_profile):
    assert sample_profile.username == "samplecinephile" and sample_profile.source == "export"
    assert len(sample_profile.films) == 70
    assert sum(f.watched for f in sample_profile.films) == 62
    assert sum(f.rating is not None for f in sample_profile.films) == 58
    assert sum(f.liked for f in sample_profile.films) == 11
    assert sum(f.watchlist for f in sample_profile.films) == 8


def test_diary_logs_give_watched_dates_rewatches_and_likes(sample_profile):
    alien = by_title(sample_profile, "Alien")

    assert alien.rewatch and alien.liked and alien.rating == 4.5
    assert alien.watched_dates == ("2023-11-12", "2024-05-10")


def test_a_review_of_a_diary_entry_is_the_same_log_not_a_second_viewing(sample_profile):
    assert by_title(sample_profile, "Psycho").watched_dates == ("2023-10-28",)


def test_same_title_films_of_different_years_stay_apart(sample_profile):
    assert by_title(sample_profile, "The Great Gatsby", 1974).rating == 3.0
    assert by_title(sample_profile, "The Great Gatsby", 2013).rating == 2.5


def test_watchlist_only_films_are_not_watched_and_deleted_logs_are_left_out(sample_profile):
    tokyo = by_title(sample_profile, "Tokyo Story")

    assert tokyo.watchlist and not tokyo.watched and tokyo.rating is None
    assert not any(f.title == "Gravity" for f in sample_profile.films)


def test_film_level_short_links_are_kept_as_letterboxd_ids_but_log_links_are_not():
    files = ExportFiles(
        diary=[row("Heat", 1995, Letterboxd_URI="https://boxd.it/log1", Watched_Date="2024-01-01")],
        watched=[row("Heat", 1995, Letterboxd_URI="https://boxd.it/film1")])

    heat = profile_from_export(files).films[0]

    assert heat.letterboxd_id == "https://boxd.it/film1"


def test_the_latest_rating_in_ratings_csv_wins():
    files = ExportFiles(ratings=[
        row("Heat", 1995, Date="2024-03-01", Rating="3"),
        row("Heat", 1995, Date="2024-05-01", Rating="4.5"),
        row("Heat", 1995, Date="2024-04-01", Rating="2"),
    ])

    assert profile_from_export(files).films[0].rating == 4.5


def test_ratings_csv_outranks_the_diary_and_the_latest_diary_rating_fills_in():
    files = ExportFiles(
        ratings=[row("Heat", 1995, Date="2024-01-01", Rating="5")],
        diary=[row("Heat", 1995, Rating="2", Watched_Date="2024-06-01"),
               row("Alien", 1979, Rating="3", Watched_Date="2023-01-01"),
               row("Alien", 1979, Rating="4", Watched_Date="2024-01-01", Rewatch="Yes")],
        reviews=[row("Arrival", 2016, Rating="4.5", Review="Yes.", Watched_Date="")],
    )

    films = {f.title: f for f in profile_from_export(files).films}

    assert films["Heat"].rating == 5 and films["Alien"].rating == 4 and films["Alien"].rewatch
    assert films["Arrival"].rating == 4.5 and films["Arrival"].watched
    assert films["Arrival"].watched_dates == ()


def test_a_like_marks_the_film_watched():
    liked = profile_from_export(ExportFiles(likes=[row("Heat", 1995)])).films[0]

    assert liked.liked and liked.watched and liked.rating is None


def test_a_watched_film_on_the_watchlist_is_both():
    files = ExportFiles(watchlist=[row("Heat", 1995)], watched=[row("Heat", 1995)])

    heat = profile_from_export(files).films[0]

    assert heat.watched and heat.watchlist


def test_titles_that_differ_only_in_case_accents_or_article_are_one_film():
    files = ExportFiles(ratings=[row("Amélie", 2001, Rating="4")], watched=[row("amelie", 2001)],
                        likes=[row("AMÉLIE", 2001)])

    films = profile_from_export(files).films

    assert len(films) == 1 and films[0].title == "Amélie" and films[0].liked


def test_an_import_given_the_run_s_title_keys_reads_the_same_films_and_the_keys_stay_the_same(sample_profile):
    keys = TitleKeys()

    profile = profile_from_export(read_upload(SAMPLE.read_bytes(), "export.zip", 10_000_000), keys=keys)

    assert profile == sample_profile
    assert all(keys.normalised(film.title) == normalise_title(film.title) for film in profile.films)
    assert all(keys.strong(film.title) == title_keys(film.title) for film in profile.films)


def test_the_username_can_be_given_when_the_export_has_none():
    profile = profile_from_export(ExportFiles(watched=[row("Heat", 1995)]), username="someone")

    assert profile.username == "someone"


def test_rows_without_a_name_are_skipped():
    files = ExportFiles(watched=[row("", 1995), row("Heat", "")])

    films = profile_from_export(files).films

    assert [(f.title, f.year) for f in films] == [("Heat", None)]


@pytest.mark.parametrize("rating", ["0", "5.5", "3.3", "7", "-1", "four", "nan", "inf"])
def test_a_rating_outside_half_stars_from_half_to_five_is_refused_naming_the_row(rating):
    files = ExportFiles(ratings=[row("Heat", 1995, Rating="4"), row("Arrival", 2016, Rating=rating)])

    with pytest.raises(InvalidExport, match=r"ratings.csv row 2 \(Arrival\): rating"):
        profile_from_export(files)


def test_a_bad_diary_rating_is_refused_too():
    files = ExportFiles(diary=[row("Heat", 1995, Rating="10", Watched_Date="2024-01-01")])

    with pytest.raises(InvalidExport, match=r"diary.csv row 1 \(Heat\)"):
        profile_from_export(files)


def test_a_year_that_is_not_a_year_is_refused():
    with pytest.raises(InvalidExport, match=r"watched.csv row 1 \(Heat\): year 'MCMXCV'"):
        profile_from_export(ExportFiles(watched=[row("Heat", "MCMXCV")]))


def test_invalid_export_is_a_value_error():
    assert issubclass(InvalidExport, ValueError)


def test_a_hundred_thousand_row_profile_is_imported():
    watched = [row(f"Film number {i}", 1900 + i % 120) for i in range(100_000)]
    ratings = [row(f"Film number {i}", 1900 + i % 120, Rating=str((i % 10 + 1) / 2)) for i in range(0, 100_000, 2)]

    profile = profile_from_export(ExportFiles(watched=watched, ratings=ratings))

    assert len(profile.films) == 100_000
    assert sum(f.rating is not None for f in profile.films) == 50_000


LIMITS = ImportLimits(max_films=3, earliest_date="1900-01-01", latest_date="2025-06-02")


def test_distinct_films_over_the_limit_are_refused_but_repeats_of_one_film_are_not():
    three = [row("Heat", 1995), row("Alien", 1979), row("Arrival", 2016)]
    repeats = [row("Heat", 1995, Watched_Date="2024-01-01")] * 50

    assert len(profile_from_export(ExportFiles(watched=three, diary=repeats), limits=LIMITS).films) == 3
    with pytest.raises(InvalidExport, match="more than 3 distinct films"):
        profile_from_export(ExportFiles(watched=[*three, row("Ran", 1985)]), limits=LIMITS)


@pytest.mark.parametrize("column, day", [("Watched_Date", "0001-01-01"), ("Watched_Date", "9999-12-31"),
                                         ("Date", "1899-12-31"), ("Watched_Date", "2025-06-03")])
def test_a_date_outside_the_accepted_range_is_refused_naming_the_row(column, day):
    files = ExportFiles(diary=[row("Heat", 1995, Watched_Date="2024-01-01"), row("Alien", 1979, **{column: day})])

    with pytest.raises(InvalidExport, match=rf"diary.csv row 2 \(Alien\): date {day} is outside 1900-01-01"):
        profile_from_export(files, limits=LIMITS)


def test_dates_at_both_ends_of_the_range_are_accepted_and_impossible_days_ignored():
    files = ExportFiles(diary=[row("Heat", 1995, Watched_Date="1900-01-01"), row("Heat", 1995, Watched_Date="2025-06-02"),
                               row("Alien", 1979, Watched_Date="2024-02-30")])

    films = {f.title: f for f in profile_from_export(files, limits=LIMITS).films}

    assert films["Heat"].watched_dates == ("1900-01-01", "2025-06-02")
    assert films["Alien"].watched_dates == () and films["Alien"].watched


RESAVED = {
    "semicolons, a byte order mark and CRLF": ({"separator": ";", "encoding": "utf-8-sig"}, ["separator ';'"]),
    "tabs": ({"separator": "\t"}, ["separator tab"]),
    "US dates": ({"dates": "us"}, ["dates read as month/day (10/28/2023)"]),
    "UK dates and semicolons": ({"dates": "uk", "separator": ";"},
                                ["separator ';'", "dates read as day/month (28/10/2023)"]),
    "German dates": ({"dates": "de", "separator": ";"}, ["separator ';'", "dates read as day/month (28.10.2023)"]),
    "dates with a time": ({"dates": "time"}, ["dates read without their time (2023-10-28 00:00:00)"]),
    "Windows-1252": ({"encoding": "cp1252"}, ["read as Windows-1252 text (it is not UTF-8)"]),
    "mangled accents": ({"encoding": "mojibake"}, ["with mangled accents repaired (AmÃ©lie -> Amélie"]),
}


@pytest.mark.parametrize("kind", list(RESAVED))
def test_an_export_saved_again_by_a_spreadsheet_reads_as_the_original_and_says_what_was_repaired(
        sample_profile, kind):
    how, said = RESAVED[kind]

    profile = profile_from_export(read_upload(resave_export(SAMPLE.read_bytes(), **how), "export.zip", 10_000_000))

    assert profile.films == sample_profile.films and profile.unread == ()
    file = "ratings.csv" if "accents" in kind else "diary.csv"
    repairs = " | ".join(repair.what for repair in profile.repairs if repair.file == file)
    assert all(repair in repairs for repair in said), repairs
    assert sample_profile.repairs == ()


def test_each_file_decides_its_own_day_and_month_order():
    files = ExportFiles(
        ratings=[row("Heat", 1995, Date="7/28/2023", Rating="4"), row("Alien", 1979, Date="3/4/2023")],
        diary=[row("Heat", 1995, Watched_Date="28/07/2023"), row("Alien", 1979, Watched_Date="3/4/2023")])

    profile = profile_from_export(files)

    assert {f.title: f.watched_dates for f in profile.films} == {"Heat": ("2023-07-28",), "Alien": ("2023-04-03",)}
    assert [(r.file, r.what) for r in profile.repairs] == [("ratings.csv", "dates read as month/day (7/28/2023)"),
                                                           ("diary.csv", "dates read as day/month (28/07/2023)")]


def test_a_file_no_date_of_which_decides_takes_the_order_the_other_files_show():
    files = ExportFiles(watched=[row("Heat", 1995, Date="28/07/2023")],
                        diary=[row("Alien", 1979, Date="3/4/2023", Watched_Date="3/4/2023")])

    profile = profile_from_export(files)

    assert by_title(profile, "Alien").watched_dates == ("2023-04-03",)
    assert profile.repairs[-1].what == ("dates read as day/month (3/4/2023), assumed: no day in this file is over 12; "
                                        "as watched.csv shows")


def test_rows_without_a_title_and_dates_not_understood_are_counted_unread_with_examples():
    files = ExportFiles(
        watched=[row("", 1995, Date="2024-01-02"), row("Heat", 1995, Date="2024-01-03")],
        diary=[row("Alien", 1979, Watched_Date="someday"), row("Alien", 1979, Watched_Date="2024-02-30"),
               row("Ran", 1985, Watched_Date="2024-01-04")])

    profile = profile_from_export(files)

    assert sorted(f.title for f in profile.films) == ["Alien", "Heat", "Ran"]
    assert profile.unread == (
        Unread("watched.csv", "no title", 1, ("1995, 2024-01-02",)),
        Unread("diary.csv", "date not understood (the row is read without it)", 2,
               ("Alien: someday", "Alien: 2024-02-30")))


def test_the_reader_s_unread_rows_join_the_profile_s():
    files = read_upload(b"Date,Name,Year,Letterboxd URI\n2024-01-02,Heat,1995,x,oops\n,,1995,\n", "watched.csv", 10_000)

    assert profile_from_export(files).unread == (
        Unread("watched.csv", "more values than the header has columns", 1, ("row 2",)),
        Unread("watched.csv", "no title", 1, ("1995",)))


def test_a_rating_written_with_a_decimal_comma_is_read_and_said():
    files = ExportFiles(ratings=[row("Heat", 1995, Rating="4,5"), row("Alien", 1979, Rating="3")])

    profile = profile_from_export(files)

    assert [f.rating for f in profile.films] == [4.5, 3.0]
    assert profile.repairs == (Repair("ratings.csv", "ratings written with a decimal comma (4,5)"),)
