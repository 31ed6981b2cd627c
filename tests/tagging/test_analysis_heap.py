"""The analysing process's heap: what is loaded is left out of the garbage collector's collections
while batches run, and the caller's heap is given back as it was."""
from __future__ import annotations

import gc
import weakref

from tagging.analysis import heap
from tagging.analysis.heap import keep_loaded_out_of_collections, loaded_heap_frozen


class Node:
    pass


def in_oldest_generation(obj) -> bool:
    return any(o is obj for o in gc.get_objects(generation=2))


def test_what_is_alive_on_entry_is_left_out_of_the_collections_and_garbage_is_collected_first():
    loaded = [Node()]
    garbage = Node()
    garbage.itself = garbage  # a cycle that nothing else refers to: only a collection frees it
    gone = weakref.ref(garbage)
    del garbage
    with loaded_heap_frozen():
        assert gone() is None  # freed on entry, not kept for good
        assert gc.get_freeze_count() > 0 and not in_oldest_generation(loaded)
        later = [Node()]
        gc.collect()
        assert in_oldest_generation(later)  # what comes after is collected as before
    assert gc.get_freeze_count() == 0 and in_oldest_generation(loaded)


def test_a_process_keeps_what_it_has_loaded_out_of_the_collections_once(monkeypatch):
    monkeypatch.setattr(heap, "_KEPT_FOR_GOOD", [])
    loaded = [Node()]
    try:
        assert keep_loaded_out_of_collections() is True
        frozen = gc.get_freeze_count()
        assert frozen > 0 and not in_oldest_generation(loaded)
        later = [Node()]
        assert keep_loaded_out_of_collections() is False  # once: what comes later is collected as before
        assert gc.get_freeze_count() == frozen
        gc.collect()
        assert in_oldest_generation(later)
    finally:
        gc.unfreeze()
