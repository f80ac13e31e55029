"""gunicorn serving the app as in production, on a free port, with an access log that names the worker."""
from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.support.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]
BOOT_TIMEOUT_S = 90


class Gunicorn:
    """`gunicorn -c gunicorn.conf.py` with `workers` workers; ready once a worker's model is."""

    def __init__(self, env: dict, workers: int, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        gunicorn = Path(sys.executable).parent / "gunicorn"
        self.proc = subprocess.Popen(
            [str(gunicorn), "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{self.port}", "-w", str(workers),
             "--access-logfile", str(log), "--access-logformat", '%(p)s "%(r)s" %(s)s', "main:create_app()"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("gunicorn exited")
            try:
                health = requests.get(f"{self.url}/_health", timeout=10)
                if health.status_code == 200 and health.json()["model"]["state"] == "ready":
                    return
            except requests.RequestException:
                pass  # still booting
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not become ready")

    def pids_for(self, fragment: str) -> list[str]:
        return [m.group(1) for m in re.finditer(r'^<?(\d+)>? "([^"]*)"', self.log.read_text(), re.M)
                if fragment in m.group(2)]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
