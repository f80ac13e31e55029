"""Fake Letterboxd, TMDB and JustWatch servers on 127.0.0.1 for tests, benchmarks and local runs."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.fakes.justwatch import FakeJustWatch
from tests.fakes.letterboxd import FakeLetterboxd
from tests.fakes.server import Control, FakeServer
from tests.fakes.tmdb import API_KEY, BEARER, FakeTmdb
from tests.fakes.world import XSS_TITLE, World, build_world

__all__ = ["API_KEY", "BEARER", "Control", "FakeJustWatch", "FakeLetterboxd", "FakeServer", "FakeTmdb",
           "FakeUpstreams", "World", "XSS_TITLE", "build_world"]


@dataclass
class FakeUpstreams:
    """All three fakes over one world."""

    world: World
    letterboxd: FakeLetterboxd
    tmdb: FakeTmdb
    justwatch: FakeJustWatch

    @classmethod
    def start(cls, world: World | None = None, *, page_size: int = 12, ports: tuple[int, int, int] = (0, 0, 0)
              ) -> "FakeUpstreams":
        world = world or build_world()
        lb = FakeLetterboxd(world, page_size=page_size, port=ports[0]).start()
        tmdb = FakeTmdb(world, port=ports[1]).start()
        jw = FakeJustWatch(world, port=ports[2]).start()
        return cls(world, lb, tmdb, jw)

    def stop(self) -> None:
        for server in (self.letterboxd, self.tmdb, self.justwatch):
            server.stop()

    def use_world(self, world: World) -> None:
        """Serve another world from now on (a benchmark adds its own member)."""
        self.world = world
        for server in (self.letterboxd, self.tmdb, self.justwatch):
            server.use_world(world)

    def reset(self) -> None:
        for server in (self.letterboxd, self.tmdb, self.justwatch):
            server.control.reset()

    def env(self) -> dict[str, str]:
        """Environment variables that point the app at these fakes."""
        return {
            "LETTERBOXD_BASE_URL": self.letterboxd.url,
            "TMDB_BASE_URL": f"{self.tmdb.url}/3",
            "TMDB_KEY": API_KEY,
            "JUSTWATCH_BASE_URL": self.justwatch.url,
        }

    def settings_overrides(self) -> dict[str, Any]:
        """The same as env(), as create_app overrides."""
        return {k.lower(): v for k, v in self.env().items()}

    def __enter__(self) -> "FakeUpstreams":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
