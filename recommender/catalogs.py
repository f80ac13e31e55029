"""The in-memory catalog and its title index, kept current without rebuilding on the request path.

The first build is synchronous (nothing can be served without it). After that, a change
in the store (TMDB details for a pick, films added for a member) starts one rebuild in a
background thread, which also prepares the current model for the new catalog before it
is swapped in; requests meanwhile use the catalog they have. A run that needs films the
catalog does not hold yet (its member's films just found on TMDB) gets the catalog
extended by those films at once, which takes milliseconds and keeps every position.

Each build ends by taking what the process now holds for good out of the garbage
collector's sight (`settle_heap`).
"""
from __future__ import annotations

import atexit
import functools
import gc
import logging
import threading
import time
from typing import Callable, Iterable

from services.catalog import Catalog
from services.domain import Film
from services.matching import CatalogIndex

log = logging.getLogger(__name__)

REBUILD_MIN_INTERVAL_S = 60.0  # at most one full rebuild per this many seconds while the store keeps changing


def settle_heap() -> None:
    """Move every object alive now to the collector's permanent generation, after collecting what is garbage.

    A full collection walks every tracked object, holding the interpreter lock, and the catalog and
    its index are some 200,000 of them: a large upload set off several such collections, at times
    no run chose (bench/request_cost.py prints them). Objects frozen here are still freed when
    nothing refers to them (a catalog replaced by a rebuild goes as before). Cycles among them
    (a request in flight at the time) are not, until the next settle: it gives everything frozen
    back to the collector first, so what became garbage since is collected then.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    _unfreeze_at_exit()


@functools.cache
def _unfreeze_at_exit() -> None:
    """At exit, give the frozen objects back to the collector, so extension types see theirs freed."""
    atexit.register(gc.unfreeze)


class CatalogCache:
    """The catalog and title index built from the store's films, refreshed in the background."""

    def __init__(self, store, warm: Callable[[Catalog], None] | None = None,
                 min_interval_s: float = REBUILD_MIN_INTERVAL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.warm = warm
        self.min_interval_s = min_interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._build_lock = threading.Lock()
        self._version: str | None = None
        self._catalog: Catalog | None = None
        self._index: CatalogIndex | None = None
        self._rebuilding: threading.Thread | None = None
        self._last_build = float("-inf")

    def _build(self) -> tuple[str, Catalog, CatalogIndex]:
        version = self.store.version()
        films = self.store.films()
        catalog = Catalog(films)
        index = CatalogIndex(films)
        if self.warm is not None:
            try:
                self.warm(catalog)
            except Exception as exc:  # noqa: BLE001 - warming is an optimisation; scoring derives on demand
                log.warning("could not prepare the model for the rebuilt catalog: %s", exc)
        return version, catalog, index

    def _current(self) -> tuple[Catalog, CatalogIndex]:
        with self._lock:
            if self._catalog is not None and self._index is not None:
                self._maybe_rebuild()
                return self._catalog, self._index
        with self._build_lock:  # the first build: every caller waits for the one build
            with self._lock:
                if self._catalog is not None and self._index is not None:
                    return self._catalog, self._index
            version, catalog, index = self._build()
            with self._lock:
                self._version, self._catalog, self._index = version, catalog, index
                self._last_build = self._clock()
            settle_heap()
            return catalog, index

    def _maybe_rebuild(self) -> None:
        """Start one background rebuild when the store moved on (called with the lock held)."""
        if self._rebuilding is not None or self._clock() - self._last_build < self.min_interval_s:
            return
        if self.store.version() == self._version:
            return
        self._rebuilding = threading.Thread(target=self._rebuild, name="catalog-rebuild", daemon=True)
        self._rebuilding.start()

    def _rebuild(self) -> None:
        try:
            version, catalog, index = self._build()
        except Exception as exc:  # noqa: BLE001 - the catalog in hand keeps serving
            log.warning("catalog rebuild failed: %s", exc)
            with self._lock:
                self._rebuilding = None
                self._last_build = self._clock()
            return
        with self._lock:
            self._version, self._catalog, self._index = version, catalog, index
            self._rebuilding = None
            self._last_build = self._clock()
        del catalog, index
        settle_heap()

    def wait_for_rebuild(self, timeout_s: float | None = None) -> bool:
        """Wait for a background rebuild in progress; True when none is running afterwards."""
        thread = self._rebuilding
        if thread is not None:
            thread.join(timeout_s)
            return not thread.is_alive()
        return True

    def catalog(self) -> Catalog:
        """The catalog as last built (a rebuild starts in the background if the store changed)."""
        return self._current()[0]

    def index(self) -> CatalogIndex:
        """The title index that matches a member's films to the current catalog."""
        return self._current()[1]

    def including(self, films: Iterable[Film]) -> Catalog:
        """The current catalog, extended by whichever of these films it does not hold yet."""
        catalog, index = self._current()
        missing = [f for f in {f.film_id: f for f in films}.values() if catalog.index_of(f.film_id) is None]
        if not missing:
            return catalog
        with self._lock:
            # Extend whatever is current now: another run may have extended it meanwhile.
            missing = [f for f in missing if self._catalog.index_of(f.film_id) is None]
            if missing:
                self._catalog = self._catalog.extended(missing)
                self._index = self._index.extended(missing)
            return self._catalog

    def missing_films(self, film_ids: Iterable[int]) -> list[Film]:
        """The stored films with these ids that the current catalog does not hold yet (just written to the store)."""
        catalog = self._current()[0]
        missing = [film_id for film_id in film_ids if catalog.index_of(film_id) is None]
        return [film for film in (self.store.film(film_id) for film_id in missing) if film is not None]

    @property
    def version(self) -> str | None:
        """The store version the catalog was last built from (None before the first build)."""
        return self._version
