"""Read a Letterboxd export upload (the ZIP from Settings -> Data, or one of its CSVs).

Files are matched by their full path inside the archive, at the root or inside one
top-level folder: ratings.csv, watched.csv, watchlist.csv, likes/films.csv,
diary.csv, reviews.csv, and profile.csv (only its Username is read). Everything
else, deleted/ and orphaned/ included, is ignored.

An export a member opened in a spreadsheet and saved again is read as Letterboxd wrote
it: the separator (',', ';', tab or '|') is the one its header uses (or an Excel "sep="
line names), text that is not UTF-8 is read as Windows-1252, and titles whose accents
were mangled (UTF-8 read as Windows-1252 and saved again: "AmÃ©lie") are repaired with
ftfy. Each file's repairs, and the rows it could not read with their reason, are listed
on ExportFiles. Dates are read in services/export_import.py.

Errors:
  BadUpload        the upload is not a readable export, or is beyond a limit (the message says why)
  UploadTooLarge   the upload is over the size limit (a BadUpload too)
Cells are plain text: a cell such as "=HYPERLINK(...)" is never evaluated. Only the
columns the import uses are kept (review texts and tags are dropped as they are read),
and every dimension is bounded where it arrives: bytes, entries, inflated bytes, rows
per file, title length, and the characters given to the accent repair.
"""
from __future__ import annotations

import csv
import io
import operator
import posixpath
import re
import zipfile
from dataclasses import dataclass, field

import ftfy
import ftfy.bad_codecs  # noqa: F401 - registers "sloppy-windows-1252", Windows-1252 with every byte mapped

from config import Settings
from infra import fair_share
from services.domain import Repair, Unread, UnreadTally

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
PROFILE_USERNAME = "Username"
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

# A spreadsheet may save the file with another separator: the header shows which one.
DELIMITER_NAMES = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}
HEADER_SNIFF_CHARS = 64 * 1024  # a header line is far shorter; a longer one is not an export's
_KNOWN_COLUMNS = frozenset((*KEPT_COLUMNS, "Tags", "Review"))
# UTF-8 first (Letterboxd's own), then Windows-1252: what Excel saves as "CSV" on Windows.
TEXT_ENCODINGS = ("utf-8-sig", "cp1252")
_MANGLED_BOM = "\u00ef\u00bb\u00bf"  # a UTF-8 byte order mark read as Windows-1252 and saved again
# Characters of titles given to ftfy in one upload: it costs about 0.15 us each, so a hostile upload
# of 100,000 long titles that look mangled costs at most a third of a second more.
MAX_REPAIRED_TITLE_CHARS = 2_000_000
MOJIBAKE_EXAMPLES = 3
UNREAD_EXAMPLES = 3
# UTF-8 read as Windows-1252 or Latin-1 leaves a lead byte (U+00C2-U+00F4) before a continuation
# byte (0x80-0xBF as Windows-1252 shows it). Titles without such a pair are never given to ftfy,
# which keeps its cost to the titles that may need it.
_MOJIBAKE_HINT = re.compile("[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e"
                            "\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030"
                            "\u2039\u203a\u20ac\u2122]")

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
    repairs: tuple[Repair, ...] = ()  # what a spreadsheet changed and was read back as meant
    unread: tuple[Unread, ...] = ()  # rows and values that could not be read, by file and reason

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
    notes = _Notes()
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
            rows[kind] = _parse_csv(raw, relative, kind, limits, limits.rows - sum(map(len, rows.values())), notes)
        del raw
    if not rows:
        raise BadUpload("The ZIP archive holds none of ratings.csv, watched.csv, diary.csv, reviews.csv, "
                        "watchlist.csv or likes/films.csv; is it a Letterboxd export?")
    return ExportFiles(username=username, size_bytes=total, repairs=tuple(notes.repairs), unread=notes.unread.unread(),
                       **rows)


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
    first_lines = data[:4 * HEADER_SNIFF_CHARS].split(b"\n", 2)  # a character is at most 4 bytes of UTF-8
    first_line = _decode(first_lines[0], name)
    delimiter = _sep_line(first_line)
    if delimiter is not None and len(first_lines) > 1:  # an Excel "sep=;" line: the header is the next one
        first_line = _decode(first_lines[1], name)
    delimiter = delimiter or _delimiter(first_line)
    header = [_column(cell) for cell in next(csv.reader([first_line], delimiter=delimiter), [])]
    kind = detect_kind(filename, header)
    if kind is None:
        raise BadUpload(f"{name} is not a Letterboxd export file: its header has no Name and Year "
                        "columns. Upload the export ZIP or one of ratings.csv, watched.csv, diary.csv, "
                        "reviews.csv, watchlist.csv, likes/films.csv.")
    fair_share.weigh(len(data))
    notes = _Notes()
    rows = _parse_csv(data, name, kind, limits, notes=notes)
    return ExportFiles(size_bytes=len(data), repairs=tuple(notes.repairs), unread=notes.unread.unread(), **{kind: rows})


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


def _not_text(raw: bytes, name: str) -> BadUpload:
    """Return the refusal of bytes that are neither UTF-8 nor Windows-1252 text, naming the first bad byte."""
    try:
        raw.decode(TEXT_ENCODINGS[-1])
        at = 0
    except UnicodeDecodeError as exc:
        at = exc.start
    return BadUpload(f"{name} is not UTF-8 text, nor Windows-1252 (byte 0x{raw[at]:02x} at position {at}); "
                     "Letterboxd exports are UTF-8. Upload the original export file, or save it again as "
                     "CSV UTF-8.")


def _decode(raw: bytes, name: str) -> str:
    """Decode text as UTF-8 (with or without BOM), else Windows-1252; refuse anything else."""
    _check_text(raw, name)
    for encoding in TEXT_ENCODINGS:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _not_text(raw, name)


def _column(cell: str) -> str:
    """Return a header cell's column name, without spaces or a byte order mark (even a mangled one)."""
    return cell.strip().lstrip("\ufeff").removeprefix(_MANGLED_BOM).strip()


def _delimiter(line: str, known: frozenset[str] = _KNOWN_COLUMNS) -> str:
    """Return the separator a header line uses: the one that splits it into the most known columns."""
    best, found = ",", 0
    for delimiter in DELIMITER_NAMES:
        columns = {_column(cell) for cell in next(csv.reader([line], delimiter=delimiter), [])}
        if len(columns & known) > found:
            best, found = delimiter, len(columns & known)
    return best


def _sep_line(line: str) -> str | None:
    """Return the separator an Excel "sep=;" first line names, or None when the line is not one."""
    text = _column(line)
    if len(text) == 5 and text.lower().startswith("sep=") and text[4] in DELIMITER_NAMES:
        return text[4]
    return None


class _Notes:
    """What reading an upload's files repaired and could not read; the title repairs' cache and budget."""

    def __init__(self) -> None:
        self.repairs: list[Repair] = []
        self.unread = UnreadTally(UNREAD_EXAMPLES)
        self._titles: dict[str, str | None] = {}  # title as read -> repaired (None: over the budget)
        self._chars_left = MAX_REPAIRED_TITLE_CHARS

    def child(self) -> _Notes:
        """Return notes for one file that share this upload's title cache and budget."""
        notes = _Notes()
        notes._titles = self._titles
        notes._chars_left = self._chars_left
        return notes

    def settle(self, child: _Notes) -> None:
        """Take in the notes of a file read without errors, and what it spent of the budget."""
        self.repairs.extend(child.repairs)
        self.unread.update(child.unread.unread())
        self._chars_left = child._chars_left

    def repaired_title(self, title: str) -> str | None:
        """Return the title with mangled accents repaired (itself when none are), None when over the budget."""
        if title.isascii() or not _MOJIBAKE_HINT.search(title):
            return title
        if title not in self._titles:
            if len(title) > self._chars_left:
                self._titles[title] = None
            else:
                self._chars_left -= len(title)
                self._titles[title] = ftfy.fix_encoding(title)
        return self._titles[title]

    def unmangled(self, title: str) -> str | None:
        """Return the title as UTF-8 read as Windows-1252 had it before, None when it cannot have been that."""
        if len(title) > self._chars_left:
            return None
        self._chars_left -= len(title)
        try:
            return title.encode("sloppy-windows-1252").decode("utf-8")
        except UnicodeError:
            return None


def _parse_csv(raw: bytes, name: str, kind: str, limits: _Limits | None = None,
               rows_left: int | None = None, notes: _Notes | None = None) -> list[dict[str, str]]:
    """Parse one export CSV of a known kind into row dicts of the kept columns, within the limits.

    UTF-8 first, then, when the bytes are not UTF-8, Windows-1252. The text is decoded as it
    is parsed, so a file never sits in memory twice; repairs and unread rows go to notes.
    """
    limits = limits or _Limits(MAX_ROWS_PER_FILE, MAX_ROWS, MAX_TITLE_CHARS, MAX_UNCOMPRESSED_BYTES)
    rows_left = limits.rows if rows_left is None else rows_left
    notes = notes if notes is not None else _Notes()
    _check_text(raw, name)
    for encoding in TEXT_ENCODINGS:
        file_notes = notes.child()
        try:
            rows = _parse_text(raw, encoding, name, kind, limits, rows_left, file_notes)
        except UnicodeDecodeError:
            continue
        if encoding != TEXT_ENCODINGS[0]:
            file_notes.repairs.insert(0, Repair(KIND_FILE[kind], "read as Windows-1252 text (it is not UTF-8)"))
        notes.settle(file_notes)
        return rows
    raise _not_text(raw, name)


def _parse_text(raw: bytes, encoding: str, name: str, kind: str, limits: _Limits, rows_left: int,
                notes: _Notes) -> list[dict[str, str]]:
    """Parse one export CSV decoded as `encoding`; UnicodeDecodeError when the bytes are not that."""
    file = KIND_FILE[kind]  # repairs and unread rows name the file as the export does
    stream = io.TextIOWrapper(io.BytesIO(raw), encoding=encoding, newline="")
    first = stream.readline(HEADER_SNIFF_CHARS)
    delimiter = _sep_line(first)
    header_row = 1
    if delimiter is None:
        delimiter = _delimiter(first)
        stream.seek(0)
    else:
        header_row = 2
    if delimiter != ",":
        notes.repairs.append(Repair(file, f"separator {DELIMITER_NAMES[delimiter]}"))
    reader = csv.reader(stream, delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None:
            raise BadUpload(f"{name} is empty.")
        header = [_column(column) for column in header]
        for column in REQUIRED_COLUMNS[kind]:
            if column not in header:
                raise BadUpload(f"{name} has no {column!r} column (its header is {', '.join(header)}).")
        kept = [column for column in KEPT_COLUMNS if column in header]
        at = [header.index(column) for column in kept]
        # When the kept columns lead the header in order (Letterboxd's ratings, watched, watchlist and likes
        # files), a row's first cells are its values as they are.
        cells_of = None if at == list(range(len(at))) else operator.itemgetter(*at)  # two or more columns
        title_at, width, title_chars = header.index("Name"), len(header), limits.title_chars
        rows = []
        most = min(limits.rows_per_file, rows_left)
        for number, cells in enumerate(fair_share.pace(reader), start=header_row + 1):
            if len(cells) != width:
                if len(cells) < width:
                    cells += [""] * (width - len(cells))
                elif "".join(cells[width:]).strip():  # a row with these is not blank either
                    notes.unread.count(file, "more values than the header has columns", f"row {number}")
                    continue
            title = cells[title_at]
            # A row with a title is not blank: the join is only needed for rows without one.
            if not title.strip() and not "".join(cells).strip():
                continue
            if len(rows) >= most:
                if len(rows) >= limits.rows_per_file:
                    raise BadUpload(f"{name} has more than {limits.rows_per_file:,} rows; that is over the limit.")
                raise BadUpload(f"The export's files hold more than {limits.rows:,} rows together; "
                                "that is over the limit.")
            if len(title) > title_chars:
                raise BadUpload(f"{name} row {len(rows) + 1}: a film title of {len(title):,} "
                                f"characters; the limit is {title_chars:,}.")
            rows.append(dict(zip(kept, cells if cells_of is None else cells_of(cells))))
    except csv.Error as exc:
        raise BadUpload(f"{name} is not a well-formed CSV file ({exc}).") from None
    _repair_titles(rows, file, notes)
    return rows


def _repair_titles(rows: list[dict[str, str]], file: str, notes: _Notes) -> None:
    """Repair the mangled accents of one file's titles in place; note how many, with a few examples."""
    repaired, examples, unsure = 0, [], []
    for row in rows:
        title = row["Name"]
        if title.isascii():  # nothing to repair, nor to be unsure of
            continue
        fixed = notes.repaired_title(title)
        if fixed is None:
            notes.unread.count(file, "title with mangled accents not repaired (over the repair limit)", title)
        elif fixed != title:
            row["Name"], repaired = fixed, repaired + 1
            if len(examples) < MOJIBAKE_EXAMPLES:
                examples.append(f"{title} -> {fixed}")
        elif not title.isascii() and _MOJIBAKE_HINT.search(title):
            unsure.append(row)
    if not repaired:
        return
    # ftfy leaves a title alone when it is unsure ("Hâ‚‚O"); in a file whose other titles were
    # mangled, these were mangled alike, and undoing it exactly (back to UTF-8) is safe.
    for row in unsure:
        fixed = notes.unmangled(row["Name"])
        if fixed is not None:
            row["Name"], repaired = fixed, repaired + 1
    notes.repairs.append(Repair(file, f"{repaired:,} {'title' if repaired == 1 else 'titles'} with mangled "
                                      f"accents repaired ({'; '.join(examples)})"))


def _username(raw: bytes, name: str) -> str | None:
    """Read only the Username of profile.csv; every other column is personal data left unread."""
    try:
        text = _decode(raw, name)
        lines = io.StringIO(text, newline="")
        first_line = lines.readline(HEADER_SNIFF_CHARS)
        lines.seek(0)
        reader = csv.reader(lines, delimiter=_delimiter(first_line, frozenset((PROFILE_USERNAME,))))
        header = [_column(column) for column in next(reader, [])]
        first = next(reader, [])
    except (BadUpload, csv.Error):
        return None
    if PROFILE_USERNAME not in header:
        return None
    at = header.index(PROFILE_USERNAME)
    value = first[at].strip() if at < len(first) else ""
    return value or None


def _base(filename: str) -> str:
    """Return the last part of an uploaded file name, whatever slashes it uses."""
    return posixpath.basename((filename or "").replace("\\", "/"))


def _megabytes(size: int) -> str:
    """Format a byte count in megabytes for messages."""
    return f"{size / (1024 * 1024):.1f} MB"
