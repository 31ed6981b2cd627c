"""Run one function in several threads at the same moment, each with its own database connection
(for tests of claims that must never hand one row to two workers)."""
from __future__ import annotations

import threading
from typing import Callable, TypeVar

from django.db import connection

T = TypeVar("T")


def at_once(fn: Callable[[], T], threads: int = 2, timeout: float = 30) -> list[T]:
    """What ``fn`` returned in each thread (started together behind a barrier)."""
    start = threading.Barrier(threads)
    results: list[T] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            start.wait()
            result = fn()
            with lock:
                results.append(result)
        finally:
            connection.close()

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout)
    return results
