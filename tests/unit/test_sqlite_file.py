import sqlite3

import pytest

from infra.sqlite_file import SqliteFile

SCHEMA = """
CREATE TABLE IF NOT EXISTS parents (id INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS children (parent INTEGER NOT NULL REFERENCES parents (id) ON DELETE CASCADE);
"""


def test_the_file_and_its_folder_are_made_with_the_schema_in_wal_mode(tmp_path):
    db = SqliteFile(tmp_path / "deep" / "small.sqlite3", SCHEMA)
    with db.connect() as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"parents", "children"}
    SqliteFile(db.path, SCHEMA)  # opening it again keeps what is there


def test_foreign_keys_are_enforced_only_when_asked_for(tmp_path):
    loose = SqliteFile(tmp_path / "loose.sqlite3", SCHEMA)
    with loose.connect() as connection:
        connection.execute("INSERT INTO children (parent) VALUES (7)")

    strict = SqliteFile(tmp_path / "strict.sqlite3", SCHEMA, foreign_keys=True)
    with strict.connect() as connection:
        with pytest.raises(sqlite3.IntegrityError):
            connection.execute("INSERT INTO children (parent) VALUES (7)")
        connection.execute("INSERT INTO parents (id) VALUES (1)")
        connection.execute("INSERT INTO children (parent) VALUES (1)")
        connection.execute("DELETE FROM parents WHERE id = 1")
        assert connection.execute("SELECT COUNT(*) FROM children").fetchone()[0] == 0


def test_a_connection_is_closed_when_its_block_ends(tmp_path):
    db = SqliteFile(tmp_path / "small.sqlite3", SCHEMA)
    with db.connect() as connection:
        pass
    with pytest.raises(sqlite3.ProgrammingError):
        connection.execute("SELECT 1")
