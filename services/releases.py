"""Whether a film is out yet: the one rule every use case asks; pure, no I/O.

A film is not out yet when its year is after this year, or when TMDB's release date (known once
the film has been enriched from TMDB) is after today. Recommendations and a group's picks never
include such a film; a ranked list keeps it, after every released film, and its card says so.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Any

import numpy as np

from services.catalog import Catalog
from services.domain import Film

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def release_date(value: Any) -> str | None:
    """A release date as TMDB writes it ("2027-06-15"), or None for anything else (TMDB sends "" when unknown)."""
    if not isinstance(value, str) or not ISO_DATE.match(value):
        return None
    try:
        date.fromisoformat(value)
    except ValueError:
        return None
    return value


def not_out_yet(film: Film, today: date) -> bool:
    """Whether the film is not out yet on `today`: a later year, or a release date after today."""
    if film.year is not None and film.year > today.year:
        return True
    return film.release_date is not None and film.release_date > today.isoformat()


def unreleased_mask(catalog: Catalog, today: date) -> np.ndarray:
    """A boolean array over the catalog: True for every film not out yet on `today` (worked out once a day
    per catalog; do not write to it)."""
    return catalog.derived(("unreleased", today), lambda films: _unreleased(films, today))


def _unreleased(catalog: Catalog, today: date) -> np.ndarray:
    mask = np.nan_to_num(catalog.years, nan=-1.0) > today.year
    after = today.isoformat()
    for index, film in enumerate(catalog.films):
        if film.release_date is not None and film.release_date > after:
            mask[index] = True
    return mask


def unreleased_ids(catalog: Catalog, today: date) -> list[int]:
    """The film ids of the catalog's films not out yet on `today`."""
    return catalog.derived(("unreleased ids", today),
                           lambda films: films.film_ids[unreleased_mask(films, today)].tolist())


def release_fields(film: Film, today: date) -> dict:
    """What a card says of the film's release: whether it is out yet, and TMDB's release date when known."""
    return {"not_out_yet": not_out_yet(film, today), "release_date": film.release_date}
