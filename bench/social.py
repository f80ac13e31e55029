"""Group night and watchlist night for 4 members with 500-film exports, and ranking a 200-film list, on the
embedded default.

    .venv/bin/python bench/social.py [--films 500] [--members 4] [--watchlist 300] [--list 200] [--runs 5]
                                     [--var DIR]

The baseline, measured in the same run, is one ordinary recommendation for one of the same
500-film exports (upload -> payload, no streaming): the figures say what a group, a watchlist
night or a ranked list costs next to the request members make most. For the watchlist night each
export also holds a watchlist.csv of --watchlist films, drawn from a pool twice that size, so a film
is on two of four watchlists on average and some are films another member rated. --var starts from
a copy of a runtime folder that already holds a model (else the first model is trained first, a
few minutes).
"""
from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from config import load_settings  # noqa: E402
from infra.jobs import Emitter  # noqa: E402
from recommend_export import synthetic_export  # noqa: E402
from recommender.composition import build  # noqa: E402


def renamed(data: bytes, name: str) -> bytes:
    """The export with another username in profile.csv (two exports of one name are one member)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info.filename)
            if info.filename == "profile.csv":
                body = body.replace(b"benchmember", name.encode())
            target.writestr(info, body)
    return out.getvalue()


def with_watchlist(data: bytes, films) -> bytes:
    """The export with a watchlist.csv of these films."""
    rows = "".join(f"2024-02-01,\"{f.title}\",{f.year},https://boxd.it/w{i:x}\n" for i, f in enumerate(films))
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info, source.read(info.filename))
        target.writestr("watchlist.csv", "Date,Name,Year,Letterboxd URI\n" + rows)
    return out.getvalue()


def timed(facade, work) -> tuple[float, tuple[int, dict]]:
    request_id = f"bench-{time.time_ns()}"
    facade.jobs.create(request_id, "bench")
    t0 = time.perf_counter()
    out = facade.jobs.run(request_id, work, Emitter(facade.bus, request_id))
    return (time.perf_counter() - t0) * 1000, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--films", type=int, default=500)
    ap.add_argument("--members", type=int, default=4)
    ap.add_argument("--watchlist", type=int, default=300)
    ap.add_argument("--list", type=int, default=200)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--var", help="a runtime folder with a model to start from (copied)")
    args = ap.parse_args()

    var = Path(tempfile.mkdtemp(prefix="lbr-bench-"))
    if args.var:
        from tests.support.var import copy_var

        copy_var(Path(args.var), var)
    settings = load_settings(overrides={"var_dir": var, "tmdb_key": "", "redis_url": "", "log_level": "WARNING",
                                        "letterboxd_base_url": "http://127.0.0.1:9"})
    facade = build(settings)
    facade.bootstrap.wait()
    films = facade.catalog().films
    exports = [renamed(synthetic_export(films, args.films, seed=s), f"member{s}") for s in range(args.members)]
    uploads = [(i + 1, data, f"m{i}.zip") for i, data in enumerate(exports)]
    pool = sorted((f for f in films if f.year and f.corpus_count > 0), key=lambda f: -f.corpus_count)[:3000]
    listed = random.Random(7).sample(pool, args.list)
    list_text = "\n".join(f"{f.title} ({f.year})" for f in listed)
    wanted = random.Random(11).sample(pool, min(len(pool), 2 * args.watchlist))
    watchlist_uploads = [(slot, with_watchlist(data, random.Random(slot).sample(wanted, args.watchlist)), name)
                         for slot, data, name in uploads]

    base, groups, nights, ranked = [], [], [], []
    for run in range(args.runs + 1):
        req = facade.build_request({"include_streaming": False, "count": 20}, exports[0], "m0.zip")
        base_ms, (status, body) = timed(facade, lambda em: facade.run(req.kind, req, em))
        assert status == 200 and len(body["recommendations"]) == 20
        group = facade.build_together("group", {"include_streaming": False, "count": 20}, [], uploads)
        group_ms, (status, body) = timed(facade, lambda em: facade.run(group.kind, group, em))
        assert status == 200 and len(body["recommendations"]) == 20, body
        night = facade.build_together("group", {"include_streaming": False, "count": 20,
                                                "from_list": "watchlists"}, [], watchlist_uploads)
        night_ms, (status, body) = timed(facade, lambda em: facade.run(night.kind, night, em))
        assert status == 200 and len(body["recommendations"]) == 20, body
        watchlists = body["watchlists"]
        req = facade.build_request({"include_streaming": False, "from_list": list_text}, exports[0], "m0.zip")
        list_ms, (status, body) = timed(facade, lambda em: facade.run(req.kind, req, em))
        assert status == 200 and body["list"]["titles"] == args.list, body
        if run == 0:
            matched = body["list"]["matched"]
            continue  # the first run warms the catalog and model caches
        base.append(base_ms)
        groups.append(group_ms)
        nights.append(night_ms)
        ranked.append(list_ms)

    b = statistics.median(base)
    g = statistics.median(groups)
    w = statistics.median(nights)
    r = statistics.median(ranked)
    print(f"runs: {args.runs} (after one warm-up); exports of {args.films} rated films")
    print(f"baseline: one member's recommendation       p50 {b:8.1f} ms")
    print(f"group night, {args.members} members                   p50 {g:8.1f} ms  = {g / b:.1f}x baseline")
    print(f"watchlist night, {args.members} x {args.watchlist}-film watchlists  p50 {w:8.1f} ms  = {w / b:.1f}x baseline"
          f"  ({watchlists['films']} films on them, {watchlists['seen']} seen by a member)")
    print(f"ranking a {args.list}-film list ({matched} matched)  p50 {r:8.1f} ms  = {r / b:.1f}x baseline")
    return 0


if __name__ == "__main__":
    sys.exit(main())
