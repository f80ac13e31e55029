from __future__ import annotations

import multiprocessing
import shutil
import sqlite3
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from infra.dataset_build import build_embedded_data
from infra.datasets import CATALOG_FILE, RATINGS_FILE
from infra.store import DataFileError, Store
from services.domain import Film
from tests.support.tiny_source import (
    TINY_MOVIES,
    TINY_RATINGS,
    build_tiny_data,
    write_movietweetings,
    write_tiny_cmu,
    write_tiny_source,
    write_tiny_wikipedia,
)


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    return build_tiny_data(tmp_path)


@pytest.fixture()
def store(tmp_path: Path, data_dir: Path):
    opened = Store.open(tmp_path / "var" / "store.sqlite", data_dir)
    yield opened
    opened.close()


def test_opening_builds_the_store_from_the_embedded_files(tmp_path, data_dir):
    store = Store.open(tmp_path / "var" / "store.sqlite", data_dir)

    assert store.opened_as == "created"
    films = store.films()
    assert [film.film_id for film in films] == [1, 2, 3, 4, 5]
    heat = store.film(5)
    assert (heat.title, heat.year, heat.imdb_id, heat.tmdb_id) == ("Heat", 1995, "tt0000040", 949)
    assert heat.genres == ("Action", "Crime", "Drama") and heat.corpus_count == 3
    assert store.film(2).original_title == "Kumonosu-jô"
    assert store.film(99) is None
    assert store.film_by_tmdb(3777).film_id == 2
    assert store.film_by_imdb("tt0000030").film_id == 4
    assert store.film_by_tmdb(3777, media_type="tv") is None
    store.close()


def test_opening_again_reuses_the_store(tmp_path, data_dir, store):
    again = Store.open(store.path, data_dir)

    assert again.opened_as == "existing"
    assert again.version() == store.version()
    again.close()


def test_corpus_gives_dense_user_indices_film_ids_and_ratings_out_of_ten(store):
    users, film_ids, ratings = store.corpus()

    assert (users.dtype, film_ids.dtype, ratings.dtype) == (np.int32, np.int32, np.float32)
    assert users.tolist() == [0, 0, 1, 1, 2, 2]
    assert film_ids.tolist() == [4, 5, 2, 5, 3, 5]
    assert ratings.tolist() == [4, 7, 8, 9, 6, 10]


def test_a_missing_data_file_is_named(tmp_path, data_dir):
    (data_dir / RATINGS_FILE).unlink()

    with pytest.raises(DataFileError, match=RATINGS_FILE):
        Store.open(tmp_path / "store.sqlite", data_dir)


def test_a_corrupt_data_file_is_named_and_the_store_is_left_alone(tmp_path, data_dir, store):
    version = store.version()
    (data_dir / CATALOG_FILE).write_bytes(b"\x1f\x8b\x08\x00garbage")

    with pytest.raises(DataFileError, match=CATALOG_FILE):
        Store.open(store.path, data_dir)
    assert store.version() == version and len(store.films()) == 5


def test_an_unreadable_store_file_is_set_aside_and_rebuilt(tmp_path, data_dir):
    path = tmp_path / "store.sqlite"
    path.write_bytes(b"this is not a database" * 100)

    store = Store.open(path, data_dir)

    assert store.opened_as == "rebuilt" and len(store.films()) == 5
    assert list(tmp_path.glob("store.sqlite.unusable-*"))
    store.close()


def test_upsert_merges_by_tmdb_id_and_keeps_known_fields(store):
    version = store.version()

    film_id = store.upsert_film(Film(
        film_id=0, title="Heat", tmdb_id=949, directors=("Michael Mann",), runtime=170,
        poster="https://image.tmdb.org/t/p/w342/heat.jpg", vote_average=7.9, vote_count=7000))

    assert film_id == 5
    heat = store.film(5)
    assert heat.directors == ("Michael Mann",) and heat.runtime == 170 and heat.vote_count == 7000
    assert heat.imdb_id == "tt0000040" and heat.year == 1995 and heat.genres == ("Action", "Crime", "Drama")
    assert heat.corpus_count == 3
    assert store.version() != version

    store.upsert_film(Film(film_id=0, title="Heat", tmdb_id=949, keywords=("heist",)))
    assert store.film(5).directors == ("Michael Mann",) and store.film(5).keywords == ("heist",)


def test_upsert_merges_by_imdb_id_and_adds_the_tmdb_id(store):
    film_id = store.upsert_film(Film(film_id=0, title="The Host", year=2013, imdb_id="tt0000030", tmdb_id=72710))

    assert film_id == 4
    assert store.film_by_tmdb(72710).film_id == 4


def test_upsert_inserts_an_unknown_film_with_the_next_id(store):
    film_id = store.upsert_film(Film(film_id=0, title="Arrival", year=2016, tmdb_id=329865,
                                     imdb_id="tt2543164", genres=("Drama", "Science Fiction")))

    assert film_id == 6
    arrival = store.film(6)
    assert arrival.title == "Arrival" and arrival.corpus_count == 0 and arrival.corpus_mean is None
    assert store.film_by_imdb("tt2543164") == arrival


def test_upsert_never_steals_an_id_that_belongs_to_another_film(store):
    store.upsert_film(Film(film_id=0, title="The Host", tmdb_id=1255, imdb_id="tt0000040"))

    assert store.film(3).imdb_id == "tt0000020"
    assert store.film(5).imdb_id == "tt0000040"


def test_a_tv_show_and_a_movie_may_share_a_tmdb_id(store):
    show = store.upsert_film(Film(film_id=0, title="Heat: The Series", tmdb_id=949, media_type="tv"))

    assert show != 5
    assert store.film_by_tmdb(949).film_id == 5
    assert store.film_by_tmdb(949, media_type="tv").film_id == show


def test_member_films_are_stored_once_and_join_the_corpus(store):
    rows = [(5, 4.5, True, True), (2, None, True, True), (3, None, False, True)]

    assert store.add_member_films("member-a", rows) == 3
    version = store.version()
    assert store.add_member_films("member-a", rows) == 0
    assert store.version() == version

    users, film_ids, ratings = store.corpus()
    assert users[-1] == 3 and film_ids[-1] == 5 and ratings[-1] == 9.0
    assert len(users) == 7
    implicit_users, implicit_films, liked = store.corpus_implicit()
    assert implicit_users.tolist() == [3, 3]
    assert sorted(zip(implicit_films.tolist(), liked.tolist())) == [(2, True), (3, False)]
    assert store.film(5).corpus_count == 4
    assert store.film(5).corpus_mean == pytest.approx((9 + 7 + 10 + 9) / 4, abs=1e-3)


def test_a_changed_member_rating_replaces_the_old_one(store):
    store.add_member_films("member-a", [(5, 2.0, False, True)])
    store.add_member_films("member-b", [(5, 5.0, False, True)])
    store.add_member_films("member-a", [(5, 3.5, True, True)])

    users, film_ids, ratings = store.corpus()
    assert sorted(zip(users.tolist()[6:], ratings.tolist()[6:])) == [(3, 7.0), (4, 10.0)]


def test_members_are_marked_complete_and_counted(store):
    store.add_member_films("member-a", [(5, 4.0, False, True), (1, None, True, True)])
    store.mark_member_complete("member-a")
    store.mark_member_complete("member-b")

    assert store.member_complete("member-a") and store.member_complete("member-b")
    assert not store.member_complete("member-c")
    assert store.collected_counts() == {
        "members": 2, "complete_members": 2, "ratings": 1, "unrated": 1, "films": 2}


def test_member_rows_with_unknown_films_or_bad_stars_are_refused(store):
    with pytest.raises(ValueError, match="unknown film ids"):
        store.add_member_films("member-a", [(404, 3.0, False, True)])
    with pytest.raises(ValueError, match="outside"):
        store.add_member_films("member-a", [(5, 7.0, False, True)])
    assert store.collected_counts()["ratings"] == 0


def test_changed_embedded_files_refresh_the_store_and_keep_what_was_learnt(tmp_path, data_dir, store):
    store.upsert_film(Film(film_id=0, title="Heat", tmdb_id=949, directors=("Michael Mann",)))
    arrival = store.upsert_film(Film(film_id=0, title="Arrival", year=2016, tmdb_id=329865))
    store.add_member_films("member-a", [(5, 4.5, True, True), (arrival, 5.0, True, True)])
    store.close()

    # A new film with a lower IMDb id moves every embedded film's id up by one.
    source = write_tiny_source(tmp_path / "source2")
    write_movietweetings(source, "0000001::Alpha (1999)::Drama\n" + TINY_MOVIES, TINY_RATINGS)
    build_embedded_data(source, data_dir)

    refreshed = Store.open(store.path, data_dir)

    assert refreshed.opened_as == "refreshed"
    heat = refreshed.film_by_tmdb(949)
    assert heat.film_id == 6 and heat.directors == ("Michael Mann",)
    assert refreshed.film(1).title == "Alpha"
    moved_arrival = refreshed.film_by_tmdb(329865)
    assert moved_arrival.film_id == 7 and moved_arrival.title == "Arrival"
    users, film_ids, ratings = refreshed.corpus()
    assert sorted(zip(film_ids.tolist()[6:], ratings.tolist()[6:])) == [(6, 9.0), (7, 10.0)]
    refreshed.close()


def test_a_cached_film_list_is_read_again_after_another_connection_writes(tmp_path, data_dir, store):
    assert store.film(5).runtime is None
    other = Store.open(store.path, data_dir)
    other.upsert_film(Film(film_id=0, title="Heat", tmdb_id=949, runtime=170))

    assert store.film(5).runtime == 170
    other.close()


def test_threads_opening_a_new_store_at_once_build_it_once(tmp_path, data_dir):
    path = tmp_path / "var" / "store.sqlite"
    outcomes, errors = [], []
    barrier = threading.Barrier(4)

    def open_store() -> None:
        barrier.wait()
        try:
            opened = Store.open(path, data_dir)
            outcomes.append((opened.opened_as, len(opened.films())))
            opened.close()
        except Exception as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(outcomes) == [("created", 5)] + [("existing", 5)] * 3


def _open_in_process(path: str, data_dir: str, queue) -> None:
    opened = Store.open(Path(path), Path(data_dir))
    queue.put((opened.opened_as, len(opened.films())))
    opened.close()


def test_processes_opening_a_new_store_at_once_build_it_once(tmp_path, data_dir):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    path = tmp_path / "var" / "store.sqlite"
    processes = [context.Process(target=_open_in_process, args=(str(path), str(data_dir), queue))
                 for _ in range(3)]
    for process in processes:
        process.start()
    results = sorted(queue.get(timeout=60) for _ in processes)
    for process in processes:
        process.join(timeout=60)

    assert results == [("created", 5), ("existing", 5), ("existing", 5)]
    assert [process.exitcode for process in processes] == [0, 0, 0]


def test_the_store_is_a_wal_database_with_the_data_hash_recorded(store):
    connection = sqlite3.connect(store.path)
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert len(dict(connection.execute("SELECT key, value FROM meta"))["data_hash"]) == 64
    finally:
        connection.close()


def test_films_from_the_store_are_plain_frozen_domain_films(store):
    heat = store.film(5)

    assert replace(heat, runtime=1).runtime == 1
    with pytest.raises(AttributeError):
        heat.runtime = 2  # type: ignore[misc]


def test_the_real_embedded_data_opens_with_its_full_catalog_and_corpus(tmp_path):
    data = Path(__file__).resolve().parents[2] / "data"
    copy = tmp_path / "data"
    shutil.copytree(data, copy)

    store = Store.open(tmp_path / "store.sqlite", copy)

    users, film_ids, ratings = store.corpus()
    assert len(store.films()) > 120_000 and len(users) == 532_608
    assert users.max() == 44_660 and film_ids.max() <= 35_950 and ratings.max() == 10
    assert store.film_by_imdb("tt0050083").title == "12 Angry Men"
    empire = store.film_by_imdb("tt0080684")
    assert empire.title == "The Empire Strikes Back" and empire.directors == ("Irvin Kershner",)
    assert empire.original_title == "Star Wars: Episode V - The Empire Strikes Back"
    seven_samurai = store.film_by_imdb("tt0047478")
    assert (seven_samurai.countries, seven_samurai.language, seven_samurai.runtime) == (("JP",), "ja", 207)
    store.close()


def test_films_enter_the_store_with_the_one_genre_vocabulary(store):
    film_id = store.upsert_film(Film(film_id=0, title="Palm Springs", year=2020, tmdb_id=587792,
                                     genres=("Sci-Fi", "romantic comedy", "Independent")))

    assert store.film(film_id).genres == ("Science Fiction", "Romance", "Comedy")
    host = store.film_by_imdb("tt0000020")
    assert host.genres == ("Horror", "Science Fiction")  # embedded as "Horror|Sci-Fi"


def test_a_store_from_before_alternate_titles_gains_them_on_refresh(tmp_path, data_dir, store):
    store.close()
    connection = sqlite3.connect(store.path)
    connection.execute("ALTER TABLE films DROP COLUMN alt_titles")
    connection.execute("ALTER TABLE films DROP COLUMN wikipedia")
    connection.close()
    source = write_tiny_source(tmp_path / "source2")
    write_tiny_wikipedia(source, [{"title": "Star Wars: Episode V - The Empire Strikes Back", "year": 1980,
                                   "cast": [], "genres": [], "href": "The_Empire_Strikes_Back", "extract": ""}])
    build_embedded_data(source, data_dir)

    refreshed = Store.open(store.path, data_dir)

    assert refreshed.opened_as == "refreshed"
    empire = next(film for film in refreshed.films() if film.year == 1980)
    assert empire.alt_titles == ("The Empire Strikes Back",) and empire.film_id > 5
    refreshed.close()


def test_enriching_a_film_known_by_neither_id_updates_it_instead_of_adding_a_copy(tmp_path, data_dir):
    source = write_tiny_source(tmp_path / "source2")
    write_tiny_wikipedia(source, [{"title": "Past Lives", "year": 2023, "cast": ["Greta Lee"], "genres": ["Drama"],
                                   "href": "Past_Lives_(film)", "extract": "directed by Celine Song."}])
    build_embedded_data(source, data_dir)
    store = Store.open(tmp_path / "var2" / "store.sqlite", data_dir)
    past_lives = next(film for film in store.films() if film.title == "Past Lives")
    count = len(store.films())

    film_id = store.upsert_film(replace(past_lives, tmdb_id=666277, imdb_id="tt13238346", runtime=106))

    assert film_id == past_lives.film_id and len(store.films()) == count
    assert store.film_by_tmdb(666277) == store.film(film_id) and store.film(film_id).runtime == 106
    store.close()


def test_countries_languages_runtime_and_keywords_enter_the_store_from_the_catalog(tmp_path):
    source = write_tiny_source(tmp_path / "source")
    write_tiny_cmu(source, [{"page": 1, "title": "Heat", "date": "1995-12-15", "runtime": 170.0,
                             "languages": ["English Language", "Spanish Language"],
                             "countries": ["United States of America"], "genres": ["Crime Fiction", "Heist"]}])
    build_embedded_data(source, tmp_path / "data")

    store = Store.open(tmp_path / "var" / "store.sqlite", tmp_path / "data")
    heat = store.film(5)

    assert (heat.countries, heat.language, heat.runtime, heat.keywords) == (("US",), "en", 170, ("Heist",))
    assert heat.genres == ("Action", "Crime", "Drama")
    store.close()


def test_a_film_read_alone_after_a_change_equals_the_same_film_in_the_full_snapshot(store):
    store.add_member_films("member-a", [(5, 4.5, True, True), (2, 3.0, False, True)])
    store.add_member_films("member-b", [(5, 2.0, False, True)])
    film_id = store.upsert_film(Film(film_id=0, title="Aftersun", year=2022, tmdb_id=965150, genres=("Drama",)))
    alone = [store.film(i) for i in (5, 2, film_id, 999)]  # read row by row: the snapshot is stale
    snapshot = {f.film_id: f for f in store.films()}
    assert alone == [snapshot[5], snapshot[2], snapshot[film_id], None]
    assert snapshot[5].corpus_count == 3 + 2
