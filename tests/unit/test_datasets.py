from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from infra.dataset_build import LICENSE_FILES, OTHER_ID_BASE, build_embedded_data, directors_from_extract
from infra.rating_files import iter_ratings_csv, load_items_csv, load_ratings_csv
from infra.datasets import (
    CATALOG_FILE,
    RATINGS_FILE,
    DataFileError,
    read_catalog,
    read_ratings,
)
from services.domain import ProfileFilm, ScoredFilm
from services.matching import CatalogIndex, exclude_seen
from tests.support.tiny_source import (
    TINY_MOVIES,
    TINY_RATINGS,
    TINY_WIKIPEDIA,
    build_tiny_data,
    write_movietweetings,
    write_tiny_cmu,
    write_tiny_dbpedia,
    write_tiny_indian,
    write_tiny_source,
    write_tiny_wikipedia,
)

LICENSE_FILE = LICENSE_FILES["movietweetings-2016"]
WIKIPEDIA_LICENSE_FILE = LICENSE_FILES["wikipedia-movies"]
REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"


def test_build_numbers_films_densely_in_imdb_order_with_tmdb_ids_and_corpus_figures(tmp_path):
    out = tmp_path / "data"
    summary = build_embedded_data(write_tiny_source(tmp_path / "source"), out)

    catalog = read_catalog(out / CATALOG_FILE)
    assert [(row.film_id, row.imdb_id) for row in catalog] == [
        (1, "tt0000005"), (2, "tt0000010"), (3, "tt0000020"), (4, "tt0000030"), (5, "tt0000040")]
    heat = catalog[4]
    assert (heat.title, heat.year, heat.tmdb_id, heat.genres) == ("Heat", 1995, 949, ("Action", "Crime", "Drama"))
    assert heat.rating_count == 3 and heat.rating_mean == pytest.approx((9 + 7 + 10) / 3, abs=1e-3)
    assert catalog[0].genres == () and catalog[0].rating_count == 0 and catalog[0].rating_mean is None
    assert catalog[0].title == "Short One"  # Wikidata labels it by its own id only
    assert catalog[3].tmdb_id is None
    assert summary["films"] == 5 and summary["ratings"] == 6 and summary["users"] == 3
    assert summary["films_with_tmdb_id"] == 4
    assert (out / LICENSE_FILE).read_text() == "The MIT License (MIT)\n"


def test_build_shows_the_english_title_and_keeps_the_source_title_as_original(tmp_path):
    catalog = read_catalog(build_tiny_data(tmp_path) / CATALOG_FILE)

    throne = next(row for row in catalog if row.imdb_id == "tt0000010")
    assert (throne.title, throne.original_title) == ("Throne of Blood", "Kumonosu-jô")
    host = next(row for row in catalog if row.imdb_id == "tt0000020")
    assert (host.title, host.original_title) == ("The Host", None)


def test_build_writes_ratings_sorted_by_user_then_film(tmp_path):
    ratings = read_ratings(build_tiny_data(tmp_path) / RATINGS_FILE)

    assert ratings.users.tolist() == [3, 3, 7, 7, 12, 12]
    assert ratings.film_ids.tolist() == [4, 5, 2, 5, 3, 5]
    assert ratings.ratings.tolist() == [4, 7, 8, 9, 6, 10]
    assert ratings.times[0] == 1364000100


def test_rebuilding_from_the_same_inputs_gives_the_same_bytes(tmp_path):
    source = write_tiny_source(tmp_path / "source")
    build_embedded_data(source, tmp_path / "first")
    build_embedded_data(source, tmp_path / "second")

    for name in (CATALOG_FILE, RATINGS_FILE, LICENSE_FILE):
        assert (tmp_path / "first" / name).read_bytes() == (tmp_path / "second" / name).read_bytes()


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="the shared source data is not beside the repository")
def test_committed_data_is_what_the_build_makes_from_the_shared_sources(tmp_path):
    summary = build_embedded_data(SHARED_DATA, tmp_path)

    assert summary["ratings"] == 532_608 and summary["users"] == 44_661
    assert summary["sources"]["movietweetings"]["films"] == 35_952
    assert summary["sources"]["movietweetings"]["catalog_films"] == 35_950  # two ids are written two ways
    for name in (CATALOG_FILE, RATINGS_FILE, *LICENSE_FILES.values()):
        assert (tmp_path / name).read_bytes() == (REPO / "data" / name).read_bytes(), name


def test_a_missing_source_file_is_named_in_the_error(tmp_path):
    source = write_tiny_source(tmp_path / "source")
    (source / "wikidata-film-ids" / "film_ids.csv").unlink()

    with pytest.raises(DataFileError, match="film_ids.csv"):
        build_embedded_data(source, tmp_path / "data")


def test_a_malformed_source_line_is_named_with_its_file_and_line(tmp_path):
    source = write_tiny_source(tmp_path / "source")
    write_movietweetings(source, TINY_MOVIES, "7::0000040::9::1\nnonsense\n")

    with pytest.raises(DataFileError, match=r"ratings.dat.gz: line 2"):
        build_embedded_data(source, tmp_path / "data")


def test_a_rating_of_an_unknown_film_is_refused(tmp_path):
    source = write_tiny_source(tmp_path / "source")
    write_movietweetings(source, TINY_MOVIES, "7::0000999::9::1\n")

    with pytest.raises(DataFileError, match="0000999"):
        build_embedded_data(source, tmp_path / "data")


def test_a_corrupt_catalog_is_named_in_the_error(tmp_path):
    path = tmp_path / CATALOG_FILE
    path.write_bytes(b"\x1f\x8b not really gzip")

    with pytest.raises(DataFileError, match=CATALOG_FILE):
        read_catalog(path)


def test_a_catalog_without_a_needed_column_is_refused(tmp_path):
    path = tmp_path / CATALOG_FILE
    path.write_bytes(gzip.compress(b"film_id,title\n1,Heat\n"))

    with pytest.raises(DataFileError, match="missing column 'imdb_id'"):
        read_catalog(path)


def test_load_ratings_csv_reads_user_item_rating_files(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text("user,item,rating,timestamp\n10,5,4.5,1\n10,7,3,2\n11,5,5,3\n", encoding="utf-8")

    users, items, ratings = load_ratings_csv(path)

    assert users.tolist() == [10, 10, 11] and items.tolist() == [5, 7, 5]
    assert ratings.dtype == np.float32 and ratings.tolist() == [4.5, 3.0, 5.0]


def test_load_ratings_csv_numbers_text_user_ids_and_reads_the_embedded_corpus(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text("user,item,rating\nbob,1,2\nann,2,3\nbob,2,4\n", encoding="utf-8")
    users, _, _ = load_ratings_csv(path)
    assert users.tolist() == [1, 0, 1]

    users, items, ratings = load_ratings_csv(build_tiny_data(tmp_path) / RATINGS_FILE)
    assert len(users) == 6 and items.tolist()[:2] == [4, 5] and ratings.max() == 10


def test_load_ratings_csv_names_a_missing_column(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text("user,film,score\n1,2,3\n", encoding="utf-8")

    with pytest.raises(DataFileError, match="missing column 'item'|missing column 'film_id'"):
        load_ratings_csv(path)


def test_load_items_csv_reads_items_and_the_embedded_catalog(tmp_path):
    path = tmp_path / "items.csv"
    path.write_text("item,title,year,genres\n5,Heat,1995,Action|Crime\n7,Untitled,,\n", encoding="utf-8")

    films = load_items_csv(path)

    assert [(f.film_id, f.title, f.year, f.genres) for f in films] == [
        (5, "Heat", 1995, ("Action", "Crime")), (7, "Untitled", None, ())]
    catalog = load_items_csv(build_tiny_data(tmp_path) / CATALOG_FILE)
    assert catalog[1].title == "Throne of Blood" and catalog[1].tmdb_id == 3777


def test_wikipedia_films_merge_by_title_and_year_and_new_ones_get_ids_that_cannot_collide(tmp_path):
    source = write_tiny_source(tmp_path / "source")
    write_tiny_wikipedia(source)
    summary = build_embedded_data(source, tmp_path / "data")
    catalog = {row.film_id: row for row in read_catalog(tmp_path / "data" / CATALOG_FILE)}

    assert summary["films"] == 7 and summary["sources"]["wikipedia"]["merged_by_title"] == 2
    assert [fid for fid in catalog if fid <= 5] == [1, 2, 3, 4, 5]  # MovieTweetings ids unchanged
    heat = catalog[5]
    assert (heat.imdb_id, heat.tmdb_id, heat.title, heat.year) == ("tt0000040", 949, "Heat", 1995)
    assert heat.directors == ("Michael Mann",) and heat.cast == ("Al Pacino", "Robert De Niro")
    assert heat.wikipedia == "Heat_(1995_film)" and heat.wikidata_id == "Q3"
    assert heat.genres == ("Action", "Crime", "Drama")  # the richer record (ids and ratings) keeps its genres
    host = catalog[4]
    assert host.directors == ("Andrew Niccol",) and host.year == 2013 and host.imdb_id == "tt0000030"
    new = {row.title: row for fid, row in catalog.items() if fid > OTHER_ID_BASE}
    assert set(new) == {"Past Lives", "Star Wars: Episode V - The Empire Strikes Back"}
    assert new["Past Lives"].directors == ("Celine Song",) and new["Past Lives"].imdb_id is None
    empire = new["Star Wars: Episode V - The Empire Strikes Back"]
    assert empire.genres == ("Science Fiction", "Film Noir") and empire.alt_titles == ("The Empire Strikes Back",)


def test_the_catalog_ships_facts_never_the_article_text(tmp_path):
    source = write_tiny_source(tmp_path / "source")
    write_tiny_wikipedia(source)
    build_embedded_data(source, tmp_path / "data")

    text = gzip.decompress((tmp_path / "data" / CATALOG_FILE).read_bytes()).decode("utf-8")
    assert "SECRET-PARAGRAPH-TEXT" not in text and "directed by" not in text
    assert "Michael Mann" in text
    assert (tmp_path / "data" / WIKIPEDIA_LICENSE_FILE).read_text() == "MIT License, Peter Rust\n"


def test_rebuilding_with_wikipedia_gives_the_same_bytes_whatever_the_source_order(tmp_path):
    first, second = write_tiny_source(tmp_path / "a"), write_tiny_source(tmp_path / "b")
    write_tiny_wikipedia(first)
    write_tiny_wikipedia(second, list(reversed(TINY_WIKIPEDIA)))
    build_embedded_data(first, tmp_path / "one")
    build_embedded_data(second, tmp_path / "two")

    assert (tmp_path / "one" / CATALOG_FILE).read_bytes() == (tmp_path / "two" / CATALOG_FILE).read_bytes()


@pytest.mark.parametrize(("extract", "directors"), [
    ("X is a 1921 film directed by Maurice Tourneur, and starring Lon Chaney.", ("Maurice Tourneur",)),
    ("directed by R. G. Springsteen and written by Frank Gill Jr. and Peter Milne.", ("R. G. Springsteen",)),
    ("directed by Joel and Ethan Coen. It stars", ("Joel Coen", "Ethan Coen")),
    ("directed by Phil Lord and Christopher Miller, from a screenplay", ("Phil Lord", "Christopher Miller")),
    ("directed by Guillermo del Toro and starring", ("Guillermo del Toro",)),
    ("directed by the Duplass brothers", ()),
    ("A film with no director named.", ()),
])
def test_directors_are_read_from_the_opening_paragraph(extract, directors):
    assert directors_from_extract(extract) == directors


def test_ids_are_read_as_the_files_write_them_so_ids_differing_only_in_zeros_stay_apart(tmp_path):
    ratings = tmp_path / "ratings.csv"
    ratings.write_text("user,item,rating\n007,0443,1\n7,443,2\n7,0068646,3\n7,068646,4\n", encoding="utf-8")
    items = tmp_path / "items.csv"
    items.write_text("item,title\n0443,A\n443,B\n0068646,C\n068646,D\n+5,E\n5,F\n", encoding="utf-8")

    users, item_ids, _ = load_ratings_csv(ratings)
    films = load_items_csv(items)

    assert item_ids.tolist() == ["0443", "443", "0068646", "068646"]
    assert users.tolist() == [0, 1, 1, 1]  # "007" and "7" are two users
    assert [f.film_id for f in films] == ["0443", 443, "0068646", "068646", "+5", 5]
    assert [str(f.film_id) for f in films] == ["0443", "443", "0068646", "068646", "+5", "5"]


def test_plain_integer_ids_are_still_read_as_integers(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text("user,item,rating\n10,5,4.5\n11,0,3\n12,-3,1\n", encoding="utf-8")

    users, items, _ = load_ratings_csv(path)

    assert users.dtype == np.int64 and items.dtype == np.int64 and items.tolist() == [5, 0, -3]


def test_a_malformed_rating_row_stops_the_reader_unless_a_callback_counts_it(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text("user,item,rating\na,1,5\nb,,4\nc,2,inf\nd,3\ne,4,x\nf,5,2\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="row 2 is malformed"):
        list(iter_ratings_csv(path))

    malformed: list[tuple[int, list[str]]] = []
    rows = list(iter_ratings_csv(path, on_malformed=lambda number, cells: malformed.append((number, cells))))

    assert [(n, u, i) for n, u, i, _ in rows] == [(1, "a", "1"), (6, "f", "5")]
    assert malformed == [(2, ["b", "", "4"]), (3, ["c", "2", "inf"]), (4, ["d", "3"]), (5, ["e", "4", "x"])]


def test_evaluate_pairs_zero_padded_items_with_their_titles_as_written(tmp_path):
    from services.evaluation import evaluate

    # Even films are one director's, odd films another's; their ids differ only in a leading zero ("03", "3").
    rng = np.random.default_rng(0)
    item_id = {film: ("0" if film % 2 == 0 else "") + str(film // 2) for film in range(30)}
    lines = ["user,item,rating"]
    for user in range(80):
        for film in range(30):
            if film % 2 == user % 2 and rng.random() < 0.6:
                lines.append(f"u{user},{item_id[film]},{rng.choice([8, 9, 10])}")
            elif film % 2 != user % 2 and rng.random() < 0.05:
                lines.append(f"u{user},{item_id[film]},3")
    ratings = tmp_path / "ratings.csv"
    ratings.write_text("\n".join(lines) + "\n", encoding="utf-8")
    items = tmp_path / "items.csv"
    items.write_text("item,title,year,genres,directors\n" + "".join(
        f"{item_id[film]},Film {film},2000,Drama,{'Ann Even' if film % 2 == 0 else 'Bo Odd'}\n" for film in range(30)),
        encoding="utf-8")

    users, item_ids, values = load_ratings_csv(ratings)
    report = evaluate(users, item_ids, values, k=5, seed=0, item_meta=load_items_csv(items),
                      models=["content", "popularity"])

    assert report["items"] == 30
    assert report["models"]["content"]["ndcg"] > report["models"]["popularity"]["ndcg"]


def test_an_imdb_number_written_two_ways_is_one_film_with_its_real_imdb_id(tmp_path):
    source = write_tiny_source(tmp_path / "source")
    write_movietweetings(source, TINY_MOVIES + (
        "000000000106519::Carlito's Way (1993)::\n"
        "0106519::Carlito's Way (1993)::Crime|Drama\n"
        "0443::Hiawatha, the Messiah of the Ojibway (1903)::\n"
        "25::Kate &amp; Leopold (2001)::Comedy\n"), TINY_RATINGS + (
        "7::0106519::8::1365029300\n"
        "3::000000000106519::6::1364000200\n"
        "3::0000443::5::1364000300\n"))

    summary = build_embedded_data(source, tmp_path / "data")
    catalog = {row.imdb_id: row for row in read_catalog(tmp_path / "data" / CATALOG_FILE)}

    assert summary["sources"]["movietweetings"]["ids_written_two_ways"] == [["000000000106519", "0106519"]]
    carlito = catalog["tt0106519"]
    assert (carlito.title, carlito.genres, carlito.rating_count) == ("Carlito's Way", ("Crime", "Drama"), 2)
    assert catalog["tt0000443"].rating_count == 1 and catalog["tt0000025"].title == "Kate & Leopold"
    assert [row.film_id for row in read_catalog(tmp_path / "data" / CATALOG_FILE)] == list(range(1, 9))


def test_an_english_wikipedia_title_is_shown_and_the_original_title_still_matches(tmp_path):
    source = write_tiny_source(tmp_path / "source")
    write_movietweetings(source, TINY_MOVIES + "0015648::Bronenosets Potyomkin (1925)::Drama|History\n"
                         "0105629::Shining Through (1992)::Drama\n",
                         TINY_RATINGS)
    write_tiny_dbpedia(source, [
        ("15648", "Bronenosets Potyomkin (1925)", "http://dbpedia.org/resource/Battleship_Potemkin", "perfect"),
        ("105629", "Shining Through (1992)", "http://dbpedia.org/resource/Toys_(film)", "any"),
    ])

    build_embedded_data(source, tmp_path / "data")
    films = load_items_csv(tmp_path / "data" / CATALOG_FILE)
    potemkin = next(film for film in films if film.imdb_id == "tt0015648")
    shining = next(film for film in films if film.imdb_id == "tt0105629")
    index = CatalogIndex(films)

    assert (potemkin.title, potemkin.original_title) == ("Battleship Potemkin", "Bronenosets Potyomkin")
    assert shining.title == "Shining Through" and shining.alt_titles == ("Toys",)  # a less sure name is not shown
    for logged in ("Battleship Potemkin", "Bronenosets Potyomkin"):
        assert index.match(ProfileFilm(title=logged, year=1925)) == potemkin
        assert exclude_seen([ScoredFilm(film=potemkin, score=1.0)], [ProfileFilm(title=logged, year=1926)]) == []


def test_a_film_only_the_indian_films_know_matches_with_its_year_one_off(tmp_path):
    source = write_tiny_source(tmp_path / "source")
    write_tiny_indian(source, [
        ("Balagam (film)", "tt21849240", "2023", "Telugu"),
        ("Balagam Telugu Movie", "tt21849240", "2023", ""),  # another row of the same IMDb id: the same film
        ("Heat (1995 Tamil film)", "tt0000040", "1996", "Tamil"),  # the IMDb id of MovieTweetings' Heat
        ("Kanti (film)", "tt14755060", "", ""),  # no year: left out, it would match any Kanti
    ])

    summary = build_embedded_data(source, tmp_path / "data")
    films = load_items_csv(tmp_path / "data" / CATALOG_FILE)
    rows = {row.imdb_id: row for row in read_catalog(tmp_path / "data" / CATALOG_FILE)}

    assert summary["sources"]["indian"] == {"read": 4, "merged_by_imdb_id": 2, "merged_by_article": 0,
                                            "merged_by_title": 0, "new": 1, "left_out_undated": 1}
    balagam = rows["tt21849240"]
    assert (balagam.film_id, balagam.title, balagam.year) == (OTHER_ID_BASE + 1, "Balagam", 2023)
    assert (balagam.countries, balagam.languages, balagam.wikipedia) == (("IN",), ("te",), "Balagam_(film)")
    assert balagam.alt_titles == ("Balagam Telugu Movie",)
    assert rows["tt0000040"].film_id == 5 and rows["tt0000040"].languages == ("ta",)
    assert CatalogIndex(films).match(ProfileFilm(title="Balagam", year=2022)).imdb_id == "tt21849240"


def test_a_film_only_the_cmu_metadata_knows_matches_with_its_year_one_off_and_brings_its_content(tmp_path):
    source = write_tiny_source(tmp_path / "source")
    write_tiny_cmu(source, [
        {"page": 1, "title": "La Dolce Vita", "date": "1960-02-05", "runtime": 174.0,
         "languages": ["Italian Language", "English Language"], "countries": ["Italy", "France"],
         "genres": ["Drama", "World cinema", "Black-and-white", "Comedy film"]},
        {"page": 2, "title": "Heat", "date": "1995-12-15", "runtime": 170.0, "languages": ["English Language"],
         "countries": ["United States of America"], "genres": ["Crime Fiction", "Heist"]},
        {"page": 3, "title": "Heat", "date": "1996", "countries": ["Norway"]},  # Heat took a CMU film already
        {"page": 4, "title": "Undated", "date": ""},
        {"page": 7, "title": "Hunting Season", "date": "1010"},  # a typing slip: as good as undated
        {"page": 5, "title": "Ran", "date": "1985", "languages": ["English Language", "Japanese Language"],
         "countries": ["Japan", "France"]},  # English listed first for a release abroad: not the film's own
        {"page": 6, "title": "The Host", "date": "2007", "countries": ["South Korea"]},  # released abroad a year on
    ])

    summary = build_embedded_data(source, tmp_path / "data")
    films = load_items_csv(tmp_path / "data" / CATALOG_FILE)
    rows = read_catalog(tmp_path / "data" / CATALOG_FILE)
    by_title = {(row.title, row.year): row for row in rows}

    assert summary["sources"]["cmu"] == {"read": 7, "merged_by_imdb_id": 0, "merged_by_article": 0,
                                         "merged_by_title": 2, "new": 3, "left_out_undated": 2}
    assert by_title[("Ran", 1985)].languages == ("ja", "en")
    assert by_title[("The Host", 2006)].countries == ("KR",) and ("The Host", 2007) not in by_title
    dolce = by_title[("La Dolce Vita", 1960)]
    assert dolce.film_id > OTHER_ID_BASE and dolce.runtime == 174
    assert (dolce.countries, dolce.languages) == (("IT", "FR"), ("it", "en"))
    assert (dolce.genres, dolce.keywords) == (("Drama", "Comedy"), ("World cinema", "Black-and-white"))
    heat = by_title[("Heat", 1995)]
    assert (heat.film_id, heat.genres, heat.keywords) == (5, ("Action", "Crime", "Drama"), ("Heist",))
    assert (heat.countries, heat.languages, heat.runtime) == (("US",), ("en",), 170)
    assert by_title[("Heat", 1996)].countries == ("NO",)
    assert CatalogIndex(films).match(ProfileFilm(title="La Dolce Vita", year=1961)).film_id == dolce.film_id


def test_rebuilding_from_every_source_gives_the_same_bytes_whatever_the_row_order(tmp_path):
    cmu = [{"page": n, "title": title, "date": str(year), "countries": ["Japan"]}
           for n, (title, year) in enumerate([("Ran", 1985), ("Heat", 1995), ("Ikiru", 1952), ("Kwaidan", 1964)])]
    indian = [("Bigil", "tt9260636", "2019", "Tamil"), ("Komban", "tt4546024", "2015", "")]
    built = []
    for name, order in (("one", 1), ("two", -1)):
        source = write_tiny_source(tmp_path / name / "source")
        write_tiny_wikipedia(source, TINY_WIKIPEDIA[::order])
        write_tiny_cmu(source, cmu[::order])
        write_tiny_indian(source, indian[::order])
        build_embedded_data(source, tmp_path / name / "data")
        built.append([(tmp_path / name / "data" / file).read_bytes() for file in (CATALOG_FILE, RATINGS_FILE)])

    assert built[0] == built[1]
    assert (tmp_path / "one" / "data" / LICENSE_FILES["indian-films"]).read_text() == "MIT License, CWL-207 Group 13\n"


def test_a_year_off_and_a_leading_article_apart_are_two_films_and_one_article_is_one_film(tmp_path):
    source = write_tiny_source(tmp_path / "source")
    write_movietweetings(source, TINY_MOVIES + "0815138::Take (2007)::Crime|Drama\n", TINY_RATINGS)
    write_tiny_wikipedia(source, [
        {"title": "The Take", "year": 2008, "cast": ["John Leguizamo"], "genres": ["Crime"], "href": "The_Take_(2008)",
         "extract": ""},
        {"title": "In Old Chicago", "year": 1937, "cast": ["Tyrone Power"], "genres": ["Drama"],
         "href": "In_Old_Chicago", "extract": ""},
        {"title": "In Old Chicago", "year": 1938, "cast": ["Tyrone Power"], "genres": ["Drama"],
         "href": "In_Old_Chicago", "extract": ""},  # listed again the next year
        {"title": "No Time to Die", "year": 1958, "cast": ["Victor Mature"], "genres": ["War"],
         "href": "No_Time_to_Die", "extract": ""},
        {"title": "No Time to Die", "year": 2021, "cast": ["Daniel Craig"], "genres": ["Action"],
         "href": "No_Time_to_Die", "extract": ""},  # a list linked the namesake's article
    ])

    summary = build_embedded_data(source, tmp_path / "data")
    rows = read_catalog(tmp_path / "data" / CATALOG_FILE)

    assert summary["sources"]["wikipedia"]["merged_by_article"] == 1
    assert [(row.title, row.year) for row in rows if "Take" in row.title] == [("Take", 2007), ("The Take", 2008)]
    assert [(row.title, row.year) for row in rows if row.title == "In Old Chicago"] == [("In Old Chicago", 1937)]
    assert [row.year for row in rows if row.title == "No Time to Die"] == [1958, 2021]
