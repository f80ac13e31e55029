"""The RQ queue: the web tier enqueues a named job, `python main.py worker` runs queued jobs anywhere.

Jobs travel as JSON (RQ's JSONSerializer, never pickle): the request's fields and, for an
upload, the file base64-encoded. This module only moves those bytes; what a job does is
the function it names. A job's description names its kind and request id, never its
arguments: the worker logs no job's arguments, which may hold the start of a member's upload.
"""
from __future__ import annotations

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


def enqueue(connection: Redis, function: str, args: tuple[Any, ...], *, job_id: str, description: str) -> None:
    """Put one job for `function` (a dotted path) on the queue for any worker, with JSON-able arguments."""
    queue(connection).enqueue_call(
        function, args=args, timeout=JOB_TIMEOUT_S, result_ttl=0, failure_ttl=3600, job_id=job_id,
        description=description,
    )


def run_worker(settings, burst: bool = False) -> int:
    """Serve the queue until stopped (or until it is empty with burst)."""
    if not settings.redis_url:
        print("error: the worker needs REDIS_URL")
        return 2
    connection = Redis.from_url(settings.redis_url)
    worker = SimpleWorker([queue(connection)], connection=connection, serializer=JSONSerializer,
                          log_job_description=False)
    worker.work(burst=burst, with_scheduler=False, logging_level=settings.log_level)
    return 0


def waiting(connection: Redis) -> int:
    """Jobs on the queue that no worker has taken yet."""
    return queue(connection).count
