"""Answering at once: the facade and the first model are built in the background; callers wait for them."""
from __future__ import annotations

import threading

import pytest

from recommender.bootstrap import FAILED, READY, TRAINING, ModelBootstrap, ModelNotReady
from recommender.startup import NotStarted, Startup


class FakeModelStore:
    def __init__(self, exists: bool = False) -> None:
        self.saved = exists

    def exists(self) -> bool:
        return self.saved


def gated_training(gate: threading.Event, fails: bool = False):
    def train(model_store, store, model_dir) -> None:
        assert gate.wait(10)
        if fails:
            raise RuntimeError("corpus unreadable")
        model_store.saved = True
    return train


def test_a_model_on_disk_is_ready_at_once_and_nothing_trains(tmp_path):
    trained = []
    boot = ModelBootstrap(FakeModelStore(exists=True), None, tmp_path, train=lambda *a: trained.append(a)).start()
    assert boot.state == READY
    boot.wait(on_wait=lambda: pytest.fail("nothing to wait for"))
    assert trained == []


def test_without_a_model_the_first_one_trains_in_the_background_and_waiters_hear_so_once(tmp_path):
    gate = threading.Event()
    store = FakeModelStore()
    boot = ModelBootstrap(store, None, tmp_path, train=gated_training(gate)).start()
    assert boot.state == TRAINING
    told: list[str] = []
    waiter = threading.Thread(target=boot.wait, args=(lambda: told.append("training"),))
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive(), "a request waits while the model trains"
    gate.set()
    waiter.join(10)
    assert not waiter.is_alive() and told == ["training"]
    assert boot.state == READY and store.saved


def test_a_failed_first_training_is_a_clear_503_for_requests(tmp_path):
    gate = threading.Event()
    gate.set()
    boot = ModelBootstrap(FakeModelStore(), None, tmp_path, train=gated_training(gate, fails=True)).start()
    with pytest.raises(ModelNotReady) as caught:
        boot.wait(timeout=10)
    assert caught.value.status == 503 and "corpus unreadable" in caught.value.message
    assert boot.state == FAILED


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
