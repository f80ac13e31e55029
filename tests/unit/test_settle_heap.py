"""The heap settled after a catalog build: frozen out of full collections, given back at the next settle."""
from __future__ import annotations

import gc
import weakref

from recommender.catalogs import settle_heap


class Node:
    pass


def test_a_cycle_alive_at_one_settle_is_collected_at_the_next_once_it_is_garbage():
    a, b = Node(), Node()
    a.other, b.other = b, a  # in flight at the settle: a request's objects point at each other
    gone = weakref.ref(a)
    try:
        settle_heap()
        assert gc.get_freeze_count() > 0
        del a, b
        gc.collect()
        assert gone() is not None, "frozen objects stay out of the collector's sight"
        settle_heap()
        assert gone() is None, "the next settle collected the cycle that became garbage"
    finally:
        gc.unfreeze()
