"""A newcomer's first minutes, end to end, on a copy of the repository with an empty runtime folder.

    .venv/bin/python bench/first_start.py [--runs 2] [--no-cli]

Each run clones the repository's committed files into a temporary folder (no runtime folder,
no model: what a fresh clone holds) and starts `python main.py serve` there, as `make run`
does. The moment `/_health` answers, it sends the sample export (`tests/data/sample_export.zip`,
as "try it right now" does) and reads the recommendations stream. Printed per run, in seconds
from the start:
  /_health       the port answers
  first pick     the first recommendation arrives on the stream (target: within 15 s of /_health)
  complete       the run's last event
  full model     `/_health` says the full model answers (`model.kind` "full")
Then the command line on its own fresh copy: `main.py recommend --export tests/data/sample_export.zip`
until it prints its picks (target: 30 s). The baseline, measured in the same run, is starting a
bare interpreter that imports Flask, so the ratios say how much of the wait is the app's own work.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = Path("tests") / "data" / "sample_export.zip"
POLL_S = 0.05
GIVE_UP_S = 900.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_copy() -> Path:
    """The repository's committed files in a new folder, as a fresh clone has them."""
    target = Path(tempfile.mkdtemp(prefix="bench-first-start-")) / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(target)], check=True)
    return target


def health(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_health", timeout=2) as response:
            return json.loads(response.read())
    except (OSError, ValueError):
        return None


def post_export(port: int, export: bytes) -> str:
    """POST the export as the landing page does; return the request id."""
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"export\"; filename=\"export.zip\"\r\n"
            f"Content-Type: application/zip\r\n\r\n").encode() + export + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/recommend", data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    while True:
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read())["request_id"]
        except urllib.error.HTTPError as exc:
            if exc.code != 503:  # the app is still composing itself: ask again, as the page does
                raise
            time.sleep(float(exc.headers.get("Retry-After") or 1))


def read_picks(port: int, request_id: str, started: float, figures: dict) -> None:
    """Read the recommendations stream; note when the first pick and the terminal event arrive."""
    url = f"http://127.0.0.1:{port}/api/recommendations-stream?request_id={request_id}"
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "text/event-stream"}),
                                timeout=GIVE_UP_S) as response:
        for raw in response:
            line = raw.decode("utf-8").rstrip("\n")
            if not line.startswith("data:"):
                continue
            data = json.loads(line[5:])
            if data.get("type") == "recommendation" and "first_pick_s" not in figures:
                figures["first_pick_s"] = time.perf_counter() - started
            if data.get("status") in ("complete", "error") and "type" not in data:
                figures["complete_s"] = time.perf_counter() - started
                figures["status"] = data["status"]
                return


def serve_run() -> dict:
    repo = fresh_copy()
    port = free_port()
    env = {**os.environ, "VAR_DIR": str(repo / "var"), "PORT": str(port), "LOG_LEVEL": "WARNING"}
    export = (repo / SAMPLE).read_bytes()
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "main.py", "serve", "--port", str(port)], cwd=repo, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    figures: dict = {}
    try:
        while health(port) is None:
            if time.perf_counter() - started > GIVE_UP_S:
                return figures
            time.sleep(POLL_S)
        figures["health_s"] = time.perf_counter() - started
        read_picks(port, post_export(port, export), started, figures)
        while time.perf_counter() - started < GIVE_UP_S:
            model = (health(port) or {}).get("model") or {}
            if model.get("kind") == "full":
                figures["full_s"] = time.perf_counter() - started
                break
            time.sleep(0.5)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        shutil.rmtree(repo.parent, ignore_errors=True)
    return figures


def cli_run() -> float:
    """Seconds for `main.py recommend --export` on a fresh copy until it prints its picks."""
    repo = fresh_copy()
    env = {**os.environ, "VAR_DIR": str(repo / "var"), "LOG_LEVEL": "WARNING"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "main.py", "recommend", "--export", str(SAMPLE), "--no-streaming"],
                          cwd=repo, env=env, capture_output=True, text=True)
    took = time.perf_counter() - started
    shutil.rmtree(repo.parent, ignore_errors=True)
    if done.returncode != 0:
        raise SystemExit(f"recommend --export failed:\n{done.stderr}")
    return took


def baseline_s() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import flask"], check=True)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--no-cli", action="store_true", help="leave out the command line's run")
    args = p.parse_args(argv)
    base = baseline_s()
    print(f"baseline: python + import flask {base:.2f} s")
    worst_pick = 0.0
    for n in range(args.runs):
        f = serve_run()
        after_health = f.get("first_pick_s", GIVE_UP_S) - f.get("health_s", 0.0)
        worst_pick = max(worst_pick, after_health)
        print(f"run {n + 1}: /_health {f.get('health_s', float('nan')):.2f} s; first pick "
              f"{f.get('first_pick_s', float('nan')):.1f} s ({after_health:.1f} s after /_health, "
              f"{after_health / base:.0f}x the baseline); complete {f.get('complete_s', float('nan')):.1f} s "
              f"({f.get('status')}); full model {f.get('full_s', float('nan')):.1f} s")
    print(f"worst first pick after /_health {worst_pick:.1f} s (target 15 s: {'met' if worst_pick <= 15 else 'MISSED'})")
    if not args.no_cli:
        took = cli_run()
        print(f"CLI recommend --export on an empty VAR_DIR: {took:.1f} s ({took / base:.0f}x the baseline; "
              f"target 30 s: {'met' if took <= 30 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
