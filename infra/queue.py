"""Pipelines on RQ workers: the web tier enqueues, `python main.py worker` runs them anywhere.

Jobs travel as JSON (RQ's JSONSerializer, never pickle): the request's fields and, for an
upload, the file base64-encoded. Events and results go through the same Redis bus and job
store the web tier reads, so any instance can serve the job's streams and result.
"""
from __future__ import annotations

import base64
import logging
from typing import Any

from redis import Redis
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer

log = logging.getLogger(__name__)

QUEUE_NAME = "lbr-pipelines"
JOB_TIMEOUT_S = 600
_facade = None


def queue(connection: Redis) -> Queue:
    return Queue(QUEUE_NAME, connection=connection, serializer=JSONSerializer)


def enqueue(connection: Redis, request_id: str, fields: dict[str, Any], upload: bytes | None,
            filename: str) -> None:
    """Put one pipeline on the queue for any worker."""
    encoded = base64.b64encode(upload).decode() if upload is not None else None
    queue(connection).enqueue_call(
        "infra.queue.run_pipeline", args=(request_id, fields, encoded, filename),
        timeout=JOB_TIMEOUT_S, result_ttl=0, failure_ttl=3600, job_id=f"lbr-{request_id}",
    )


def run_pipeline(request_id: str, fields: dict[str, Any], encoded: str | None, filename: str) -> None:
    """Worker side: rebuild the request and run it, reporting through the shared bus."""
    from config import load_settings
    from infra.jobs import Emitter
    from recommender import Recommender

    global _facade
    if _facade is None:
        _facade = Recommender.build(load_settings())
    upload = base64.b64decode(encoded) if encoded is not None else None
    try:
        req = _facade.build_request(fields, upload, filename)
    except Exception as exc:  # noqa: BLE001 - validated on the web tier; report anything new as the job's error
        _facade.jobs.run(request_id, lambda em: (_ for _ in ()).throw(exc), Emitter(_facade.bus, request_id))
        return
    _facade.jobs.run(request_id, lambda em: _facade.pipeline(req, em), Emitter(_facade.bus, request_id, req.count))


def run_worker(settings, burst: bool = False) -> int:
    """Serve the pipeline queue until stopped (or until it is empty with burst)."""
    if not settings.redis_url:
        print("error: the worker needs REDIS_URL")
        return 2
    connection = Redis.from_url(settings.redis_url)
    worker = SimpleWorker([queue(connection)], connection=connection, serializer=JSONSerializer)
    worker.work(burst=burst, with_scheduler=False)
    return 0
