"""Jobs: pipelines run off the request thread; their state and result live for JOB_RESULT_TTL.

A running job refreshes a heartbeat. A job whose heartbeat stops (its worker was
killed) is reported failed, so readers of its streams and result are never left waiting.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Callable, Protocol

from infra.events import CHANNELS, EventBus
from infra.redis_link import RedisLink
from services.vocabulary import STEP_NAMES

log = logging.getLogger(__name__)

KEY_PREFIX = "lbr:job:"
HEARTBEAT_S = 2.0
STALE_AFTER_S = 15.0  # a running job with no heartbeat for this long lost its worker
QUEUED_TIMEOUT_S = 300.0  # a job no worker picked up for this long is given up
MAX_RESULT_BYTES = 2 * 1024 * 1024  # a result larger than this (as JSON) is not kept

PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"
INTERRUPTED_STATUS = 503
INTERRUPTED = {"error": "interrupted", "message": "The recommendation was interrupted."}


@dataclass(frozen=True)
class Job:
    """A job's state; `payload` and `http_status` are set once it finishes."""

    request_id: str
    state: str
    created: float
    heartbeat: float
    owner: str = ""
    http_status: int = 202
    payload: dict | None = None

    @property
    def finished(self) -> bool:
        return self.state in (DONE, FAILED)

    def stale(self, now: float, stale_after_s: float = STALE_AFTER_S,
              queued_timeout_s: float = QUEUED_TIMEOUT_S) -> bool:
        """Whether a running job stopped beating (its worker died) or a queued one was never started."""
        if self.state == RUNNING:
            return now - self.heartbeat > stale_after_s
        if self.state == PENDING:
            return now - self.created > queued_timeout_s
        return False


class JobStore(Protocol):
    def put(self, job: Job, ttl_s: float) -> None: ...
    def get(self, request_id: str) -> Job | None: ...
    def create(self, job: Job, ttl_s: float) -> bool: ...


class MemoryJobStore:
    """Job records in this process, expiring after their TTL."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._jobs: dict[str, tuple[float, Job]] = {}
        self._lock = threading.Lock()

    def put(self, job: Job, ttl_s: float) -> None:
        with self._lock:
            self._jobs[job.request_id] = (self._clock() + ttl_s, job)

    def create(self, job: Job, ttl_s: float) -> bool:
        with self._lock:
            current = self._jobs.get(job.request_id)
            if current and current[0] > self._clock():
                return False
            self._jobs[job.request_id] = (self._clock() + ttl_s, job)
            return True

    def get(self, request_id: str) -> Job | None:
        with self._lock:
            item = self._jobs.get(request_id)
            if item is None:
                return None
            if item[0] <= self._clock():
                del self._jobs[request_id]
                return None
            return item[1]

    def active_for(self, owner: str) -> int:
        with self._lock:
            now = self._clock()
            return sum(1 for exp, j in self._jobs.values() if exp > now and j.owner == owner and not j.finished)

    def ids_for(self, owner: str) -> list[str]:
        with self._lock:
            now = self._clock()
            return [rid for rid, (exp, j) in self._jobs.items() if exp > now and j.owner == owner]


class RedisJobStore:
    """Job records in Redis, readable from every worker and instance."""

    def __init__(self, link: RedisLink, fallback: MemoryJobStore) -> None:
        self.link = link
        self.fallback = fallback

    @staticmethod
    def _key(request_id: str) -> str:
        return KEY_PREFIX + request_id

    def put(self, job: Job, ttl_s: float) -> None:
        raw = json.dumps(asdict(job))
        self.fallback.put(job, ttl_s)
        self.link.run(lambda r: r.set(self._key(job.request_id), raw, ex=max(1, int(ttl_s))), lambda: None)

    def create(self, job: Job, ttl_s: float) -> bool:
        raw = json.dumps(asdict(job))
        self.fallback.put(job, ttl_s)
        return bool(self.link.run(
            lambda r: r.set(self._key(job.request_id), raw, ex=max(1, int(ttl_s)), nx=True),
            lambda: True,
        ))

    def get(self, request_id: str) -> Job | None:
        raw = self.link.run(lambda r: r.get(self._key(request_id)), lambda: None)
        if raw is None:
            return self.fallback.get(request_id)
        return Job(**json.loads(raw))

    def active_for(self, owner: str) -> int:
        """Unfinished jobs this process started for owner, as Redis (where workers report) sees them."""
        now = time.time()
        jobs = (self.get(rid) for rid in self.fallback.ids_for(owner))
        return sum(1 for job in jobs if job is not None and not job.finished and not job.stale(now))


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Emitter:
    """What a pipeline uses to report progress, log lines and recommendations as they happen."""

    def __init__(self, bus: EventBus, request_id: str, count: int | None = None) -> None:
        self.bus = bus
        self.request_id = request_id
        self.count = count
        self.cancel = threading.Event()
        self.sent = 0
        self._seen: set = set()

    def status(self, step: str, message: str, current: int | None = None, total: int | None = None,
               progress: float | None = None) -> None:
        if step not in STEP_NAMES:
            raise ValueError(f"unknown progress step {step!r}; steps: {', '.join(sorted(STEP_NAMES))}")
        if progress is None and current is not None and total:
            progress = round(min(1.0, current / total), 4)
        self.bus.publish(self.request_id, "status", {
            "status": "running", "step": step, "message": message,
            "current": current, "total": total, "progress": progress,
        })

    def log(self, message: str, level: str = "info") -> None:
        self.bus.publish(self.request_id, "logs", {"level": level, "message": message, "ts": now_iso()})

    def recommendation(self, card: dict) -> None:
        """Stream one card; once `count` cards went out, ask the pipeline to stop early."""
        key = card.get("film_id") or card.get("title")
        if key in self._seen or self.cancel.is_set():
            return
        self._seen.add(key)
        self.bus.publish(self.request_id, "recommendations", {"type": "recommendation", "recommendation": card})
        self.sent += 1
        if self.count is not None and self.sent >= self.count:
            self.cancel.set()

    @property
    def cancelled(self) -> bool:
        return self.cancel.is_set()

    def finish(self, ok: bool, message: str = "") -> None:
        terminal = {"status": "complete"} if ok else {"status": "error", "message": message}
        for channel in CHANNELS:
            self.bus.publish(self.request_id, channel, terminal)


Work = Callable[[Emitter], tuple[int, dict]]


class JobRunner:
    """Runs pipelines on a bounded pool, keeps their results and their heartbeats."""

    def __init__(self, store: JobStore, bus: EventBus, pool_size: int, result_ttl_s: float,
                 error_mapper: Callable[[BaseException], tuple[int, dict]],
                 stale_after_s: float = STALE_AFTER_S, max_result_bytes: int = MAX_RESULT_BYTES) -> None:
        self.store = store
        self.max_result_bytes = max_result_bytes
        self.stale_after_s = stale_after_s
        self.bus = bus
        self.result_ttl_s = result_ttl_s
        self.error_mapper = error_mapper
        self.pool = ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="pipeline")
        self._running: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._beat = threading.Thread(target=self._heartbeat, name="job-heartbeat", daemon=True)
        self._beat.start()

    def create(self, request_id: str, owner: str) -> bool:
        """Reserve request_id for a new job; False while any trace of an earlier job (record or events) exists."""
        if self.bus.exists(request_id):
            return False
        now = time.time()
        if not self.store.create(Job(request_id, PENDING, now, now, owner), self.result_ttl_s):
            return False
        self.bus.open(request_id)
        return True

    def submit(self, request_id: str, work: Work, emitter: Emitter) -> None:
        self.pool.submit(self.run, request_id, work, emitter)

    def run_pooled(self, request_id: str, work: Work, emitter: Emitter) -> tuple[int, dict]:
        """Run one job on the bounded pool, as submitted jobs run, and wait for its result."""
        return self.pool.submit(self.run, request_id, work, emitter).result()

    def run(self, request_id: str, work: Work, emitter: Emitter) -> tuple[int, dict]:
        """Run one job to its end in this thread, recording the result and ending every channel."""
        job = self.store.get(request_id) or Job(request_id, PENDING, time.time(), time.time())
        job = Job(request_id, RUNNING, job.created, time.time(), job.owner)
        with self._lock:
            self._running[request_id] = job
        self.store.put(job, self.result_ttl_s)
        try:
            status, payload = self._capped(*work(emitter))
            ok = status < 400
            message = payload.get("message", "") if not ok else ""
        except Exception as exc:  # noqa: BLE001 - every failure must end the job's streams
            status, payload = self.error_mapper(exc)
            ok, message = False, payload.get("message", "The recommendation failed.")
            if status >= 500:
                log.exception("job %s failed", request_id)
        except BaseException:
            # Ctrl-C or an exit: end the job's streams, then let the interrupt stop the process.
            self._end(job, False, INTERRUPTED_STATUS, dict(INTERRUPTED), emitter)
            raise
        finally:
            with self._lock:
                self._running.pop(request_id, None)
        self._end(job, ok, status, payload, emitter, message)
        return status, payload

    def _end(self, job: Job, ok: bool, status: int, payload: dict, emitter: Emitter, message: str = "") -> None:
        """Record how a job ended and put a terminal event on every channel."""
        message = message or ("" if ok else payload.get("message", "The recommendation failed."))
        state = DONE if ok else FAILED
        self.store.put(Job(job.request_id, state, job.created, time.time(), job.owner, status, payload),
                       self.result_ttl_s)
        if not ok:
            emitter.log(message, level="error")
        emitter.finish(ok, message)
        self.bus.expire(job.request_id, self.result_ttl_s)  # the events go with the result

    def _capped(self, status: int, payload: dict) -> tuple[int, dict]:
        """The result as it is, or an error in its place when it is too large to keep."""
        size = len(json.dumps(payload, separators=(",", ":"), default=str))
        if size <= self.max_result_bytes:
            return status, payload
        log.error("result of %s bytes is over the %s-byte limit", size, self.max_result_bytes)
        return 500, {"error": "result_too_large",
                     "message": "The result came out larger than this service keeps. Please report it."}

    def _heartbeat(self) -> None:
        while True:
            time.sleep(HEARTBEAT_S)
            with self._lock:
                running = list(self._running.values())
            for job in running:
                try:
                    self.store.put(Job(job.request_id, RUNNING, job.created, time.time(), job.owner),
                                   self.result_ttl_s)
                except Exception:  # noqa: BLE001 - a heartbeat must never kill the thread
                    log.exception("heartbeat failed")

    def fail_if_stale(self, job: Job) -> Job:
        """Mark a job whose worker died as failed and end its channels; return the job as it now is."""
        if not job.stale(time.time(), self.stale_after_s):
            return job
        message = "The worker running this request stopped. Please try again."
        payload = {"error": "worker_lost", "message": message, "request_id": job.request_id}
        failed = Job(job.request_id, FAILED, job.created, time.time(), job.owner, 503, payload)
        self.store.put(failed, self.result_ttl_s)
        Emitter(self.bus, job.request_id).finish(False, message)
        self.bus.expire(job.request_id, self.result_ttl_s)
        return failed
