from __future__ import annotations

import importlib.util
import io
import zipfile
from pathlib import Path

import pytest

from infra import export_reader
from infra.export_reader import BadUpload, UploadTooLarge, detect_kind, read_upload
from services.domain import Repair, Unread

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample_export.zip"
LIMIT = 10 * 1024 * 1024
RATINGS_CSV = "Date,Name,Year,Letterboxd URI,Rating\n2024-01-02,Arrival,2016,https://boxd.it/cRzq,4.5\n"
WATCHED_CSV = "Date,Name,Year,Letterboxd URI\n2024-01-02,Heat,1995,https://boxd.it/1gE2\n"


def make_zip(files: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content.encode("utf-8") if isinstance(content, str) else content)
    return buffer.getvalue()


def test_the_sample_export_yields_every_file_kind_and_the_username():
    files = read_upload(SAMPLE.read_bytes(), "letterboxd-samplecinephile-2024-06-01-12-00-utc.zip", LIMIT)

    assert files.username == "samplecinephile"
    assert files.kinds() == ["ratings", "watched", "watchlist", "likes", "diary", "reviews"]
    assert len(files.ratings) == 58 and len(files.watched) == 62 and len(files.watchlist) == 8
    assert len(files.likes) == 11 and len(files.diary) == 20 and len(files.reviews) == 4
    assert files.ratings[0] == {"Date": "2022-01-01", "Name": "The Shawshank Redemption", "Year": "1994",
                                "Letterboxd URI": "https://boxd.it/12w", "Rating": "5"}


def test_deleted_entries_and_other_files_are_ignored():
    files = read_upload(SAMPLE.read_bytes(), "export.zip", LIMIT)

    everything = [row for kind in files.kinds() for row in getattr(files, kind)]
    assert not any(row["Name"] == "Gravity" for row in everything)
    assert not any(row["Name"] == "Favourites" for row in everything)


def test_only_the_username_is_read_from_the_profile():
    files = read_upload(SAMPLE.read_bytes(), "export.zip", LIMIT)

    assert "example.invalid" not in repr(files).replace("https://example.invalid", "")
    assert "Sample" not in repr(files)


def test_multi_line_reviews_are_parsed_and_their_texts_are_not_kept():
    files = read_upload(SAMPLE.read_bytes(), "export.zip", LIMIT)

    assert {row["Name"] for row in files.reviews} >= {"Psycho", "Aftersun"}
    assert all(set(row) <= set(export_reader.KEPT_COLUMNS) for row in files.reviews)
    assert "Still the shower" not in repr(files) and "HYPERLINK" not in repr(files)


def test_files_inside_one_top_level_folder_are_found():
    data = make_zip({
        "letterboxd-me-2024/ratings.csv": RATINGS_CSV,
        "letterboxd-me-2024/likes/films.csv": WATCHED_CSV,
        "letterboxd-me-2024/deleted/diary.csv": "Date,Name,Year\n",
        "__MACOSX/letterboxd-me-2024/._ratings.csv": b"\x00\x05\x16\x07",
    })

    files = read_upload(data, "rezipped.zip", LIMIT)

    assert files.ratings[0]["Name"] == "Arrival" and files.likes[0]["Name"] == "Heat"
    assert files.diary == []


def test_files_are_matched_by_full_path_not_by_name():
    data = make_zip({"ratings.csv": RATINGS_CSV, "films.csv": WATCHED_CSV, "lists/watched.csv": WATCHED_CSV})

    files = read_upload(data, "export.zip", LIMIT)

    assert files.kinds() == ["ratings"]


def test_a_single_csv_is_read_as_the_kind_its_name_says():
    files = read_upload(WATCHED_CSV.encode(), "watchlist.csv", LIMIT)

    assert files.kinds() == ["watchlist"] and files.watchlist[0]["Name"] == "Heat"


def test_a_single_csv_with_an_unknown_name_is_recognised_from_its_header():
    diary = "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\n2024-01-01,Heat,1995,x,4,Yes,,2024-01-01\n"

    assert read_upload(diary.encode(), "my-log.csv", LIMIT).kinds() == ["diary"]
    assert read_upload(RATINGS_CSV.encode(), "export (1).csv", LIMIT).kinds() == ["ratings"]
    assert read_upload(WATCHED_CSV.encode(), "", LIMIT).kinds() == ["watched"]


def test_kind_detection_prefers_the_file_name_then_the_header():
    assert detect_kind("films.csv", ["Name", "Year"]) == "likes"
    assert detect_kind("C:\\Users\\me\\reviews.csv", []) == "reviews"
    assert detect_kind("x.csv", ["Name", "Year", "Review", "Rating"]) == "reviews"
    assert detect_kind("my-watchlist.csv", ["Name", "Year"]) == "watchlist"
    assert detect_kind("x.csv", ["Title", "Rating"]) is None


def test_a_byte_order_mark_is_accepted():
    files = read_upload(b"\xef\xbb\xbf" + RATINGS_CSV.encode(), "ratings.csv", LIMIT)

    assert files.ratings[0]["Date"] == "2024-01-02"


def test_an_empty_upload_is_refused():
    with pytest.raises(BadUpload, match="empty"):
        read_upload(b"", "export.zip", LIMIT)


def test_a_csv_with_only_blank_content_is_refused():
    with pytest.raises(BadUpload):
        read_upload(b"\n\n", "ratings.csv", LIMIT)


def test_a_file_named_zip_that_is_not_a_zip_is_refused():
    with pytest.raises(BadUpload, match="not a ZIP archive"):
        read_upload(RATINGS_CSV.encode(), "export.zip", LIMIT)


def test_a_damaged_zip_is_refused():
    data = SAMPLE.read_bytes()[:1500]

    with pytest.raises(BadUpload, match="damaged"):
        read_upload(data, "export.zip", LIMIT)


def test_an_upload_over_the_size_limit_is_refused_as_too_large():
    with pytest.raises(UploadTooLarge, match="limit"):
        read_upload(b"x" * 2001, "ratings.csv", 2000)


def test_a_zip_bomb_is_refused():
    header = "Date,Name,Year,Letterboxd URI\n"
    data = make_zip({"watched.csv": header + " " * (8 * 1024 * 1024)})
    assert len(data) < 100_000

    with pytest.raises(BadUpload, match="expands"):
        read_upload(data, "export.zip", LIMIT)


def test_a_zip_expanding_past_the_total_limit_is_refused(monkeypatch):
    monkeypatch.setattr(export_reader, "MAX_UNCOMPRESSED_BYTES", 1000)
    data = make_zip({"ratings.csv": RATINGS_CSV * 10, "watched.csv": WATCHED_CSV * 10})

    with pytest.raises(BadUpload, match="expands to"):
        read_upload(data, "export.zip", LIMIT)


def test_a_zip_with_too_many_entries_is_refused(monkeypatch):
    monkeypatch.setattr(export_reader, "MAX_ZIP_ENTRIES", 5)
    data = make_zip({f"lists/list-{i}.csv": "Date,Name\n" for i in range(6)} | {"ratings.csv": RATINGS_CSV})

    with pytest.raises(BadUpload, match="entries"):
        read_upload(data, "export.zip", LIMIT)


@pytest.mark.parametrize("name", ["../ratings.csv", "likes/../../etc/passwd", "/ratings.csv",
                                  "C:/ratings.csv", "..\\ratings.csv"])
def test_a_zip_entry_that_climbs_out_or_is_absolute_is_refused(name):
    data = make_zip({"ratings.csv": RATINGS_CSV, name: WATCHED_CSV})

    with pytest.raises(BadUpload, match="unsafe entry name"):
        read_upload(data, "export.zip", LIMIT)


def test_a_zip_without_any_export_file_is_refused():
    data = make_zip({"notes.txt": "hello", "deleted/ratings.csv": RATINGS_CSV})

    with pytest.raises(BadUpload, match="none of ratings.csv"):
        read_upload(data, "export.zip", LIMIT)


def test_utf16_text_is_refused_with_a_clear_message():
    with pytest.raises(BadUpload, match="UTF-16"):
        read_upload(RATINGS_CSV.encode("utf-16"), "ratings.csv", LIMIT)


def test_windows_1252_bytes_are_read_and_the_repair_says_so():
    data = make_zip({"ratings.csv": "Date,Name,Year,Letterboxd URI,Rating\n2024-01-02,Amélie,2001,x,4\n"
                     "2024-01-03,Schindler’s List,1993,y,5\n".encode("cp1252")})

    files = read_upload(data, "export.zip", LIMIT)

    assert [row["Name"] for row in files.ratings] == ["Amélie", "Schindler’s List"]
    assert files.repairs == (Repair("ratings.csv", "read as Windows-1252 text (it is not UTF-8)"),)


def test_bytes_that_are_neither_utf8_nor_windows_1252_are_refused_naming_the_file():
    data = make_zip({"ratings.csv": b"Date,Name,Year,Letterboxd URI,Rating\n2024-01-02,Am\x81lie,2001,x,4\n"})

    with pytest.raises(BadUpload, match=r"ratings.csv is not UTF-8 text, nor Windows-1252 \(byte 0x81"):
        read_upload(data, "export.zip", LIMIT)


def test_a_missing_required_column_is_named_with_its_file():
    data = make_zip({"ratings.csv": "Date,Name,Year,Letterboxd URI\n2024-01-02,Heat,1995,x\n"})

    with pytest.raises(BadUpload, match=r"ratings.csv has no 'Rating' column"):
        read_upload(data, "export.zip", LIMIT)


def test_a_single_csv_missing_a_column_its_name_needs_is_refused():
    with pytest.raises(BadUpload, match=r"diary.csv has no 'Watched Date' column"):
        read_upload(RATINGS_CSV.encode(), "diary.csv", LIMIT)


def test_a_csv_that_is_not_an_export_file_is_refused():
    with pytest.raises(BadUpload, match="not a Letterboxd export file"):
        read_upload(b"Title,Score\nHeat,5\n", "scores.csv", LIMIT)


def test_a_file_over_the_row_limit_is_refused_clearly(monkeypatch):
    monkeypatch.setattr(export_reader, "MAX_ROWS_PER_FILE", 3)
    header = "Date,Name,Year,Letterboxd URI\n"
    rows = [f"2024-01-01,Film {i},2000,x\n" for i in range(4)]

    assert len(read_upload((header + "".join(rows[:3])).encode(), "watched.csv", LIMIT).watched) == 3
    with pytest.raises(BadUpload, match="more than 3 rows"):
        read_upload((header + "".join(rows)).encode(), "watched.csv", LIMIT)


def test_short_rows_are_padded_and_blank_rows_skipped():
    text = "Date,Name,Year,Letterboxd URI,Rating\n2024-01-02,Heat,1995\n\n,,,,\n"

    files = read_upload(text.encode(), "ratings.csv", LIMIT)

    assert files.ratings == [{"Date": "2024-01-02", "Name": "Heat", "Year": "1995", "Letterboxd URI": "",
                              "Rating": ""}]


def test_a_file_at_the_default_row_limit_is_read():
    rows = export_reader.MAX_ROWS_PER_FILE
    text = "Date,Name,Year,Letterboxd URI\n" + "".join(
        f"2024-01-01,Film number {i},{1900 + i % 120},https://boxd.it/{i}\n" for i in range(rows))
    data = make_zip({"watched.csv": text})

    files = read_upload(data, "export.zip", LIMIT)

    assert len(files.watched) == rows and files.watched[-1]["Name"] == f"Film number {rows - 1}"


def test_limits_given_by_the_caller_replace_the_defaults():
    text = "Date,Name,Year,Letterboxd URI\n" + "".join(f"2024-01-01,Film {i},2000,x\n" for i in range(5))

    assert len(read_upload(text.encode(), "watched.csv", LIMIT, max_rows_per_file=5).watched) == 5
    with pytest.raises(BadUpload, match="more than 4 rows"):
        read_upload(text.encode(), "watched.csv", LIMIT, max_rows_per_file=4)
    with pytest.raises(BadUpload, match="expands to"):
        read_upload(make_zip({"watched.csv": text}), "export.zip", LIMIT, max_uncompressed_bytes=100)


def test_a_title_over_the_limit_is_refused_naming_the_file_and_row():
    ok, long = "A" * 40, "B" * 41
    text = f"Date,Name,Year,Letterboxd URI\n2024-01-01,{ok},2000,x\n2024-01-01,{long},2000,x\n"

    with pytest.raises(BadUpload, match=r"watched.csv row 2: a film title of 41 characters; the limit is 40"):
        read_upload(make_zip({"watched.csv": text}), "export.zip", LIMIT, max_title_chars=40)
    assert read_upload(text.encode(), "watched.csv", LIMIT, max_title_chars=41).watched[1]["Name"] == long


def test_a_long_review_is_read_but_never_held():
    text = ("Date,Name,Year,Letterboxd URI,Rating,Rewatch,Review,Tags,Watched Date\n"
            f"2024-01-01,Heat,1995,x,4,,\"{'word ' * 100_000}\",,2024-01-01\n")

    files = read_upload(make_zip({"reviews.csv": text}), "export.zip", LIMIT)

    assert files.reviews == [{"Date": "2024-01-01", "Name": "Heat", "Year": "1995", "Letterboxd URI": "x",
                              "Rating": "4", "Rewatch": "", "Watched Date": "2024-01-01"}]


def test_the_committed_sample_export_is_what_its_script_writes():
    spec = importlib.util.spec_from_file_location("make_sample_export", SAMPLE.with_name("make_sample_export.py"))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)

    expected = script.export_files()
    with zipfile.ZipFile(SAMPLE) as archive:
        assert sorted(archive.namelist()) == sorted(expected)
        for name, content in expected.items():
            assert archive.read(name) == content, name


MODERN = SAMPLE.with_name("modern_export.zip")


@pytest.mark.skipif(not (Path(__file__).resolve().parents[3] / "shared" / "data" / "wikipedia-movies").is_dir(),
                    reason="the shared source data is not beside the repository")
def test_the_committed_modern_export_is_what_its_script_writes():
    spec = importlib.util.spec_from_file_location("make_modern_export", MODERN.with_name("make_modern_export.py"))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)

    expected = script.export_files(script.DEFAULT_SOURCE)
    with zipfile.ZipFile(MODERN) as archive:
        assert sorted(archive.namelist()) == sorted(expected)
        for name, content in expected.items():
            assert archive.read(name) == content, name


def test_rows_over_the_limit_for_all_files_together_are_refused():
    watched = "Date,Name,Year,Letterboxd URI\n" + "".join(f"2024-01-01,Film {i},2000,x\n" for i in range(3))
    data = make_zip({"watched.csv": watched, "watchlist.csv": watched})

    assert len(read_upload(data, "export.zip", LIMIT, max_rows=6).watchlist) == 3
    with pytest.raises(BadUpload, match="more than 5 rows together"):
        read_upload(data, "export.zip", LIMIT, max_rows=5)


DIARY_HEADER = "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date"


def test_a_semicolon_separated_export_is_read_by_the_separator_its_header_uses():
    text = ("\ufeff" + DIARY_HEADER.replace(",", ";") + "\r\n"
            '2023-07-28;"Crouching Tiger; Hidden Dragon";2000;https://boxd.it/a;4,5;;"tag; other";2023-07-28\r\n'
            "2023-07-29;Heat;1995;https://boxd.it/b;;Yes;;2023-07-29\r\n")

    files = read_upload(make_zip({"diary.csv": text}), "export.zip", LIMIT)

    assert [(row["Name"], row["Rating"], row["Watched Date"]) for row in files.diary] == [
        ("Crouching Tiger; Hidden Dragon", "4,5", "2023-07-28"), ("Heat", "", "2023-07-29")]
    assert files.repairs == (Repair("diary.csv", "separator ';'"),)


def test_a_tab_separated_file_and_an_excel_sep_line_are_read():
    tabbed = "Date\tName\tYear\tLetterboxd URI\n2024-01-02\tHeat, the film\t1995\tx\n"
    sep_line = "sep=;\r\nDate;Name;Year;Letterboxd URI;Rating\r\n2024-01-02;Arrival;2016;y;4\r\n"

    files = read_upload(make_zip({"watched.csv": tabbed, "ratings.csv": sep_line}), "export.zip", LIMIT)
    single = read_upload(sep_line.encode(), "letterboxd-ratings.csv", LIMIT)

    assert files.watched[0]["Name"] == "Heat, the film" and files.ratings[0]["Rating"] == "4"
    assert set(files.repairs) == {Repair("watched.csv", "separator tab"), Repair("ratings.csv", "separator ';'")}
    assert single.ratings[0]["Name"] == "Arrival" and single.repairs == (Repair("ratings.csv", "separator ';'"),)


def test_the_header_is_found_even_when_a_byte_order_mark_was_mangled_too():
    text = "\u00ef\u00bb\u00bf" + RATINGS_CSV.replace("Arrival", "AmÃ©lie")

    files = read_upload(make_zip({"ratings.csv": text}), "export.zip", LIMIT)

    assert files.ratings[0]["Date"] == "2024-01-02" and files.ratings[0]["Name"] == "Amélie"


def test_titles_with_mangled_accents_are_repaired_and_the_repair_counts_them():
    mangled = ["AmÃ©lie", "Ã€ bout de souffle", "DÃ¬di (å¼Ÿå¼Ÿ)", "Hâ‚‚O"]  # ftfy alone is unsure of the last
    rows = "".join(f"2024-01-0{n + 1},{title},2001,x{n},4\n" for n, title in enumerate(mangled))

    files = read_upload(make_zip({"ratings.csv": "Date,Name,Year,Letterboxd URI,Rating\n" + rows}), "e.zip", LIMIT)

    assert [row["Name"] for row in files.ratings] == ["Amélie", "À bout de souffle", "Dìdi (弟弟)", "H₂O"]
    assert files.repairs == (Repair("ratings.csv", "4 titles with mangled accents repaired (AmÃ©lie -> Amélie; "
                                                   "Ã€ bout de souffle -> À bout de souffle; "
                                                   "DÃ¬di (å¼Ÿå¼Ÿ) -> Dìdi (弟弟))"),)


def test_titles_whose_accents_are_right_are_left_as_they_are():
    titles = ["Amélie", "Schindler’s List", "臥虎藏龍", "WALL·E", "Æon Flux", "Hâ‚‚O"]
    rows = "".join(f'2024-01-02,"{title}",2001,x,4\n' for title in titles)

    files = read_upload(make_zip({"ratings.csv": "Date,Name,Year,Letterboxd URI,Rating\n" + rows}), "e.zip", LIMIT)

    assert [row["Name"] for row in files.ratings] == titles and files.repairs == () and files.unread == ()


def test_title_repairs_stop_at_their_budget_and_the_titles_left_are_counted(monkeypatch):
    monkeypatch.setattr(export_reader, "MAX_REPAIRED_TITLE_CHARS", 20)
    rows = "".join(f"2024-01-02,AmÃ©lie {n},2001,x,4\n" for n in range(5))  # 10 characters each

    files = read_upload(("Date,Name,Year,Letterboxd URI,Rating\n" + rows).encode(), "ratings.csv", LIMIT)

    assert [row["Name"] for row in files.ratings] == ["Amélie 0", "Amélie 1", "AmÃ©lie 2", "AmÃ©lie 3", "AmÃ©lie 4"]
    assert files.unread == (Unread("ratings.csv", "title with mangled accents not repaired (over the repair limit)",
                                   3, ("AmÃ©lie 2", "AmÃ©lie 3", "AmÃ©lie 4")),)


def test_rows_with_more_values_than_the_header_are_counted_unread_by_row():
    text = ("Date;Name;Year;Letterboxd URI\n2024-01-02;Heat;1995;x\n"
            "2024-01-03;Crouching Tiger; Hidden Dragon;2000;y\n2024-01-04;Alien;1979;z;\n")

    files = read_upload(text.encode(), "watched.csv", LIMIT)

    assert [row["Name"] for row in files.watched] == ["Heat", "Alien"]
    assert files.unread == (Unread("watched.csv", "more values than the header has columns", 1, ("row 3",)),)


def test_a_header_of_one_endless_line_is_refused_without_reading_it_whole():
    data = ("Date;Name;" + "x" * (3 * export_reader.HEADER_SNIFF_CHARS)).encode()

    with pytest.raises(BadUpload, match="not a Letterboxd export file"):
        read_upload(data, "upload.csv", LIMIT)
    with pytest.raises(BadUpload, match="not a well-formed CSV|has no 'Year' column"):
        read_upload(data, "watched.csv", LIMIT)
