"""The app factory and the command line: serve, recommend, collect, import-ratings, train, evaluate, worker,
build-data."""
from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from flask import Flask, request
from flask_cors import CORS
from werkzeug.middleware.proxy_fix import ProxyFix

from config import ROOT, Settings, load_settings

if TYPE_CHECKING:
    from recommender import Recommender

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https://image.tmdb.org data:; "
        "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Sent only on HTTPS answers (browsers ignore it over plain HTTP): a year, as the HSTS preload list asks.
HSTS = "max-age=31536000; includeSubDomains"


SECRET_QUERY = re.compile(r"((?:api_key|token|access_token)=)[^&\s\"']+", re.IGNORECASE)


class RedactSecrets(logging.Filter):
    """Mask secrets in log lines (urllib3 logs request URLs, which carry TMDB's api_key)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = SECRET_QUERY.sub(r"\1***", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def install_log_redaction() -> None:
    root = logging.getLogger()
    for target in [*root.handlers, logging.getLogger("urllib3.connectionpool")]:
        if not any(isinstance(f, RedactSecrets) for f in target.filters):
            target.addFilter(RedactSecrets())


def configure_logging(settings: Settings) -> None:
    """Log at LOG_LEVEL, with secrets masked."""
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_redaction()


def create_app(overrides: Mapping[str, Any] | None = None, settings: Settings | None = None,
               facade: "Recommender | None" = None, *, defer_start: bool = False) -> Flask:
    """Build the Flask app: settings from defaults, .env, environment, then overrides.

    `facade` is the object the routes call; without one, the real one is composed from the settings
    in the background, starting at once or, with defer_start, at `app.extensions["startup"].begin()`.
    """
    from recommender.startup import Startup
    from routes import bp, limiter, register_error_handlers
    from routes_together import bp as together_bp

    if settings is None:
        settings = facade.settings if facade is not None else load_settings(overrides=overrides)
    configure_logging(settings)
    app = Flask(__name__, static_folder=str(ROOT / "static"), static_url_path="/static")
    if settings.trusted_proxies:
        # Behind that many proxies: the client address, scheme and host come from their X-Forwarded-* headers.
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    app.config.update(
        SETTINGS=settings,
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + 64 * 1024,  # room for the other form fields
        RATELIMIT_ENABLED=settings.ratelimit_enabled,
        RATELIMIT_STORAGE_URI=settings.limiter_storage,
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_SWALLOW_ERRORS=True,
        RATELIMIT_HEADERS_ENABLED=True,
        JSON_SORT_KEYS=False,
    )
    if settings.redis_url and settings.limiter_storage == settings.redis_url:
        from infra.redis_link import process_pool

        # The limiter counts on the same bounded pool as the rest of the process.
        app.config["RATELIMIT_STORAGE_OPTIONS"] = {"connection_pool": process_pool(
            settings.redis_url, settings.redis_max_connections, settings.redis_pool_timeout_s)}
    CORS(app, resources={r"/api/*": {"origins": list(settings.cors_origins)}})
    limiter.init_app(app)
    app.register_blueprint(bp)
    app.register_blueprint(together_bp)
    register_error_handlers(app)
    # The port answers at once; the facade (store, clients, first model) is composed in the background.
    app.extensions["startup"] = Startup(facade=facade) if facade is not None \
        else Startup(lambda: _compose(settings), begin=not defer_start)

    @app.after_request
    def security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response

    return app


def _compose(settings: Settings) -> "Recommender":
    """The real facade; imported here so the port can answer before numpy and the model code load."""
    from recommender.composition import build

    return build(settings)


# ----- command line ----------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace) -> int:
    from werkzeug.serving import make_server

    settings = load_settings()
    app = create_app(settings=settings, defer_start=True)
    port = args.port or settings.port
    server = make_server(args.host, port, app, threaded=True)
    print(f"Letterboxd Recommender on http://127.0.0.1:{port}/", flush=True)
    # Listening first, then the store and model load in the background: the port answers at once.
    app.extensions["startup"].begin()
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


def cmd_recommend(args: argparse.Namespace) -> int:
    from recommender.served_model import TRAINING, TRAINING_MESSAGE
    from recommender.composition import build
    from services.recsys import QUICK

    settings = load_settings()
    # A fresh runtime folder gets the quick model only: this command answers and exits.
    facade = build(settings, fit_full=False)
    fields: dict[str, Any] = {"sync": True, "include_streaming": not args.no_streaming,
                              **given(country=args.country, count=args.count)}
    if args.mood:
        fields["mood"] = args.mood
    if args.filters:
        fields["filters"] = json.loads(args.filters)
    if args.from_list:
        listed = Path(args.from_list)
        # "watchlist" or a list URL as given; anything else is a file of titles or a list export CSV.
        fields["from_list"] = listed.read_text(encoding="utf-8-sig") if listed.is_file() else args.from_list
    upload, filename = None, ""
    if args.export:
        read = _read_export(args.export)
        if read is None:
            return 2
        upload, filename = read
    elif args.username:
        fields["username"] = args.username
    elif not args.mood:
        print("error: give a username, --export FILE, or --mood MOOD", file=sys.stderr)
        return 2

    def run() -> tuple[int, dict]:
        req = facade.build_request(fields, upload, filename)
        if facade.model.state == TRAINING:
            print(f"{TRAINING_MESSAGE}…", file=sys.stderr, flush=True)
        return facade.run_sync(req, "cli")

    code = _print_answer(run, args.json, format_table)
    if code == 0 and facade.model_store.current_kind() == QUICK:
        print("Answered by the quick model; `python main.py train` fits the full one (about a minute).",
              file=sys.stderr)
    return code


def given(**options: Any) -> dict[str, Any]:
    """The options given on the command line; the others take the settings' defaults (DEFAULT_COUNTRY, ...)."""
    return {name: value for name, value in options.items() if value is not None}


def cmd_together(args: argparse.Namespace) -> int:
    """group / compare: members by username and --export files, printed as a table or JSON."""
    from recommender.composition import build
    from services.together_request import WATCHLISTS, member_usernames

    facade = build(load_settings(), fit_full=False)
    uploads = []
    for slot, name in enumerate(args.export or [], start=len(args.members) + 1):
        read = _read_export(name)
        if read is None:
            return 2
        uploads.append((slot, *read))
    fields: dict[str, Any] = {"sync": True, "include_streaming": not args.no_streaming,
                              **given(country=args.country, count=args.count)}
    if getattr(args, "from_watchlists", False):
        fields["from_list"] = WATCHLISTS
    two = args.command == "compare"

    def run() -> tuple[int, dict]:
        together = facade.build_together(args.command, fields, member_usernames(args.members), uploads)
        return facade.run_sync(together, "cli")

    return _print_answer(run, args.json, lambda payload: format_together(payload, two))


def format_together(payload: dict, compare: bool) -> str:
    """A group's picks with a meter per member (and whose watchlists hold each); for a comparison, the match first."""
    lines = []
    if compare:
        lines += [f"Taste match: {payload['percent']}%", payload["method"]["explanation"], ""]
        lines += [f"Agree on: {r['title']} ({r['year']})" for r in payload["agree"]]
        lines += [f"Disagree on: {r['title']} ({r['year']}) {r['stars'][0]} vs {r['stars'][1]} stars"
                  for r in payload["disagree"]]
        lines += ["", "Both should like:"]
    watchlists = payload.get("watchlists")
    if watchlists is not None:
        lines += [f"note: {note}" for note in payload["notes"]]
        lines.append(f"{watchlists['films']} films on your watchlists: {watchlists['seen']} seen by one of you, "
                     f"{len(watchlists['not_out_yet'])} not out yet, {watchlists['ranked']} ranked")
        lines += [f"  not out yet: {f['title']} ({f.get('release_date') or f.get('year') or '?'})"
                  for f in watchlists["not_out_yet"]]
    for i, rec in enumerate(payload["recommendations"], 1):
        meters = ", ".join(f"{m['name']} {m['match']}%" for m in rec["members"])
        lines.append(f"{i:>3}  {rec['title']} ({rec.get('year') or ''})  {meters}")
        if "on_watchlists" in rec:
            lines.append(f"     on the watchlists of {', '.join(rec['on_watchlists'])}")
    return "\n".join(lines)


def cmd_year_review(args: argparse.Namespace) -> int:
    """A year in review in the terminal, from a username or an export."""
    from recommender.composition import build
    from services.together_request import YEAR_REVIEW

    facade = build(load_settings(), fit_full=False)
    uploads = []
    if args.export:
        read = _read_export(args.export)
        if read is None:
            return 2
        uploads.append((1, *read))

    def run() -> tuple[int, dict]:
        review = facade.build_together(YEAR_REVIEW, {"sync": True, "year": args.year},
                                       [args.username] if args.username else [], uploads)
        return facade.run_sync(review, "cli")

    return _print_answer(run, args.json, format_year_review)


def format_year_review(review: dict) -> str:
    """A year in review as lines of text, with a bar of hashes per month."""
    streak = review["longest_streak"]
    lines = [f"{review['member']['name']}'s {review['year']} in film",
             f"{review['logs']} films logged: {review['first_watches']} first watches, {review['rewatches']} rewatches",
             f"{review['hours']:g} hours (runtime known for {review['runtime_known']})",
             f"Longest streak: {streak['days']} days", ""]
    lines += [f"{m['month']}  {'#' * m['films']} {m['films']}" for m in review["months"]]
    lines += ["", "Top rated:"] + [f"  {f['title']} ({f['year']}) {f['stars']} stars" for f in review["top_rated"]]
    return "\n".join(lines)


def _read_export(name: str) -> tuple[bytes, str] | None:
    """An export file's bytes and name, or None after saying on stderr that there is no such file."""
    path = Path(name)
    if not path.is_file():
        print(f"error: no such file: {path}", file=sys.stderr)
        return None
    return path.read_bytes(), path.name


def _print_answer(run: Callable[[], tuple[int, dict]], as_json: bool, render: Callable[[dict], str]) -> int:
    """Run a command's request and print its answer as JSON or rendered text; a failure is one line on stderr."""
    from services.errors import AppError

    try:
        status, payload = run()
    except AppError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    if status >= 400:
        print(f"error: {payload.get('message')}", file=sys.stderr)
        return 1
    print(json.dumps(payload, indent=2, ensure_ascii=False) if as_json else render(payload))
    return 0


def format_table(payload: dict) -> str:
    """A readable table of recommendations for the terminal."""
    lines = []
    profile = payload.get("profile") or {}
    if profile:
        lines.append(f"{profile.get('films', 0)} films read, {profile.get('matched', 0)} matched to the catalog")
    if payload.get("hint"):
        lines.append(payload["hint"])
    listed = payload.get("list")
    if listed:
        lines.append(f"{listed['name']}: {listed['matched']} of {listed['titles']} titles matched, "
                     f"{listed['ranked']} ranked")
        for miss in listed["unmatched"]:
            lines.append(f"  not matched: {miss['name']}" + (f" ({miss['year']})" if miss.get("year") else ""))
    lines.append("")
    lines.append(f"{'#':>3}  {'Title':<42} {'Year':>4}  {'Match':>5}  Why")
    for i, rec in enumerate(payload.get("recommendations", []), 1):
        title = rec["title"] if len(rec["title"]) <= 42 else rec["title"][:41] + "…"
        match = f"{rec['match']}%" if rec.get("match") is not None else ""
        lines.append(f"{i:>3}  {title:<42} {rec.get('year') or '':>4}  {match:>5}  {rec.get('reason') or ''}")
    return "\n".join(lines)


def cmd_build_data(args: argparse.Namespace) -> int:
    from infra.dataset_build import build_embedded_data

    report = build_embedded_data(Path(args.source), Path(args.out))
    print(json.dumps(report, indent=2))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    import time

    from infra.contributions import CorpusWithContributions, open_contributions
    from infra.model_store import (
        TUNED_NAME,
        corpus_arrays,
        corpus_figures,
        find_tuned,
        settings_for,
        train_and_save,
        tune_and_save,
    )
    from infra.redis_link import RedisLink
    from infra.store import Store
    from services.recsys import FULL

    settings = load_settings()
    store = Store.open(settings.store_path, settings.data_dir)
    redis_client = RedisLink(settings.redis_url).client if settings.redis_url else None
    corpus = CorpusWithContributions(store, open_contributions(redis_client, settings.var_dir))
    started = time.perf_counter()
    if args.tune:
        out = Path(args.out) if args.out else settings.model_dir / TUNED_NAME
        version, tuned = tune_and_save(corpus, settings.model_dir, out)
        print(f"tuned values for {tuned.corpus['ratings']:,} ratings -> {out}")
    else:
        tuned = find_tuned(settings.model_dir, settings.data_dir)
        if tuned is not None:
            now = corpus_figures(corpus_arrays(corpus))
            if now["fingerprint"] != tuned.corpus.get("fingerprint"):
                print(f"note: the values in {tuned.source} were tuned on {tuned.corpus.get('ratings', 0):,} ratings; "
                      f"the corpus now has {now['ratings']:,}. After a large import, run `train --tune`.",
                      file=sys.stderr)
        version = train_and_save(corpus, settings.model_dir, settings_for(FULL, tuned))
    counts = corpus.contributions.counts()
    print(f"trained model {version} -> {settings.model_dir} in {time.perf_counter() - started:.0f} s "
          f"(with {counts['ratings']} ratings contributed by {counts['members']} members)")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from infra.evaluate_command import run_evaluate_cli

    print(run_evaluate_cli(args.ratings, args.items, args.k, args.seed, args.json, args.models, args.cold_items))
    return 0


def cmd_import_ratings(args: argparse.Namespace) -> int:
    from infra.rating_import import run_import_cli

    return run_import_cli(load_settings(), Path(args.ratings), Path(args.items) if args.items else None, args.source,
                          allow_skips=args.allow_skips)


def cmd_collect(args: argparse.Namespace) -> int:
    from infra.collector import run_collect_cli

    return run_collect_cli(load_settings(), args.members, args.pages)


def cmd_worker(args: argparse.Namespace) -> int:
    from infra.queue import run_worker
    from recommender.worker import prepare

    settings = load_settings()
    configure_logging(settings)
    if settings.redis_url:
        prepare()  # load the store, catalog and model before the first job, not during it
    return run_worker(settings, args.burst)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="main.py", description="Letterboxd Recommender")
    sub = p.add_subparsers(dest="command")

    s = sub.add_parser("serve", help="run the web app (the default)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=None)
    s.set_defaults(fn=cmd_serve)

    r = sub.add_parser("recommend", help="recommend for a username or an export file")
    r.add_argument("username", nargs="?")
    r.add_argument("--export", help="Letterboxd export ZIP or CSV")
    r.add_argument("--count", type=int, default=None, help="default: DEFAULT_COUNT (a list: every film of it)")
    r.add_argument("--country", default=None, help="default: DEFAULT_COUNTRY")
    r.add_argument("--mood", help="a mood; on its own (no username or export) it gives picks with no account")
    r.add_argument("--filters", help='JSON object, e.g. \'{"genres": ["Drama"], "max_runtime": 120}\'')
    r.add_argument("--from-list", metavar="FILE|watchlist|URL",
                   help="rank this list instead of the catalog: a file of titles (one per line, optional year) "
                        "or a Letterboxd list export CSV, 'watchlist', or a Letterboxd list URL")
    r.add_argument("--no-streaming", action="store_true")
    r.add_argument("--json", action="store_true", help="print the JSON payload")
    r.set_defaults(fn=cmd_recommend)

    for name, text in (("group", "films for 2-8 members none has seen"),
                       ("compare", "taste match between two members")):
        g = sub.add_parser(name, help=text)
        g.add_argument("members", nargs="*", help="Letterboxd usernames")
        g.add_argument("--export", action="append", help="a member's export ZIP or CSV (repeat per member)")
        g.add_argument("--count", type=int, default=None, help="default: DEFAULT_COUNT")
        g.add_argument("--country", default=None, help="default: DEFAULT_COUNTRY")
        g.add_argument("--no-streaming", action="store_true")
        g.add_argument("--json", action="store_true", help="print the JSON payload")
        if name == "group":
            g.add_argument("--from-watchlists", action="store_true",
                           help="rank the films on the members' watchlists instead of the whole catalog")
        g.set_defaults(fn=cmd_together)

    y = sub.add_parser("year-review", help="a member's year in review from their diary")
    y.add_argument("username", nargs="?")
    y.add_argument("--export", help="Letterboxd export ZIP or its diary.csv")
    y.add_argument("--year", type=int, default=None, help="default: the latest year with diary entries")
    y.add_argument("--json", action="store_true", help="print the JSON payload")
    y.set_defaults(fn=cmd_year_review)

    b = sub.add_parser("build-data", help="rebuild the embedded catalog and corpus under data/")
    b.add_argument("--source", default=str(ROOT.parent / "shared" / "data"))
    b.add_argument("--out", default=str(ROOT / "data"))
    b.set_defaults(fn=cmd_build_data)

    t = sub.add_parser("train", help="fit the model on the corpus with the tuned values and swap it in")
    t.add_argument("--tune", action="store_true",
                   help="search the values on held-out members first and store them (after a large import)")
    t.add_argument("--out", help="where --tune writes the values (default: tuned.json in the model folder)")
    t.set_defaults(fn=cmd_train)

    e = sub.add_parser("evaluate", help="offline evaluation of the hybrid against baselines")
    e.add_argument("--ratings", required=True, help="CSV with user,item,rating")
    e.add_argument("--items", help="CSV with item,title,year,genres")
    e.add_argument("--k", type=int, default=20)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--models", help="comma-separated subset of models")
    e.add_argument("--cold-items", type=float, default=None, metavar="SHARE",
                   help="hold out every rating of this share of films and rank them from content alone")
    e.add_argument("--json", action="store_true")
    e.set_defaults(fn=cmd_evaluate)

    i = sub.add_parser("import-ratings", help="add a rating file to the corpus (resumable, users hashed)")
    i.add_argument("--ratings", required=True, help="CSV with user,item,rating (any numeric scale)")
    i.add_argument("--items", help="CSV with item,title,year,genres, matched to the catalog by title and year")
    i.add_argument("--source", default="import", help="a name for this data set (default: import)")
    i.add_argument("--allow-skips", action="store_true",
                   help="import even when more than 1%% of the rows cannot be stored (they are counted by reason)")
    i.set_defaults(fn=cmd_import_ratings)

    c = sub.add_parser("collect", help="add popular Letterboxd members' ratings to the corpus")
    c.add_argument("--members", type=int, default=50)
    c.add_argument("--pages", type=int, default=None)
    c.set_defaults(fn=cmd_collect)

    w = sub.add_parser("worker", help="run pipelines from the Redis queue (needs REDIS_URL)")
    w.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    w.set_defaults(fn=cmd_worker)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command is None:
        args = parser().parse_args(["serve", *(argv or [])])
    try:
        return args.fn(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a clear message, not a traceback, for startup problems
        from infra.store import DataFileError

        if isinstance(exc, (DataFileError, ValueError, FileNotFoundError)):
            print(f"error: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
