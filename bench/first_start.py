"""Time a first start: `python main.py serve` on an empty runtime folder until `/_health` and `/` answer.

    .venv/bin/python bench/first_start.py [--runs 3] [--wait-model]

Each run starts the app as `make run` does, with a fresh VAR_DIR (no store, no model), and
polls every 20 ms. Printed per run: seconds until `/_health` answers, until the landing
page answers, and (with --wait-model) until the first model is ready. The baseline is the
time to start a bare Python interpreter and import Flask in the same run, so the ratio says
how much of the start is the app's own work. Target: `/_health` within 3 s.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POLL_S = 0.02
GIVE_UP_S = 600.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            body = response.read()
            return json.loads(body) if url.endswith("_health") else {}
    except (OSError, ValueError):
        return None


def one_run(wait_model: bool) -> dict:
    port = free_port()
    var_dir = tempfile.mkdtemp(prefix="bench-first-start-")
    env = {**os.environ, "VAR_DIR": var_dir, "PORT": str(port), "LOG_LEVEL": "WARNING"}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "main.py", "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    figures: dict[str, float] = {}
    try:
        while time.perf_counter() - started < GIVE_UP_S:
            now = time.perf_counter() - started
            if "health_s" not in figures and answers(f"http://127.0.0.1:{port}/_health") is not None:
                figures["health_s"] = now
            if "page_s" not in figures and answers(f"http://127.0.0.1:{port}/") is not None:
                figures["page_s"] = time.perf_counter() - started
            if "health_s" in figures and "page_s" in figures:
                if not wait_model:
                    break
                health = answers(f"http://127.0.0.1:{port}/_health") or {}
                if (health.get("model") or {}).get("state") == "ready":
                    figures["model_s"] = time.perf_counter() - started
                    break
            time.sleep(POLL_S)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return figures


def baseline_s() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import flask"], check=True)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--wait-model", action="store_true", help="also wait until the first model is ready")
    args = p.parse_args(argv)
    base = baseline_s()
    worst = 0.0
    for n in range(args.runs):
        f = one_run(args.wait_model)
        worst = max(worst, f.get("health_s", GIVE_UP_S))
        model = f" model ready {f['model_s']:.1f} s;" if "model_s" in f else ""
        print(f"run {n + 1}: /_health {f.get('health_s', float('nan')):.2f} s, landing page "
              f"{f.get('page_s', float('nan')):.2f} s;{model} baseline (python + import flask) {base:.2f} s, "
              f"ratio {f.get('health_s', GIVE_UP_S) / base:.1f}x")
    print(f"worst /_health {worst:.2f} s (target 3 s: {'met' if worst < 3 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
