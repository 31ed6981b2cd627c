"""Geometry of the multi-scale regional descriptor (library-independent).

The descriptor is R-MAC style: max-pool the final feature map over a grid of regions at
several scales (1x1, 2x2, 3x3), L2-normalise each region vector, sum them, L2-normalise.
Max over regions keeps strong local evidence (a logo, a header bar), so two screenshots of
the same page with different scroll banners or ads still match, unlike plain averaging.

Adaptive max pooling with L bins over S cells uses bins [floor(i*S/L), ceil((i+1)*S/L)).
For the sizes used here these bins are evenly spaced, so every level is an ordinary
MaxPool(window, stride): ONNX, TensorRT and PyTorch then all compute exactly the same thing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

DESCRIPTOR_LEVELS: tuple[int, ...] = (1, 2, 3)


@dataclass(frozen=True)
class PoolWindow:
    level: int
    window: int
    stride: int


def adaptive_bins(size: int, level: int) -> list[tuple[int, int]]:
    """Start/end of each adaptive pooling bin (PyTorch's definition)."""
    if size < 1 or level < 1 or level > size:
        raise ValueError(f"cannot split {size} cells into {level} bins")
    return [(math.floor(i * size / level), math.ceil((i + 1) * size / level)) for i in range(level)]


def uniform_window(size: int, level: int) -> PoolWindow:
    """The (window, stride) of a plain pooling that equals adaptive pooling to `level` bins."""
    bins = adaptive_bins(size, level)
    widths = {end - start for start, end in bins}
    starts = [start for start, _ in bins]
    strides = {b - a for a, b in zip(starts, starts[1:])} or {1}
    if len(widths) != 1 or len(strides) != 1:
        raise ValueError(f"adaptive bins of {size} cells into {level} are not uniform: {bins}")
    return PoolWindow(level=level, window=widths.pop(), stride=strides.pop())


def descriptor_windows(size: int, levels: tuple[int, ...] = DESCRIPTOR_LEVELS) -> list[PoolWindow]:
    return [uniform_window(size, level) for level in levels]
