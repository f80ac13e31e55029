"""Build the facade's real parts from settings: Redis link, cache, bus, jobs, store, model, clients.

Nothing here runs on the request path; `build` is called once per process.
"""
from __future__ import annotations

from threadpoolctl import threadpool_limits

from config import Settings
from infra.availability import AvailabilityClient
from infra.cache import Cache, MemoryCache, RedisCache
from infra.contributions import CorpusWithContributions, open_contributions
from infra.events import EventBus, MemoryEventBus, RedisEventBus
from infra.fair_share import LightFirst
from infra.http import IncidentTracker
from infra.jobs import JobRunner, MemoryJobStore, RedisJobStore
from infra.letterboxd import LetterboxdClient
from infra.letterboxd_sources import ListSource, ProfileSource
from infra.model_store import ModelStore, find_tuned
from infra.redis_link import RedisLink, process_pool
from infra.store import Store
from infra.tmdb import TmdbClient
from recommender.bootstrap import FitStages, ModelBootstrap
from recommender.facade import Recommender
from recommender.failures import error_body


def limit_blas(threads: int) -> None:
    """Let numpy's and SciPy's BLAS use at most this many threads in this process.

    Scoring multiplies small matrices, where extra BLAS threads mostly spin and wait: they
    cost a request more CPU than they save it and slow the requests beside it, which run
    side by side on the pipeline pool instead.
    """
    import scipy.linalg  # noqa: F401 - loads SciPy's own BLAS now, so the limit covers it too

    threadpool_limits(threads, user_api="blas")


def build(settings: Settings, fit_full: bool = True) -> Recommender:
    """Compose the real infrastructure from settings; the first model trains in the background.

    Without `fit_full` a fresh runtime folder gets only the quick model (a one-off command answers
    with it and exits; `train` fits the full one).
    """
    limit_blas(settings.blas_threads)
    link = RedisLink(settings.redis_url, pool=process_pool(settings.redis_url, settings.redis_max_connections,
                                                           settings.redis_pool_timeout_s)) \
        if settings.redis_url else None
    memory_cache = MemoryCache(settings.cache_max_size)
    cache: Cache = RedisCache(link, memory_cache) if link else memory_cache
    bus: EventBus = (
        RedisEventBus(link, settings.sse_queue_maxsize, settings.stream_max_age_s)
        if link else MemoryEventBus(settings.sse_queue_maxsize, settings.stream_max_age_s)
    )
    job_store = RedisJobStore(link) if link else MemoryJobStore()
    fair = LightFirst(int(settings.large_upload_mb * 2**20), settings.light_run_cpu_s)
    jobs = JobRunner(job_store, bus, settings.pipeline_pool_size, settings.job_result_ttl, error_body,
                     stale_after_s=settings.job_stale_after_s, max_result_bytes=settings.job_result_max_kb * 1024,
                     fair=fair)
    store = Store.open(settings.store_path, settings.data_dir)
    model_store = ModelStore(settings.model_dir)
    redis_client = link.client if link else None
    contributions = open_contributions(redis_client, settings.var_dir)
    stages = FitStages(model_store, CorpusWithContributions(store, contributions),
                       lambda: find_tuned(settings.model_dir, settings.data_dir))
    bootstrap = ModelBootstrap(settings.model_dir, stages, fit_full=fit_full)
    tracker = IncidentTracker(redis_client, settings.letterboxd_circuit_failure_threshold,
                              settings.letterboxd_circuit_cooldown_s)
    letterboxd = LetterboxdClient.from_settings(settings, tracker, redis_client)
    profiles = ProfileSource(letterboxd, cache, fresh_ttl_s=settings.profile_fresh_ttl_s,
                             stale_ttl_s=settings.profile_stale_ttl_s)
    tmdb = TmdbClient.from_settings(settings, cache, store, redis_client)
    availability = AvailabilityClient.from_settings(settings, cache, tmdb)
    facade = Recommender(settings, link=link, cache=cache, bus=bus, jobs=jobs, store=store,
                         model_store=model_store, tracker=tracker, profiles=profiles,
                         lists=ListSource(letterboxd, cache), letterboxd=letterboxd, tmdb=tmdb,
                         availability=availability, bootstrap=bootstrap, contributions=contributions)
    # The catalog first: training holds the CPU for a while, and health and matching need the catalog.
    facade.catalogs.catalog()
    bootstrap.start()
    return facade
