"""The catalog's vectorised views of its films."""
from __future__ import annotations

import numpy as np

from services.catalog import Catalog, bayesian_average, canonical_genre, percentile_from_top
from services.domain import Film


def films() -> list[Film]:
    return [
        Film(film_id=10, title="Arrival", year=2016, genres=("Drama", "Sci-Fi"), corpus_count=50, corpus_mean=8.5),
        Film(film_id=11, title="Sicario", year=2015, genres=("Crime", "Thriller"), corpus_count=20, corpus_mean=7.5,
             runtime=121),
        Film(film_id=12, title="Dune", year=2021, genres=("Science Fiction", "Adventure"), vote_count=9000,
             vote_average=7.8, corpus_count=1, corpus_mean=2.0),
        Film(film_id=13, title="Obscure", year=None, genres=(), corpus_count=1, corpus_mean=10.0),
        Film(film_id=14, title="A Show", year=2010, media_type="tv"),
    ]


def test_catalog_finds_films_by_id_and_position():
    catalog = Catalog(films())
    assert catalog.by_id(11).title == "Sicario"
    assert catalog.by_id(99) is None
    assert catalog.index_of(12) == 2
    assert catalog.index_of(99) is None
    assert catalog.indices_of([13, 99, 10]).tolist() == [3, -1, 0]


def test_unknown_years_and_runtimes_are_nan():
    catalog = Catalog(films())
    assert np.isnan(catalog.years[3]) and catalog.years[0] == 2016
    assert np.isnan(catalog.runtimes[0]) and catalog.runtimes[1] == 121


def test_imdb_and_tmdb_genre_spellings_fold_together():
    catalog = Catalog(films())
    assert canonical_genre("Sci-Fi") == canonical_genre("Science Fiction") == "science fiction"
    assert catalog.genre_mask(["sci-fi"]).tolist() == [True, False, True, False, False]


def test_obscurity_is_zero_for_the_most_voted_film():
    values = np.array([5.0, 100.0, 1.0, 1.0])
    assert percentile_from_top(values).tolist() == [100 / 3, 0.0, 200 / 3, 200 / 3]
    catalog = Catalog(films())
    # TMDB votes rank films that have them; corpus counts rank the rest.
    assert catalog.obscurity[2] == 0.0
    assert catalog.obscurity[0] < catalog.obscurity[1] < catalog.obscurity[3]


def test_few_votes_are_shrunk_towards_the_mean():
    shrunk = bayesian_average(np.array([10.0, 10.0, np.nan]), np.array([1.0, 1000.0, 0.0]), 6.0, 10.0)
    assert 6.0 < shrunk[0] < 6.5
    assert shrunk[1] > 9.9
    assert shrunk[2] == 6.0
    catalog = Catalog(films())
    # A perfect score from one rating is not "better" than 8.5 from fifty.
    assert catalog.quality[3] < catalog.quality[0]


def test_tv_is_marked_so_movies_only_can_drop_it():
    assert Catalog(films()).is_movie.tolist() == [True, True, True, True, False]


def test_every_source_spelling_maps_to_one_genre_vocabulary():
    from services.catalog import canonical_genres, genre_label, genre_labels

    # MovieTweetings/IMDb, TMDB and Wikipedia spellings of the same genres
    assert genre_labels(["Sci-Fi"]) == genre_labels(["Science Fiction"]) == genre_labels(["science fiction"])
    assert genre_labels(["Film-Noir"]) == genre_labels(["Noir"]) == ("Film Noir",)
    assert genre_labels(["Animated"]) == genre_labels(["Animation"]) == ("Animation",)
    assert genre_labels(["Sports"]) == genre_labels(["Sport"]) == ("Sport",)
    assert genre_labels(["Historical"]) == genre_labels(["History"]) == ("History",)
    # sub-genres become the genres they are made of; labels that are not genres drop out
    assert genre_labels(["romantic comedy"]) == ("Romance", "Comedy")
    assert genre_labels(["crime drama", "Drama"]) == ("Crime", "Drama")
    assert genre_labels(["sci-fi horror"]) == ("Science Fiction", "Horror")
    assert genre_labels(["Independent", "Comedy"]) == ("Comedy",)
    # a label maps back to itself, so mapping twice changes nothing
    for key in canonical_genres(["TV Movie", "Film-Noir", "Sci-Fi", "Game-Show", "Western", "silent"]):
        assert canonical_genres([genre_label(key)]) == (key,)
    assert genre_labels(genre_labels(["Comedy-drama", "Sci-Fi"])) == ("Comedy", "Drama", "Science Fiction")


def test_freebase_genre_names_map_onto_the_vocabulary_and_the_rest_are_keywords():
    from services.catalog import split_genres

    assert split_genres(["Romance Film", "Crime Fiction", "War film", "Short Film", "Family Film"]) == (
        ("Romance", "Crime", "War", "Short", "Family"), ())
    assert split_genres(["Spaghetti Western", "World cinema", "Black-and-white", "Teen", "Drama"]) == (
        ("Western", "Drama"), ("Spaghetti Western", "World cinema", "Black-and-white", "Teen"))
    assert split_genres(["Reality-TV", "Sci-Fi"]) == (("Science Fiction",), ("Reality-TV",))


def test_an_extended_catalog_keeps_every_position_and_agrees_with_a_fresh_build():
    base_films, more = films()[:3], films()[3:]
    base = Catalog(base_films)
    extended = base.extended(more + [base_films[0]])  # a film already held is not added twice
    fresh = Catalog(films())
    assert extended.film_ids.tolist() == fresh.film_ids.tolist()
    assert [extended.index_of(f.film_id) for f in base_films] == [0, 1, 2]
    for name in ("years", "runtimes", "corpus_counts", "vote_counts", "obscurity", "quality", "is_movie"):
        np.testing.assert_array_equal(getattr(extended, name), getattr(fresh, name), err_msg=name)
    assert extended.genre_keys == fresh.genre_keys
    for genre in fresh.genre_keys:
        assert extended.genre_mask([genre]).tolist() == fresh.genre_mask([genre]).tolist(), genre
    assert extended.parent == (base, 3) and base.parent is None
    assert len(base) == 3, "the catalog it extends is left as it was"
    assert base.extended(base_films) is base


def test_an_extension_of_an_extension_extends_the_catalog_built_in_full_and_keeps_it_alive():
    import gc

    all_films = films()
    once = Catalog(all_films[:3]).extended(all_films[3:4])
    twice = once.extended(all_films[4:])
    del once
    gc.collect()
    base, held = twice.parent
    assert held == 3 and base.film_ids.tolist() == twice.film_ids[:3].tolist() and base.parent is None
    assert twice.film_ids.tolist() == Catalog(all_films).film_ids.tolist()
