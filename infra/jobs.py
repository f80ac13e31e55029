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
from infra.fair_share import LightFirst, checkpoint
from services.errors import AppError
from services.vocabulary import STEP_NAMES

log = logging.getLogger(__name__)

KEY_PREFIX = "lbr:job:"
OWNER_PREFIX = "lbr:client-jobs:"
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
    def active_for(self, owner: str) -> int: ...


class MemoryJobStore:
    """Job records in this process, expiring after their TTL."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._jobs: dict[str, tuple[float, Job]] = {}
        self._lock = threading.Lock()

    def put(self, job: Job, ttl_s: float) -> None:
        """Write a record; an unfinished one (a heartbeat that raced the job's end) never replaces how a job ended."""
        with self._lock:
            current = self._jobs.get(job.request_id)
            if current is not None and current[1].finished and not job.finished and current[0] > self._clock():
                return
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

    def discard(self, request_id: str) -> None:
        with self._lock:
            self._jobs.pop(request_id, None)

    def active_for(self, owner: str) -> int:
        with self._lock:
            now = self._clock()
            return sum(1 for exp, j in self._jobs.values() if exp > now and j.owner == owner and not j.finished)


# SET unless the stored record is of a job that ended (its state is ARGV[3] or ARGV[4]).
_SET_UNLESS_ENDED = """
local current = redis.call('GET', KEYS[1])
if current then
  local state = cjson.decode(current)['state']
  if state == ARGV[3] or state == ARGV[4] then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""


class RedisJobStore:
    """Job records in Redis, readable from every worker and instance.

    Creating a job needs Redis (a job no other process can see is never accepted). A record
    this process cannot write later on (Redis away, or no free connection) is kept here, read
    from here, and written to Redis the first time Redis answers again; while Redis is away this
    process also answers for the jobs it is running. Each client's jobs are
    listed in a sorted set, so the per-client limit counts them across the whole fleet.
    """

    def __init__(self, link: RedisLink, held: MemoryJobStore | None = None) -> None:
        self.link = link
        self.held = held if held is not None else MemoryJobStore()
        self._dirty: dict[str, float] = {}  # request_id -> ttl of a record Redis does not have yet
        self._lock = threading.Lock()
        link.on_recovery(self.flush)

    @staticmethod
    def _key(request_id: str) -> str:
        return KEY_PREFIX + request_id

    @staticmethod
    def _owner_key(owner: str) -> str:
        return OWNER_PREFIX + owner

    def _write(self, r, job: Job, ttl_s: float) -> bool:
        """Write a record to Redis; an unfinished one never replaces how the job ended (False then)."""
        raw, ttl = json.dumps(asdict(job)), max(1, int(ttl_s))
        if job.finished:
            r.set(self._key(job.request_id), raw, ex=ttl)
            return True
        # Checked and written in one step: a heartbeat taken just before the job ended may land after it.
        return bool(r.eval(_SET_UNLESS_ENDED, 1, self._key(job.request_id), raw, ttl, DONE, FAILED))

    def put(self, job: Job, ttl_s: float) -> None:
        """Write a record, kept here while Redis cannot take it (see the class)."""

        def write(r) -> None:
            written = self._write(r, job, ttl_s)
            with self._lock:
                self._dirty.pop(job.request_id, None)
                if job.finished or not written:
                    self.held.discard(job.request_id)
                else:  # this process runs it, so it can speak for it while Redis is away
                    self.held.put(job, ttl_s)

        def keep() -> None:
            with self._lock:
                self.held.put(job, ttl_s)
                self._dirty[job.request_id] = ttl_s

        self.link.run(write, keep)

    def create(self, job: Job, ttl_s: float) -> bool:
        """Claim request_id in Redis; raises RedisUnavailable (503) when Redis cannot take it."""
        raw = json.dumps(asdict(job))
        ttl = max(1, int(ttl_s))

        def claim(r) -> bool:
            if not r.set(self._key(job.request_id), raw, ex=ttl, nx=True):
                return False
            if job.owner:
                pipe = r.pipeline()
                pipe.zadd(self._owner_key(job.owner), {job.request_id: job.created})
                pipe.expire(self._owner_key(job.owner), ttl)
                pipe.execute()
            return True

        return bool(self.link.call(claim))

    def get(self, request_id: str) -> Job | None:
        """The record, from this process while Redis lacks it, else from Redis (RedisUnavailable if away)."""
        with self._lock:
            if request_id in self._dirty:
                held = self.held.get(request_id)
                if held is not None:
                    return held
        try:
            raw = self.link.call(lambda r: r.get(self._key(request_id)))
        except AppError:
            local = self.held.get(request_id)
            if local is None:
                raise
            return local
        return None if raw is None else Job(**json.loads(raw))

    def active_for(self, owner: str) -> int:
        """Unfinished, live jobs of owner on every process; finished ones leave the owner's set."""
        key = self._owner_key(owner)
        now = time.time()

        def count(r) -> int:
            ids = [m.decode() for m in r.zrange(key, 0, -1)]
            if not ids:
                return 0
            raws = r.mget([self._key(rid) for rid in ids])
            gone, active = [], 0
            for rid, raw in zip(ids, raws):
                job = Job(**json.loads(raw)) if raw is not None else None
                if job is None or job.finished:
                    gone.append(rid)
                elif not job.stale(now):
                    active += 1
            if gone:
                r.zrem(key, *gone)
            return active

        return int(self.link.call(count))

    def flush(self) -> None:
        """Write the records Redis missed while it was away; raises a Redis error if it goes again."""
        with self._lock:
            dirty = dict(self._dirty)
        for request_id, ttl_s in dirty.items():
            job = self.held.get(request_id)
            if job is not None:
                self._write(self.link.client, job, ttl_s)
            with self._lock:
                if self._dirty.get(request_id) == ttl_s and self.held.get(request_id) == job:
                    del self._dirty[request_id]
                    self.held.discard(request_id)


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
        checkpoint()  # each step is a place where a large run may give way to a small one
        if step not in STEP_NAMES:
            raise ValueError(f"unknown progress step {step!r}; steps: {', '.join(sorted(STEP_NAMES))}")
        if progress is None and current is not None and total:
            progress = round(min(1.0, current / total), 4)
        self.bus.publish(self.request_id, "status", {
            "status": "running", "step": step, "message": message,
            "current": current, "total": total, "progress": progress,
        })

    def log(self, message: str, level: str = "info") -> None:
        checkpoint()
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
                 stale_after_s: float = STALE_AFTER_S, max_result_bytes: int = MAX_RESULT_BYTES,
                 fair: LightFirst | None = None) -> None:
        self.store = store
        # Runs of this process share one interpreter: big ones give way to small ones at their checkpoints.
        self.fair = fair or LightFirst(2**62, float("inf"))
        self.max_result_bytes = max_result_bytes
        self.stale_after_s = stale_after_s
        self.bus = bus
        self.result_ttl_s = result_ttl_s
        self.error_mapper = error_mapper
        self.pool = ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="pipeline")
        self._running: dict[str, Job] = {}
        self._waiting = 0  # submitted, not yet started
        self.ran = 0  # jobs this process has run (tests and benchmarks read it)
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

    def waiting(self) -> int:
        """Jobs handed to this process's pool that no pipeline thread has started yet."""
        with self._lock:
            return self._waiting

    def _queue(self, request_id: str, work: Work, emitter: Emitter):
        with self._lock:
            self._waiting += 1
        try:
            return self.pool.submit(self._start, request_id, work, emitter)
        except BaseException:
            with self._lock:
                self._waiting -= 1
            raise

    def _start(self, request_id: str, work: Work, emitter: Emitter) -> tuple[int, dict]:
        with self._lock:
            self._waiting -= 1
        return self.run(request_id, work, emitter)

    def submit(self, request_id: str, work: Work, emitter: Emitter) -> None:
        self._queue(request_id, work, emitter)

    def run_pooled(self, request_id: str, work: Work, emitter: Emitter) -> tuple[int, dict]:
        """Run one job on the bounded pool, as submitted jobs run, and wait for its result."""
        return self._queue(request_id, work, emitter).result()

    def _record(self, request_id: str) -> Job | None:
        try:
            return self.store.get(request_id)
        except AppError:  # Redis away: the job still runs, and its record is written once Redis is back
            return None

    def run(self, request_id: str, work: Work, emitter: Emitter) -> tuple[int, dict]:
        """Run one job to its end in this thread, recording the result and ending every channel."""
        job = self._record(request_id) or Job(request_id, PENDING, time.time(), time.time())
        job = Job(request_id, RUNNING, job.created, time.time(), job.owner)
        with self._lock:
            self._running[request_id] = job
            self.ran += 1
        self.store.put(job, self.result_ttl_s)
        try:
            with self.fair.running():
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
