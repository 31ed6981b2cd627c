"""CPU decoding of stored screenshots in worker processes, beside nvJPEG on the GPU (bulk path).

Decoding a share of each batch on the CPU while nvJPEG decodes the rest adds the host's
cores to the GPU's decoder. In threads that did not pay: the Python work around each decode
holds the GIL, so a 16-core host decoded no faster than a few cores. Worker processes each
have their own interpreter. They are started with "spawn" (the parent holds a CUDA context
and threads, which a fork must not copy), import only numpy and PIL, read and decode a chunk
of files at a reduced DCT scale (PIL draft mode: a 1280x800 JPEG is decoded at 640x400) and
send back 224x224 RGB arrays. One pool per process, started on first use and reused.
A worker that dies (killed for memory, a crash) breaks the whole pool: the chunks it held
are decoded in the calling process instead (`collect`), and the next `submit` starts a new
pool, so a batch is never lost to it.
"""
from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Sequence

from . import config
from .config import Limits
from .errors import InvalidImage

log = logging.getLogger(__name__)
Submitted = list[tuple[list[int], list[str], Future]]  # (rows, their files, future of the decoded chunk)
_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_pool_size = 0
_pool_pid = os.getpid()


def default_workers() -> int:
    """LINKSHOT_DECODE_WORKERS, or all cores but two: one for the thread that feeds the GPU, one
    for file reads and the rest."""
    return config.decode_workers() or max(1, (os.cpu_count() or 2) - 2)


def decode_chunk(paths: list[str], rows: list[int], limits: Limits) -> list[tuple[int, Any, str | None]]:
    """In a worker process: (row, uint8 224x224x3 array or None, error) for each file."""
    from .preprocess_image import prepare_image

    out = []
    for row, path in zip(rows, paths):
        try:
            out.append((row, prepare_image(path, limits, draft=1), None))
        except InvalidImage as exc:
            out.append((row, None, str(exc)))
    return out


def pool(workers: int | None = None) -> ProcessPoolExecutor:
    """This process's decode pool (started once; a larger `workers` starts a larger one)."""
    global _pool, _pool_size, _pool_pid
    workers = workers or default_workers()
    with _lock:
        if _pool_pid != os.getpid():  # a forked child: the parent's pool is not this process's to use
            _pool, _pool_size, _pool_pid = None, 0, os.getpid()
        if _pool is None or _pool_size < workers:
            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=True)
            _pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
            _pool_size = workers
        return _pool


def submit(paths: Sequence[Any], rows: Sequence[int], limits: Limits, chunk: int = 16,
           workers: int | None = None) -> Submitted:
    """Decode `rows` of `paths` in the pool, `chunk` files per task; `collect` gives the results."""
    rows = list(rows)
    parts = [(part, [str(Path(paths[i])) for i in part]) for part in (rows[k:k + chunk]
                                                                    for k in range(0, len(rows), chunk))]

    def send(executor: ProcessPoolExecutor) -> Submitted:
        return [(part, files, executor.submit(decode_chunk, files, part, limits)) for part, files in parts]
    executor = pool(workers)
    try:
        return send(executor)
    except BrokenProcessPool:  # a worker died since the last batch: start a new pool
        _discard(executor)
        return send(pool(workers))


def collect(submitted: Submitted, limits: Limits) -> list[tuple[int, Any, str | None]]:
    """(row, uint8 224x224x3 array or None, error) for every submitted row, in order. A chunk
    whose worker process died is decoded here, in this process, with the same function."""
    out = []
    for part, files, future in submitted:
        try:
            out.extend(future.result())
        except BrokenProcessPool:
            _discard(None)
            out.extend(decode_chunk(files, part, limits))
    return out


def _discard(executor: ProcessPoolExecutor | None) -> None:
    """Drop the broken pool (`executor`, or whichever is current) so the next submit starts anew."""
    global _pool, _pool_size
    with _lock:
        if _pool is not None and (executor is None or _pool is executor):
            log.warning("a screenshot decoding process died; its images are decoded in this process, "
                        "and a new pool is started for the next batch")
            _pool.shutdown(wait=False, cancel_futures=True)
            _pool, _pool_size = None, 0


def warm_up(workers: int | None = None) -> None:
    """Start every worker now (each imports PIL and numpy), so the first batch does not wait."""
    executor = pool(workers)
    for future in [executor.submit(os.getpid) for _ in range(_pool_size * 2)]:
        future.result()


@atexit.register
def shutdown(wait: bool = False) -> None:
    """Stop this process's pool. Run at exit; a multiprocessing child must call it itself, with
    ``wait``: such a child ends without atexit handlers by waiting for its own children, and the
    pool's processes would wait for work forever."""
    global _pool, _pool_size
    with _lock:
        if _pool is not None and _pool_pid == os.getpid():
            _pool.shutdown(wait=wait, cancel_futures=True)
        _pool, _pool_size = None, 0
