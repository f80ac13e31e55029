"""The RQ job entry points: a worker rebuilds the request of any kind and runs it, reporting through the shared bus."""
from __future__ import annotations

import base64
import logging
from typing import Any, Sequence

from infra.jobs import Emitter
from recommender.dispatch import RECOMMEND

log = logging.getLogger(__name__)

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


def run_job(request_id: str, kind: str, fields: dict[str, Any], uploads: Sequence[Sequence[Any]]) -> None:
    """Run one queued job of any kind on this worker."""
    log.info("job %s: %s", request_id, kind)
    facade = _worker_facade()
    decoded = [(int(slot), base64.b64decode(encoded), filename) for slot, encoded, filename in uploads]
    try:
        req = facade.request_for(kind, fields, decoded)
    except Exception as exc:  # noqa: BLE001 - validated on the web tier; report anything new as the job's error
        failure = exc
        facade.jobs.run(request_id, lambda em: (_ for _ in ()).throw(failure), Emitter(facade.bus, request_id))
        return
    facade.jobs.run(request_id, lambda em: facade.run(kind, req, em), facade.dispatch.emitter(request_id, req))


def run_pipeline(request_id: str, fields: dict[str, Any], encoded: str | None, filename: str) -> None:
    """A recommendation queued under this entry's name by an earlier release: run it as `run_job` does."""
    run_job(request_id, RECOMMEND, fields, [[1, encoded, filename]] if encoded is not None else [])
