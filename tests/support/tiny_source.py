"""A five-film source tree in the shape of ../shared/data, and the embedded files built from it."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

from infra.dataset_build import build_embedded_data

TINY_MOVIES = """\
0000040::Heat (1995)::Action|Crime|Drama
0000010::Kumonosu-jô (1957)::Drama|History
0000020::The Host (2006)::Horror|Sci-Fi
0000030::The Host (2013)::Romance|Sci-Fi
0000005::Short One (1915)::
"""
TINY_RATINGS = """\
7::0000040::9::1365029107
7::0000010::8::1365029200
3::0000040::7::1364000000
3::0000030::4::1364000100
12::0000020::6::1366000000
12::0000040::10::1366000001
"""
TINY_WIKIDATA = """\
wikidata_qid,imdb_id,tmdb_id,label
Q1,tt0000010,3777,Throne of Blood
Q2,tt0000020,1255,The Host
Q3,tt0000040,949,Heat
Q4,tt9999999,1,Not In MovieTweetings
Q5,tt0000005,7,Q5
"""


def write_tiny_source(root: Path) -> Path:
    """Write a five-film source tree in the shape of ../shared/data and return its path."""
    wikidata = root / "wikidata-film-ids"
    wikidata.mkdir(parents=True)
    write_movietweetings(root, TINY_MOVIES, TINY_RATINGS)
    (root / "movietweetings-2016" / "LICENSE").write_text("The MIT License (MIT)\n", encoding="utf-8")
    (wikidata / "film_ids.csv").write_text(TINY_WIKIDATA, encoding="utf-8")
    return root


def write_movietweetings(root: Path, movies: str, ratings: str) -> None:
    """Write MovieTweetings' movies.dat.gz and ratings.dat.gz (gzip, as the source ships them)."""
    folder = root / "movietweetings-2016"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "movies.dat.gz").write_bytes(gzip.compress(movies.encode("utf-8"), mtime=0))
    (folder / "ratings.dat.gz").write_bytes(gzip.compress(ratings.encode("utf-8"), mtime=0))


def build_tiny_data(tmp_path: Path) -> Path:
    """Build the embedded files from the tiny source and return the output folder."""
    out = tmp_path / "data"
    build_embedded_data(write_tiny_source(tmp_path / "source"), out)
    return out


TINY_WIKIPEDIA = [
    # Same film as MovieTweetings' Heat (1995): merged, cast and director added, its own genre names mapped.
    {"title": "Heat", "year": 1995, "cast": ["Al Pacino", "Robert De Niro"], "genres": ["Crime", "Thriller"],
     "href": "Heat_(1995_film)", "extract": "Heat is a 1995 American crime film directed by Michael Mann, "
                                            "starring Al Pacino. SECRET-PARAGRAPH-TEXT"},
    # Premiere year off by one from MovieTweetings' The Host (2013): merged.
    {"title": "The Host", "year": 2014, "cast": ["Saoirse Ronan"], "genres": ["science fiction", "romantic comedy"],
     "href": "The_Host_(2013_film)", "extract": "The Host is a film directed by Andrew Niccol and starring "
                                                "Saoirse Ronan."},
    # Only Wikipedia knows these two: new ids far above MovieTweetings'.
    {"title": "Past Lives", "year": 2023, "cast": ["Greta Lee"], "genres": ["Drama", "Romance"],
     "href": "Past_Lives_(film)", "extract": "Past Lives is a 2023 romantic drama film written and directed by "
                                            "Celine Song in her feature directorial debut."},
    {"title": "Star Wars: Episode V - The Empire Strikes Back", "year": 1980, "cast": [],
     "genres": ["Sci-Fi", "Noir"], "href": "The_Empire_Strikes_Back", "extract": ""},
]


def write_tiny_wikipedia(root: Path, films: list[dict] = TINY_WIKIPEDIA) -> None:
    """Write a wikipedia-movies folder (JSON lines, gzip) beside the tiny source."""
    _write_gzip_lines(root / "wikipedia-movies", "movies.jsonl.gz", [json.dumps(film) for film in films],
                      "MIT License, Peter Rust\n")


def write_tiny_dbpedia(root: Path, rows: list[tuple[str, str, str, str]]) -> None:
    """Write movietweetings-dbpedia/mappings.csv.gz from (id, "Title (Year)", article URI, method) rows."""
    _write_gzip_lines(root / "movietweetings-dbpedia", "mappings.csv.gz", [
        "id;title;genre;uri;method;tc;yc;gc;updated",
        *(f"{digits};{title};Drama;{uri};{method};1.0;1.0;1.0;2015-06-02T00:47:06"
          for digits, title, uri, method in rows),
    ], "MIT License, Jaroslav Kuchar\n")


def write_tiny_indian(root: Path, rows: list[tuple[str, str, str, str]]) -> None:
    """Write indian-films/films.csv.gz from (article title, IMDb id, year, language) rows."""
    _write_gzip_lines(root / "indian-films", "films.csv.gz", [
        "title,imdb_id,year,people,language,lists",
        *(f"{title},{imdb_id},{year},Someone Acting,{language},films_by_decade"
          for title, imdb_id, year, language in rows),
    ], "MIT License, CWL-207 Group 13\n")


def write_tiny_cmu(root: Path, rows: list[dict]) -> None:
    """Write cmu-movie-metadata/movie.metadata.tsv.gz from dicts (page, title, date, runtime, languages,
    countries, genres; the last three lists of names)."""

    def freebase(names: list[str]) -> str:
        return json.dumps({f"/m/{i}": name for i, name in enumerate(names)})

    _write_gzip_lines(root / "cmu-movie-metadata", "movie.metadata.tsv.gz", [
        "\t".join((str(row["page"]), f"/m/p{row['page']}", row["title"], row.get("date", ""), "",
                   str(row.get("runtime", "")), freebase(row.get("languages", [])),
                   freebase(row.get("countries", [])), freebase(row.get("genres", []))))
        for row in rows])


def _write_gzip_lines(folder: Path, name: str, lines: list[str], licence: str | None = None) -> None:
    """Write lines as a gzip file in a source folder, and its LICENSE when given."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), mtime=0))
    if licence is not None:
        (folder / "LICENSE").write_text(licence, encoding="utf-8")
