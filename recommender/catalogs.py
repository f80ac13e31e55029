"""The in-memory catalog and its title index, rebuilt when the store changes."""
from __future__ import annotations

import threading

from services.catalog import Catalog
from services.matching import CatalogIndex


class CatalogCache:
    """Holds the catalog built from the store's films; rebuilds it when the store's version moves."""

    def __init__(self, store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._version: str | None = None
        self._catalog: Catalog | None = None
        self._index: CatalogIndex | None = None

    def _refresh(self) -> tuple[Catalog, CatalogIndex]:
        version = self.store.version()
        with self._lock:
            if version != self._version or self._catalog is None:
                films = self.store.films()
                self._catalog = Catalog(films)
                self._index = CatalogIndex(films)
                self._version = version
            return self._catalog, self._index

    def catalog(self) -> Catalog:
        """The catalog as the store holds it now."""
        return self._refresh()[0]

    def index(self) -> CatalogIndex:
        """The title index that matches a member's films to the current catalog."""
        return self._refresh()[1]

    @property
    def version(self) -> str | None:
        """The store version the catalog was last built from (None before the first build)."""
        return self._version
