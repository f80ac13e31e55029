"""import-ratings: matching, rescaling, hashing users, and a run killed halfway then run again."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from infra.model_store import ModelStore
from infra.rating_import import import_ratings, scale_of, to_stars
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

    report = import_ratings(store, ratings, items, source="club")

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
    assert report.resumed_from_row == seen_chunks[-1] and report.rows == len(rows) - seen_chunks[-1]
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
