"""Write tests/data/sample_export.zip: a small Letterboxd export in the real file format.

Run `python tests/data/make_sample_export.py`; the same script always writes the same bytes.
The member's films are real films, nearly all in the embedded catalog; four are too
recent for it. Personal data in profile.csv is invented.
"""
from __future__ import annotations

import csv
import io
import sys
import zipfile
from pathlib import Path

OUTPUT = Path(__file__).with_name("sample_export.zip")
ZIP_DATE = (2024, 6, 1, 12, 0, 0)
USERNAME = "samplecinephile"

# name, year, stars (None = unrated), liked
WATCHED = [
    ("The Shawshank Redemption", 1994, 5.0, True),
    ("Pulp Fiction", 1994, 4.5, True),
    ("The Dark Knight", 2008, 4.5, False),
    ("Inception", 2010, 4.0, False),
    ("Fight Club", 1999, 4.0, False),
    ("Se7en", 1995, 4.5, False),
    ("Memento", 2000, 4.0, False),
    ("Goodfellas", 1990, 4.5, True),
    ("Taxi Driver", 1976, 4.0, False),
    ("The Godfather", 1972, 5.0, True),
    ("12 Angry Men", 1957, 5.0, False),
    ("Casablanca", 1942, 4.0, False),
    ("Vertigo", 1958, 4.5, False),
    ("Psycho", 1960, 4.5, False),
    ("Alien", 1979, 4.5, True),
    ("Aliens", 1986, 4.0, False),
    ("Blade Runner", 1982, 4.0, False),
    ("The Matrix", 1999, 4.5, False),
    ("Amélie", 2001, 4.0, True),
    ("Léon: The Professional", 1994, 4.0, False),
    ("Spirited Away", 2001, 5.0, True),
    ("Seven Samurai", 1954, 5.0, False),
    ("Throne of Blood", 1957, 4.0, False),
    ("City of God", 2002, 4.5, False),
    ("Pan's Labyrinth", 2006, 4.0, False),
    ("Oldboy", 2003, 4.0, False),
    ("The Good, the Bad and the Ugly", 1966, 4.5, False),
    ("The Passion of Joan of Arc", 1928, 4.5, False),
    ("The Seventh Seal", 1957, 4.0, False),
    ("Bicycle Thieves", 1948, 4.5, False),
    ("8½", 1963, 4.0, False),
    ("WALL·E", 2008, 4.5, True),
    ("E.T. the Extra-Terrestrial", 1982, 3.5, False),
    ("Dr. Strangelove or: How I Learned to Stop Worrying and Love the Bomb", 1964, 4.5, False),
    ("2001: A Space Odyssey", 1968, 5.0, False),
    ("A Clockwork Orange", 1971, 3.5, False),
    ("The Shining", 1980, 4.0, False),
    ("Back to the Future", 1985, 4.0, False),
    ("The Lord of the Rings: The Fellowship of the Ring", 2001, 4.0, False),
    ("The Departed", 2006, 3.5, False),
    ("The Prestige", 2006, 4.0, False),
    ("No Country for Old Men", 2007, 4.5, False),
    ("There Will Be Blood", 2007, 4.5, False),
    ("Zodiac", 2007, 4.0, False),
    ("The Social Network", 2010, 4.0, False),
    ("Eternal Sunshine of the Spotless Mind", 2004, 4.5, True),
    ("Moonrise Kingdom", 2012, 4.0, False),
    ("Drive", 2011, 3.5, False),
    ("The Great Gatsby", 2013, 2.5, False),
    ("The Great Gatsby", 1974, 3.0, False),
    ("Evil Dead", 2013, 2.0, False),
    ("The Evil Dead", 1981, 3.5, False),
    ("Heat", 1995, 4.5, False),
    ("Total Recall", 1990, 3.5, False),
    ("Mr. & Mrs. Smith", 2005, 2.5, False),
    ("Spring Breakers", 2013, 2.0, False),
    ("Man of Steel", 2013, None, False),
    ("Iron Man 3", 2013, None, False),
    ("Moon", 2009, None, True),
    ("Past Lives", 2023, 4.5, True),
    ("Aftersun", 2022, 5.0, False),
    ("Anora", 2024, None, False),
]
# name, year, watched date, rewatch, stars, tags
DIARY = [
    ("Psycho", 1960, "2023-10-28", False, 4.5, "halloween"),
    ("The Evil Dead", 1981, "2023-10-31", False, 3.5, "halloween, horror"),
    ("Evil Dead", 2013, "2023-10-31", False, 2.0, "halloween, horror"),
    ("Alien", 1979, "2023-11-12", True, 4.5, ""),
    ("Aliens", 1986, "2023-11-13", False, 4.0, ""),
    ("Spirited Away", 2001, "2023-12-24", True, 5.0, "ghibli"),
    ("The Godfather", 1972, "2024-01-06", True, 5.0, ""),
    ("Seven Samurai", 1954, "2024-01-20", False, 5.0, "kurosawa"),
    ("Throne of Blood", 1957, "2024-01-27", False, 4.0, "kurosawa"),
    ("Amélie", 2001, "2024-02-14", True, 4.0, ""),
    ("Past Lives", 2023, "2024-02-18", False, 4.5, ""),
    ("Aftersun", 2022, "2024-03-02", False, 5.0, ""),
    ("Heat", 1995, "2024-03-09", False, 4.5, ""),
    ("The Great Gatsby", 1974, "2024-03-16", False, 3.0, "remakes"),
    ("The Great Gatsby", 2013, "2024-03-17", False, 2.5, "remakes"),
    ("Moon", 2009, "2024-04-01", False, None, ""),
    ("Anora", 2024, "2024-04-20", False, None, ""),
    ("Pulp Fiction", 1994, "2024-05-01", True, 4.5, ""),
    ("Alien", 1979, "2024-05-10", True, 4.5, "rewatch"),
    ("Eternal Sunshine of the Spotless Mind", 2004, "2024-05-20", False, 4.5, ""),
]
# diary index -> review text
REVIEWS = {
    0: "Still the shower.\nStill the score.",
    5: 'Chihiro\'s "tunnel" scene, again, with the lights off.',
    11: "=HYPERLINK(\"https://example.invalid\",\"not a formula\") - a cell that only looks like one.",
    13: "Better than the 2013 one, which is all party and no Gatsby.",
}
WATCHLIST = [
    ("Tokyo Story", 1953),
    ("Ikiru", 1952),
    ("Stalker", 1979),
    ("Wings of Desire", 1987),
    ("My Neighbor Totoro", 1988),
    ("La Haine", 1995),
    ("The Brutalist", 2024),
    ("Solaris", 2002),
]
DELETED_DIARY = [("Gravity", 2013, "2023-09-01", False, 3.0, "")]


def short_link(number: int) -> str:
    """Return a boxd.it short link for a counter, like Letterboxd's base-62 codes."""
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    code = ""
    number += 4000
    while number:
        number, digit = divmod(number, 62)
        code = alphabet[digit] + code
    return f"https://boxd.it/{code}"


def csv_bytes(header: list[str], rows: list[list[object]]) -> bytes:
    """Write rows as Letterboxd does: UTF-8, comma-separated, quoted where needed, \\n lines."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if cell is None else cell for cell in row] for row in rows)
    return text.getvalue().encode("utf-8")


def stars_text(stars: float | None) -> str:
    """Format a rating as Letterboxd exports it: 4, 4.5 or blank."""
    return "" if stars is None else f"{stars:g}"


def day(index: int) -> str:
    """Return an ISO date, one per index, for the 'Date' column."""
    month, date = divmod(index, 28)
    return f"{2022 + month // 12}-{month % 12 + 1:02d}-{date + 1:02d}"


def export_files() -> dict[str, bytes]:
    """Return the export's files by path."""
    film_link = {(name, year): short_link(i) for i, (name, year, _, _) in enumerate(WATCHED)}
    for i, (name, year) in enumerate(WATCHLIST):
        film_link[(name, year)] = short_link(500 + i)
    film_link[("Gravity", 2013)] = short_link(900)

    base = ["Date", "Name", "Year", "Letterboxd URI"]
    watched = [[day(i), n, y, film_link[(n, y)]] for i, (n, y, _, _) in enumerate(WATCHED)]
    ratings = [[day(i), n, y, film_link[(n, y)], stars_text(s)]
               for i, (n, y, s, _) in enumerate(WATCHED) if s is not None]
    likes = [[day(200 + i), n, y, film_link[(n, y)]] for i, (n, y, _, liked) in enumerate(WATCHED) if liked]
    watchlist = [[day(300 + i), n, y, film_link[(n, y)]] for i, (n, y) in enumerate(WATCHLIST)]

    diary_header = base + ["Rating", "Rewatch", "Tags", "Watched Date"]

    def log_rows(entries: list, first_link: int) -> list[list[object]]:
        return [[watched_date, n, y, short_link(first_link + i), stars_text(s), "Yes" if rewatch else "", tags,
                 watched_date] for i, (n, y, watched_date, rewatch, s, tags) in enumerate(entries)]

    diary = log_rows(DIARY, 1000)
    reviews = [row[:6] + [REVIEWS[i], row[6], row[7]] for i, row in enumerate(diary) if i in REVIEWS]
    reviews_header = base + ["Rating", "Rewatch", "Review", "Tags", "Watched Date"]

    profile_header = ["Date Joined", "Username", "Given Name", "Family Name", "Email Address", "Location",
                      "Website", "Bio", "Pronoun", "Favorite Films"]
    profile = [["2019-05-04 10:00:00", USERNAME, "Sam", "Sample", "sam@example.invalid", "Nowhere",
                "", "Films, mostly.", "They / Them", short_link(9)]]
    list_header = ["Date", "Name", "Tags", "URL", "Description"]
    favourites = [["2024-01-01", "Favourites", "", "https://letterboxd.com/samplecinephile/list/favourites/", ""]]

    return {
        "profile.csv": csv_bytes(profile_header, profile),
        "ratings.csv": csv_bytes(base + ["Rating"], ratings),
        "watched.csv": csv_bytes(base, watched),
        "diary.csv": csv_bytes(diary_header, diary),
        "reviews.csv": csv_bytes(reviews_header, reviews),
        "watchlist.csv": csv_bytes(base, watchlist),
        "comments.csv": csv_bytes(["Date", "Content", "Comment"], []),
        "likes/films.csv": csv_bytes(base, likes),
        "lists/favourites.csv": csv_bytes(list_header, favourites),
        "deleted/diary.csv": csv_bytes(diary_header, log_rows(DELETED_DIARY, 2000)),
    }


def build_zip(files: dict[str, bytes]) -> bytes:
    """Pack files into a ZIP with fixed dates and order, so the bytes never change."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(path, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[path], compresslevel=9)
    return buffer.getvalue()


def main(output: Path = OUTPUT) -> None:
    """Write the sample export ZIP."""
    output.write_bytes(build_zip(export_files()))
    print(f"wrote {output} ({output.stat().st_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT)
