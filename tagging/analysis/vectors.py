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


def unpack_many(blobs: list, dim: int) -> np.ndarray:
    """Many stored vectors as one float32 matrix (rows of zeros for missing or damaged ones), from
    one buffer when every blob has the right size: a library of 100,000 links is read this way."""
    size = dim * STORED.itemsize
    blobs = [bytes(b) if b else b"" for b in blobs]
    if all(len(b) == size for b in blobs):
        return np.frombuffer(b"".join(blobs), dtype=STORED).reshape(len(blobs), dim).astype(np.float32)
    out = np.zeros((len(blobs), dim), np.float32)
    for i, blob in enumerate(blobs):
        vector = unpack(blob, dim)
        if vector is not None:
            out[i] = vector
    return out


def unit(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (zero rows stay zero)."""
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)
