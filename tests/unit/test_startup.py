"""Answering at once: the facade and the first model are built in the background; callers wait for them."""
from __future__ import annotations

import threading

import pytest

from recommender.bootstrap import FAILED, PENDING, READY, TRAINING, ModelBootstrap, ModelNotReady
from services.recsys import FULL, QUICK
from recommender.startup import NotStarted, Startup


class FakeStages:
    """Fits that wait for the test: each saves a model of its kind, or fails."""

    def __init__(self, kind: str | None = None, fails: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self.fails = fails
        self.fitted: list[str] = []
        self.gates = {QUICK: threading.Event(), FULL: threading.Event()}
        self.fitting = threading.Event()  # a fit has begun (this process holds the folder's lock)

    def current_kind(self) -> str | None:
        return self.kind

    def fit(self, kind: str) -> None:
        self.fitting.set()
        assert self.gates[kind].wait(10)
        self.fitted.append(kind)
        if kind in self.fails:
            raise RuntimeError(f"{kind} corpus unreadable")
        self.kind = kind


def test_a_full_model_on_disk_is_ready_at_once_and_nothing_fits(tmp_path):
    stages = FakeStages(kind=FULL)
    boot = ModelBootstrap(tmp_path, stages).start()
    assert boot.state == READY and boot.full_state == READY
    boot.wait(on_wait=lambda: pytest.fail("nothing to wait for"), full=True)
    assert stages.fitted == []


def test_without_a_model_the_quick_one_answers_first_and_the_full_one_replaces_it(tmp_path):
    stages = FakeStages()
    boot = ModelBootstrap(tmp_path, stages).start()
    assert boot.state == TRAINING
    told: list[str] = []
    waiter = threading.Thread(target=boot.wait, args=(lambda: told.append("training"),))
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive(), "a request waits while the first model fits"
    stages.gates[QUICK].set()
    waiter.join(10)
    assert not waiter.is_alive() and told == ["training"]
    assert boot.state == READY and stages.kind == QUICK and boot.full_state == TRAINING
    stages.gates[FULL].set()
    boot.wait(full=True, timeout=10)
    assert stages.fitted == [QUICK, FULL] and boot.full_state == READY


def test_a_quick_model_on_disk_serves_at_once_while_the_full_one_is_fitted(tmp_path):
    stages = FakeStages(kind=QUICK)
    boot = ModelBootstrap(tmp_path, stages).start()
    boot.wait(on_wait=lambda: pytest.fail("the quick model serves"))
    stages.gates[FULL].set()
    boot.wait(full=True, timeout=10)
    assert stages.fitted == [FULL]


def test_a_one_off_command_fits_only_the_quick_model(tmp_path):
    stages = FakeStages()
    stages.gates[QUICK].set()
    boot = ModelBootstrap(tmp_path, stages, fit_full=False).start()
    boot.wait(full=True, timeout=10)
    assert stages.fitted == [QUICK] and boot.full_state == PENDING


def test_a_failed_first_fit_is_a_clear_503_for_requests(tmp_path):
    stages = FakeStages(fails=(QUICK, FULL))
    stages.gates[QUICK].set()
    stages.gates[FULL].set()
    boot = ModelBootstrap(tmp_path, stages).start()
    with pytest.raises(ModelNotReady) as caught:
        boot.wait(timeout=10, full=True)
    assert caught.value.status == 503 and "quick corpus unreadable" in caught.value.message
    assert boot.state == FAILED and boot.full_state == FAILED


def test_a_failed_full_fit_leaves_the_quick_model_serving(tmp_path):
    stages = FakeStages(fails=(FULL,))
    stages.gates[QUICK].set()
    stages.gates[FULL].set()
    boot = ModelBootstrap(tmp_path, stages).start()
    with pytest.raises(ModelNotReady):
        boot.wait(timeout=10, full=True)
    boot.wait(timeout=10)
    assert boot.state == READY and boot.full_state == FAILED and stages.kind == QUICK


def test_a_second_process_on_the_same_folder_fits_nothing_and_serves_what_the_first_saves(tmp_path):
    first, second_view = FakeStages(), FakeStages()
    second_view.current_kind = lambda: first.kind  # both read the one folder
    one = ModelBootstrap(tmp_path, first).start()
    assert first.fitting.wait(10), "the first process holds the lock before the second starts"
    two = ModelBootstrap(tmp_path, second_view, watch_interval=0.01).start()
    first.gates[QUICK].set()
    two.wait(timeout=10)
    first.gates[FULL].set()
    two.wait(timeout=10, full=True)
    one.wait(timeout=10, full=True)
    assert first.fitted == [QUICK, FULL] and second_view.fitted == []


class FakeFacade:
    def health(self) -> dict:
        return {"status": "ok"}


def test_startup_answers_health_while_the_facade_is_built_then_hands_it_over():
    gate = threading.Event()
    facade = FakeFacade()
    startup = Startup(lambda: (gate.wait(10), facade)[1])
    health = startup.health()
    assert health["status"] == "starting" and health["model"]["state"] == "starting"
    assert health["incident"]["letterboxd_circuit_open"] is False
    with pytest.raises(NotStarted):
        startup.facade(timeout=0.05)
    gate.set()
    assert startup.facade(timeout=10) is facade
    assert startup.health() == {"status": "ok"}


def test_a_startup_that_fails_says_why_to_health_and_to_requests():
    def broken():
        raise FileNotFoundError("data/catalog.csv.gz is missing")

    startup = Startup(broken)
    with pytest.raises(NotStarted) as caught:
        startup.facade(timeout=10)
    assert caught.value.status == 503 and "catalog.csv.gz" in caught.value.message
    assert startup.health()["status"] == "error" and "catalog.csv.gz" in startup.health()["message"]


def test_a_deferred_startup_waits_for_begin():
    built = []
    startup = Startup(lambda: built.append(1) or FakeFacade(), begin=False)
    assert startup.health()["status"] == "starting" and built == []
    startup.begin()
    startup.facade(timeout=10)
    assert built == [1]
