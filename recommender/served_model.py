"""The model runs ask, behind one seam: wait for the first one, then score with the current one.

How the first model comes to be (recommender.bootstrap) and where models are kept
(infra.model_store) are this seam's business; use cases, health and "more like this" only
call `wait`, `current`, `state` and `version`.
"""
from __future__ import annotations

import logging
from typing import Callable

from infra.model_store import ModelMissing
from recommender.bootstrap import PENDING, READY, TRAINING, TRAINING_MESSAGE, ModelBootstrap
from services.recsys import HybridModel

log = logging.getLogger(__name__)

__all__ = ["ServedModel", "PENDING", "READY", "TRAINING", "TRAINING_MESSAGE"]


class ServedModel:
    """The current model and, while there is none yet, the wait for the first one."""

    def __init__(self, model_store, bootstrap: ModelBootstrap | None = None) -> None:
        self.model_store = model_store
        self.bootstrap = bootstrap

    @property
    def state(self) -> str:
        """`training`, `ready` or `failed`: how far the first model has come."""
        return self.bootstrap.state if self.bootstrap is not None else READY

    @property
    def full_state(self) -> str:
        """Where the full model is: `ready`, `training`, `failed` or `pending` (nobody here fits it)."""
        return self.bootstrap.full_state if self.bootstrap is not None else READY

    def kind(self) -> str | None:
        """The kind of the model in use: "quick" (a fresh install's first answers) or "full"."""
        return self.model_store.current_kind()

    def wait(self, on_wait: Callable[[], None] | None = None) -> None:
        """Block until a model is there, calling on_wait once first when it is still being fitted."""
        if self.bootstrap is not None:
            self.bootstrap.wait(on_wait)

    def current(self) -> tuple[HybridModel, str]:
        """The model in use and its version."""
        return self.model_store.current()

    def version(self) -> str | None:
        """The version of the model in use, or None when there is none (or it cannot be read)."""
        if self.state != READY:
            return None
        try:
            return self.model_store.current()[1]
        except Exception:  # noqa: BLE001 - health reports a missing or broken model, it does not fail
            log.exception("model unavailable")
            return None

    def prepare(self, catalog) -> None:
        """Have the current model, if there is one yet, derive its view of a freshly built catalog."""
        try:
            model, _ = self.model_store.current()
        except ModelMissing:
            return  # the first model is still training; it derives its view when first used
        model.bind(catalog).prepare()
