"""A five-film source tree in the shape of ../shared/data, and the embedded files built from it."""
from __future__ import annotations

from pathlib import Path

from infra.datasets import build_embedded_data

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
"""


def write_tiny_source(root: Path) -> Path:
    """Write a five-film source tree in the shape of ../shared/data and return its path."""
    movietweetings = root / "movietweetings-100k"
    wikidata = root / "wikidata-film-ids"
    movietweetings.mkdir(parents=True)
    wikidata.mkdir(parents=True)
    (movietweetings / "movies.dat").write_text(TINY_MOVIES, encoding="utf-8")
    (movietweetings / "ratings.dat").write_text(TINY_RATINGS, encoding="utf-8")
    (movietweetings / "LICENSE").write_text("The MIT License (MIT)\n", encoding="utf-8")
    (wikidata / "film_ids.csv").write_text(TINY_WIKIDATA, encoding="utf-8")
    return root


def build_tiny_data(tmp_path: Path) -> Path:
    """Build the embedded files from the tiny source and return the output folder."""
    out = tmp_path / "data"
    build_embedded_data(write_tiny_source(tmp_path / "source"), out)
    return out
