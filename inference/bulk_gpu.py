"""nvJPEG batch decoding for the bulk path (imports torchvision: only used on GPU hosts)."""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

import torch
import torchvision  # noqa: F401 - ImportError here makes bulk.py fall back to CPU decoding
from torchvision.io import ImageReadMode, decode_jpeg

from .bulk import gpu_crop_resize, read_bytes
from .config import Limits
from .errors import InvalidImage
from .preprocess_image import prepare_image

log = logging.getLogger(__name__)
JPEG_MAGIC = b"\xff\xd8\xff"


class GpuDecoder:
    def __init__(self, limits: Limits):
        self.limits = limits

    def prepare(self, paths: Sequence[Any], rows: range, pool: ThreadPoolExecutor) -> tuple[list[int], Any, dict]:
        """Read a batch, decode JPEGs on the GPU (others on the CPU): uint8 N x 224 x 224 x 3 CUDA."""
        def load(i: int):
            try:
                return i, read_bytes(paths[i], self.limits.max_image_bytes), None
            except (OSError, InvalidImage) as exc:
                return i, None, str(exc)

        failed: dict[int, str] = {}
        jpeg_rows, jpeg_data, other_rows = [], [], []
        for i, data, err in pool.map(load, rows):
            if err is not None:
                failed[i] = err
            elif data[:3] == JPEG_MAGIC:
                jpeg_rows.append(i)
                jpeg_data.append(torch.frombuffer(bytearray(data), dtype=torch.uint8))
            else:
                other_rows.append(i)
        images: dict[int, Any] = {}
        if jpeg_data:
            self._decode_jpegs(jpeg_rows, jpeg_data, images, failed)
        for i in other_rows:
            try:
                images[i] = torch.from_numpy(prepare_image(paths[i], self.limits)).cuda(non_blocking=True)
            except InvalidImage as exc:
                failed[i] = str(exc)
        ok = [i for i in rows if i in images]
        pixels = torch.stack([images[i] for i in ok]) if ok else torch.zeros((0, 224, 224, 3), dtype=torch.uint8)
        return ok, pixels, failed

    def _decode_jpegs(self, rows: list[int], data: list[Any], images: dict, failed: dict) -> None:
        try:
            decoded = decode_jpeg(data, mode=ImageReadMode.RGB, device="cuda")
        except RuntimeError:
            # One corrupt file fails the whole batched call: decode one by one to find it.
            decoded = []
            for i, d in zip(rows, data):
                try:
                    decoded.append(decode_jpeg(d, mode=ImageReadMode.RGB, device="cuda"))
                except RuntimeError as exc:
                    failed[i] = f"corrupt JPEG: {exc}"
                    decoded.append(None)
        for i, img in zip(rows, decoded):
            if img is None:
                continue
            if img.shape[1] * img.shape[2] > self.limits.max_pixels:
                failed[i] = f"image too large: {img.shape[2]}x{img.shape[1]}"
                continue
            images[i] = gpu_crop_resize(img)
