"""The bulk path's file reads: files and bytes from remote storage alike, bounded by size."""
from __future__ import annotations

import numpy as np
import pytest

from inference.bulk import read_array
from inference.errors import InvalidImage


def test_files_and_stored_bytes_read_as_the_same_writable_array(tmp_path):
    data = bytes(range(256)) * 4
    path = tmp_path / "shot.jpg"
    path.write_bytes(data)
    for source in (path, str(path), data, bytearray(data), memoryview(data)):
        got = read_array(source, 4096)
        assert got.dtype == np.uint8 and got.flags.writeable and got.tobytes() == data


@pytest.mark.parametrize("size", [0, 4097])
def test_empty_or_oversized_sources_are_refused(tmp_path, size):
    path = tmp_path / "shot.jpg"
    path.write_bytes(b"\xff" * size)
    for source in (path, b"\xff" * size):
        with pytest.raises(InvalidImage, match="outside 1..4096"):
            read_array(source, 4096)
