"""The first model: trained in the background so the app answers at once; requests wait for it.

Several processes may start on a fresh runtime folder at once (gunicorn workers, RQ
workers): a file lock lets exactly one of them train; the others wait on the lock and
then find the model on disk.
"""
from __future__ import annotations

import fcntl
import logging
import threading
from pathlib import Path
from typing import Callable

from services.errors import AppError

log = logging.getLogger(__name__)

MODEL_LOCK_FILE = ".train.lock"
READY, TRAINING, FAILED = "ready", "training", "failed"
TRAINING_MESSAGE = "Training the model for the first time, a few minutes"


class ModelNotReady(AppError):
    """The first model is not there to score with; the message says why."""

    status = 503
    code = "model_unavailable"


def train_first_model(model_store, store, model_dir: Path) -> None:
    """Train a first model when there is none; with several processes starting, only one trains."""
    if model_store.exists():
        return
    Path(model_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(model_dir) / MODEL_LOCK_FILE, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not model_store.exists():
                log.info("no model yet: training one on the corpus")
                model_store.train_and_save(store)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class ModelBootstrap:
    """Makes sure a model exists: at once when one is on disk, else by training one in a background thread."""

    def __init__(self, model_store, store, model_dir: Path,
                 train: Callable[..., None] = train_first_model) -> None:
        self.model_store = model_store
        self.store = store
        self.model_dir = Path(model_dir)
        self._train = train
        self._ready = threading.Event()
        self._error: str | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> "ModelBootstrap":
        """Return at once; train in the background when no model exists yet."""
        with self._lock:
            if self._thread is not None or self._ready.is_set():
                return self
            if self.model_store.exists():
                self._ready.set()
                return self
            self._thread = threading.Thread(target=self._run, name="first-model", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self._train(self.model_store, self.store, self.model_dir)
        except Exception as exc:  # noqa: BLE001 - reported by health and to waiting requests
            log.exception("training the first model failed")
            self._error = f"Training the first model failed: {exc}"
        finally:
            self._ready.set()

    @property
    def state(self) -> str:
        if not self._ready.is_set():
            return TRAINING
        return FAILED if self._error else READY

    def wait(self, on_wait: Callable[[], None] | None = None, timeout: float | None = None) -> None:
        """Block until the model is ready, calling on_wait once first when it is still training."""
        if not self._ready.is_set():
            if self._thread is None:
                self.start()
            if not self._ready.is_set() and on_wait is not None:
                on_wait()
            if not self._ready.wait(timeout):
                raise ModelNotReady("The model is still training; please try again in a minute.")
        if self._error:
            raise ModelNotReady(self._error)
