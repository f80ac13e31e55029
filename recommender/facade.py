"""The facade routes call: one thin object over the use cases and the parts that do the work."""
from __future__ import annotations

import time
from typing import Any, Iterator, Mapping, Sequence

from infra.contributions import Contributions, ContributionsUnavailable
from infra.jobs import Emitter, JobRunner
from infra.shared_results_store import SharesUnavailable, open_shared_results
from infra.slots import MemorySlots, RedisSlots
from recommender.catalogs import CatalogCache
from recommender.dispatch import RECOMMEND, Dispatcher
from recommender.event_streams import EventStreams, stream_lease_s
from recommender.failures import parse_upload, upstream_error
from recommender.health import health_report
from recommender.more_like import RunMembers, more_like_cards
from recommender.ranked_list import ListReader, RankList
from recommender.recommend import Recommend
from recommender.served_model import ServedModel
from recommender.steps import RunSteps
from recommender.together import GroupNight, Members, TasteMatch, WatchlistNight, YearReview
from services.errors import Conflict, NotFound, UpstreamUnavailable
from services.recommend_request import RecommendRequest, RequestLimits, validate_more_like, validate_request
from services.shared_results import shareable
from services.together_request import COMPARE, GROUP, YEAR_REVIEW, TogetherRequest, Upload, validate_together
from services.vocabulary import meta

__all__ = ["Recommender", "RecommendRequest"]


class Recommender:
    """Everything the routes need, behind one object; each method hands off to the part that does it."""

    def __init__(self, settings, *, link, cache, bus, jobs: JobRunner, store, model_store, tracker, profiles,
                 lists, letterboxd, tmdb, availability, bootstrap=None,
                 contributions: Contributions | None = None) -> None:
        self.settings = settings
        self.link = link
        self.cache = cache
        self.bus = bus
        self.jobs = jobs
        self.store = store
        self.model_store = model_store
        self.tracker = tracker
        self.profiles = profiles
        self.lists = lists
        self.letterboxd = letterboxd
        self.tmdb = tmdb
        self.availability = availability
        self.bootstrap = bootstrap
        self.contributions = contributions
        self.started = time.time()
        self.limits = RequestLimits(settings.default_country, settings.default_count, settings.max_count,
                                    settings.feedback_max_films)
        self.model = ServedModel(model_store, bootstrap)
        self.catalogs = CatalogCache(store, warm=self.model.prepare)
        self.members = RunMembers(cache, settings.job_result_ttl)
        self.shares = open_shared_results(link.client if link else None, settings.var_dir,
                                          settings.share_ttl_days * 86400)
        run_steps = RunSteps(settings, profiles=profiles, tmdb=tmdb, availability=availability,
                             catalogs=self.catalogs, model=self.model)
        self.steps = run_steps
        members = Members(run_steps, profiles)
        recommend = Recommend(run_steps, contributions=contributions, members=self.members)
        rank_list = RankList(run_steps, ListReader(run_steps, lists))
        group_night, watchlist_night = GroupNight(run_steps, members), WatchlistNight(run_steps, members)
        self.runs = {
            RECOMMEND: lambda req, em: (rank_list if req.from_list is not None else recommend).run(req, em),
            GROUP: lambda req, em: (watchlist_night if req.from_list is not None else group_night).run(req, em),
            COMPARE: TasteMatch(run_steps, members).run,
            YEAR_REVIEW: YearReview(run_steps, members).run,
        }
        self.dispatch = Dispatcher(settings, jobs=jobs, bus=bus, link=link, runs=self.runs)
        lease_s = stream_lease_s(settings)
        slots = RedisSlots(link, lease_s) if link is not None else MemorySlots(lease_s)
        self.streams = EventStreams(settings, bus=bus, jobs=jobs, slots=slots)

    def build_request(self, fields: Mapping[str, Any], upload: bytes | None, filename: str) -> RecommendRequest:
        """Validate request fields (and read an upload) into a RecommendRequest, or raise BadRequest."""
        export = parse_upload(upload, filename, self.settings) if upload is not None else None
        return validate_request(fields, self.limits, export=export, upload=upload, filename=filename)

    def build_together(self, kind: str, fields: Mapping[str, Any], usernames: Sequence[str],
                       uploads: Sequence[Upload]) -> TogetherRequest:
        """Validate a together request's fields and read its exports (by slot), or raise BadRequest."""
        exports = [(slot, parse_upload(data, name, self.settings), data, name) for slot, data, name in uploads]
        return validate_together(kind, fields, usernames, exports, self.limits)

    def request_for(self, kind: str, fields: Mapping[str, Any], uploads: Sequence[Upload]):
        """A job's request built again from what it carried (an RQ worker's side of the dispatcher)."""
        if kind == RECOMMEND:
            (_, upload, filename), = uploads or ((1, None, ""),)
            return self.build_request(fields, upload, filename)
        return self.build_together(kind, fields, fields.get("members") or [], uploads)

    def run(self, kind: str, req: Any, em: Emitter) -> tuple[int, dict]:
        """Run one job of a kind in this thread."""
        return self.runs[kind](req, em)

    def submitting(self):
        """A context in which one request is read and admitted, a few at a time per process."""
        return self.dispatch.submitting()

    def admit_client(self, client: str) -> None:
        """Refuse a client already running its share of jobs (called before its upload is read)."""
        self.dispatch.admit_client(client)

    def start(self, req: RecommendRequest | TogetherRequest, client: str) -> str:
        """Accept a request of any kind and run it in the background (a thread or an RQ worker); its request_id."""
        return self.dispatch.start(req, client)

    def run_sync(self, req: RecommendRequest | TogetherRequest, client: str) -> tuple[int, dict]:
        """Run a request of any kind to its end on this process's pool (events still stream)."""
        return self.dispatch.run_sync(req, client)

    def more_like(self, request_id: str, fields: Mapping[str, Any]) -> dict:
        """Films like one pick of a finished run, for that run's member, none already on the page."""
        req = validate_more_like(fields, request_id, self.limits)
        model, _ = self.model.current()
        return more_like_cards(req, self.members, self.catalogs.catalog(), model, self.settings.letterboxd_base_url,
                               self.steps.today())

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


def _iso(epoch_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))
