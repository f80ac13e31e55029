"""Shape picks into the cards and the payload the API returns and the pages show: pure, no I/O."""
from __future__ import annotations

from datetime import date
from typing import Any, Mapping

from services.domain import ScoredFilm
from services.releases import release_fields

TMDB_URL = "https://www.themoviedb.org/movie/{}"
LETTERBOXD_FILM_URL = "{base}/film/{slug}/"
LETTERBOXD_TMDB_URL = "{base}/tmdb/{tmdb_id}/"

FRESHNESS_HINTS = {
    "stale_cache": ("Letterboxd is blocking automated requests right now, so this uses a copy of your profile "
                    "from an earlier visit. Upload your Letterboxd export for fully fresh results."),
    "rss": ("Letterboxd's film pages were unavailable, so this uses your RSS feed: your ~50 most recent "
            "diary entries. Upload your Letterboxd export for results from your whole history."),
    "partial": ("Letterboxd stopped answering part-way through your films, so this uses the films we could "
                "read. Try again later, or upload your Letterboxd export."),
}
COLD_START_HINT = ("We matched too few of your films to learn your taste, so these are well-loved picks. "
                   "Choose a mood for more personal ones.")


def letterboxd_url(film, letterboxd_base_url: str) -> str | None:
    """The film's Letterboxd page: by slug when known, else through Letterboxd's TMDB redirect."""
    base = letterboxd_base_url.rstrip("/")
    if film.letterboxd_slug:
        return LETTERBOXD_FILM_URL.format(base=base, slug=film.letterboxd_slug)
    if film.tmdb_id:
        return LETTERBOXD_TMDB_URL.format(base=base, tmdb_id=film.tmdb_id)
    return None


def card(pick: ScoredFilm, streaming: Mapping[int, list], include_streaming: bool, watchlist: set[int],
         catalog, match: int | None, letterboxd_base_url: str, *, today: date) -> dict:
    """One recommendation as the API and the page show it; `today` says whether the film is out yet."""
    film = pick.film
    index = catalog.index_of(film.film_id)
    return {
        "film_id": film.film_id,
        "tmdb_id": film.tmdb_id,
        "imdb_id": film.imdb_id,
        "title": film.title,
        "original_title": film.original_title,
        "year": film.year,
        "director": film.directors[0] if film.directors else None,
        "directors": list(film.directors),
        "genres": list(film.genres),
        "poster": film.poster,
        "rating_tmdb": film.vote_average,
        "vote_count": film.vote_count,
        "runtime": film.runtime,
        # None when availability is unknown (offline), [] when known to be nowhere.
        "streaming": streaming.get(film.film_id) if include_streaming else None,
        "reason": pick.reasons[0] if pick.reasons else None,
        "reasons": list(pick.reasons),
        "score": round(float(pick.score), 4),
        "match": match,
        "letterboxd_url": letterboxd_url(film, letterboxd_base_url),
        "tmdb_url": TMDB_URL.format(film.tmdb_id) if film.tmdb_id else None,
        "in_watchlist": film.film_id in watchlist,
        "obscurity": int(round(float(catalog.obscurity[index]))) if index is not None else None,
        "corpus_mean": film.corpus_mean,
        "corpus_count": film.corpus_count,
        **release_fields(film, today),
    }


def payload(*, request_id: str, req: Any, country_name: str, pages: int, freshness: str, incident: dict | None,
            profile: dict, preferences: Any, cards: list[dict], analytics: Any, cold: bool,
            model_version: str | None, elapsed_ms: int, timings_ms: Mapping[str, int],
            contribution: dict | None = None) -> dict:
    """The whole answer to a recommendation request."""
    hint = FRESHNESS_HINTS.get(freshness)
    if cold and not req.mood:
        hint = hint or COLD_START_HINT
    return {
        "request_id": request_id,
        "username": req.username,
        "country_code": req.country,
        "country_name": country_name,
        "pages": pages,
        "data_freshness": freshness,
        "hint": hint,
        "incident": incident,
        "profile": profile,
        "preferences": preferences,
        "recommendations": cards,
        "analytics": analytics,
        "cold_start": cold,
        "mood": req.mood,
        "model_version": model_version,
        "elapsed_ms": elapsed_ms,
        "timings_ms": dict(timings_ms),
        "contribution": contribution,
    }
