"""A fresh runtime folder: the app answers while its first model trains, and requests wait with a word."""
from __future__ import annotations

import io
import shutil
import threading
import time
from pathlib import Path

from infra.events import MemoryEventBus
from infra.jobs import JobRunner, MemoryJobStore
from config import ROOT
from infra.model_store import POINTER_NAME, ModelStore, find_tuned
from main import create_app
from recommender.bootstrap import TRAINING_MESSAGE, FitStages, ModelBootstrap
from recommender.facade import Recommender
from recommender.failures import error_body
from services.recsys import QUICK

WAIT_S = 60
DATA_DIR = ROOT / "data"


class HeldBackFull(FitStages):
    """The real quick fit; the full one waits for the test, then installs the session's trained model."""

    def __init__(self, model_store, store, gate: threading.Event, trained_dir: Path) -> None:
        super().__init__(model_store, store, lambda: find_tuned(model_store.model_dir, DATA_DIR))
        self.gate = gate
        self.trained_dir = trained_dir

    def fit(self, kind: str) -> None:
        if kind == QUICK:
            return super().fit(kind)
        assert self.gate.wait(WAIT_S)
        name = (self.trained_dir / POINTER_NAME).read_text().strip()
        shutil.copy2(self.trained_dir / name, self.model_store.model_dir / name)
        (self.model_store.model_dir / POINTER_NAME).write_text(name + "\n")


def empty_model_folder(tmp_path: Path) -> tuple[threading.Event, Path, ModelStore]:
    """(the gate a held-back fit waits on, an empty model folder, its model store): a fresh install's."""
    model_dir = tmp_path / "models"
    return threading.Event(), model_dir, ModelStore(model_dir)


def app_beside(real, model_store: ModelStore, bootstrap: ModelBootstrap):
    """(bus, test client) of an app sharing the session app's store and clients, with its own models."""
    bus = MemoryEventBus()
    jobs = JobRunner(MemoryJobStore(), bus, 2, 60, error_body)
    facade = Recommender(real.settings, link=None, cache=real.cache, bus=bus, jobs=jobs, store=real.store,
                         model_store=model_store, tracker=real.tracker, profiles=real.profiles, lists=real.lists,
                         letterboxd=real.letterboxd, tmdb=real.tmdb, availability=real.availability,
                         bootstrap=bootstrap)
    return bus, create_app(facade=facade).test_client()


def status_events(bus: MemoryEventBus, request_id: str, until: str, after: str | None = None) -> list[dict]:
    """Status events of a request after event `after` until one with step `until` (or the terminal one)."""
    seen: list[dict] = []
    last = after
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        for event_id, data in bus.read(request_id, "status", last, 0.5):
            last = event_id
            seen.append({**data, "id": event_id})
            if data.get("step") == until or data.get("status") == until:
                return seen
    return seen


def test_a_fresh_install_answers_with_the_quick_model_then_switches_to_the_full_one_without_a_restart(
        live_app, sample_export, tmp_path):
    real = live_app.facade
    gate, model_dir, model_store = empty_model_folder(tmp_path)
    stages = HeldBackFull(model_store, real.store, gate, real.settings.model_dir)
    bootstrap = ModelBootstrap(model_dir, stages)
    bus, client = app_beside(real, model_store, bootstrap)

    health = client.get("/_health").get_json()
    assert health["model"] == {"state": "training", "loaded": False, "version": None, "kind": None,
                               "full": "pending"}
    bootstrap.start()
    with client.get("/") as landing:
        assert landing.status_code == 200

    accepted = client.post("/api/recommend", data={"export": (io.BytesIO(sample_export), "export.zip"),
                                                    "include_streaming": "false"})
    assert accepted.status_code == 202, accepted.get_json()
    request_id = accepted.get_json()["request_id"]
    events = status_events(bus, request_id, until="complete")
    assert events[-1]["status"] == "complete", events
    first = client.get("/api/result", query_string={"request_id": request_id}).get_json()
    assert len(first["recommendations"]) >= 20 and "-quick-" in first["model_version"]
    health = client.get("/_health").get_json()["model"]
    assert health["state"] == "ready" and health["kind"] == "quick" and health["full"] == "training"

    gate.set()
    bootstrap.wait(full=True, timeout=WAIT_S)
    answer = client.post("/api/recommend", data={"export": (io.BytesIO(sample_export), "export.zip"),
                                                  "include_streaming": "false", "sync": "true"})
    assert answer.status_code == 200
    assert answer.get_json()["model_version"] == real.model_store.current()[1], "the full model answers now"
    health = client.get("/_health").get_json()["model"]
    assert health["kind"] == "full" and health["full"] == "ready"


def test_health_says_the_first_model_is_being_prepared_and_a_request_waits_for_it_with_a_progress_event(
        live_app, sample_export, tmp_path):
    real = live_app.facade
    gate, model_dir, model_store = empty_model_folder(tmp_path)

    class HeldBackQuick(HeldBackFull):
        def fit(self, kind: str) -> None:
            assert gate.wait(WAIT_S)
            super().fit(kind)

    bootstrap = ModelBootstrap(model_dir, HeldBackQuick(model_store, real.store, gate, real.settings.model_dir),
                               fit_full=False).start()
    bus, client = app_beside(real, model_store, bootstrap)

    assert client.get("/_health").get_json()["model"]["state"] == "training"
    accepted = client.post("/api/recommend", data={"export": (io.BytesIO(sample_export), "export.zip"),
                                                    "include_streaming": "false"})
    assert accepted.status_code == 202, accepted.get_json()
    request_id = accepted.get_json()["request_id"]
    before = status_events(bus, request_id, until="training")
    assert [e["step"] for e in before] == ["queued", "training"]
    assert before[-1]["message"] == TRAINING_MESSAGE
    assert client.get("/api/result", query_string={"request_id": request_id}).status_code == 202

    gate.set()
    after = status_events(bus, request_id, until="complete", after=before[-1]["id"])
    assert [e["step"] for e in after[:-1]][-1] == "done" and after[-1]["status"] == "complete"
    result = client.get("/api/result", query_string={"request_id": request_id})
    assert result.status_code == 200 and len(result.get_json()["recommendations"]) >= 20
    health = client.get("/_health").get_json()
    assert health["model"]["state"] == "ready" and health["model"]["loaded"] is True
    assert health["model"]["kind"] == "quick" and health["model"]["full"] == "pending"
