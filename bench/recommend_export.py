"""Upload to final payload for a synthetic export of 1,000 rated films, on the embedded default.

    .venv/bin/python bench/recommend_export.py [--films 1000] [--runs 20] [--var DIR]

Builds a Letterboxd export ZIP from catalog films (real format), then times the whole
path the API takes (parse upload -> import -> match -> score -> payload) over repeated
runs, and the share spent in parsing, matching and scoring. The baseline, measured in
the same run, is reading the same ZIP's CSVs with the standard library alone: the
figure says how much the recommendation costs on top of merely reading the upload.
Measured once warm: the full model fitted (on a fresh runtime folder the bench waits for it;
`--var DIR` reuses a folder that has one). Target: p50 under 50 ms.
"""
from __future__ import annotations

import argparse
import csv
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

from config import load_settings  # noqa: E402
from infra.jobs import Emitter  # noqa: E402
from recommender.composition import build  # noqa: E402


def synthetic_export(films, n: int, seed: int = 0) -> bytes:
    """A Letterboxd export ZIP with n rated films drawn from the catalog, popular ones more often."""
    rng = random.Random(seed)
    pool = sorted((f for f in films if f.year), key=lambda f: -f.corpus_count)[: max(n * 3, 3000)]
    chosen = rng.sample(pool, min(n, len(pool)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        def write(name: str, header: list[str], rows: list[list]) -> None:
            text = io.StringIO()
            w = csv.writer(text)
            w.writerow(header)
            w.writerows(rows)
            archive.writestr(name, text.getvalue())

        ratings = [["2024-01-01", f.title, f.year, f"https://boxd.it/{i:x}", rng.choice([2, 2.5, 3, 3.5, 4, 4.5, 5])]
                   for i, f in enumerate(chosen)]
        write("ratings.csv", ["Date", "Name", "Year", "Letterboxd URI", "Rating"], ratings)
        write("watched.csv", ["Date", "Name", "Year", "Letterboxd URI"], [r[:4] for r in ratings])
        write("likes/films.csv", ["Date", "Name", "Year", "Letterboxd URI"], [r[:4] for r in ratings[:100]])
        write("profile.csv", ["Date Joined", "Username"], [["2020-01-01", "benchmember"]])
    return out.getvalue()


def stdlib_read(data: bytes) -> int:
    """The baseline: unzip and read every CSV row, nothing else."""
    rows = 0
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            rows += sum(1 for _ in csv.reader(io.StringIO(archive.read(name).decode("utf-8"))))
    return rows


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--films", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--var", help="a runtime folder to use (default: a fresh one, which fits its models first)")
    args = ap.parse_args()

    var = Path(args.var) if args.var else Path(tempfile.mkdtemp(prefix="lbr-bench-"))
    settings = load_settings(overrides={"var_dir": var, "tmdb_key": "", "redis_url": "", "log_level": "WARNING",
                                        "letterboxd_base_url": "http://127.0.0.1:9"})
    facade = build(settings)
    facade.bootstrap.wait(full=True)  # a fresh folder fits its first models in the background
    data = synthetic_export(facade.catalog().films, args.films)
    print(f"synthetic export: {args.films} rated films, {len(data) / 1024:.0f} KiB")

    totals, parse, matching, scoring, baseline = [], [], [], [], []
    for i in range(args.runs + 1):
        t0 = time.perf_counter()
        stdlib_read(data)
        base = time.perf_counter() - t0

        t0 = time.perf_counter()
        req = facade.build_request({"include_streaming": False, "count": 20}, data, "export.zip")
        read_s = time.perf_counter() - t0
        request_id = f"bench-{i:04d}-{time.time_ns()}"
        facade.jobs.create(request_id, "bench")
        status, payload = facade.jobs.run(request_id, lambda em: facade.run(req.kind, req, em),
                                          Emitter(facade.bus, request_id, req.count))
        total = time.perf_counter() - t0
        assert status == 200 and len(payload["recommendations"]) == 20, payload.get("message")
        # Parsing: reading the upload (unzip, CSV, validation) plus merging it into a profile.
        parse_ms = read_s * 1000 + payload["timings_ms"]["profile"]
        if i == 0:
            continue  # the first run warms caches (catalog, model); it is not counted
        totals.append(total * 1000)
        parse.append(parse_ms)
        matching.append(payload["timings_ms"]["matching"])
        scoring.append(payload["timings_ms"]["scoring"])
        baseline.append(base * 1000)

    p50 = statistics.median(totals)
    print(f"runs: {args.runs}")
    print(f"upload -> payload   p50 {p50:7.1f} ms   p95 {pct(totals, 95):7.1f} ms   (target p50 < 50 ms)")
    for name, values in (("parsing", parse), ("matching", matching), ("scoring", scoring)):
        share = statistics.median(values) / p50 * 100
        print(f"  {name:<9} p50 {statistics.median(values):7.1f} ms   {share:4.0f}% of the total")
    base50 = statistics.median(baseline)
    print(f"baseline (stdlib unzip + csv read) p50 {base50:6.1f} ms; full path = {p50 / base50:.1f}x baseline")
    return 0


if __name__ == "__main__":
    sys.exit(main())
