"""What `/_health` reports: Letterboxd's circuit, Redis, the catalog, the model and TMDB."""
from __future__ import annotations

import time


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
    state = facade.model.state
    version = facade.model.version()
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
        "model": {"version": version, "loaded": version is not None, "state": state,
                  "kind": facade.model.kind() if version is not None else None, "full": facade.model.full_state},
        "tmdb": {"configured": bool(facade.settings.tmdb_key), "healthy": tmdb_ok},
        "uptime_s": round(time.time() - facade.started, 1),
    }
