"""The first model: a quick one answers within seconds of a fresh start, the full one replaces it when fitted.

On a runtime folder with no model, a background thread fits the quick model (a small EASE
head, no ALS: seconds) with the tuned values, saves it, and requests are answered with it;
the same thread then fits the full model with its tuned values and saves it, and every
process picks it up at its next request (`ModelStore.current` follows the pointer), no
restart. Several processes may start on a fresh folder at once (gunicorn workers, RQ
workers): a file lock lets exactly one of them fit; the others watch the folder until a
model is there, and later starts finish a full model that nobody finished.
"""
from __future__ import annotations

import fcntl
import logging
import threading
import time
from pathlib import Path
from typing import Callable

from services.errors import AppError
from services.recsys import FULL, QUICK

log = logging.getLogger(__name__)

MODEL_LOCK_FILE = ".train.lock"
READY, TRAINING, FAILED = "ready", "training", "failed"
PENDING = "pending"  # the full model is not there and this process is not fitting it
TRAINING_MESSAGE = "Preparing a first model, a few seconds"
WATCH_INTERVAL_S = 0.2  # how often a process that does not fit looks for the model another one saves


class ModelNotReady(AppError):
    """No model is there to score with; the message says why."""

    status = 503
    code = "model_unavailable"


class FitStages:
    """What fitting the first models needs: fit and save one of a kind, and say what kind is in use."""

    def __init__(self, model_store, store, tuned: Callable[[], object]) -> None:
        self.model_store = model_store
        self.store = store
        self._tuned = tuned

    def current_kind(self) -> str | None:
        return self.model_store.current_kind()

    def fit(self, kind: str) -> None:
        from infra.model_store import settings_for

        log.info("fitting the %s model", kind)
        self.model_store.train_and_save(self.store, settings_for(kind, self._tuned()))


class ModelBootstrap:
    """Makes sure a model serves: at once when one is on disk, else quick then full in a background thread."""

    def __init__(self, model_dir: Path, stages: FitStages, *, fit_full: bool = True,
                 watch_interval: float = WATCH_INTERVAL_S) -> None:
        self.model_dir = Path(model_dir)
        self.stages = stages
        self.fit_full = fit_full
        self._watch = watch_interval
        self._ready = threading.Event()  # a model serves
        self._full_done = threading.Event()  # the full model serves, or fitting it ended
        self._error: str | None = None
        self._full_error: str | None = None
        self._fitting = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> ModelBootstrap:
        """Return at once; fit in the background what is missing."""
        with self._lock:
            if self._thread is not None:
                return self
            kind = self.stages.current_kind()
            if kind is not None:
                self._ready.set()
            if kind == FULL or (kind is not None and not self.fit_full):
                self._full_done.set()
                return self
            self._thread = threading.Thread(target=self._run, name="first-model", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        Path(self.model_dir).mkdir(parents=True, exist_ok=True)
        with open(self.model_dir / MODEL_LOCK_FILE, "w") as lock:
            while True:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    # Another process fits; what it saves serves here too.
                    kind = self.stages.current_kind()
                    if kind is not None:
                        self._ready.set()
                    if kind == FULL or (kind is not None and not self.fit_full):
                        self._full_done.set()
                        return
                    time.sleep(self._watch)
            try:
                self._fitting = True
                self._fit_missing()
            finally:
                self._fitting = False
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _fit_missing(self) -> None:
        try:
            if self.stages.current_kind() is None:
                self.stages.fit(QUICK)
        except Exception as exc:  # noqa: BLE001 - reported by health and to waiting requests
            log.exception("fitting the quick model failed")
            self._error = f"Preparing the first model failed: {exc}"
        self._ready.set()
        try:
            if self.fit_full and self.stages.current_kind() != FULL:
                self.stages.fit(FULL)
        except Exception as exc:  # noqa: BLE001 - the quick model goes on serving; health says so
            log.exception("fitting the full model failed")
            self._full_error = f"Fitting the full model failed: {exc}"
        finally:
            self._full_done.set()
        if self._error and self.stages.current_kind() is not None:
            self._error = None  # the full model serves although the quick one failed

    @property
    def state(self) -> str:
        """Whether a model serves: training (not yet), ready, or failed."""
        if not self._ready.is_set():
            return TRAINING
        return FAILED if self._error else READY

    @property
    def full_state(self) -> str:
        """Whether the full model serves: ready, training, failed, or pending (nobody here fits it)."""
        if self.stages.current_kind() == FULL:
            return READY
        if self._full_error:
            return FAILED
        if self._fitting or (self._thread is not None and not self._full_done.is_set()):
            return TRAINING
        return PENDING

    def wait(self, on_wait: Callable[[], None] | None = None, timeout: float | None = None,
             full: bool = False) -> None:
        """Block until a model serves (with `full`, the full one), calling on_wait once first when it must wait."""
        done = self._full_done if full else self._ready
        if not done.is_set():
            if self._thread is None:
                self.start()
            if not done.is_set() and on_wait is not None:
                on_wait()
            if not done.wait(timeout):
                raise ModelNotReady("The model is still being prepared; please try again in a minute.")
        if self._error:
            raise ModelNotReady(self._error)
        if full and self._full_error:
            raise ModelNotReady(self._full_error)
