"""The facade, the use cases it offers, and the steps they are made of.

    routes -> Recommender -> dispatch (quotas, thread or RQ, every kind of job) -> a use case
           use cases: recommend, ranked_list, together (group night, watchlist night, taste match, year in review)
           each composes steps (load the member, enrich, score, stream cards with availability)
           over ports (profiles, lists, TMDB, availability, the served model)
                          -> event_streams (SSE), health, catalogs, served_model (bootstrap: the first model)
                          -> services (validation, scoring, cards) and infra (sources, store, bus, jobs)

Module map:
    recommender/facade.py         Recommender: the object routes call, each method handing off to one part
    recommender/startup.py        the facade composed in the background, so the port answers at once
    recommender/composition.py    build(settings): the real parts, composed once per process
    recommender/ports.py          the typed ports the use cases are given: profiles, lists, TMDB, availability
    recommender/served_model.py   the model runs ask: wait for the first one, then the current one
    recommender/bootstrap.py      the first model, trained in the background under a file lock
    recommender/steps.py          the steps every run is made of, and the one card loop
    recommender/recommend.py      recommend: films for one member (or a mood alone)
    recommender/ranked_list.py    ranked list: a list (watchlist, Letterboxd list, titles) in the member's order
    recommender/together.py       group night (the catalog, or the members' watchlists), taste match and year
                                  in review over several loaded members
    recommender/more_like.py      "more like this": films like one pick, for a finished run's member
    recommender/dispatch.py       per-client job quota, request ids, thread pool or RQ, for every kind of job
    recommender/worker.py         the RQ job entry points
    recommender/event_streams.py  SSE channels: per-client stream quota, heartbeats, terminal events
    recommender/health.py         the `/_health` report
    recommender/catalogs.py       the catalog and title index, rebuilt in the background when the store changes
    recommender/failures.py       source and upload failures as member-facing errors
"""
from __future__ import annotations

from typing import Any

__all__ = ["Recommender", "RecommendRequest"]


def __getattr__(name: str) -> Any:
    # Imported on first use, so the web process can bind its port before numpy and the model code load.
    if name == "Recommender":
        from recommender.facade import Recommender

        return Recommender
    if name == "RecommendRequest":
        from services.recommend_request import RecommendRequest

        return RecommendRequest
    raise AttributeError(f"module 'recommender' has no attribute {name!r}")
