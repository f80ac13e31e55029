"""A fresh runtime folder: the app answers while its first model trains, and requests wait with a word."""
from __future__ import annotations

import io
import shutil
import threading
import time
from pathlib import Path

from infra.events import MemoryEventBus
from infra.jobs import JobRunner, MemoryJobStore
from infra.model_store import ModelStore
from main import create_app
from recommender.bootstrap import TRAINING_MESSAGE, ModelBootstrap
from recommender.facade import Recommender
from recommender.failures import error_body

WAIT_S = 60


def held_back_training(gate: threading.Event, trained_dir: Path):
    """Training that waits for the test, then installs the session's already trained model."""
    def train(model_store, store, model_dir) -> None:
        assert gate.wait(WAIT_S)
        shutil.copytree(trained_dir, model_dir, dirs_exist_ok=True)
    return train


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


def test_health_says_the_first_model_is_training_and_a_request_waits_for_it_with_a_progress_event(
        live_app, sample_export, tmp_path):
    real = live_app.facade
    gate = threading.Event()
    model_dir = tmp_path / "models"
    model_store = ModelStore(model_dir)
    bootstrap = ModelBootstrap(model_store, real.store, model_dir,
                               train=held_back_training(gate, real.settings.model_dir)).start()
    bus = MemoryEventBus()
    jobs = JobRunner(MemoryJobStore(), bus, 2, 60, error_body)
    facade = Recommender(real.settings, link=None, cache=real.cache, bus=bus, jobs=jobs, store=real.store,
                         model_store=model_store, tracker=real.tracker, profiles=real.profiles, lists=real.lists,
                         letterboxd=real.letterboxd, tmdb=real.tmdb, availability=real.availability,
                         bootstrap=bootstrap)
    client = create_app(facade=facade).test_client()

    health = client.get("/_health").get_json()
    assert health["model"] == {"state": "training", "loaded": False, "version": None}
    with client.get("/") as landing:
        assert landing.status_code == 200

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
