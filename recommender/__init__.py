"""The facade and its parts.

    routes -> Recommender -> dispatch (quotas, thread or RQ) -> pipeline (profile, match, score, cards)
                          -> streams (SSE), health, catalogs, bootstrap (the first model)
                          -> services (validation, cards) and infra (sources, store, bus, jobs)

Module map:
    recommender/facade.py       Recommender: the object routes call, each method handing off to one part
    recommender/startup.py      the facade composed in the background, so the port answers at once
    recommender/composition.py  build(settings): the real parts, composed once per process
    recommender/bootstrap.py    the first model, trained in the background under a file lock
    recommender/pipeline.py     the steps of one recommendation; `_score` is where the model is asked
    recommender/dispatch.py     per-client job quota, request ids, thread pool or RQ
    recommender/streams.py      SSE channels: per-client stream quota, heartbeats, terminal events
    recommender/health.py       the `/_health` report
    recommender/catalogs.py     the catalog and title index, rebuilt in the background when the store changes
    recommender/failures.py     source and upload failures as member-facing errors
    recommender/worker.py       the RQ job entry point
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
