"""import-ratings: matching, ids as written, skipped rows, rescaling, hashing users, and a run killed halfway."""
from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from infra.model_store import ModelStore
from infra.rating_import import (
    MALFORMED,
    NOT_IN_CATALOG,
    NOT_IN_ITEMS,
    UNTITLED,
    file_digest,
    import_ratings,
    scale_of,
    to_stars,
    user_hash,
)
from infra.store import Store
from main import main
from tests.support.tiny_source import build_tiny_data

# Tiny catalog (tests.support.tiny_source): 1 Short One 1915, 2 Throne of Blood 1957 (Kumonosu-jô),
# 3 The Host 2006, 4 The Host 2013, 5 Heat 1995; 6 ratings by 3 users.
ITEMS = """item,title,year,genres
a,Heat,1996,Crime
b,Kumonosu-jo,1957,Drama
c,Past Lives,2023,Drama|romantic comedy
d,Past Lives,2023,Drama
e,,2000,
"""


class Interrupted(Exception):
    pass


@pytest.fixture()
def store(tmp_path: Path):
    opened = Store.open(tmp_path / "var" / "store.sqlite", build_tiny_data(tmp_path))
    yield opened
    opened.close()


def write_ratings(path: Path, rows: list[tuple[str, str, float]]) -> Path:
    path.write_text("user,item,rating\n" + "".join(f"{u},{i},{r:g}\n" for u, i, r in rows), encoding="utf-8")
    return path


def test_items_match_by_title_and_year_and_missing_ones_become_films(tmp_path, store):
    items = tmp_path / "items.csv"
    items.write_text(ITEMS, encoding="utf-8")
    ratings = write_ratings(tmp_path / "ratings.csv", [
        ("alice", "a", 5), ("alice", "b", 4), ("bob", "c", 1), ("bob", "d", 3), ("bob", "e", 2), ("carol", "a", 2)])

    report = import_ratings(store, ratings, items, source="club", allow_skips=True)

    assert (report.items, report.items_by_title, report.items_added, report.items_unresolved) == (5, 2, 1, 1)
    assert report.scale == (0.0, 5.0) and report.rows == 6 and report.rows_skipped == 1
    assert report.ratings_stored == 4 and report.users == 3  # bob's c and d are one film: the later row wins
    past_lives = [f for f in store.films() if f.title == "Past Lives"]
    assert len(past_lives) == 1 and past_lives[0].genres == ("Drama", "Romance", "Comedy")
    users, film_ids, values = store.corpus()
    imported = sorted(zip(film_ids[6:].tolist(), values[6:].tolist()))
    new_id = past_lives[0].film_id
    assert imported == sorted([(5, 10.0), (2, 8.0), (new_id, 6.0), (5, 4.0)])
    assert len(set(users[6:].tolist())) == 3 and users[6:].min() > users[:6].max()


def test_users_are_stored_only_as_salted_hashes(tmp_path, store):
    ratings = write_ratings(tmp_path / "ratings.csv", [("alice@example.org", "5", 8), ("bob", "tt0000010", 6)])

    import_ratings(store, ratings, source="club")

    connection = sqlite3.connect(store.path)
    dump = "\n".join(connection.iterdump())
    connection.close()
    assert "alice@example.org" not in dump and "bob" not in dump
    salt = store.import_salt()
    assert len(salt) == 32 and salt == store.import_salt()


def test_any_numeric_scale_is_rescaled_to_the_corpus():
    assert scale_of(1, 5) == (0.0, 5.0) and scale_of(0.5, 4.5) == (0.0, 5.0)
    assert scale_of(1, 10) == (0.0, 10.0) and scale_of(3, 87) == (0.0, 100.0)
    assert scale_of(-10, 10) == (-10, 10.0)
    assert [to_stars(r, (0.0, 5.0)) for r in (5, 4.5, 1, 0)] == [5.0, 4.5, 1.0, 0.5]
    assert [to_stars(r, (0.0, 100.0)) for r in (100, 73, 0)] == [5.0, 3.5, 0.5]
    assert to_stars(0, (-10, 10.0)) == 2.5


def test_an_import_killed_halfway_and_run_again_stores_each_rating_once(tmp_path, store):
    rng = np.random.default_rng(0)
    rows = [(f"u{u}", str(f), float(rng.integers(1, 11))) for u in range(40) for f in (1, 2, 3, 4, 5)]
    ratings = write_ratings(tmp_path / "ratings.csv", rows)
    seen_chunks = []

    def stop_halfway(rows_done: int) -> None:
        seen_chunks.append(rows_done)
        if rows_done >= len(rows) // 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        import_ratings(store, ratings, source="club", chunk_rows=30, on_chunk=stop_halfway)
    _, partial, _ = store.corpus()
    assert 6 + 90 <= len(partial) < 6 + len(rows)

    report = import_ratings(store, ratings, source="club", chunk_rows=30)
    again = import_ratings(store, ratings, source="club", chunk_rows=30)

    users, film_ids, values = store.corpus()
    pairs = list(zip(users[6:].tolist(), film_ids[6:].tolist()))
    assert len(pairs) == len(rows) == len(set(pairs))
    assert report.resumed_from_row == seen_chunks[-1] and report.rows_read == len(rows) - seen_chunks[-1]
    assert sorted(values[6:].tolist()) == sorted(r * 1.0 for _, _, r in rows)
    assert again.already_imported and again.ratings_stored == 0


def test_the_command_imports_then_train_uses_the_imported_ratings(tmp_path, monkeypatch, capsys):
    data = build_tiny_data(tmp_path)
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DATA_DIR", str(data))
    items = tmp_path / "items.csv"
    items.write_text(ITEMS, encoding="utf-8")
    ratings = write_ratings(tmp_path / "ratings.csv", [
        (f"m{u}", item, float((u + i) % 5 + 1)) for u in range(30) for i, item in enumerate("abcd")])

    assert main(["import-ratings", "--ratings", str(ratings), "--items", str(items), "--source", "club"]) == 0
    out = capsys.readouterr().out
    assert "matched to the catalog 2" in out and "added as new films 1" in out and "ratings stored 90" in out

    store = Store.open(tmp_path / "var" / "store.sqlite", data)
    users, _, _ = store.corpus()
    assert len(users) == 6 + 90  # items a, b, and c/d (one film) for 30 members
    store.close()

    assert main(["train"]) == 0
    model, _ = ModelStore(tmp_path / "var" / "models").current()
    past_lives = next(f.film_id for f in Store.open(tmp_path / "var" / "store.sqlite", data).films()
                      if f.title == "Past Lives")
    assert model.n_users == 3 + 30 and model.index_of(past_lives) is not None


# MovieTweetings writes IMDb numbers with leading zeros, in the ratings and the items file alike.
ZERO_PADDED_ITEMS = """item,title,year,genres
0000040,Heat,1995,Crime
0000010,Kumonosu-jo,1957,Drama
0000020,The Host,2006,Horror
0068646,The Godfather,1972,Crime|Drama
"""
# Ids that differ only in zeros are different items.
ZERO_TWINS = """item,title,year,genres
0443,Heat,1995,Crime
443,The Host,2006,Horror
068646,Kumonosu-jo,1957,Drama
0068646,The Godfather,1972,Crime|Drama
"""


def stored_ratings(store: Store) -> list[tuple[str, int, float]]:
    """Return every imported (user hash, film_id, stars) row of the store."""
    connection = sqlite3.connect(store.path)
    rows = connection.execute("SELECT m.member_hash, f.film_id, f.stars FROM member_films f "
                              "JOIN members m ON m.member_id = f.member_id").fetchall()
    connection.close()
    return sorted(rows)


def film_named(store: Store, title: str, year: int) -> int:
    return next(f.film_id for f in store.films() if f.title == title and f.year == year)


def test_ids_with_leading_zeros_keep_every_rating_of_a_resolved_item(tmp_path, store):
    items = tmp_path / "items.csv"
    items.write_text(ZERO_PADDED_ITEMS, encoding="utf-8")
    ratings = write_ratings(tmp_path / "ratings.csv", [
        (f"u{u}", item, 8.0) for u in range(10) for item in ("0000040", "0000010", "0000020", "0068646")])

    report = import_ratings(store, ratings, items, source="tweets")

    assert (report.items, report.items_by_title, report.items_added) == (4, 3, 1)
    assert report.rows == 40 and report.rows_skipped == 0 and not report.refused
    assert report.ratings_stored == 40 and report.users == 10
    godfather = film_named(store, "The Godfather", 1972)
    assert Counter(film for _, film, _ in stored_ratings(store)) == {5: 10, 2: 10, 3: 10, godfather: 10}


def test_ids_that_differ_only_in_zeros_are_never_merged_or_confused(tmp_path, store):
    items = tmp_path / "items.csv"
    items.write_text(ZERO_TWINS, encoding="utf-8")
    ratings = write_ratings(tmp_path / "ratings.csv", [
        ("ann", "0443", 10), ("ann", "443", 2), ("ann", "068646", 6), ("ann", "0068646", 4)])

    report = import_ratings(store, ratings, items, source="twins")

    assert report.rows_skipped == 0 and report.ratings_stored == 4
    godfather = film_named(store, "The Godfather", 1972)
    assert {(film, stars) for _, film, stars in stored_ratings(store)} == {
        (5, 5.0), (3, 1.0), (2, 3.0), (godfather, 2.0)}


def test_without_an_items_file_an_id_is_a_catalog_film_id_as_written_or_an_imdb_id(tmp_path, store):
    ratings = write_ratings(tmp_path / "ratings.csv", [
        ("ann", "5", 10), ("bob", "05", 8), ("cat", "tt0000010", 6), ("dan", "tt404", 4)])

    report = import_ratings(store, ratings, source="plain", allow_skips=True)

    assert report.skipped == {NOT_IN_CATALOG: 2}
    assert report.skip_examples[NOT_IN_CATALOG] == ["row 2: item '05'", "row 4: item 'tt404'"]
    assert sorted((film, stars) for _, film, stars in stored_ratings(store)) == [(2, 3.0), (5, 5.0)]


def rows_with_three_bad_ones() -> str:
    good = "".join(f"u{n},0000040,{n % 10 + 1}\n" for n in range(97))
    return "user,item,rating\n" + good + "x,9999999,5\ny,0000099,5\nz,0000040,five\n"


def test_skipped_rows_are_counted_by_reason_and_too_many_store_nothing(tmp_path, store):
    items = tmp_path / "items.csv"
    items.write_text(ZERO_PADDED_ITEMS + "0000099,,\n", encoding="utf-8")
    ratings = tmp_path / "ratings.csv"
    ratings.write_text(rows_with_three_bad_ones(), encoding="utf-8")
    films_before, corpus_before = len(store.films()), len(store.corpus()[0])

    refused = import_ratings(store, ratings, items, source="club")

    assert refused.refused and refused.rows == 100 and refused.rows_skipped == 3
    assert refused.skipped == {NOT_IN_ITEMS: 1, UNTITLED: 1, MALFORMED: 1}
    assert refused.skip_examples == {NOT_IN_ITEMS: ["row 98: item '9999999'"], UNTITLED: ["row 99: item '0000099'"],
                                     MALFORMED: ["row 100: z,0000040,five"]}
    assert "skipped 3 of 100 rows (3.0%)" in refused.lines()
    assert len(store.films()) == films_before and len(store.corpus()[0]) == corpus_before
    assert store.import_progress(f"club:{file_digest(ratings)}:{file_digest(items)}") == (0, False)

    allowed = import_ratings(store, ratings, items, source="club", allow_skips=True)

    assert not allowed.refused and allowed.rows_skipped == 3 and allowed.ratings_stored == 97
    assert len(store.corpus()[0]) == corpus_before + 97


def test_a_few_skipped_rows_do_not_stop_the_import_and_are_still_counted(tmp_path, store):
    items = tmp_path / "items.csv"
    items.write_text(ZERO_PADDED_ITEMS, encoding="utf-8")
    ratings = write_ratings(tmp_path / "ratings.csv",
                            [(f"u{n}", "0000040", 7) for n in range(199)] + [("late", "40", 7)])

    report = import_ratings(store, ratings, items, source="club")

    assert not report.refused and report.skipped == {NOT_IN_ITEMS: 1} and report.ratings_stored == 199


def test_an_import_of_zero_padded_ids_killed_and_resumed_stores_every_rating_exactly_once(tmp_path, store):
    items = tmp_path / "items.csv"
    items.write_text(ZERO_TWINS, encoding="utf-8")
    rng = np.random.default_rng(1)
    ids = ("0443", "443", "068646", "0068646")
    rows = [(f"u{u}", item, float(rng.integers(1, 11))) for u in range(40) for item in ids]
    ratings = write_ratings(tmp_path / "ratings.csv", rows)

    def stop_halfway(rows_done: int) -> None:
        if rows_done >= len(rows) // 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        import_ratings(store, ratings, items, source="club", chunk_rows=25, on_chunk=stop_halfway)
    assert 0 < len(stored_ratings(store)) < len(rows)

    resumed = import_ratings(store, ratings, items, source="club", chunk_rows=25)

    assert resumed.resumed_from_row > 0 and resumed.rows_skipped == 0
    film_of = {"0443": 5, "443": 3, "068646": 2, "0068646": film_named(store, "The Godfather", 1972)}
    salt = store.import_salt()
    expected = sorted((user_hash(salt, "club", u), film_of[item], to_stars(r, resumed.scale)) for u, item, r in rows)
    assert stored_ratings(store) == expected
    assert len([f for f in store.films() if f.title == "The Godfather"]) == 1


def test_the_command_refuses_loudly_when_too_many_rows_would_be_skipped_unless_allowed(tmp_path, monkeypatch,
                                                                                      capsys):
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("DATA_DIR", str(build_tiny_data(tmp_path)))
    items = tmp_path / "items.csv"
    items.write_text(ZERO_PADDED_ITEMS + "0000099,,\n", encoding="utf-8")
    ratings = tmp_path / "ratings.csv"
    ratings.write_text(rows_with_three_bad_ones(), encoding="utf-8")
    command = ["import-ratings", "--ratings", str(ratings), "--items", str(items), "--source", "club"]

    assert main(command) == 1
    out, err = capsys.readouterr()
    assert "1 item not in the items file; row 98: item '9999999'" in out
    assert "error: 3 of 100 rows would be skipped, more than 1% of the file; nothing was stored" in err
    assert "--allow-skips" in err

    assert main([*command, "--allow-skips"]) == 0
    out, err = capsys.readouterr()
    assert "ratings stored 97" in out and "warning: 3 of 100 rows were skipped" in err
