"""The RQ queue: the web tier enqueues a named job, `python main.py worker` runs queued jobs anywhere.

Jobs travel as JSON (RQ's JSONSerializer, never pickle): the request's fields and, for an
upload, the file base64-encoded. This module only moves those bytes; what a job does is
the function it names.
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


def queue(connection: Redis) -> Queue:
    return Queue(QUEUE_NAME, connection=connection, serializer=JSONSerializer)


def enqueue(connection: Redis, function: str, request_id: str, fields: dict[str, Any], upload: bytes | None,
            filename: str) -> None:
    """Put one job for `function` (a dotted path) on the queue for any worker."""
    encoded = base64.b64encode(upload).decode() if upload is not None else None
    queue(connection).enqueue_call(
        function, args=(request_id, fields, encoded, filename),
        timeout=JOB_TIMEOUT_S, result_ttl=0, failure_ttl=3600, job_id=f"lbr-{request_id}",
    )


def run_worker(settings, burst: bool = False) -> int:
    """Serve the queue until stopped (or until it is empty with burst)."""
    if not settings.redis_url:
        print("error: the worker needs REDIS_URL")
        return 2
    connection = Redis.from_url(settings.redis_url)
    worker = SimpleWorker([queue(connection)], connection=connection, serializer=JSONSerializer)
    worker.work(burst=burst, with_scheduler=False)
    return 0


def waiting(connection: Redis) -> int:
    """Jobs on the queue that no worker has taken yet."""
    return queue(connection).count
