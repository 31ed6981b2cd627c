"""Stored vectors: float16 bytes in the database, float32 unit vectors in memory."""
from __future__ import annotations

import numpy as np

STORED = np.dtype("<f2")


def pack(vector: np.ndarray | None) -> bytes:
    """A vector as float16 bytes (half the size of float32; cosine ranks are unchanged)."""
    if vector is None:
        return b""
    return np.asarray(vector, dtype=np.float32).astype(STORED).tobytes()


def unpack(blob: bytes | memoryview | None, dim: int) -> np.ndarray | None:
    """float16 bytes back to a float32 vector; None for a missing or damaged one."""
    if not blob:
        return None
    raw = bytes(blob)
    if len(raw) != dim * STORED.itemsize:
        return None
    return np.frombuffer(raw, dtype=STORED).astype(np.float32)


def unit(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (zero rows stay zero)."""
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)
