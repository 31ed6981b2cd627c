"""The analysing process's heap: freed pages given back after a batch, and what is loaded once kept
out of the garbage collector's full collections while batches run (while ``reanalyze`` drains, and
for good in the inference worker)."""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
from collections.abc import Iterator


def release_memory() -> bool:
    """Give the heap's free pages back to the system after a batch (glibc's malloc_trim).

    A batch frees its decoded screenshots, token arrays and model outputs, but glibc keeps freed
    pages between live blocks for the next allocation: about 45 MB after 64 screenshots and 64 texts
    (bench/RESULTS.md, "Worker memory with the models loaded"). Returns whether it could trim.
    """
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


_TRIM: list = []


def _malloc_trim():
    if not _TRIM:  # looked up once per process: None where the C library is not glibc
        name = ctypes.util.find_library("c")
        _TRIM.append(getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None)
    return _TRIM[0]


@contextlib.contextmanager
def loaded_heap_frozen() -> Iterator[None]:
    """Within: every object alive on entry (the modules, the models, Django's state) is left out of
    the cyclic garbage collector's collections.

    A batch keeps tens of thousands of objects alive while it is worked on (its rows, their texts,
    inputs and vectors), and the collector moves them to its oldest generation, whose collections
    then come every batch or two. Each walked every object of the process, most of them loaded
    once and alive for good: over 400,000 in a process that has imported torch, 0.2 s a walk. A drain
    of 24,576 links spent 5.6 of its 51 s in them, and 1.1 s within this (bench/RESULTS.md,
    "Reanalyze: what is loaded kept out of the full garbage collections"). Frozen objects are still
    freed as soon as nothing refers to them; only a cycle among them would wait for the exit, so
    what is garbage on entry is collected first.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


_KEPT_FOR_GOOD: list[bool] = []


def keep_loaded_out_of_collections() -> bool:
    """Leave every object alive now out of the collector's collections until the process exits;
    once a process (returns whether this call did it).

    For a process that loads its models and then analyses until it exits, called once they are
    loaded: the inference worker. :func:`loaded_heap_frozen` without its end, for the same reason;
    a worker on a GPU host has imported torch, whose process holds over 400,000 objects.
    """
    if _KEPT_FOR_GOOD:
        return False
    gc.collect()
    gc.freeze()
    _KEPT_FOR_GOOD.append(True)
    return True
