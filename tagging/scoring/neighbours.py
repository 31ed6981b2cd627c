"""The nearest library rows of each query of a batch, and each query's typical similarity to the
library: with numpy on the CPU, or with torch on the GPU where the models run on one.

A batch's neighbour searches are most of the scoring's work: a (queries x library) similarity
matrix per kind of vector, its median over a sample of columns and its k largest values per row.
On a GPU host the models leave the GPU mostly idle while these keep the CPU cores busy (several
``reanalyze --jobs`` processes, each scoring its batches against the whole library), so where this
process has already set up CUDA (its models run there) the same steps run on the GPU and only the
k nearest come back. ``LINKSHOT_SCORING_DEVICE`` (auto, cpu or cuda) overrides the choice.

Both give the same neighbours up to float rounding: equal similarities are taken in column order,
and the typical similarity is the median of the same sample of columns.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from dataclasses import dataclass

import numpy as np

from tagging.scoring.score import MIN_TYPICAL, OWN, TYPICAL_SAMPLE, k_largest_per_row, nearest, typical_sample

log = logging.getLogger(__name__)
ENV_DEVICE = "LINKSHOT_SCORING_DEVICE"
DEVICES = ("auto", "cpu", "cuda")


@dataclass
class Nearest:
    """For each query: its typical similarity, and the columns and similarities of its k nearest
    (largest first, equal ones in column order; a query's own column has similarity OWN)."""
    typical: np.ndarray
    columns: np.ndarray
    sims: np.ndarray


class ScoringDeviceError(RuntimeError):
    """LINKSHOT_SCORING_DEVICE names a device that cannot be used here."""


def search(vectors: np.ndarray, matrix: np.ndarray, own: np.ndarray, k: int, fallback: float,
           step: int) -> Nearest:
    """The ``k`` rows of ``matrix`` nearest to each of ``vectors`` (float32, one per query) by dot
    product; ``own`` is each query's own row of ``matrix``, or -1. The queries are searched
    ``step`` at a time, which bounds the similarity matrix; on the GPU ``matrix`` is moved there
    once for all of them."""
    on = where()
    if on is not None:
        found = _unless_out_of_memory(on[0], lambda: _search_with_torch(*on, vectors, matrix, own, k, fallback, step))
        if found is not None:
            return found
    return _joined([_among_numpy(vectors[start:start + step] @ matrix.T, own[start:start + step], k, fallback)
                    for start in range(0, len(vectors), step)])


def among(sims: np.ndarray, own: np.ndarray, k: int, fallback: float) -> Nearest:
    """:func:`search` given the similarities (one row per query; changed in place)."""
    on = where()
    if on is not None:
        found = _unless_out_of_memory(on[0], lambda: with_torch(*on, own, k, fallback, sims=sims))
        if found is not None:
            return found
    return _among_numpy(sims, own, k, fallback)


def _search_with_torch(torch, device: str, vectors: np.ndarray, matrix: np.ndarray, own: np.ndarray, k: int,
                       fallback: float, step: int) -> Nearest:
    with _stream(torch) if device == "cuda" else contextlib.nullcontext():
        held = _tensor(torch, matrix, device)  # once, for every slice of the queries
        return _joined([with_torch(torch, device, own[start:start + step], k, fallback,
                                   vectors=vectors[start:start + step], matrix=held)
                        for start in range(0, len(vectors), step)])


def _unless_out_of_memory(torch, search) -> Nearest | None:
    """``search()``, or None where the GPU has no memory left for it (the models share it): numpy
    makes it instead, and the scoring goes on."""
    try:
        return search()
    except torch.cuda.OutOfMemoryError as exc:
        log.warning("neighbour search on the CPU: the GPU is out of memory (%s)", str(exc).split("\n")[0])
        torch.cuda.empty_cache()
        return None


def _joined(parts: list[Nearest]) -> Nearest:
    if len(parts) == 1:
        return parts[0]
    return Nearest(*(np.concatenate([getattr(p, name) for p in parts]) for name in ("typical", "columns", "sims")))


def _among_numpy(sims: np.ndarray, own: np.ndarray, k: int, fallback: float) -> Nearest:
    typical = typical_of(sims, fallback)
    mine = np.flatnonzero(own >= 0)
    sims[mine, own[mine]] = OWN
    columns = nearest(sims, k)
    return Nearest(typical, columns, np.take_along_axis(sims, columns, axis=1))


def with_torch(torch, device: str, own: np.ndarray, k: int, fallback: float, sims: np.ndarray | None = None,
               vectors: np.ndarray | None = None, matrix=None) -> Nearest:
    """:func:`search` (``vectors`` and ``matrix``, an array or a tensor already on ``device``) or
    :func:`among` (``sims``) with torch on ``device``, for one slice of queries."""
    with _stream(torch) if device == "cuda" else contextlib.nullcontext():
        if sims is None:
            sims = _tensor(torch, vectors, device) @ _tensor(torch, matrix, device).T
        else:
            sims = _tensor(torch, sims, device)
        rows, n = sims.shape
        if n < MIN_TYPICAL:
            typical = np.full(rows, fallback)
        else:
            sample = sims[:, torch.from_numpy(typical_sample(n)).to(device)] if n > TYPICAL_SAMPLE else sims
            ordered = sample.sort(dim=1).values
            half = ordered.shape[1] // 2
            middle = ordered[:, half] if ordered.shape[1] % 2 else (ordered[:, half - 1] + ordered[:, half]) / 2
            typical = middle.cpu().numpy()
        mine = np.flatnonzero(own >= 0)
        if len(mine):
            sims[torch.from_numpy(mine).to(device), torch.from_numpy(own[mine]).to(device)] = OWN
        k = min(k, n)
        if k == 0:
            return Nearest(typical, np.zeros((rows, 0), np.int64), np.zeros((rows, 0), np.float32))
        # topk leaves open which of several equal values it takes: every value at least each row's
        # k-th largest comes back, to be taken in column order, as on the CPU.
        floor = torch.topk(sims, k, dim=1, sorted=False).values.min(dim=1, keepdim=True).values
        row, column = torch.nonzero(sims >= floor, as_tuple=True)
        if len(row) > rows * k:  # more than k in some row: several equal its k-th largest
            row, column = torch.nonzero(_first_ties(torch, sims, floor, k), as_tuple=True)
        values, row, column = sims[row, column].cpu().numpy(), row.cpu().numpy(), column.cpu().numpy()
    taken = k_largest_per_row(row, column, values, rows, k)
    return Nearest(typical, column[taken].astype(np.int64), values[taken])


def _first_ties(torch, sims, floor, k: int):
    """Where more than k values of a row are at least its k-th largest: those above it and, of
    those equal to it, the first in column order, as many as the row still lacks; only k a row
    come back, however many share the value (the 0.0 of every page that has no word in common
    with the query would send its whole row to the host)."""
    above, at = sims > floor, sims == floor
    lacking = k - above.sum(dim=1, keepdim=True, dtype=torch.int32)
    return above | (at & (at.cumsum(dim=1, dtype=torch.int32) <= lacking))


def typical_of(sims: np.ndarray, fallback: float) -> np.ndarray:
    """score.typical_similarity of each row (the same sample of columns)."""
    n = sims.shape[1]
    if n < MIN_TYPICAL:
        return np.full(len(sims), fallback)
    # np.take keeps the rows contiguous, where sims[:, columns] lays the sample out by column: a
    # partition along such rows is ten times slower.
    return row_medians(np.take(sims, typical_sample(n), axis=1) if n > TYPICAL_SAMPLE else sims)


def row_medians(values: np.ndarray) -> np.ndarray:
    """np.median(values, axis=1), the same values, from one partition (np.median makes two)."""
    n = values.shape[1]
    half = n // 2
    upper = np.partition(values, half, axis=1)
    if n % 2:
        return upper[:, half]
    return (upper[:, :half].max(axis=1) + upper[:, half]) / 2


def _tensor(torch, array, device: str):
    if isinstance(array, torch.Tensor):
        return array
    return torch.from_numpy(np.ascontiguousarray(array, np.float32)).to(device)


_streams = threading.local()


def _stream(torch):
    """This thread's own CUDA stream: the scoring does not queue behind the models' work."""
    stream = getattr(_streams, "stream", None)
    if stream is None:
        stream = _streams.stream = torch.cuda.Stream()
    return torch.cuda.stream(stream)


def where():
    """(torch, "cuda") where the neighbour searches run on the GPU; None for numpy."""
    device = os.environ.get(ENV_DEVICE, "auto").strip().lower() or "auto"
    if device not in DEVICES:
        raise ScoringDeviceError(f"{ENV_DEVICE} must be one of {', '.join(DEVICES)}, got {device!r}")
    if device == "cpu":
        return None
    if device == "auto":
        # Only a process that already uses CUDA (its models run there): scoring alone never
        # imports torch or creates a CUDA context (a web process, a CPU worker).
        torch = sys.modules.get("torch")
        return (torch, "cuda") if torch is not None and torch.cuda.is_initialized() else None
    import torch

    if not torch.cuda.is_available():
        raise ScoringDeviceError(f"{ENV_DEVICE}=cuda, but torch {torch.__version__} sees no CUDA device")
    return torch, "cuda"
