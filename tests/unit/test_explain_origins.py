"""Reasons that say where and when a pick was made, when the member loves films of that country and decade."""
from __future__ import annotations

import numpy as np

from services.domain import Film
from services.origins import OriginShares, origin_text
from services.recsys.explain import LovedIndex, reasons_for
from services.recsys.members import MemberFilm


def catalog_films() -> list[Film]:
    """A catalog where Italian films are few and American ones many."""
    films = [Film(film_id=i, title=f"US {i}", year=1990 + i % 30, countries=("US",)) for i in range(1, 81)]
    films += [Film(film_id=100 + i, title=f"IT {i}", year=1960 + i, countries=("IT",)) for i in range(10)]
    films += [Film(film_id=200 + i, title=f"FR {i}", year=1975, countries=("FR",)) for i in range(10)]
    return films


def loved(films: list[Film]) -> list[MemberFilm]:
    return [MemberFilm(film, stars=5.0, liked=True, rewatch=False, watched=True, watchlist=False) for film in films]


def test_an_italian_film_of_the_sixties_is_explained_by_the_italian_sixties_films_the_member_loved():
    films = catalog_films()
    mine = loved([films[80], films[81], films[82], films[0]])  # three Italian films of the 1960s, one American
    pick = Film(film_id=999, title="Il Pick", year=1965, countries=("IT",), genres=("Drama",))
    per_film = np.array([0.3, 0.3, 0.2, 0.2], dtype=np.float32)
    index = LovedIndex.of(mine, OriginShares.of(films))
    reasons = reasons_for(pick, mine, per_film, None, None, index)
    assert any(r.startswith("An Italian film of the 1960s, like IT 0 and IT 1") for r in reasons), reasons


def test_a_country_most_of_the_catalog_comes_from_is_not_a_reason():
    films = catalog_films()
    mine = loved(films[:5])
    pick = Film(film_id=999, title="Pick", year=1995, countries=("US",))
    index = LovedIndex.of(mine, OriginShares.of(films))
    reasons = reasons_for(pick, mine, np.full(5, 0.2, dtype=np.float32), None, None, index)
    assert not any("American" in r for r in reasons), reasons


def test_origins_are_named_in_plain_words():
    assert origin_text("IT", 1960) == "An Italian film of the 1960s"
    assert origin_text("JP", None) == "A Japanese film"
    assert origin_text(None, 1970) == "A film of the 1970s"
    assert origin_text("ZZ", None) is None
