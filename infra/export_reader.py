"""Read a Letterboxd export upload (the ZIP from Settings -> Data, or one of its CSVs).

Files are matched by their full path inside the archive, at the root or inside one
top-level folder: ratings.csv, watched.csv, watchlist.csv, likes/films.csv,
diary.csv, reviews.csv, and profile.csv (only its Username is read). Everything
else, deleted/ and orphaned/ included, is ignored.

Errors:
  BadUpload        the upload is not a readable export, or is beyond a limit (the message says why)
  UploadTooLarge   the upload is over the size limit (a BadUpload too)
Cells are plain text: a cell such as "=HYPERLINK(...)" is never evaluated. Only the
columns the import uses are kept (review texts and tags are dropped as they are read),
and every dimension is bounded where it arrives: bytes, entries, inflated bytes, rows
per file, title length.
"""
from __future__ import annotations

import csv
import io
import operator
import posixpath
import zipfile
from dataclasses import dataclass, field

from config import Settings
from infra import fair_share

_DEFAULTS = Settings()
MAX_ROWS_PER_FILE = _DEFAULTS.export_max_rows_per_file
MAX_ROWS = _DEFAULTS.export_max_rows
MAX_TITLE_CHARS = _DEFAULTS.export_max_title_chars
MAX_UNCOMPRESSED_BYTES = int(_DEFAULTS.export_max_uncompressed_mb * 1024 * 1024)
MAX_COMPRESSION_RATIO = 100
RATIO_CHECK_MIN_BYTES = 1024 * 1024
MAX_ZIP_ENTRIES = 10_000
MAX_CSV_FIELD_CHARS = 1024 * 1024

KIND_PATHS = {
    "ratings.csv": "ratings",
    "watched.csv": "watched",
    "watchlist.csv": "watchlist",
    "likes/films.csv": "likes",
    "diary.csv": "diary",
    "reviews.csv": "reviews",
}
PROFILE_PATH = "profile.csv"
REQUIRED_COLUMNS = {
    "ratings": ("Name", "Year", "Rating"),
    "watched": ("Name", "Year"),
    "watchlist": ("Name", "Year"),
    "likes": ("Name", "Year"),
    "diary": ("Name", "Year", "Watched Date"),
    "reviews": ("Name", "Year", "Review"),
}
KIND_FILE = {kind: path for path, kind in KIND_PATHS.items()}
# The columns services/export_import.py reads; the others (reviews, tags) are dropped on reading.
KEPT_COLUMNS = ("Date", "Name", "Year", "Letterboxd URI", "Rating", "Rewatch", "Watched Date")
_IGNORED_TOP_FOLDERS = ("__MACOSX",)
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")

# Long reviews exceed the csv module's default field limit of 128 KiB.
csv.field_size_limit(max(csv.field_size_limit(), MAX_CSV_FIELD_CHARS))


class BadUpload(ValueError):
    """The upload is not a readable Letterboxd export."""


class UploadTooLarge(BadUpload):
    """The upload is larger than allowed."""


@dataclass(frozen=True)
class ExportFiles:
    """Rows of each export file kind (dicts keyed by the CSV header) and the username."""

    ratings: list[dict[str, str]] = field(default_factory=list)
    watched: list[dict[str, str]] = field(default_factory=list)
    watchlist: list[dict[str, str]] = field(default_factory=list)
    likes: list[dict[str, str]] = field(default_factory=list)
    diary: list[dict[str, str]] = field(default_factory=list)
    reviews: list[dict[str, str]] = field(default_factory=list)
    username: str | None = None
    size_bytes: int = 0  # the upload's unzipped size: what reading it cost, and what working on it will

    def kinds(self) -> list[str]:
        """Return the kinds that hold at least one row."""
        return [kind for kind in KIND_FILE if getattr(self, kind)]


@dataclass(frozen=True)
class _Limits:
    rows_per_file: int
    rows: int  # all files together
    title_chars: int
    uncompressed_bytes: int


def read_upload(data: bytes, filename: str, max_bytes: int, *, max_rows_per_file: int | None = None,
                max_rows: int | None = None, max_title_chars: int | None = None,
                max_uncompressed_bytes: int | None = None) -> ExportFiles:
    """Read an uploaded export ZIP or single CSV into ExportFiles, within the given limits."""
    limits = _Limits(max_rows_per_file or MAX_ROWS_PER_FILE, max_rows or MAX_ROWS, max_title_chars or MAX_TITLE_CHARS,
                     max_uncompressed_bytes or MAX_UNCOMPRESSED_BYTES)
    if len(data) > max_bytes:
        raise UploadTooLarge(
            f"The upload is {_megabytes(len(data))}; the limit is {_megabytes(max_bytes)}.")
    if not data:
        raise BadUpload("The uploaded file is empty.")
    name = (filename or "").strip()
    is_zip = data.startswith(_ZIP_MAGIC)
    if name.lower().endswith(".zip") and not is_zip:
        raise BadUpload(f"{_base(name)} is not a ZIP archive; upload the export ZIP from Letterboxd "
                        "(Settings -> Data -> Export your data) or one of its CSV files.")
    if is_zip:
        return _read_zip(data, limits)
    return _read_single_csv(data, name, limits)


def _read_zip(data: bytes, limits: _Limits) -> ExportFiles:
    """Read the export files of a ZIP archive."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise BadUpload(f"The ZIP archive is damaged ({exc}).") from None
    if len(entries) > MAX_ZIP_ENTRIES:
        raise BadUpload(f"The ZIP archive holds {len(entries)} entries; an export has far fewer "
                        f"(limit {MAX_ZIP_ENTRIES}).")
    total = 0
    for entry in entries:
        _check_entry_name(entry.filename)
        total += entry.file_size
        if entry.file_size > RATIO_CHECK_MIN_BYTES and (
                entry.file_size > MAX_COMPRESSION_RATIO * max(entry.compress_size, 1)):
            raise BadUpload(f"{entry.filename} in the ZIP expands {entry.file_size // max(entry.compress_size, 1)}"
                            " times; that is not a Letterboxd export.")
    if total > limits.uncompressed_bytes:
        raise BadUpload(f"The ZIP archive expands to {_megabytes(total)}; the limit is "
                        f"{_megabytes(limits.uncompressed_bytes)}.")
    fair_share.weigh(total)

    files = {entry.filename: entry for entry in entries if not entry.is_dir()}
    prefix = _export_root(list(files))
    rows: dict[str, list[dict[str, str]]] = {}
    username = None
    budget = limits.uncompressed_bytes
    for path, entry in files.items():
        if not path.startswith(prefix):
            continue
        relative = path[len(prefix):]
        kind = KIND_PATHS.get(relative)
        if kind is None and relative != PROFILE_PATH:
            continue
        raw = _read_entry(archive, entry, budget, limits.uncompressed_bytes)
        budget -= len(raw)
        if relative == PROFILE_PATH:
            username = _username(raw, relative)
        elif kind not in rows:
            rows[kind] = _parse_csv(raw, relative, kind, limits, limits.rows - sum(map(len, rows.values())))
        del raw
    if not rows:
        raise BadUpload("The ZIP archive holds none of ratings.csv, watched.csv, diary.csv, reviews.csv, "
                        "watchlist.csv or likes/films.csv; is it a Letterboxd export?")
    return ExportFiles(username=username, size_bytes=total, **rows)


def _check_entry_name(name: str) -> None:
    """Refuse entry names that are absolute or climb out of the archive."""
    normal = name.replace("\\", "/")
    parts = normal.split("/")
    if normal.startswith("/") or (len(normal) > 1 and normal[1] == ":") or ".." in parts:
        raise BadUpload(f"The ZIP archive has an unsafe entry name {name!r}.")


def _export_root(paths: list[str]) -> str:
    """Return the folder prefix the export files sit under: '' or one top-level folder."""
    names = [p for p in paths if p.split("/", 1)[0] not in _IGNORED_TOP_FOLDERS]
    if any(p in KIND_PATHS for p in names):
        return ""
    tops = {p.split("/", 1)[0] for p in names if "/" in p}
    if len(tops) == 1 and all("/" in p for p in names):
        return f"{tops.pop()}/"
    return ""


def _read_entry(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, budget: int, limit: int) -> bytes:
    """Read one entry, never inflating more than the budget whatever its header claims."""
    try:
        with archive.open(entry) as handle:
            raw = handle.read(budget + 1)
    except RuntimeError as exc:  # encrypted entry
        raise BadUpload(f"{entry.filename} in the ZIP cannot be read ({exc}).") from None
    except (zipfile.BadZipFile, NotImplementedError, EOFError, OSError, ValueError) as exc:
        raise BadUpload(f"{entry.filename} in the ZIP is damaged or uses an unsupported "
                        f"compression ({exc}).") from None
    if len(raw) > budget:
        raise BadUpload(f"The ZIP archive expands to more than {_megabytes(limit)}.")
    return raw


def _read_single_csv(data: bytes, filename: str, limits: _Limits) -> ExportFiles:
    """Read one uploaded CSV, finding its kind from its name and header."""
    name = _base(filename) or "the uploaded file"
    first_line = _decode(data.split(b"\n", 1)[0], name)
    header = next(csv.reader(io.StringIO(first_line)), [])
    kind = detect_kind(filename, [column.strip() for column in header])
    if kind is None:
        raise BadUpload(f"{name} is not a Letterboxd export file: its header has no Name and Year "
                        "columns. Upload the export ZIP or one of ratings.csv, watched.csv, diary.csv, "
                        "reviews.csv, watchlist.csv, likes/films.csv.")
    fair_share.weigh(len(data))
    return ExportFiles(size_bytes=len(data), **{kind: _parse_csv(data, name, kind, limits)})


def detect_kind(filename: str, header: list[str]) -> str | None:
    """Return the export file kind of a CSV from its file name, else its header, or None."""
    base = _base(filename).lower()
    stem = base[:-4] if base.endswith(".csv") else base
    by_name = {"films": "likes", "likes": "likes", "likes-films": "likes"}
    by_name.update({kind: kind for kind in REQUIRED_COLUMNS})
    if stem in by_name:
        return by_name[stem]
    columns = set(header)
    if not {"Name", "Year"} <= columns:
        return None
    if "Review" in columns:
        return "reviews"
    if "Watched Date" in columns or "Rewatch" in columns:
        return "diary"
    if "Rating" in columns:
        return "ratings"
    if "watchlist" in stem:
        return "watchlist"
    if "like" in stem:
        return "likes"
    return "watched"


def _check_text(raw: bytes, name: str) -> None:
    """Refuse UTF-16 and NUL bytes with a clear message (cheap checks on the bytes)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise BadUpload(f"{name} is UTF-16 text; Letterboxd exports are UTF-8. Upload the original "
                        "export file, or save it again as CSV UTF-8.")
    if b"\x00" in raw:
        raise BadUpload(f"{name} holds NUL bytes; it is not a CSV text file.")


def _not_utf8(raw: bytes, name: str, exc: UnicodeDecodeError) -> BadUpload:
    return BadUpload(f"{name} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at position {exc.start}); "
                     "Letterboxd exports are UTF-8. Upload the original export file, or save it "
                     "again as CSV UTF-8.")


def _decode(raw: bytes, name: str) -> str:
    """Decode UTF-8 (with or without BOM); refuse anything else with a clear message."""
    _check_text(raw, name)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _not_utf8(raw, name, exc) from None


def _parse_csv(raw: bytes, name: str, kind: str, limits: _Limits | None = None,
               rows_left: int | None = None) -> list[dict[str, str]]:
    """Parse one export CSV of a known kind into row dicts of the kept columns, within the limits.

    The text is decoded as it is parsed, so a file never sits in memory twice.
    """
    limits = limits or _Limits(MAX_ROWS_PER_FILE, MAX_ROWS, MAX_TITLE_CHARS, MAX_UNCOMPRESSED_BYTES)
    rows_left = limits.rows if rows_left is None else rows_left
    _check_text(raw, name)
    stream = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8-sig", newline="")
    reader = csv.reader(stream)
    try:
        header = next(reader, None)
        if header is None:
            raise BadUpload(f"{name} is empty.")
        header = [column.strip() for column in header]
        for column in REQUIRED_COLUMNS[kind]:
            if column not in header:
                raise BadUpload(f"{name} has no {column!r} column (its header is {', '.join(header)}).")
        kept = [column for column in KEPT_COLUMNS if column in header]
        cells_of = operator.itemgetter(*(header.index(column) for column in kept))  # two or more columns
        title_at, width = header.index("Name"), len(header)
        rows = []
        most = min(limits.rows_per_file, rows_left)
        for cells in fair_share.pace(reader):
            if len(cells) < width:
                cells += [""] * (width - len(cells))
            # A row with a title is not blank: the join is only needed for rows without one.
            if not cells[title_at].strip() and not "".join(cells).strip():
                continue
            if len(rows) >= most:
                if len(rows) >= limits.rows_per_file:
                    raise BadUpload(f"{name} has more than {limits.rows_per_file:,} rows; that is over the limit.")
                raise BadUpload(f"The export's files hold more than {limits.rows:,} rows together; "
                                "that is over the limit.")
            if len(cells[title_at]) > limits.title_chars:
                raise BadUpload(f"{name} row {len(rows) + 1}: a film title of {len(cells[title_at]):,} "
                                f"characters; the limit is {limits.title_chars:,}.")
            rows.append(dict(zip(kept, cells_of(cells))))
    except csv.Error as exc:
        raise BadUpload(f"{name} is not a well-formed CSV file ({exc}).") from None
    except UnicodeDecodeError:
        try:
            raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _not_utf8(raw, name, exc) from None
        raise
    return rows


def _username(raw: bytes, name: str) -> str | None:
    """Read only the Username of profile.csv; every other column is personal data left unread."""
    try:
        text = _decode(raw, name)
        reader = csv.reader(io.StringIO(text, newline=""))
        header = [column.strip() for column in next(reader, [])]
        first = next(reader, [])
    except (BadUpload, csv.Error):
        return None
    if "Username" not in header:
        return None
    at = header.index("Username")
    value = first[at].strip() if at < len(first) else ""
    return value or None


def _base(filename: str) -> str:
    """Return the last part of an uploaded file name, whatever slashes it uses."""
    return posixpath.basename((filename or "").replace("\\", "/"))


def _megabytes(size: int) -> str:
    """Format a byte count in megabytes for messages."""
    return f"{size / (1024 * 1024):.1f} MB"
