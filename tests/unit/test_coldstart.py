"""Cold start: mood picks that are well rated, popular enough, varied and on-mood."""
from __future__ import annotations

import random

import pytest

from services.catalog import Catalog, canonical_genre
from services.coldstart import MOODS, mood_picks
from services.domain import Film

GENRES = ("Action", "Adventure", "Animation", "Comedy", "Crime", "Documentary", "Drama", "Family", "Fantasy",
          "History", "Horror", "Music", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Film-Noir", "Biography")


def catalog(n: int = 600, seed: int = 0) -> Catalog:
    rng = random.Random(seed)
    films = []
    for i in range(n):
        films.append(Film(
            film_id=i + 1, title=f"Film {i}", year=rng.randint(1940, 2023),
            genres=tuple(rng.sample(GENRES, rng.randint(1, 3))),
            directors=(f"Director {rng.randint(0, 60)}",),
            corpus_count=int(rng.paretovariate(1.2) * 3), corpus_mean=rng.uniform(4, 9.5),
        ))
    return Catalog(films)


@pytest.mark.parametrize("mood", sorted(MOODS))
def test_every_mood_picks_its_genres_and_none_it_avoids(mood):
    cat = catalog()
    spec = MOODS[mood]
    picks = mood_picks(cat, mood, None, 10)
    assert len(picks) == 10
    for pick in picks:
        genres = {canonical_genre(g) for g in pick.film.genres}
        assert genres & set(spec.genres)
        assert not genres & set(spec.avoid)
        assert pick.reasons[0].lower().startswith(("a ", "an "))


def test_a_category_is_required_of_every_pick():
    picks = mood_picks(catalog(), "funny", "Horror", 8)
    assert picks
    assert all("Horror" in p.film.genres for p in picks)


def test_picks_are_popular_enough_and_well_rated():
    cat = catalog()
    picks = mood_picks(cat, None, None, 10)
    median_quality = sorted(cat.quality)[len(cat) // 2]
    for pick in picks:
        index = cat.index_of(pick.film.film_id)
        assert cat.obscurity[index] <= 40.0
        assert cat.quality[index] > median_quality


def test_picks_vary_directors_and_decades():
    picks = mood_picks(catalog(), "thoughtful", None, 10)
    directors = [d for p in picks for d in p.film.directors]
    assert len(directors) == len(set(directors))
    decades = [p.film.year // 10 for p in picks]
    assert max(decades.count(d) for d in decades) <= 4


def test_excluded_films_are_never_picked():
    cat = catalog()
    first = mood_picks(cat, "epic", None, 10)
    excluded = {p.film.film_id for p in first}
    again = mood_picks(cat, "epic", None, 10, exclude=excluded)
    assert not excluded & {p.film.film_id for p in again}


def test_the_same_request_gives_the_same_picks():
    cat = catalog()
    assert [p.film.film_id for p in mood_picks(cat, "cozy", None, 10)] == \
        [p.film.film_id for p in mood_picks(cat, "cozy", None, 10)]


def test_unknown_moods_and_categories_are_refused_with_the_choices():
    with pytest.raises(ValueError, match="unknown mood 'sleepy'; moods: cozy, thrilling"):
        mood_picks(catalog(50), "sleepy", None, 5)
    with pytest.raises(ValueError, match="unknown category 'Mumblecore'"):
        mood_picks(catalog(50), None, "Mumblecore", 5)
