"""Filters: request validation, and no excluded film ever gets through."""
from __future__ import annotations

import random

import numpy as np
import pytest

from services.catalog import Catalog
from services.domain import Film
from services.filters import Filters, normalise_provider

GENRES = ("Action", "Comedy", "Drama", "Horror", "Sci-Fi", "Science Fiction", "Romance", "Documentary")


def random_catalog(n: int = 400, seed: int = 0) -> Catalog:
    rng = random.Random(seed)
    films = []
    for i in range(n):
        films.append(Film(
            film_id=i + 1,
            title=f"Film {i}",
            year=rng.choice([None, *range(1920, 2025)]),
            runtime=rng.choice([None, *range(60, 220, 7)]),
            genres=tuple(rng.sample(GENRES, rng.randint(0, 3))),
            directors=(f"Director {rng.randint(0, 40)}",),
            vote_count=rng.choice([None, rng.randint(1, 50_000)]),
            vote_average=rng.uniform(3, 9),
            corpus_count=rng.randint(0, 300),
            media_type=rng.choice(["movie"] * 9 + ["tv"]),
        ))
    return Catalog(films)


def random_request(rng: random.Random) -> dict:
    request: dict = {}
    if rng.random() < 0.5:
        request["genres"] = rng.sample(["Action", "Comedy", "Drama", "sci-fi"], rng.randint(1, 2))
    if rng.random() < 0.4:
        request["exclude_genres"] = [g for g in rng.sample(["Horror", "Romance", "Documentary"], 1)]
    if rng.random() < 0.3:
        request["decade"] = f"{rng.choice(range(1930, 2030, 10))}s"
    elif rng.random() < 0.4:
        low = rng.randint(1920, 2020)
        request["year_min"], request["year_max"] = low, rng.randint(low, 2024)
    if rng.random() < 0.4:
        request["max_runtime"] = rng.randint(80, 200)
    if rng.random() < 0.5:
        request["obscurity"] = rng.choice(["popular", "balanced", "obscure", "any", rng.randint(0, 100)])
    if rng.random() < 0.4:
        request["watchlist"] = rng.choice(["include", "exclude", "only"])
    if rng.random() < 0.3:
        request["movies_only"] = rng.choice([True, False])
    return request


def test_no_film_outside_the_filters_gets_through_the_mask():
    catalog = random_catalog(250)
    rng = random.Random(1)
    watchlist = set(rng.sample(range(1, 251), 40))
    for _ in range(120):
        filters = Filters.from_request(random_request(rng))
        mask = filters.mask(catalog, watchlist)
        for index, film in enumerate(catalog.films):
            expected = filters.allows(film, float(catalog.obscurity[index]), film.film_id in watchlist)
            assert mask[index] == expected, (filters, film)


def test_passing_films_really_meet_each_filter():
    catalog = random_catalog(seed=2)
    filters = Filters.from_request({"genres": ["Sci-Fi"], "exclude_genres": "Horror", "decade": "1990s",
                                    "max_runtime": 150, "obscurity": 50})
    passed = [catalog.films[i] for i in np.flatnonzero(filters.mask(catalog))]
    assert passed
    for film in passed:
        assert {"Sci-Fi", "Science Fiction"} & set(film.genres)
        assert "Horror" not in film.genres
        assert 1990 <= film.year <= 1999
        assert film.runtime is not None and film.runtime <= 150
        assert catalog.obscurity[catalog.index_of(film.film_id)] <= 50
        assert film.media_type == "movie"


def test_a_film_with_unknown_runtime_is_not_under_any_runtime():
    film = Film(film_id=1, title="No runtime", year=2000)
    assert not Filters(max_runtime=500).allows(film, 0.0)
    assert Filters().allows(film, 0.0)


def test_watchlist_modes_include_exclude_and_only():
    catalog = random_catalog(20)
    listed = {1, 2, 3}
    only = Filters(watchlist="only", movies_only=False).mask(catalog, listed)
    excluded = Filters(watchlist="exclude", movies_only=False).mask(catalog, listed)
    assert set(catalog.film_ids[only].tolist()) == listed
    assert not set(catalog.film_ids[excluded].tolist()) & listed
    assert Filters(movies_only=False).mask(catalog, listed).all()


def test_defaults_let_every_movie_through():
    filters = Filters.from_request({})
    assert filters.is_default()
    assert filters.max_per_director == 2
    catalog = random_catalog(50)
    assert (filters.mask(catalog) == catalog.is_movie).all()


def test_request_values_are_parsed_and_normalised():
    filters = Filters.from_request({
        "genres": "sci-fi, Drama", "exclude_genres": ["horror"], "decade_min": "1980s", "decade_max": 1990,
        "max_runtime": "120", "obscurity": "obscure", "watchlist": "Only", "providers": ["Netflix", " Disney+ "],
        "movies_only": "false", "max_per_director": 0, "diversity": "0.5",
    })
    assert filters.genres == ("science fiction", "drama")
    assert filters.exclude_genres == ("horror",)
    assert (filters.year_min, filters.year_max) == (1980, 1999)
    assert filters.max_runtime == 120
    assert (filters.obscurity_min, filters.obscurity_max) == (50.0, 100.0)
    assert filters.watchlist == "only"
    assert filters.providers == ("netflix", "disney+")
    assert filters.movies_only is False
    assert filters.max_per_director == 0
    assert filters.diversity == 0.5


@pytest.mark.parametrize("request_data, message", [
    ({"genre": "Drama"}, "unknown filter 'genre'"),
    ({"genres": "Mumblecore"}, "unknown genre 'Mumblecore'"),
    ({"genres": 5}, "genres must be a list"),
    ({"genres": "Drama", "exclude_genres": "drama"}, "both included and excluded"),
    ({"year_min": 2010, "year_max": 2000}, "year range is empty"),
    ({"year_min": "nineteen"}, "year_min must be a whole number"),
    ({"year_max": 3000}, "year_max must be between"),
    ({"decade": "the eighties"}, "decade must be a decade like 1990s"),
    ({"decade": "1990s", "year_min": 1995}, "either decade or year_min"),
    ({"max_runtime": -5}, "max_runtime must be between"),
    ({"max_runtime": 90.5}, "max_runtime must be a whole number"),
    ({"obscurity": "niche"}, "obscurity must be one of"),
    ({"obscurity": 150}, "obscurity must be between"),
    ({"watchlist": "maybe"}, "watchlist must be one of"),
    ({"movies_only": "sometimes"}, "movies_only must be true or false"),
    ({"diversity": 2}, "diversity must be between"),
    ({"providers": [1, 2]}, "providers must contain only names"),
])
def test_bad_values_raise_a_readable_value_error(request_data, message):
    with pytest.raises(ValueError, match=message):
        Filters.from_request(request_data)


def test_filters_must_be_an_object():
    with pytest.raises(ValueError, match="filters must be an object"):
        Filters.from_request(["Drama"])  # type: ignore[arg-type]


def test_providers_match_offers_by_normalised_name():
    filters = Filters.from_request({"providers": "Amazon Prime Video"})
    assert normalise_provider("Amazon  Prime-Video") == "amazon prime video"
    assert filters.allows_providers([{"provider": "Netflix"}, {"provider": "amazon prime video"}])
    assert not filters.allows_providers([{"provider": "Netflix"}])
    assert Filters().allows_providers([])
