"""The in-memory catalog on a real store: one first build, rebuilds in the background, films joined at once."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from infra.store import Store
from recommender.catalogs import CatalogCache
from services.domain import Film, ProfileFilm
from tests.support.tiny_source import build_tiny_data


@pytest.fixture()
def store(tmp_path: Path):
    opened = Store.open(tmp_path / "var" / "store.sqlite", build_tiny_data(tmp_path))
    yield opened
    opened.close()


def test_a_store_change_is_rebuilt_in_the_background_and_prepared_before_it_is_served(store):
    warmed, release = [], threading.Event()

    def warm(catalog):
        release.wait(10)  # hold the rebuild until the old catalog has been served meanwhile
        warmed.append(len(catalog))

    cache = CatalogCache(store, warm=warm, min_interval_s=0.0)
    release.set()
    first = cache.catalog()
    assert warmed == [5] and cache.index() is not None
    release.clear()
    store.upsert_films([Film(film_id=0, title="Aftersun", year=2022, tmdb_id=965150)])
    assert cache.catalog() is first, "the request in hand gets the catalog already built"
    assert len(cache.catalog()) == 5 and cache.index().match(ProfileFilm(title="Aftersun", year=2022)) is None
    release.set()
    assert cache.wait_for_rebuild(10)
    rebuilt = cache.catalog()
    assert len(rebuilt) == 6 and warmed == [5, 6], "the rebuilt catalog was prepared before it was swapped in"
    assert cache.version == store.version()


def test_a_run_needing_films_the_catalog_lacks_gets_them_at_once(store):
    cache = CatalogCache(store, min_interval_s=3600.0)
    before = cache.catalog()
    film_id = store.upsert_films([Film(film_id=0, title="Past Lives", year=2023, tmdb_id=666277)])[0]
    newcomer = store.film(film_id)
    catalog = cache.including([newcomer, before.films[0]])
    assert len(catalog) == len(before) + 1 and catalog.by_id(film_id) == newcomer
    assert catalog.parent == (before, len(before)), "extended, not rebuilt"
    assert cache.catalog() is catalog and cache.including([newcomer]) is catalog
    assert cache.index().match(ProfileFilm(title="Past Lives", year=2023)).film_id == film_id
