"""What TMDB has told about a film: whether it carries a details call's fields, and new details laid over old."""
from __future__ import annotations

from dataclasses import fields, replace

from services.domain import Film


def is_enriched(film: Film | None) -> bool:
    """Return whether a film already carries what a details call adds.

    TMDB's vote count comes with a details call and with a search's list item, never with the
    embedded catalog; credits and the runtime come with details only. So a catalog film (its
    directors from Wikipedia, no poster) and a film only found by a search both still need it.
    """
    return film is not None and film.vote_count is not None and (
        film.runtime is not None or bool(film.directors) or bool(film.keywords))


def only_listed(film: Film | None) -> bool:
    """Return whether a film is known from a search or a list of TMDB's and has never had its details."""
    return film is not None and film.tmdb_id is not None and film.vote_count is not None and not is_enriched(film)


def overlay(old: Film, new: Film) -> Film:
    """Return old updated with new's known values (None and empty keep the old ones), old's id kept."""
    changes = {}
    for f in fields(Film):
        if f.name in ("film_id", "corpus_count", "corpus_mean"):
            continue
        value = getattr(new, f.name)
        if value is not None and value != () and value != "":
            changes[f.name] = value
    return replace(old, **changes)
