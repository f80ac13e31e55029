"""Save an export's CSV files again as a spreadsheet does: another separator, dates, encoding."""
from __future__ import annotations

import csv
import io
import zipfile
from datetime import date

import ftfy.bad_codecs  # noqa: F401 - registers "sloppy-windows-1252"

EXPORT_FILES = ("ratings.csv", "watched.csv", "watchlist.csv", "likes/films.csv", "diary.csv", "reviews.csv")
DATE_FORMS = {
    "iso": lambda day: day.isoformat(),
    "us": lambda day: f"{day.month}/{day.day}/{day.year}",
    "uk": lambda day: f"{day.day:02d}/{day.month:02d}/{day.year}",
    "de": lambda day: f"{day.day:02d}.{day.month:02d}.{day.year}",
    "time": lambda day: f"{day.isoformat()} 00:00:00",
}


def resave_csv(raw: bytes, separator: str = ",", dates: str = "iso", encoding: str = "utf-8") -> bytes:
    """Return a CSV file as a spreadsheet saves it again: CRLF line ends, the separator, dates, encoding.

    dates: a key of DATE_FORMS. encoding: "utf-8", "utf-8-sig" (a byte order mark), "cp1252"
    (Windows-1252), or "mojibake" (UTF-8 read as Windows-1252, then saved as UTF-8 with a byte order mark).
    """
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    at = [i for i, column in enumerate(rows[0]) if column in ("Date", "Watched Date")]
    for row in rows[1:]:
        for i in at:
            if i < len(row) and row[i]:
                row[i] = DATE_FORMS[dates](date.fromisoformat(row[i]))
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=separator, lineterminator="\r\n").writerows(rows)
    text = out.getvalue()
    if encoding == "mojibake":
        return text.encode("utf-8").decode("sloppy-windows-1252").encode("utf-8-sig")
    return text.encode(encoding)


def resave_export(data: bytes, **how: str) -> bytes:
    """Return an export ZIP with each of its export files saved again (see resave_csv), the others as they were."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            raw = source.read(entry)
            target.writestr(entry.filename, resave_csv(raw, **how) if entry.filename in EXPORT_FILES else raw)
    return buffer.getvalue()
