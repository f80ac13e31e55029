"""The RQ job entry point: a worker rebuilds the request and runs it, reporting through the shared bus."""
from __future__ import annotations

import base64
from typing import Any

from infra.jobs import Emitter

_facade = None


def _worker_facade():
    """The facade of this worker process, built on its first job."""
    global _facade
    if _facade is None:
        from config import load_settings
        from recommender.composition import build

        _facade = build(load_settings())
    return _facade


def prepare() -> None:
    """Build this worker's facade now, so its first job does not wait for it."""
    _worker_facade()


def run_pipeline(request_id: str, fields: dict[str, Any], encoded: str | None, filename: str) -> None:
    """Run one queued request on this worker."""
    facade = _worker_facade()
    upload = base64.b64decode(encoded) if encoded is not None else None
    try:
        req = facade.build_request(fields, upload, filename)
    except Exception as exc:  # noqa: BLE001 - validated on the web tier; report anything new as the job's error
        facade.jobs.run(request_id, lambda em: (_ for _ in ()).throw(exc), Emitter(facade.bus, request_id))
        return
    facade.jobs.run(request_id, lambda em: facade.pipeline.run(req, em), Emitter(facade.bus, request_id, req.count))
