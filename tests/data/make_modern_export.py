"""Write tests/data/modern_export.zip: a member who logs mostly recent releases, in Letterboxd's format.

Run `python tests/data/make_modern_export.py [SOURCE_DIR]` (SOURCE_DIR defaults to
../shared/data beside the repository); the same source always gives the same bytes.

The diary is drawn, with a fixed seed, from Wikipedia's American films: mostly
2014-2023 releases, some older films, and a dozen 2024 releases (most are in no
catalog source; two were first listed for 2023 and match with the year one off). Titles and years carry the quirks of real exports: Letterboxd's
premiere year one off the release year, "The" moved or dropped, punctuation that
differs, "&" for "and" (and back), accents added or lost. Ratings, likes and
dates are invented; profile.csv holds no real person.
"""
from __future__ import annotations

import gzip
import json
import random
import sys
import unicodedata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_sample_export import build_zip, csv_bytes, short_link, stars_text  # noqa: E402

OUTPUT = Path(__file__).with_name("modern_export.zip")
DEFAULT_SOURCE = Path(__file__).resolve().parents[3] / "shared" / "data"
WIKIPEDIA_FILE = Path("wikipedia-movies") / "movies.jsonl.gz"
USERNAME = "moderncinephile"
SEED = 2024
RECENT_FILMS = 340
OLDER_FILMS = 40
MIN_CAST = 3  # films with a fuller Wikipedia entry are the ones people log
# 2024 releases: nearly all after every catalog source's snapshot.
NOT_IN_ANY_CATALOG = [
    ("Anora", 2024), ("The Brutalist", 2024), ("Challengers", 2024), ("Dune: Part Two", 2024),
    ("Furiosa: A Mad Max Saga", 2024), ("Conclave", 2024), ("The Substance", 2024), ("Wicked", 2024),
    ("Inside Out 2", 2024), ("Deadpool & Wolverine", 2024), ("Civil War", 2024), ("Sing Sing", 2024),
]
# Share of films given each quirk.
YEAR_OFF_BY_ONE = 0.12
ARTICLE_QUIRK = 0.5  # of titles that start with "The"
PUNCTUATION_QUIRK = 0.08
AMPERSAND_QUIRK = 0.5  # of titles with "&" or " and "
ACCENT_QUIRK = 0.05
_ACCENTED = {"e": "é", "a": "á", "o": "ö", "u": "ü", "i": "í"}


def read_films(source: Path) -> list[dict]:
    """Read Wikipedia's films (title, year, cast count) in file order."""
    with gzip.open(source / WIKIPEDIA_FILE, "rt", encoding="utf-8") as handle:
        return [{"title": row["title"], "year": row["year"], "cast": len(row.get("cast") or ())}
                for row in map(json.loads, handle)]


def with_quirks(title: str, year: int, rng: random.Random) -> tuple[str, int]:
    """Return the title and year as a Letterboxd export might show them."""
    if rng.random() < YEAR_OFF_BY_ONE:
        year += rng.choice((-1, 1))
    if title.startswith("The ") and rng.random() < ARTICLE_QUIRK:
        title = title[4:] if rng.random() < 0.5 else f"{title[4:]}, The"
    if rng.random() < PUNCTUATION_QUIRK:
        title = title.replace(": ", " - ") if ": " in title else title.replace("'", "\u2019") + "!"
    if ("&" in title or " and " in title) and rng.random() < AMPERSAND_QUIRK:
        title = title.replace("&", "and") if "&" in title else title.replace(" and ", " & ", 1)
    if rng.random() < ACCENT_QUIRK:
        if title.isascii():
            at = next((i for i, ch in enumerate(title) if ch in _ACCENTED), None)
            if at is not None:
                title = title[:at] + _ACCENTED[title[at]] + title[at + 1:]
        else:
            title = "".join(ch for ch in unicodedata.normalize("NFKD", title) if not unicodedata.combining(ch))
    return title, year


def diary_films(source: Path) -> list[tuple[str, int]]:
    """Pick the member's films: recent ones, some older ones, and films no catalog has."""
    rng = random.Random(SEED)
    films = [f for f in read_films(source) if f["cast"] >= MIN_CAST]
    recent = sorted({(f["title"], f["year"]) for f in films if 2014 <= f["year"] <= 2023})
    older = sorted({(f["title"], f["year"]) for f in films if 1970 <= f["year"] < 2014})
    chosen = rng.sample(recent, RECENT_FILMS) + rng.sample(older, OLDER_FILMS)
    logged = [with_quirks(title, year, rng) for title, year in chosen] + NOT_IN_ANY_CATALOG
    rng.shuffle(logged)
    return list(dict.fromkeys(logged))


def export_files(source: Path) -> dict[str, bytes]:
    """Return the export's files by path."""
    rng = random.Random(SEED + 1)
    films = diary_films(source)
    base = ["Date", "Name", "Year", "Letterboxd URI"]
    watched, ratings, likes, diary = [], [], [], []
    for i, (name, year) in enumerate(films):
        month, date = divmod(i, 28)
        when = f"{2021 + month // 12}-{month % 12 + 1:02d}-{date + 1:02d}"
        link = short_link(i)
        stars = rng.choice((None, 2.0, 2.5, 3.0, 3.0, 3.5, 3.5, 4.0, 4.0, 4.5, 5.0))
        watched.append([when, name, year, link])
        if stars is not None:
            ratings.append([when, name, year, link, stars_text(stars)])
        if stars is not None and stars >= 4.5 and rng.random() < 0.5:
            likes.append([when, name, year, link])
        diary.append([when, name, year, short_link(5000 + i), stars_text(stars), "", "", when])
    profile_header = ["Date Joined", "Username", "Given Name", "Family Name", "Email Address", "Location",
                      "Website", "Bio", "Pronoun", "Favorite Films"]
    profile = [["2020-01-02 10:00:00", USERNAME, "Max", "Modern", "max@example.invalid", "", "", "", "", ""]]
    return {
        "profile.csv": csv_bytes(profile_header, profile),
        "watched.csv": csv_bytes(base, watched),
        "ratings.csv": csv_bytes(base + ["Rating"], ratings),
        "diary.csv": csv_bytes(base + ["Rating", "Rewatch", "Tags", "Watched Date"], diary),
        "likes/films.csv": csv_bytes(base, likes),
        "watchlist.csv": csv_bytes(base, []),
    }


def main(source: Path = DEFAULT_SOURCE, output: Path = OUTPUT) -> None:
    """Write the modern export ZIP."""
    output.write_bytes(build_zip(export_files(source)))
    print(f"wrote {output} ({output.stat().st_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE)
