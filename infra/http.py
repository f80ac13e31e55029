"""HTTP plumbing shared by every upstream: sessions, pacing, fallback tiers, retries, a circuit breaker.

Library errors (requests, cloudscraper, curl_cffi, playwright) never leave this
module; callers see this tree instead:

    UpstreamError                 any failure talking to an upstream (.service, .status, .transient):
    │                             a transport error, a 429/5xx still failing when retries stop, other 4xx
    ├── UpstreamBlocked           a Cloudflare-style challenge on every tier
    ├── UpstreamNotFound          404 / 410
    │   └── UserNotFound          no such Letterboxd member
    ├── UpstreamTimeout           connect/read timeout, an answer slower than its budget, no browser slot
    ├── UpstreamBadResponse       invalid JSON, markup we no longer recognise
    │   └── TruncatedScrape       fewer films than the page count implies (.partial)
    └── CircuitOpen               the breaker is open (.retry_after_s, .unreachable)

A request walks the tiers requests -> cloudscraper -> curl_cffi impersonating a
current Chrome -> curl_cffi impersonating a current Firefox -> camoufox (only when
that optional package is importable); the next tier is tried only after a
challenge-looking 403/503. The tier that last got through is remembered per
upstream (in Redis when configured, so every worker shares it) and tried first,
so a blocked tier is not asked again on every page. Within a tier, tenacity
retries transport errors, 429 and 5xx with exponential backoff and half jitter (or
the server's Retry-After, capped) under a cap on attempts and on the request's total
time, sleeps and pacing included; other 4xx are never retried. When retries stop,
the last error is raised as it came, and a last 429/5xx as UpstreamError.
"""
from __future__ import annotations

import importlib.util
import json as jsonlib
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol, Sequence
from urllib.parse import urlencode

import requests
import urllib3
from requests.adapters import HTTPAdapter
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    retry_if_not_exception_type,
    retry_if_result,
    stop_after_attempt,
    stop_any,
)
from tenacity.stop import stop_base
from tenacity.wait import wait_base

log = logging.getLogger(__name__)

Sleep = Callable[[float], None]
Clock = Callable[[], float]

REDIS_KEY_PREFIX = "lbr:http:"
PACER_KEY_SLACK_MS = 1000
CHALLENGE_STATUSES = (403, 503)
CHALLENGE_MARKERS = (
    "just a moment...",
    "cf-chl",
    "challenge-platform",
    "attention required! | cloudflare",
    "enable javascript and cookies to continue",
)
CHALLENGE_SNIFF_CHARS = 20000
DEFAULT_IMPERSONATE = "chrome"
# Letterboxd's challenge has at times stopped Chrome's TLS fingerprint while letting Firefox's through.
FIREFOX_IMPERSONATE = "firefox147"
TIER_MEMORY_TTL_S = 3600.0
USER_AGENT = f"{requests.utils.default_user_agent()} letterboxd-recommender"


# ----- errors -----------------------------------------------------------------------------


class UpstreamError(Exception):
    """A failure talking to an upstream service."""

    def __init__(self, message: str, *, service: str = "", status: int | None = None,
                 transient: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.service = service
        self.status = status
        self.transient = transient


class UpstreamBlocked(UpstreamError):
    """Every tier got a bot challenge instead of the page."""


class UpstreamNotFound(UpstreamError):
    """The upstream answered 404 or 410."""


class UserNotFound(UpstreamNotFound):
    """The Letterboxd member does not exist."""


class UpstreamTimeout(UpstreamError):
    """The upstream did not answer in time."""


class UpstreamBadResponse(UpstreamError):
    """The upstream answered something we cannot read."""


class TruncatedScrape(UpstreamBadResponse):
    """A scrape came back with fewer films than its page count implies."""

    def __init__(self, message: str, partial: Any = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.partial = partial


class CircuitOpen(UpstreamError):
    """The circuit breaker is open; calls are refused until retry_after_s passes.

    `unreachable` is true when the failures that opened it had no HTTP answer at all
    (no network, refused connections, timeouts): then no other path to the same host can work either.
    """

    def __init__(self, message: str, retry_after_s: float, unreachable: bool = False, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after_s = retry_after_s
        self.unreachable = unreachable


# ----- responses and challenge detection ---------------------------------------------------


@dataclass(frozen=True)
class Response:
    """What an upstream answered, whichever tier fetched it; header names are lower-case."""

    status: int
    text: str
    headers: Mapping[str, str]
    url: str
    tier: str = "requests"
    service: str = ""

    def json(self) -> Any:
        """Decode the body as JSON, or raise UpstreamBadResponse."""
        try:
            return jsonlib.loads(self.text)
        except ValueError as exc:
            raise UpstreamBadResponse(f"{self.service or 'upstream'} sent invalid JSON",
                                      service=self.service, status=self.status) from exc


def looks_like_challenge(status: int, headers: Mapping[str, str], text: str) -> bool:
    """Return whether a response is a Cloudflare-style bot challenge rather than an answer."""
    if status not in CHALLENGE_STATUSES:
        return False
    if headers.get("cf-mitigated", "").lower() == "challenge":
        return True
    head = text[:CHALLENGE_SNIFF_CHARS].lower()
    if any(marker in head for marker in CHALLENGE_MARKERS):
        return True
    # A bare 403 from a Cloudflare edge is a block even without a challenge page.
    return status == 403 and "cloudflare" in headers.get("server", "").lower()


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Return the Retry-After header in seconds (delta form only), or None."""
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


# ----- retry policy ------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry transient failures."""

    max_attempts: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0
    max_total_s: float = 30.0
    retry_after_cap_s: float = 30.0
    throttle_delay_s: float = 0.0  # floor for a 429 that gives no Retry-After

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Return the delay before retry number `attempt` (1-based): exponential, half jitter."""
        # Ours: tenacity's jittered waits draw from the global `random`, and this takes the client's rng.
        ceiling = min(self.max_delay_s, self.base_delay_s * (2 ** (attempt - 1)))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


def _failing_answer(resp: Response) -> bool:
    """Return whether an answer is worth another try: 429 (throttled) or 5xx."""
    return resp.status == 429 or resp.status >= 500


class _RequestBudget:
    """The time one request has taken across its tiers, on its clock (sleeps and the pacer's waits included:
    the clock moves while they sleep); `slept` tells how much of it was spent waiting."""

    def __init__(self, clock: Clock, sleep: Sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        self._started = clock()
        self.slept = 0.0

    def sleep(self, seconds: float) -> None:
        """Sleep between attempts."""
        self._sleep(float(seconds))
        self.slept += float(seconds)

    def elapsed(self) -> float:
        """Return the seconds spent so far."""
        return self._clock() - self._started


class _WaitRetryAfterOrBackoff(wait_base):
    """Wait what a 429/5xx's Retry-After says, up to its cap; else the policy's backoff, floored for a 429."""

    def __init__(self, policy: RetryPolicy, rng: random.Random) -> None:
        self.policy = policy
        self.rng = rng

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        attempt = retry_state.attempt_number
        if outcome is not None and not outcome.failed:
            resp: Response = outcome.result()
            hinted = retry_after_seconds(resp.headers)
            if hinted is not None:
                return min(hinted, self.policy.retry_after_cap_s)
            if resp.status == 429:
                return max(self.policy.throttle_delay_s, self.policy.backoff(attempt, self.rng))
        return self.policy.backoff(attempt, self.rng)


class _StopOverBudget(stop_base):
    """Stop when the coming wait would take the request past its total time."""

    # Ours: tenacity's stop_before_delay times one tier's attempts on time.monotonic; this spans every tier
    # and the pacer's waits, on the client's clock.

    def __init__(self, budget: _RequestBudget, max_total_s: float) -> None:
        self.budget = budget
        self.max_total_s = max_total_s

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self.budget.elapsed() + retry_state.upcoming_sleep > self.max_total_s


def _stop_on_permanent_error(retry_state: RetryCallState) -> bool:
    """Stop when the attempt raised an error that says trying again cannot help."""
    error = retry_state.outcome.exception() if retry_state.outcome is not None else None
    return isinstance(error, UpstreamError) and not error.transient


# ----- pacing -------------------------------------------------------------------------------

_RESERVE_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now, nxt)
local interval = tonumber(ARGV[1])
redis.call('SET', KEYS[1], slot + interval, 'PX', interval + tonumber(ARGV[2]))
return slot - now
"""


class Pacer:
    """Keep at least min_interval_s between request starts, across workers when Redis is given.

    Ours rather than `limits`': its windows are whole seconds with a count of hits in each, so an
    interval such as 25 ms becomes bursts of forty a second, and a refused `hit` is only a no (when
    to come back is another call, and another worker may take that turn first), so a caller would
    loop; here each caller is handed its own slot, min_interval_s after the last one taken, in one
    Redis script, and sleeps once until it comes.
    """

    def __init__(self, service: str, min_interval_s: float, redis_client: Any = None, *,
                 sleep: Sleep = time.sleep, clock: Clock = time.monotonic) -> None:
        self.service = service
        self.min_interval_s = max(0.0, float(min_interval_s))
        self.redis = redis_client
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._next = 0.0
        self._script = None
        self.waited_s = 0.0

    def _reserve_local(self) -> float:
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.min_interval_s
            return slot - now

    def _reserve_shared(self) -> float | None:
        import redis as redis_lib

        try:
            if self._script is None:
                self._script = self.redis.register_script(_RESERVE_SLOT)
            wait_ms = self._script(keys=[f"{REDIS_KEY_PREFIX}pace:{self.service}"],
                                   args=[int(self.min_interval_s * 1000), PACER_KEY_SLACK_MS])
            return float(wait_ms) / 1000.0
        except redis_lib.RedisError as exc:
            log.warning("pacing for %s falls back to this process: %s", self.service, exc.__class__.__name__)
            return None

    def wait(self) -> float:
        """Wait for this caller's turn; return the seconds waited."""
        if self.min_interval_s <= 0:
            return 0.0
        delay = self._reserve_shared() if self.redis is not None else None
        if delay is None:
            delay = self._reserve_local()
        if delay > 0:
            self._sleep(delay)
            self.waited_s += delay
        return delay


# ----- circuit breaker ----------------------------------------------------------------------


class IncidentTracker:
    """A circuit breaker with counters: opens after `threshold` consecutive failures for `cooldown_s`.

    State lives in a Redis hash when a client is given (shared by every worker),
    else in this process. After the cooldown calls go through again (no single-probe gate);
    the consecutive count is still at least the threshold, so the first failure reopens it
    at once, and a success closes it. HttpClient counts a call once, after its retries and
    tiers; a 404/410 counts as the upstream answering, other 4xx not at all. Ours rather than
    a breaker library's: it also keeps what /_health and the member-facing errors tell, the
    failure totals, the last status and whether the failures had no answer at all
    (`CircuitOpen.unreachable`).
    """

    def __init__(self, redis_client: Any, threshold: int, cooldown_s: float, *,
                 service: str = "letterboxd", clock: Clock = time.time) -> None:
        self.redis = redis_client
        self.threshold = max(1, int(threshold))
        self.cooldown_s = float(cooldown_s)
        self.service = service
        self._clock = clock
        self._lock = threading.Lock()
        self._state = {"total": 0, "consecutive": 0, "last_status": None, "open_until": 0.0}
        self._key = f"{REDIS_KEY_PREFIX}incident:{service}"

    def _redis_errors(self) -> tuple[type[BaseException], ...]:
        import redis as redis_lib

        return (redis_lib.RedisError, OSError)

    def _read(self) -> dict:
        if self.redis is not None:
            try:
                raw = {(k.decode() if isinstance(k, bytes) else k): v
                       for k, v in self.redis.hgetall(self._key).items()}
                return {
                    "total": int(raw.get("total", 0)),
                    "consecutive": int(raw.get("consecutive", 0)),
                    "last_status": _status_or_none(raw.get("last_status")),
                    "open_until": float(raw.get("open_until", 0.0)),
                }
            except self._redis_errors() as exc:
                log.warning("incident state falls back to this process: %s", exc.__class__.__name__)
        with self._lock:
            return dict(self._state)

    def record_failure(self, status: int | None = None) -> None:
        """Count a failed call; open the circuit once failures reach the threshold."""
        now = self._clock()
        if self.redis is not None:
            try:
                pipe = self.redis.pipeline()
                pipe.hincrby(self._key, "total", 1)
                pipe.hincrby(self._key, "consecutive", 1)
                pipe.hset(self._key, "last_status", "" if status is None else str(status))
                _, consecutive, _ = pipe.execute()
                if consecutive >= self.threshold:
                    self.redis.hset(self._key, "open_until", repr(now + self.cooldown_s))
                return
            except self._redis_errors() as exc:
                log.warning("incident state falls back to this process: %s", exc.__class__.__name__)
        with self._lock:
            self._state["total"] += 1
            self._state["consecutive"] += 1
            self._state["last_status"] = status
            if self._state["consecutive"] >= self.threshold:
                self._state["open_until"] = now + self.cooldown_s

    def record_success(self, status: int | None = 200) -> None:
        """Reset the consecutive count and close the circuit."""
        if self.redis is not None:
            try:
                self.redis.hset(self._key, mapping={
                    "consecutive": 0, "open_until": "0",
                    "last_status": "" if status is None else str(status)})
                return
            except self._redis_errors() as exc:
                log.warning("incident state falls back to this process: %s", exc.__class__.__name__)
        with self._lock:
            self._state["consecutive"] = 0
            self._state["open_until"] = 0.0
            self._state["last_status"] = status

    def retry_after_s(self) -> float:
        """Return seconds until the circuit lets calls through again (0 when closed)."""
        return max(0.0, self._read()["open_until"] - self._clock())

    def is_open(self) -> bool:
        """Return whether calls are being refused right now."""
        return self.retry_after_s() > 0

    def check(self) -> None:
        """Raise CircuitOpen while the circuit is open."""
        state = self._read()
        wait = max(0.0, state["open_until"] - self._clock())
        if wait > 0:
            raise CircuitOpen(f"{self.service} circuit is open for {wait:.0f}s more", retry_after_s=wait,
                              unreachable=state["last_status"] is None, service=self.service)

    def reset(self) -> None:
        """Forget all counters (operators and tests)."""
        if self.redis is not None:
            try:
                self.redis.delete(self._key)
            except self._redis_errors():
                pass
        with self._lock:
            self._state = {"total": 0, "consecutive": 0, "last_status": None, "open_until": 0.0}

    def snapshot(self) -> dict:
        """Return the counters for /_health and /_incident-status."""
        state = self._read()
        wait = max(0.0, state["open_until"] - self._clock())
        prefix = self.service
        return {
            f"{prefix}_total_failures": state["total"],
            f"{prefix}_consecutive_failures": state["consecutive"],
            f"{prefix}_last_status": state["last_status"],
            f"{prefix}_circuit_open": wait > 0,
            f"{prefix}_circuit_retry_after_s": round(wait, 1),
        }


def _status_or_none(raw: bytes | str | None) -> int | None:
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        return None


# ----- tiers --------------------------------------------------------------------------------


class Tier(Protocol):
    """One way of fetching a URL; raises UpstreamError subclasses, never library errors."""

    name: str

    def send(self, method: str, url: str, *, params: Mapping[str, Any] | None,
             headers: Mapping[str, str], json_body: Any, timeout: float) -> Response: ...


def _full_url(url: str, params: Mapping[str, Any] | None) -> str:
    if not params:
        return url
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


RESPONSE_BUDGET_FACTOR = 3.0  # a whole answer may take this many per-read timeouts
BODY_CHUNK_BYTES = 65536


class RequestsTier:
    """A pooled requests.Session: the first and cheapest tier."""

    name = "requests"

    def __init__(self, pool_maxsize: int = 10, user_agent: str | None = USER_AGENT) -> None:
        self.pool_maxsize = max(1, int(pool_maxsize))
        self.user_agent = user_agent
        self._session_obj: requests.Session | None = None
        self._lock = threading.Lock()

    def _new_session(self) -> requests.Session:
        return requests.Session()

    def _session(self) -> requests.Session:
        if self._session_obj is None:
            with self._lock:
                if self._session_obj is None:
                    session = self._new_session()
                    self._mount(session)
                    if self.user_agent:
                        session.headers["User-Agent"] = self.user_agent
                    self._session_obj = session
        return self._session_obj

    def _mount(self, session: requests.Session) -> None:
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=self.pool_maxsize, max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)

    def _library_blocked(self, exc: Exception) -> bool:
        return False

    def send(self, method: str, url: str, *, params: Mapping[str, Any] | None,
             headers: Mapping[str, str], json_body: Any, timeout: float) -> Response:
        started = time.monotonic()
        try:
            r = self._session().request(method, url, params=params, headers=dict(headers),
                                        json=json_body, timeout=timeout, stream=True)
            with r:
                r._content = self._read_body(r, started, timeout * RESPONSE_BUDGET_FACTOR)
            if "charset" not in r.headers.get("content-type", "").lower():
                r.encoding = "utf-8"
            text = r.text
        except (requests.Timeout, urllib3.exceptions.TimeoutError) as exc:
            raise UpstreamTimeout(f"{self.name}: timed out after {timeout}s", transient=True) from exc
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise UpstreamError(f"{self.name}: {exc.__class__.__name__}", transient=True) from exc
        except Exception as exc:
            if self._library_blocked(exc):
                raise UpstreamBlocked(f"{self.name}: {exc.__class__.__name__}", status=403) from exc
            raise
        return Response(r.status_code, text, {k.lower(): v for k, v in r.headers.items()}, r.url, self.name)

    def _read_body(self, r: requests.Response, started: float, budget_s: float) -> bytes:
        """Read the body as it arrives, giving up once the whole answer has taken budget_s.

        requests' timeout bounds each socket read, so an upstream that trickles a byte at
        a time would otherwise hold the request forever.
        """
        chunks = []
        while True:
            if time.monotonic() - started > budget_s:
                raise UpstreamTimeout(f"{self.name}: answer took longer than {budget_s:g}s", transient=True)
            chunk = r.raw.read1(BODY_CHUNK_BYTES, decode_content=True)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)

    def close(self) -> None:
        if self._session_obj is not None:
            self._session_obj.close()


class CloudscraperTier(RequestsTier):
    """cloudscraper's session: browser-like headers and the old JavaScript challenge solver."""

    name = "cloudscraper"

    def __init__(self, pool_maxsize: int = 10) -> None:
        super().__init__(pool_maxsize, user_agent=None)

    def _new_session(self) -> requests.Session:
        import cloudscraper

        # A fixed identity: which fingerprint gets through is the curl_cffi tiers' question.
        return cloudscraper.create_scraper(browser={"browser": "chrome", "platform": "linux", "desktop": True,
                                                    "mobile": False})

    def _mount(self, session: requests.Session) -> None:
        # Keep cloudscraper's own TLS cipher adapter for https; pool plain http only.
        session.mount("http://", HTTPAdapter(pool_connections=4, pool_maxsize=self.pool_maxsize, max_retries=0))

    def _library_blocked(self, exc: Exception) -> bool:
        from cloudscraper.exceptions import CloudflareException

        return isinstance(exc, CloudflareException)


class CurlCffiTier:
    """curl_cffi impersonating a browser's TLS and HTTP/2 fingerprint; one session per thread.

    curl_cffi sessions are not thread-safe, so each thread has its own, but they share one
    cookie jar: a challenge cookie set on a member's first page goes with the pages after it.
    """

    def __init__(self, impersonate: str = DEFAULT_IMPERSONATE, name: str | None = None) -> None:
        self.impersonate = impersonate
        self.name = name or ("curl_cffi" if impersonate == DEFAULT_IMPERSONATE
                             else f"curl_cffi_{impersonate.rstrip('0123456789')}")
        self._local = threading.local()
        self._sessions: list[Any] = []
        self._lock = threading.Lock()
        self.cookies: dict[str, str] = {}

    def _session(self) -> Any:
        session = getattr(self._local, "session", None)
        if session is None:
            from curl_cffi import requests as curl_requests

            session = curl_requests.Session(impersonate=self.impersonate)
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def send(self, method: str, url: str, *, params: Mapping[str, Any] | None,
             headers: Mapping[str, str], json_body: Any, timeout: float) -> Response:
        from curl_cffi.requests import exceptions as curl_exc

        with self._lock:
            cookies = dict(self.cookies)
        try:
            r = self._session().request(method, url, params=params, headers=dict(headers) or None,
                                        json=json_body, timeout=timeout, cookies=cookies or None)
            text = r.text
        except curl_exc.Timeout as exc:
            raise UpstreamTimeout(f"{self.name}: timed out after {timeout}s", transient=True) from exc
        except curl_exc.RequestException as exc:
            raise UpstreamError(f"{self.name}: {exc.__class__.__name__}", transient=True) from exc
        received = dict(r.cookies.items())
        if received:
            with self._lock:
                self.cookies.update(received)
        return Response(r.status_code, text, {k.lower(): v for k, v in r.headers.items()}, str(r.url), self.name)

    def close(self) -> None:
        with self._lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()


def camoufox_available() -> bool:
    """Return whether the optional camoufox package is importable."""
    return importlib.util.find_spec("camoufox") is not None


class CamoufoxTier:
    """A real (stealth Firefox) browser, the last resort; at most max_concurrent at once."""

    name = "camoufox"

    def __init__(self, max_concurrent: int = 1, timeout_s: float = 20.0) -> None:
        self.timeout_s = float(timeout_s)
        self._slots = threading.BoundedSemaphore(max(1, int(max_concurrent)))

    def send(self, method: str, url: str, *, params: Mapping[str, Any] | None,
             headers: Mapping[str, str], json_body: Any, timeout: float) -> Response:
        if method.upper() != "GET":
            raise UpstreamError(f"{self.name}: only GET is supported")
        if not self._slots.acquire(timeout=self.timeout_s):
            raise UpstreamTimeout(f"{self.name}: no browser slot within {self.timeout_s}s", transient=True)
        try:
            from camoufox.sync_api import Camoufox
            from playwright.sync_api import Error as PlaywrightError
            from playwright.sync_api import TimeoutError as PlaywrightTimeout

            target = _full_url(url, params)
            try:
                with Camoufox(headless=True) as browser:
                    page = browser.new_page()
                    answer = page.goto(target, timeout=self.timeout_s * 1000, wait_until="domcontentloaded")
                    html = page.content()
                    status = answer.status if answer is not None else 0
                    hdrs = {k.lower(): v for k, v in (answer.headers if answer is not None else {}).items()}
            except PlaywrightTimeout as exc:
                raise UpstreamTimeout(f"{self.name}: timed out after {self.timeout_s}s", transient=True) from exc
            except PlaywrightError as exc:
                raise UpstreamError(f"{self.name}: {exc.__class__.__name__}", transient=True) from exc
        finally:
            self._slots.release()
        return Response(status, html, hdrs, target, self.name)


def browser_tiers(pool_maxsize: int, *, camoufox_max_concurrent: int = 1, camoufox_timeout_s: float = 20.0,
                  impersonate: str = DEFAULT_IMPERSONATE) -> list[Tier]:
    """Return the full fallback chain, with camoufox only when it is installed."""
    tiers: list[Tier] = [RequestsTier(pool_maxsize), CloudscraperTier(pool_maxsize), CurlCffiTier(impersonate),
                         CurlCffiTier(FIREFOX_IMPERSONATE)]
    if camoufox_available():
        tiers.append(CamoufoxTier(camoufox_max_concurrent, camoufox_timeout_s))
    return tiers


# ----- the client ---------------------------------------------------------------------------


class TierMemory:
    """Which tier last got through to an upstream; in Redis when given, so every worker starts there."""

    def __init__(self, service: str, redis_client: Any = None, ttl_s: float = TIER_MEMORY_TTL_S) -> None:
        self.key = f"{REDIS_KEY_PREFIX}tier:{service}"
        self.redis = redis_client
        self.ttl_s = ttl_s
        self._local: str | None = None

    def get(self) -> str | None:
        if self.redis is not None:
            import redis as redis_lib

            try:
                value = self.redis.get(self.key)
                return value.decode() if isinstance(value, bytes) else value
            except redis_lib.RedisError as exc:
                log.info("tier memory falls back to this process: %s", exc.__class__.__name__)
        return self._local

    def set(self, name: str) -> None:
        self._local = name
        if self.redis is not None:
            import redis as redis_lib

            try:
                self.redis.set(self.key, name, ex=max(1, int(self.ttl_s)))
            except redis_lib.RedisError as exc:
                log.info("tier memory kept in this process only: %s", exc.__class__.__name__)


@dataclass
class HttpStats:
    """Counters for one HttpClient (benchmarks and tests read them)."""

    requests: int = 0
    retries: int = 0
    tier_fallbacks: int = 0
    by_tier: dict[str, int] = field(default_factory=dict)


class HttpClient:
    """One long-lived client per upstream: base URL, timeout, tiers, pacing, retries and breaker."""

    def __init__(self, service: str, base_url: str, timeout: float, *, tiers: Sequence[Tier] | None = None,
                 pool_maxsize: int = 10, pacer: Pacer | None = None, tracker: IncidentTracker | None = None,
                 retry: RetryPolicy = RetryPolicy(), headers: Mapping[str, str] | None = None,
                 sleep: Sleep = time.sleep, clock: Clock = time.monotonic,
                 rng: random.Random | None = None, memory: TierMemory | None = None) -> None:
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.timeout = float(timeout)
        self.tiers: list[Tier] = list(tiers) if tiers else [RequestsTier(pool_maxsize)]
        self.pacer = pacer
        self.tracker = tracker
        self.retry = retry
        self.headers = dict(headers or {})
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self.stats = HttpStats()
        self._stats_lock = threading.Lock()
        self.memory = memory if memory is not None else TierMemory(service)

    def url(self, path: str) -> str:
        """Return the absolute URL for a path under base_url (absolute URLs pass through)."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def _ordered_tiers(self) -> list[Tier]:
        """The tiers in chain order, but the one that last got through first."""
        if len(self.tiers) < 2:
            return self.tiers
        remembered = self.memory.get()
        first = [t for t in self.tiers if t.name == remembered]
        return first + [t for t in self.tiers if t.name != remembered] if first else self.tiers

    def _count(self, tier: str, retry: bool = False, fallback: bool = False) -> None:
        with self._stats_lock:
            self.stats.requests += 1
            self.stats.by_tier[tier] = self.stats.by_tier.get(tier, 0) + 1
            self.stats.retries += int(retry)
            self.stats.tier_fallbacks += int(fallback)

    def _retrying(self, tier: Tier, url: str, budget: _RequestBudget, *, fallback: bool) -> Retrying:
        """Return the tenacity controller for one tier's attempts within a request."""
        policy = self.retry
        return Retrying(
            sleep=budget.sleep,
            before=lambda state: self._before_attempt(tier, state.attempt_number, budget, fallback=fallback),
            # A permanent error is let through here and ended by `stop`, after `wait` has drawn its jitter:
            # the rng advances once per failure of any kind, so a seeded client replays the same delays.
            retry=(retry_if_exception_type(UpstreamError) & retry_if_not_exception_type(UpstreamBlocked))
            | retry_if_result(_failing_answer),
            wait=_WaitRetryAfterOrBackoff(policy, self._rng),
            stop=stop_any(_stop_on_permanent_error, stop_after_attempt(policy.max_attempts),
                          _StopOverBudget(budget, policy.max_total_s)),
            before_sleep=lambda state: self._log_retry(state, tier, url),
            # Give back the last outcome: raise its error, or return the 429/5xx for request() to judge.
            retry_error_callback=lambda state: state.outcome.result(),
        )

    def _before_attempt(self, tier: Tier, attempt: int, budget: _RequestBudget, *, fallback: bool) -> None:
        # The pacer's wait counts against the request's total time like a backoff sleep.
        if self.pacer is not None:
            budget.slept += self.pacer.wait()
        self._count(tier.name, retry=attempt > 1, fallback=fallback and attempt == 1)

    def _log_retry(self, state: RetryCallState, tier: Tier, url: str) -> None:
        outcome = state.outcome
        if outcome.failed:
            log.info("%s %s via %s failed (%s); retry in %.2fs", self.service, url, tier.name,
                     outcome.exception().message, state.upcoming_sleep)
        else:
            log.info("%s %s answered %s; retry in %.2fs", self.service, url, outcome.result().status,
                     state.upcoming_sleep)

    def _attempt(self, tier: Tier, method: str, url: str, params: Mapping[str, Any] | None,
                 headers: Mapping[str, str], json_body: Any) -> Response:
        """Send once through one tier; a challenge page is raised as UpstreamBlocked."""
        try:
            resp = tier.send(method, url, params=params, headers=headers, json_body=json_body,
                             timeout=self.timeout)
        except UpstreamError as exc:
            exc.service = self.service
            raise
        resp = Response(resp.status, resp.text, resp.headers, resp.url, tier.name, self.service)
        if looks_like_challenge(resp.status, resp.headers, resp.text):
            log.info("%s %s: challenge (%s) on tier %s", self.service, url, resp.status, tier.name)
            raise UpstreamBlocked(f"{self.service} answered a bot challenge ({resp.status})",
                                  service=self.service, status=resp.status)
        return resp

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                headers: Mapping[str, str] | None = None, json_body: Any = None, breaker: bool = True,
                not_found: type[UpstreamNotFound] = UpstreamNotFound) -> Response:
        """Send a request through the tiers; return a 2xx/3xx Response or raise an UpstreamError."""
        tracker = self.tracker if breaker else None
        if tracker is not None:
            tracker.check()
        url = self.url(path)
        merged = {**self.headers, **(headers or {})}
        budget = _RequestBudget(self._clock, self._sleep)
        blocked: UpstreamBlocked | None = None
        tiers = self._ordered_tiers()
        for tier_index, tier in enumerate(tiers):
            retrying = self._retrying(tier, url, budget, fallback=tier_index > 0)
            try:
                resp = retrying(self._attempt, tier, method, url, params, merged, json_body)
            except UpstreamBlocked as exc:
                blocked = exc
                continue
            except UpstreamError:
                if tracker is not None:
                    tracker.record_failure(None)
                raise
            if _failing_answer(resp):
                if tracker is not None:
                    tracker.record_failure(resp.status)
                raise UpstreamError(f"{self.service} answered {resp.status}", service=self.service,
                                    status=resp.status, transient=True)
            if resp.status in (404, 410):
                if tracker is not None:
                    tracker.record_success(resp.status)
                raise not_found(f"{self.service}: not found: {url}", service=self.service, status=resp.status)
            if resp.status >= 400:
                raise UpstreamError(f"{self.service} answered {resp.status}", service=self.service,
                                    status=resp.status)
            if tracker is not None:
                tracker.record_success(resp.status)
            if tier.name != tiers[0].name:
                self.memory.set(tier.name)
            return resp
        if tracker is not None:
            tracker.record_failure(blocked.status if blocked else None)
        raise blocked or UpstreamBlocked(f"{self.service} blocked every tier", service=self.service)

    def get(self, path: str, **kwargs: Any) -> Response:
        """GET a path; see request()."""
        return self.request("GET", path, **kwargs)

    def get_json(self, path: str, **kwargs: Any) -> Any:
        """GET a path and decode its JSON body."""
        return self.request("GET", path, **kwargs).json()

    def post_json(self, path: str, body: Any, **kwargs: Any) -> Any:
        """POST a JSON body and decode the JSON answer."""
        return self.request("POST", path, json_body=body, **kwargs).json()

    def close(self) -> None:
        """Close every tier's sessions."""
        for tier in self.tiers:
            closer = getattr(tier, "close", None)
            if closer is not None:
                closer()
