"""Memory that comes back: a web process fed hostile-but-valid uploads again and again returns to where it was."""
from __future__ import annotations

import csv
import io
import os
import random
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Iterator

import psutil
import pytest
import requests

from tests.support.redis_server import free_port
from tests.support.var import copy_var

ROOT = Path(__file__).resolve().parents[2]
BOOT_TIMEOUT_S = 90
WARM_UPLOADS = 2
UPLOADS = 8
FILMS_PER_UPLOAD = 6000
TITLE_CHARS = 300  # the longest titles the title-key cache still keeps
GROWTH_ALLOWED = 0.10


def hostile_export(seed: int) -> bytes:
    """Thousands of distinct long titles, new ones each time, in ratings.csv and diary.csv."""
    rng = random.Random(seed)
    letters = "etaoinshrdlu "
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["Date", "Name", "Year", "Letterboxd URI", "Rating"])
    titles = []
    for i in range(FILMS_PER_UPLOAD):
        title = f"{seed}-{i} " + "".join(rng.choice(letters) for _ in range(TITLE_CHARS))
        titles.append(title[:TITLE_CHARS - 1] + "x")
        writer.writerow(["2024-01-01", titles[-1], 1950 + i % 70, f"https://boxd.it/{seed}x{i}", "3.5"])
    diary = io.StringIO()
    writer = csv.writer(diary)
    writer.writerow(["Date", "Name", "Year", "Letterboxd URI", "Rating", "Rewatch", "Tags", "Watched Date"])
    for i, title in enumerate(titles):
        day = f"{1900 + i % 126}-{i % 12 + 1:02d}-01"
        writer.writerow([day, title, 1950 + i % 70, f"https://boxd.it/{seed}d{i}", "4", "", "", day])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ratings.csv", text.getvalue())
        archive.writestr("diary.csv", diary.getvalue())
    return out.getvalue()


@pytest.fixture(scope="module")
def server(live_app, shared_var, tmp_path_factory) -> Iterator[tuple[str, psutil.Process]]:
    """`python main.py serve` in a process of its own, so its memory is only the app's."""
    var = copy_var(shared_var, tmp_path_factory.mktemp("memory-var"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS", "TMDB", "LETTERBOXD"))}
    env.update({"VAR_DIR": str(var), "REDIS_URL": "", "TMDB_KEY": "", "LOG_LEVEL": "WARNING",
                "RATELIMIT_ENABLED": "false", "LETTERBOXD_BASE_URL": "http://127.0.0.1:9"})
    log_path = tmp_path_factory.mktemp("memory-log") / "serve.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "main.py", "serve", "--port", str(port)], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        while True:
            assert proc.poll() is None, f"the web process exited: {log_path.read_text()[-2000:]}"
            try:
                if requests.get(f"{url}/_health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "the web process did not start"
            time.sleep(0.2)
        yield url, psutil.Process(proc.pid)
    finally:
        proc.kill()
        proc.wait(timeout=30)


def upload(url: str, data: bytes) -> None:
    answer = requests.post(f"{url}/api/recommend", files={"export": ("export.zip", data)},
                           data={"sync": "true", "include_streaming": "false"}, timeout=300)
    assert answer.status_code == 200, answer.text
    assert answer.json()["profile"]["films"] == FILMS_PER_UPLOAD


def test_repeated_hostile_uploads_leave_the_process_memory_where_it_started(server):
    url, process = server
    uploads = [hostile_export(seed) for seed in range(WARM_UPLOADS + UPLOADS)]
    for data in uploads[:WARM_UPLOADS]:
        upload(url, data)
    start = process.memory_info().rss

    for data in uploads[WARM_UPLOADS:]:
        upload(url, data)
    end = process.memory_info().rss

    assert end <= start * (1 + GROWTH_ALLOWED), (
        f"{start / 2**20:.0f} MB after {WARM_UPLOADS} uploads, {end / 2**20:.0f} MB after {UPLOADS} more")
