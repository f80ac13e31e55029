"""The collector against the fake Letterboxd and the real SQLite store: resumable, idempotent, hashed."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from infra.collector import FilmIndex, collect, member_hash
from infra.http import IncidentTracker
from infra.letterboxd import LetterboxdClient
from infra.store import Store
from services.domain import Film, ProfileFilm
from tests.fakes import FakeLetterboxd, build_world

ROOT = Path(__file__).resolve().parents[2]
SALT = "test-salt"
PAGE_SIZE = 12


class Interrupted(Exception):
    pass


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture(scope="module")
def world():
    return build_world(popular_members=60)


@pytest.fixture(scope="module")
def fake(world) -> Iterator[FakeLetterboxd]:
    server = FakeLetterboxd(world, page_size=PAGE_SIZE).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def clean(fake: FakeLetterboxd) -> None:
    fake.control.reset()


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    s = Store.open(tmp_path / "store.sqlite", ROOT / "data")
    yield s
    s.close()


def client(fake: FakeLetterboxd, threshold: int = 5, sleep: Sleeps | None = None) -> LetterboxdClient:
    return LetterboxdClient(fake.url, 5, IncidentTracker(None, threshold, 60), pool_size=4, retry_sleep_s=0,
                            sleep=sleep or Sleeps())


def expected_rows(world, names) -> tuple[int, int]:
    rated = unrated = 0
    for name in names:
        for logged in world.members[name].films:
            rated += logged.rating is not None
            unrated += logged.rating is None
    return rated, unrated


def test_collection_interrupted_after_20_members_resumes_and_stores_each_rating_once(fake, store, world):
    def stop_after_twenty(n: int) -> None:
        if n == 20:
            raise Interrupted

    with pytest.raises(Interrupted):
        collect(client(fake), store, members=50, pages=3, salt=SALT, on_member=stop_after_twenty)
    assert store.collected_counts()["complete_members"] == 20

    messages = []
    stats = collect(client(fake), store, members=50, pages=3, salt=SALT,
                    progress=lambda m, c, t: messages.append(m))
    assert (stats.members_seen, stats.members_skipped, stats.members_collected) == (50, 20, 30)
    assert stats.stopped is None and messages[-1] == "Collecting member 50 of 50"

    counts = store.collected_counts()
    rated, unrated = expected_rows(world, world.popular[:50])
    assert (counts["members"], counts["complete_members"]) == (50, 50)
    assert (counts["ratings"], counts["unrated"]) == (rated, unrated)
    for name in world.popular[:20]:
        assert fake.control.count(f"/{name}/films/") == len(
            range(0, len(world.members[name].films), PAGE_SIZE)), "finished members are not fetched again"

    again = collect(client(fake), store, members=50, pages=3, salt=SALT)
    assert again.members_skipped == 50 and again.rows_stored == 0
    assert store.collected_counts() == counts


def test_members_are_stored_only_as_salted_hashes(fake, store, world, tmp_path):
    collect(client(fake), store, members=3, pages=1, salt=SALT)
    assert all(store.member_complete(member_hash(n, SALT)) for n in world.popular[:3])
    assert not store.member_complete(member_hash(world.popular[0], "another-salt"))
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("store.sqlite*"))
    assert b"member001" not in raw and b"Member 1" not in raw


def test_a_member_cut_short_is_left_incomplete_then_finished_without_duplicates(fake, store, world):
    fake.control.set(truncate=True)
    first = collect(client(fake), store, members=6, pages=1, salt=SALT)
    two_page = [n for n in world.popular[:6] if len(world.members[n].films) > PAGE_SIZE]
    assert two_page and first.members_collected == 6 - len(two_page)
    assert not any(store.member_complete(member_hash(n, SALT)) for n in two_page)
    assert store.collected_counts()["ratings"] > 0, "what arrived is kept"

    fake.control.set(truncate=False)
    second = collect(client(fake), store, members=6, pages=1, salt=SALT)
    assert second.members_collected == len(two_page)
    rated, unrated = expected_rows(world, world.popular[:6])
    counts = store.collected_counts()
    assert (counts["complete_members"], counts["ratings"], counts["unrated"]) == (6, rated, unrated)


def test_an_open_circuit_makes_the_collector_wait_then_stop(fake, store):
    fake.control.set(block="all", fail_paths=("/member0",))
    sleeps = Sleeps()
    stats = collect(client(fake, threshold=2, sleep=sleeps), store, members=10, pages=1, salt=SALT, sleep=sleeps)
    assert stats.stopped == "Letterboxd kept the circuit open"
    assert stats.members_failed == 1 and stats.members_collected == 0
    assert len(sleeps.delays) == 3 and all(50 < d <= 60 for d in sleeps.delays)


def test_films_are_found_by_slug_then_title_and_year_within_a_year():
    index = FilmIndex([Film(1, "Arrival", 2016, tmdb_id=329865, letterboxd_slug="arrival-2016"),
                       Film(2, "Amélie", 2001), Film(3, "Heat", 1995), Film(4, "Heat", 1986)])
    assert index.find(ProfileFilm("Whatever", 1900, slug="arrival-2016")) == 1
    assert index.find(ProfileFilm("Amelie", 2001)) == 2
    assert index.find(ProfileFilm("Amélie", 2000)) == 2
    assert index.find(ProfileFilm("Heat", 1995)) == 3
    assert index.find(ProfileFilm("Heat", 1990)) is None


def test_a_salt_is_required():
    with pytest.raises(ValueError):
        collect(None, None, 1, 1, "")  # type: ignore[arg-type]
