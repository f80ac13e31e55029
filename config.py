"""Read every setting once, from defaults, then `.env`, then the environment, then overrides."""
from __future__ import annotations

import dataclasses
import difflib
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Mapping

ROOT = Path(__file__).resolve().parent


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    """Typed settings; field names are the lower-case environment variable names."""

    tmdb_key: str = ""
    redis_url: str = ""
    ratelimit_storage_uri: str = ""
    port: int = 8080
    letterboxd_circuit_failure_threshold: int = 5
    letterboxd_circuit_cooldown_s: float = 180.0
    cache_max_size: int = 10000
    stream_max_age_s: float = 3600.0
    sse_queue_maxsize: int = 1000
    sse_heartbeat_s: float = 15.0
    stream_wait_for_job_s: float = 5.0  # a stream opened before its job is posted waits this long for it
    scrape_pool_size: int = 6
    work_pool_size: int = 8
    pipeline_pool_size: int = 4
    blas_threads: int = 1  # threads numpy's linear algebra may use in a web or worker process
    pipeline_backend: str = "thread"  # "thread" (in the web process) or "rq" (RQ workers; needs REDIS_URL)
    max_queued_jobs: int = 500  # accepted jobs not yet started (RQ queue, or this process's pool) before 503
    busy_retry_after_s: int = 5  # Retry-After of a 503 for a full queue: this to twice this, spread at random
    submit_concurrency: int = 2  # uploads and requests one web process reads and admits at a time
    submit_wait_s: float = 10.0  # longest wait for one of those places before a 503 busy
    large_upload_mb: float = 2.0  # an upload unzipping to more than this gives way to smaller runs in its process
    light_run_cpu_s: float = 0.5  # a run that has used this much CPU gives way to shorter runs in its process
    redis_max_connections: int = 64  # Redis connections per process; callers wait for a free one
    redis_pool_timeout_s: float = 5.0  # longest wait for a free Redis connection before a 503
    job_result_ttl: int = 900
    job_result_max_kb: int = 2048  # a result larger than this (as JSON) is replaced by an error
    job_stale_after_s: float = 15.0  # a running job silent this long lost its worker
    letterboxd_http_timeout: float = 12.0
    tmdb_http_timeout: float = 12.0
    tmdb_max_rps: float = 40.0  # TMDB requests per second for the whole fleet (shared through Redis)
    tmdb_details_per_run: int = 20  # films the catalog lacks that one run fetches TMDB details of, most telling first
    camoufox_timeout: float = 20.0
    camoufox_max_concurrent: int = 1
    http_pool_maxsize: int = 20
    letterboxd_retry_sleep_s: float = 0.4
    letterboxd_throttle_sleep_s: float = 1.5
    letterboxd_min_interval_s: float = 0.0  # pacing between Letterboxd requests, shared through Redis
    profile_fresh_ttl_s: float = 1800.0
    profile_stale_ttl_s: float = 604800.0
    similar_results_per_film: int = 12
    internal_token: str = ""
    max_upload_mb: float = 20.0
    export_max_uncompressed_mb: float = 64.0  # an export's CSVs once unzipped, all together
    export_max_rows_per_file: int = 30_000
    export_max_rows: int = 100_000  # all files of one export together
    export_max_films: int = 20_000  # distinct films in one export
    export_max_title_chars: int = 300
    export_earliest_date: str = "1900-01-01"  # diary and rating dates before this are refused
    today: str = ""  # the date taken as today (YYYY-MM-DD): which films are out yet; empty: the system's date
    cors_origins: tuple[str, ...] = ()
    trusted_proxies: int = 0  # reverse proxies in front of the app whose X-Forwarded-* headers are believed
    ratelimit_enabled: bool = True
    letterboxd_base_url: str = "https://letterboxd.com"
    tmdb_base_url: str = "https://api.themoviedb.org/3"
    justwatch_base_url: str = "https://apis.justwatch.com"
    default_country: str = "GB"
    default_count: int = 20
    max_count: int = 100
    feedback_max_films: int = 500  # films one request's "seen it" / "not for me" feedback may name
    share_ttl_days: int = 30  # a shared results link lives this long (Redis TTL, or the SQLite file without Redis)
    reserve_picks: int = 8  # picks beyond `count` a payload carries, to replace cards marked seen or not for me
    max_active_jobs_per_client: int = 4
    max_streams_per_client: int = 30
    collector_salt: str = "letterboxd-recommender"
    data_dir: Path = ROOT / "data"
    var_dir: Path = ROOT / "var"
    log_level: str = "INFO"
    web_concurrency: int = 2  # gunicorn worker processes of one web instance
    gunicorn_worker_class: str = "gthread"
    gunicorn_threads: int = 500  # threads of one gthread worker: each open stream holds one
    gunicorn_worker_connections: int = 1000  # connections of one gevent worker
    gunicorn_timeout: int = 120

    @property
    def store_path(self) -> Path:
        return self.var_dir / "store.sqlite"

    @property
    def model_dir(self) -> Path:
        return self.var_dir / "models"

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def limiter_storage(self) -> str:
        return self.ratelimit_storage_uri or self.redis_url or "memory://"

    def public(self) -> dict[str, Any]:
        """Settings safe to show an operator: secrets are reduced to whether they are set."""
        shown = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in SECRET_FIELDS:
                value = bool(value)
            elif isinstance(value, Path):
                value = str(value)
            shown[f.name] = value
        return shown


SECRET_FIELDS = frozenset({"tmdb_key", "internal_token", "collector_salt", "redis_url", "ratelimit_storage_uri"})


def _convert(name: str, raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        return _bool(raw)
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, tuple):
        return _csv(raw)
    if isinstance(default, Path):
        return Path(raw)
    return raw


def load_settings(
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    dotenv_path: Path | None = None,
) -> Settings:
    """Build Settings: defaults < .env file < environment < explicit overrides."""
    values: dict[str, str] = {}
    env_file = dotenv_path if dotenv_path is not None else ROOT / ".env"
    if env_file.is_file():
        from dotenv import dotenv_values

        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)

    defaults = Settings()
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(Settings):
        raw = values.get(f.name.upper())
        if raw is None or raw == "":
            continue
        try:
            kwargs[f.name] = _convert(f.name, raw, getattr(defaults, f.name))
        except ValueError as exc:
            raise ValueError(f"setting {f.name.upper()}={raw!r} is not valid: {exc}") from exc
    known = {f.name for f in dataclasses.fields(Settings)}
    for key, value in (overrides or {}).items():
        name = key.lower()
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0].upper()}?" if close else ""
            raise ValueError(f"unknown setting {key!r}{hint}")
        default = getattr(defaults, name)
        if isinstance(value, str) and not isinstance(default, str):
            value = _convert(name, value, default)
        elif isinstance(default, Path) and value is not None:
            value = Path(value)
        kwargs[name] = value
    settings = Settings(**kwargs)
    if settings.blas_threads < 1:
        raise ValueError(f"setting BLAS_THREADS={settings.blas_threads} must be 1 or more")
    try:
        date.fromisoformat(settings.export_earliest_date)
    except ValueError as exc:
        raise ValueError(f"setting EXPORT_EARLIEST_DATE={settings.export_earliest_date!r} is not a "
                         "YYYY-MM-DD date") from exc
    if settings.today:
        try:
            date.fromisoformat(settings.today)
        except ValueError as exc:
            raise ValueError(f"setting TODAY={settings.today!r} is not a YYYY-MM-DD date") from exc
    return settings
