"""Throughput and latency measurement shared by `python -m inference bench` and bench/inference.py."""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable


@dataclass
class Timing:
    label: str
    batch: int
    per_second: float
    median_ms: float

    def row(self) -> str:
        return f"{self.label:<34} {self.batch:>6} {self.per_second:>12,.0f} {self.median_ms:>10.2f}"


HEADER = f"{'what':<34} {'batch':>6} {'items/s':>12} {'ms/batch':>10}"


def measure(label: str, batch: int, fn: Callable[[], Any], sync: Callable[[], None] = lambda: None,
            min_seconds: float = 2.0, warmup: int = 3, max_iters: int = 2000) -> Timing:
    """Median wall time of fn() (synchronised) over repeated calls after warm-up."""
    for _ in range(warmup):
        fn()
    sync()
    times: list[float] = []
    start = time.perf_counter()
    while (time.perf_counter() - start < min_seconds or len(times) < 5) and len(times) < max_iters:
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    return Timing(label, batch, batch / med, med * 1000)
