"""Start answering at once: the facade (store, clients, first model) is composed in a background thread.

On a fresh runtime folder, building the SQLite store and training the first model take from
seconds to a minute; until the facade is ready, `/_health` says the app is starting and a request
waits for it.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Callable

from services.errors import AppError

if TYPE_CHECKING:
    from recommender.facade import Recommender

log = logging.getLogger(__name__)

START_WAIT_S = 300.0
STARTING, FAILED = "starting", "failed"


class NotStarted(AppError):
    """The app is still starting, or could not start; the message says which."""

    status = 503
    code = "starting"


class Startup:
    """Holds the facade once it is built; builds it in the background when given a way to."""

    def __init__(self, build: Callable[[], "Recommender"] | None = None, facade: "Recommender | None" = None,
                 *, begin: bool = True) -> None:
        if (build is None) == (facade is None):
            raise ValueError("give either build or facade")
        self.started = time.time()
        self._build = build
        self._facade = facade
        self._error: str | None = None
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        if facade is not None:
            self._done.set()
        elif begin:
            self.begin()

    def begin(self) -> None:
        """Start composing the facade in the background (once)."""
        with self._lock:
            if self._thread is None and not self._done.is_set():
                self._thread = threading.Thread(target=self._run, args=(self._build,), name="startup", daemon=True)
                self._thread.start()

    def _run(self, build: Callable[[], "Recommender"]) -> None:
        try:
            self._facade = build()
        except Exception as exc:  # noqa: BLE001 - reported by /_health and to every request
            log.exception("the app could not start")
            self._error = f"The app could not start: {exc}"
        finally:
            self._done.set()

    @property
    def ready(self) -> bool:
        return self._done.is_set() and self._facade is not None

    def facade(self, timeout: float = START_WAIT_S) -> "Recommender":
        """The facade, waiting for it while the app starts."""
        self.begin()
        if not self._done.wait(timeout):
            raise NotStarted("The app is still starting; please try again in a minute.")
        if self._facade is None:
            raise NotStarted(self._error or "The app could not start.", "start_failed")
        return self._facade

    def health(self) -> dict:
        """The facade's health, or what can be said before it exists."""
        if self.ready:
            return self._facade.health()
        from infra.http import IncidentTracker

        state = FAILED if self._done.is_set() else STARTING
        return {
            "status": "error" if state == FAILED else STARTING,
            "degraded": True,
            "message": self._error if state == FAILED else "Building the local store and loading the model",
            "incident": IncidentTracker(None, 1, 0).snapshot(),
            "model": {"state": state, "loaded": False, "version": None, "kind": None, "full": state},
            "uptime_s": round(time.time() - self.started, 1),
        }
