"""Whole-array helpers the word index and the batch scorer share: lookups in a sorted array, and
the positions of runs (a term's postings, a link's tags) laid end to end."""
from __future__ import annotations

import numpy as np


def find_sorted(sorted_values: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``values``: where it is, or would be inserted, in ``sorted_values``, and whether
    it is there (``at[found]`` is always a valid index)."""
    at = np.searchsorted(sorted_values, values)
    found = at < len(sorted_values)
    found[found] = sorted_values[at[found]] == values[found]
    return at, found


def run_positions(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The positions start, start + 1, ..., start + length - 1 of each run, concatenated."""
    lengths = np.asarray(lengths, np.int64)
    return np.repeat(np.asarray(starts, np.int64) - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
