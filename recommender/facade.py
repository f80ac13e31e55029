"""The facade routes call: one thin object over the parts that do the work."""
from __future__ import annotations

import time
from typing import Any, Iterator, Mapping

from infra.contributions import Contributions, ContributionsUnavailable
from infra.jobs import JobRunner
from infra.model_store import ModelMissing
from infra.slots import MemorySlots, RedisSlots
from recommender.catalogs import CatalogCache
from recommender.dispatch import Dispatcher
from recommender.failures import parse_upload, upstream_error
from recommender.health import health_report
from recommender.party import Social
from infra.shared_results import SharesUnavailable, open_shared_results
from recommender.more_like import RunMembers, more_like_cards
from recommender.pipeline import Pipeline
from recommender.streams import EventStreams, stream_lease_s
from services.errors import Conflict, NotFound, UpstreamUnavailable
from services.shared_results import shareable
from services.recommend_request import RecommendRequest, RequestLimits, validate_more_like, validate_request
from services.vocabulary import meta

__all__ = ["Recommender", "RecommendRequest"]


class Recommender:
    """Everything the routes need, behind one object; each method hands off to the part that does it."""

    def __init__(self, settings, *, link, cache, bus, jobs: JobRunner, store, model_store, tracker, profiles,
                 letterboxd, tmdb, streaming, bootstrap=None, contributions: Contributions | None = None) -> None:
        self.settings = settings
        self.link = link
        self.cache = cache
        self.bus = bus
        self.jobs = jobs
        self.store = store
        self.model_store = model_store
        self.tracker = tracker
        self.profiles = profiles
        self.letterboxd = letterboxd
        self.tmdb = tmdb
        self.streaming = streaming
        self.bootstrap = bootstrap
        self.contributions = contributions
        self.started = time.time()
        self.limits = RequestLimits(settings.default_country, settings.default_count, settings.max_count,
                                    settings.feedback_max_films)
        self.catalogs = CatalogCache(store, warm=lambda catalog: prepare_model(model_store, catalog))
        self.members = RunMembers(cache, settings.job_result_ttl)
        self.shares = open_shared_results(link.client if link else None, settings.var_dir,
                                          settings.share_ttl_days * 86400)
        self.pipeline = Pipeline(settings, profiles=profiles, tmdb=tmdb, streaming=streaming,
                                 catalogs=self.catalogs, model_store=model_store, bootstrap=bootstrap,
                                 contributions=contributions, members=self.members)
        self.dispatch = Dispatcher(settings, jobs=jobs, bus=bus, link=link, run=self.pipeline.run)
        lease_s = stream_lease_s(settings)
        slots = RedisSlots(link, lease_s) if link is not None else MemorySlots(lease_s)
        self.streams = EventStreams(settings, bus=bus, jobs=jobs, slots=slots)
        self.social = Social(self)

    @classmethod
    def build(cls, settings) -> "Recommender":
        """Compose the real infrastructure from settings."""
        from recommender.composition import build

        return build(settings)

    def build_request(self, fields: Mapping[str, Any], upload: bytes | None, filename: str) -> RecommendRequest:
        """Validate request fields (and read an upload) into a RecommendRequest, or raise BadRequest."""
        export = parse_upload(upload, filename, self.settings) if upload is not None else None
        return validate_request(fields, self.limits, export=export, upload=upload, filename=filename)

    def submitting(self):
        """A context in which one request is read and admitted, a few at a time per process."""
        return self.dispatch.submitting()

    def admit_client(self, client: str) -> None:
        """Refuse a client already running its share of jobs (called before its upload is read)."""
        self.dispatch.admit_client(client)

    def start(self, req: RecommendRequest, client: str) -> str:
        """Accept a request and run it in the background; returns its request_id."""
        return self.dispatch.start(req, client)

    def run_sync(self, req: RecommendRequest, client: str) -> tuple[int, dict]:
        """Run a request to its end in this thread (events still stream)."""
        return self.dispatch.run_sync(req, client)

    def more_like(self, request_id: str, fields: Mapping[str, Any]) -> dict:
        """Films like one pick of a finished run, for that run's member, none already on the page."""
        req = validate_more_like(fields, request_id, self.limits)
        model, _ = self.model_store.current()
        return more_like_cards(req, self.members, self.catalogs.catalog(), model, self.settings.letterboxd_base_url)

    def share(self, request_id: str) -> dict:
        """Keep a finished run's picks, stripped of everything about the member, under a new link id."""
        status, payload = self.result(request_id)
        if status == 202:
            raise Conflict("The run has not finished yet; share it once its picks are in.", "not_finished")
        if status != 200 or not payload.get("recommendations"):
            raise NotFound("That run has no picks to share.", "nothing_to_share")
        try:
            body = {**shareable(payload), "expires_at": _iso(time.time() + self.shares.ttl_s)}
            share_id, expires_at = self.shares.put(body)
        except SharesUnavailable as exc:
            raise UpstreamUnavailable("Shared links cannot be saved right now; please try again.",
                                      "shares_unavailable") from exc
        return {"share_id": share_id, "expires_at": _iso(expires_at), "ttl_days": self.settings.share_ttl_days}

    def shared(self, share_id: str) -> dict:
        """A shared list while its link lives."""
        try:
            body = self.shares.get(share_id)
        except SharesUnavailable as exc:
            raise UpstreamUnavailable("Shared links cannot be read right now; please try again.",
                                      "shares_unavailable") from exc
        if body is None:
            raise NotFound("This shared list has expired or never existed.", "unknown_share")
        return body

    def result(self, request_id: str) -> tuple[int, dict]:
        """The job's payload with its status, 202 while pending, or NotFound."""
        job = self.jobs.store.get(request_id)
        if job is None:
            raise NotFound("No such request, or its result has expired.", "unknown_request")
        job = self.jobs.fail_if_stale(job)
        if not job.finished:
            return 202, {"request_id": request_id, "status": job.state}
        return job.http_status, job.payload or {}

    def stream(self, request_id: str, channel: str, last_id: str | None, client: str) -> Iterator:
        """Events of one channel after last_id, then None heartbeats while idle, until terminal."""
        return self.streams.stream(request_id, channel, last_id, client)

    def incident(self) -> dict:
        return self.tracker.snapshot()

    def page_count(self, username: str) -> int:
        try:
            return self.letterboxd.page_count(username)
        except Exception as exc:  # noqa: BLE001 - mapped to a member-facing error
            raise upstream_error(exc) from exc

    def delete_contribution(self, token: str) -> None:
        """Remove a member's contributed ratings; the next `train` no longer sees them."""
        if self.contributions is None:
            raise NotFound("No contribution has that token.", "unknown_contribution")
        try:
            deleted = self.contributions.delete(token)
        except ContributionsUnavailable as exc:
            raise UpstreamUnavailable("The shared corpus is unavailable right now; try again shortly.",
                                      "contributions_unavailable") from exc
        if not deleted:
            raise NotFound("No contribution has that token; it may already be deleted.", "unknown_contribution")

    def health(self) -> dict:
        return health_report(self)

    def meta(self) -> dict:
        """The lists the pages build their forms from, and the most films one request's feedback may name."""
        return {**meta(), "feedback_max_films": self.settings.feedback_max_films}

    def catalog(self):
        """The in-memory catalog as last built from the store."""
        return self.catalogs.catalog()


def prepare_model(model_store, catalog) -> None:
    """Have the current model, if there is one yet, derive its view of a freshly built catalog."""
    try:
        model, _ = model_store.current()
    except ModelMissing:
        return  # the first model is still training; it derives its view when first used
    model.bind(catalog).prepare()


def _iso(epoch_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))
