"""What one upload costs the web process: CPU seconds, peak memory, and the harm to a member beside it.

    .venv/bin/python bench/request_cost.py [--var DIR] [--rows N] [--title-chars N] [--films N]

Builds the worst uploads that pass validation, at the limits the settings allow
(every export file at the row limit, distinct films at the film limit, titles at
the title limit, diary dates at both ends of the accepted range), and a normal
member's upload (1,000 rated films), then posts each through the app in this process
(`create_app` and Flask's test client, `sync=true`, the whole path: upload, parsing,
matching, scoring, analytics, JSON). For each it prints the status, wall time, CPU
seconds of the process, peak resident memory above the idle process (the kernel's
high-water mark, reset before each case), and the full garbage collections it set off with
their time. Last, the normal upload runs alone, then beside
each large upload: once starting at each of four moments of it (with it, a quarter, half
and three quarters of the way in), then back to back for as long as it lasts; its times
beside them are printed as ratios of its time alone, all measured in this run. Targets: the
worst valid upload under 2 CPU seconds and under 300 MB above idle; the normal upload beside
it under 2x its time alone.

--rows/--title-chars/--films build the uploads at other sizes (for instance the old
limits); the default is the limits in the settings.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import gc
import io
import json
import random
import statistics
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.recommend_export import synthetic_export  # noqa: E402
from main import create_app  # noqa: E402

KINDS = {
    "ratings.csv": ["Date", "Name", "Year", "Letterboxd URI", "Rating"],
    "watched.csv": ["Date", "Name", "Year", "Letterboxd URI"],
    "watchlist.csv": ["Date", "Name", "Year", "Letterboxd URI"],
    "likes/films.csv": ["Date", "Name", "Year", "Letterboxd URI"],
    "diary.csv": ["Date", "Name", "Year", "Letterboxd URI", "Rating", "Rewatch", "Tags", "Watched Date"],
    "reviews.csv": ["Date", "Name", "Year", "Letterboxd URI", "Rating", "Rewatch", "Tags", "Watched Date",
                    "Review"],
}
NORMAL_RUNS = 5
BESIDE_STARTS = 4  # moments of a large upload at which a normal one starts beside it


def proc_status(field: str) -> int:
    """A memory figure of this process from /proc/self/status, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def reset_peak() -> None:
    """Reset the kernel's resident-memory high-water mark (VmHWM) of this process."""
    Path("/proc/self/clear_refs").write_text("5")


def films_for(catalog_films, films: int, title_chars: int, seed: int) -> list[tuple[str, int]]:
    """`films` distinct (title, year) pairs: catalog films first (so they match and are scored), then made-up ones.

    With title_chars set, every title is made up and exactly that long (so none matches).
    """
    rng = random.Random(seed)
    pairs: list[tuple[str, int]] = []
    if not title_chars:
        pairs = [(f.title, f.year) for f in catalog_films if f.year][:films]
    words = ["night", "river", "ghost", "summer", "city", "blue", "letter", "house", "last", "garden"]
    # Eight letters and a space: text that deflates about threefold, as titles do.
    filler = "".join(rng.choice("etaoinsr ") for _ in range(title_chars + 4096))
    while len(pairs) < films:
        n = len(pairs)
        title = f"{rng.choice(words).title()} {rng.choice(words)} {n}"
        if title_chars:
            start = rng.randrange(4096)
            title = (title + " " + filler[start:start + title_chars])[:title_chars - 1] + "x"
        pairs.append((title, 1900 + n % 125))
    return pairs


def date_range(first: dt.date, last: dt.date, n: int) -> list[str]:
    """n ISO dates spread from first to last, both ends included."""
    span = (last - first).days
    return [(first + dt.timedelta(days=span * i // max(1, n - 1))).isoformat() for i in range(n)]


def export_zip(pairs: list[tuple[str, int]], rows: int, dates: list[str], kinds=tuple(KINDS)) -> bytes:
    """Each export file of `kinds` at `rows` rows, cycling over the distinct films, dated from `dates`."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, name in enumerate(kinds):
            header = KINDS[name]
            offset = number * rows  # each file starts where the last one ended, so all films appear
            text = io.StringIO()
            writer = csv.writer(text)
            writer.writerow(header)
            for i in range(rows):
                title, year = pairs[(offset + i) % len(pairs)]
                date = dates[i % len(dates)]
                row = [date, title, year, f"https://boxd.it/{name[:2]}{i:x}"]
                if "Rating" in header:
                    row.append((i % 10 + 1) / 2)
                if "Rewatch" in header:
                    row += ["Yes" if offset + i >= len(pairs) else "", "", date]
                if "Review" in header:
                    row.append("Fine.")
                writer.writerow(row)
            archive.writestr(name, text.getvalue())
        archive.writestr("profile.csv", "Date Joined,Username\n2020-01-01,costbench\n")
    return out.getvalue()


class FullCollections:
    """Counts the garbage collector's full (oldest-generation) collections and the time they take."""

    def __init__(self) -> None:
        self.count, self.seconds, self._began = 0, 0.0, 0.0
        gc.callbacks.append(self._seen)

    def _seen(self, phase: str, info: dict) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.count += 1
            self.seconds += time.perf_counter() - self._began


class Poster:
    """Posts uploads through the app's test client and measures each."""

    def __init__(self, app) -> None:
        self.app = app
        self.collections = FullCollections()

    def post(self, data: bytes) -> tuple[int, dict]:
        client = self.app.test_client()
        answer = client.post("/api/recommend", data={
            "export": (io.BytesIO(data), "export.zip"), "sync": "true", "include_streaming": "false",
            "count": "20"}, content_type="multipart/form-data")
        return answer.status_code, answer.get_json(silent=True) or {}

    def measure(self, data: bytes) -> dict:
        gc.collect()
        reset_peak()
        count, seconds = self.collections.count, self.collections.seconds
        cpu0, wall0 = time.process_time(), time.perf_counter()
        status, body = self.post(data)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        return {"status": status, "error": body.get("error"), "wall_s": wall, "cpu_s": cpu,
                "peak_rss": proc_status("VmHWM"), "result_kb": len(json.dumps(body)) / 1024,
                "full_gc": self.collections.count - count, "full_gc_s": self.collections.seconds - seconds}


def beside(poster: Poster, heavy: bytes, normal: bytes, delays: list[float]) -> tuple[list[float], list[float]]:
    """The normal upload's times beside `heavy`: one at each delay after it starts, then back to back.

    The first list holds one normal upload per run of the heavy one, started that many seconds
    after it (a member arriving at some moment of it); the second, normal uploads posted one
    after another for as long as one more run of the heavy upload lasts (a process kept busy).
    """
    def with_heavy(body) -> None:
        done = threading.Event()

        def hog() -> None:
            try:
                poster.post(heavy)
            finally:
                done.set()

        thread = threading.Thread(target=hog)
        thread.start()
        body(done)
        thread.join()

    single: list[float] = []
    for delay in delays:
        def one(done: threading.Event, delay=delay) -> None:
            time.sleep(delay)
            t0 = time.perf_counter()
            poster.post(normal)
            single.append(time.perf_counter() - t0)
        with_heavy(one)
    stream: list[float] = []

    def back_to_back(done: threading.Event) -> None:
        while not done.is_set():
            t0 = time.perf_counter()
            poster.post(normal)
            if not done.is_set():  # only uploads that ran wholly beside the heavy one
                stream.append(time.perf_counter() - t0)
    with_heavy(back_to_back)
    return single, stream or [float("nan")]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--var", type=Path, help="runtime folder to reuse (store and model); default a new temp folder")
    ap.add_argument("--rows", type=int, help="rows per export file (default: the row limit)")
    ap.add_argument("--films", type=int, help="distinct films (default: the film limit)")
    ap.add_argument("--title-chars", type=int, help="title length (default: the title limit)")
    ap.add_argument("--earliest", default=None, help="earliest diary date (default: the limit)")
    ap.add_argument("--latest", default=None, help="latest diary date (default: the limit)")
    ap.add_argument("--long-titles", type=int, help="films with long titles (default: the film limit)")
    ap.add_argument("--cases", help="comma-separated case numbers to run (default: all)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    var = args.var or Path(tempfile.mkdtemp(prefix="lbr-cost-"))
    app = create_app({"var_dir": var, "tmdb_key": "", "redis_url": "", "log_level": "WARNING",
                      "ratelimit_enabled": False, "max_active_jobs_per_client": 100,
                      "letterboxd_base_url": "http://127.0.0.1:9"})
    settings = app.config["SETTINGS"]
    facade = app.extensions["startup"].facade()
    facade.bootstrap.wait()  # a fresh folder trains its first model in the background
    catalog_films = sorted(facade.catalog().films, key=lambda f: -f.corpus_count)
    # Every file at the per-file limit, as far as the limit on all files together allows.
    rows = args.rows or min(getattr(settings, "export_max_rows_per_file", 100_000),
                            getattr(settings, "export_max_rows", 10**9) // len(KINDS))
    films = args.films or getattr(settings, "export_max_films", rows)
    title_chars = args.title_chars or getattr(settings, "export_max_title_chars", 100_000)
    budget = int(getattr(settings, "export_max_uncompressed_mb", 200) * 2**20)
    earliest = dt.date.fromisoformat(args.earliest or getattr(settings, "export_earliest_date", "0001-01-01"))
    latest = dt.date.fromisoformat(args.latest) if args.latest else (
        dt.date.today() if hasattr(settings, "export_earliest_date") else dt.date(9999, 12, 31))
    print(f"uploads at: {rows:,} rows per file, {films:,} distinct films, titles of {title_chars:,} characters, "
          f"dates {earliest} to {latest}")

    normal = synthetic_export(facade.catalog().films, 1000)
    builders = {
        "normal member (1,000 films)": lambda: normal,
        "rows at the limit, catalog titles": lambda: export_zip(films_for(catalog_films, films, 0, 1), rows,
                                                         date_range(dt.date(2015, 1, 1), dt.date(2024, 12, 31), 3650)),
        # Long titles fill the unzipped-size limit in two files.
        "titles at the limit": lambda: export_zip(
            films_for(catalog_films, min(films, args.long_titles or budget // 2 // (title_chars + 60)), title_chars, 2),
            min(films, args.long_titles or budget // 2 // (title_chars + 60)), ["2024-06-01"],
            ("ratings.csv", "watched.csv")),
        "dates at both ends": lambda: export_zip(films_for(catalog_films, 1000, 0, 3), 2,
                                         [earliest.isoformat(), latest.isoformat()]),
        # Every file at the row limit, titles as long as the unzipped-size limit then allows.
        "everything at once": lambda: export_zip(
            films_for(catalog_films, films, min(title_chars, budget // (6 * rows) - 90), 4), rows,
            date_range(earliest, latest, rows)),
    }
    chosen = {int(n) for n in args.cases.split(",")} if args.cases else set(range(1, len(builders) + 1))
    poster = Poster(app)
    poster.post(normal)  # warm up: catalog, model, caches
    gc.collect()
    idle = proc_status("VmRSS")
    print(f"idle process: {idle / 2**20:.0f} MB resident\n")
    t0 = time.perf_counter()
    gc.collect()
    print(f"one full garbage collection of the idle process: {(time.perf_counter() - t0) * 1000:.1f} ms, "
          f"{len(gc.get_objects()):,} objects for it to walk\n")
    print(f"{'upload':<36} {'size':>8} {'status':>7} {'wall s':>7} {'CPU s':>6} {'peak MB':>8} {'result KB':>9} "
          f"{'full GCs':>9}")
    figures = {}
    for number, (name, build) in enumerate(builders.items(), 1):
        if number not in chosen:
            continue
        data = build()
        size = len(data)
        m = poster.measure(data)
        del data
        m["peak_mb"] = (m["peak_rss"] - idle) / 2**20
        figures[name] = m
        status = f"{m['status']}" + (f" {m['error']}" if m["error"] else "")
        print(f"{name:<36} {size / 2**20:6.1f}MB {status:>7} {m['wall_s']:7.2f} {m['cpu_s']:6.2f} "
              f"{m['peak_mb']:8.0f} {m['result_kb']:9.0f} {m['full_gc']:3d} {m['full_gc_s']:4.2f}s", flush=True)

    alone = []
    for _ in range(NORMAL_RUNS):
        t0 = time.perf_counter()
        poster.post(normal)
        alone.append(time.perf_counter() - t0)
    alone_s = statistics.median(alone)
    print(f"\nnormal upload alone (median of {NORMAL_RUNS}): {alone_s:.2f} s")
    besides = {}
    for number, (name, build) in enumerate(builders.items(), 1):
        if number not in chosen or number == 1 or figures[name]["cpu_s"] < 4 * alone_s:
            continue
        took = figures[name]["wall_s"]
        single, stream = beside(poster, build(), normal, [took * k / BESIDE_STARTS for k in range(BESIDE_STARTS)])
        besides[name] = {"single_s": single, "back_to_back_s": stream}
        print(f"beside {name}: started at {BESIDE_STARTS} moments of it, slowest {max(single):.2f} s = "
              f"{max(single) / alone_s:.1f}x (target < 2x); {len(stream)} back to back: median "
              f"{statistics.median(stream) / alone_s:.1f}x, slowest {max(stream) / alone_s:.1f}x")
    worst_cpu = max(m["cpu_s"] for m in figures.values())
    worst_mb = max(m["peak_mb"] for m in figures.values())
    print(f"worst valid upload: {worst_cpu:.2f} CPU s (target < 2), {worst_mb:.0f} MB above idle (target < 300)")
    if args.json:
        print(json.dumps({"figures": figures, "alone_s": alone_s, "beside": besides}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
