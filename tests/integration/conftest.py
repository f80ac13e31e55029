"""Fixtures shared by the integration modules: fake upstreams over a module's own world."""
from __future__ import annotations

from typing import Iterator

import pytest

from tests.fakes import FakeUpstreams, build_world


@pytest.fixture(scope="module")
def world(request):
    """The module's fake world; a module sizes it with FAKE_WORLD (keyword arguments of build_world)."""
    return build_world(**getattr(request.module, "FAKE_WORLD", {}))


@pytest.fixture(scope="module")
def fakes(request, world) -> Iterator[FakeUpstreams]:
    """Fake Letterboxd, TMDB and JustWatch over the module's world (FAKE_SERVERS: options of FakeUpstreams.start)."""
    upstreams = FakeUpstreams.start(world, **getattr(request.module, "FAKE_SERVERS", {}))
    yield upstreams
    upstreams.stop()


@pytest.fixture
def calm_fakes(fakes) -> Iterator[None]:
    """The test starts and ends with well-behaved fakes."""
    fakes.reset()
    yield
    fakes.reset()
