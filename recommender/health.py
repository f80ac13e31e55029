"""What `/_health` reports: Letterboxd's circuit, Redis, the catalog, the model and TMDB."""
from __future__ import annotations

import logging
import time

from recommender.bootstrap import READY

log = logging.getLogger(__name__)


def model_version(model_store) -> str | None:
    """The version of the model in use, or None when there is none (or it cannot be read)."""
    try:
        return model_store.current()[1]
    except Exception:  # noqa: BLE001 - health reports a missing or broken model, it does not fail
        log.exception("model unavailable")
        return None


def corpus_figures(facade) -> dict:
    """Ratings the model learns from, and how many of them members contributed."""
    from infra.contributions import ContributionsUnavailable

    contributed = None
    if facade.contributions is not None:
        try:
            contributed = facade.contributions.counts()
        except ContributionsUnavailable:
            contributed = None
    _, _, ratings = facade.store.corpus()
    return {"ratings": int(ratings.size), "contributions": contributed}


def health_report(facade) -> dict:
    """The health answer for one facade."""
    incident = facade.tracker.snapshot()
    redis_ok = facade.link.ping() if facade.link else None
    state = facade.bootstrap.state if facade.bootstrap is not None else READY
    version = model_version(facade.model_store) if state == READY else None
    kind = facade.model_store.current_kind() if version is not None else None
    full = facade.bootstrap.full_state if facade.bootstrap is not None else READY
    tmdb_ok = facade.tmdb.healthy() if facade.tmdb else None
    degraded = bool(incident.get("letterboxd_circuit_open")) or redis_ok is False or tmdb_ok is False
    return {
        "status": "ok",
        "degraded": degraded,
        "incident": incident,
        "redis": {"configured": facade.link is not None, "reachable": redis_ok},
        "catalog": {"films": len(facade.catalogs.catalog().films), "version": facade.catalogs.version},
        "corpus": corpus_figures(facade),
        # kind: the model that answers ("quick" until the full one is fitted); full: where that one is.
        "model": {"version": version, "loaded": version is not None, "state": state, "kind": kind, "full": full},
        "tmdb": {"configured": bool(facade.settings.tmdb_key), "healthy": tmdb_ok},
        "uptime_s": round(time.time() - facade.started, 1),
    }
