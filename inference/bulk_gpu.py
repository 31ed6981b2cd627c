"""Batch decoding for the bulk path on GPU hosts (imports torchvision: only used there).

JPEGs are decoded by nvJPEG on the GPU (torchvision.io.decode_jpeg on a list,
device="cuda"). A share of each batch (`cpu_share`, LINKSHOT_BULK_CPU_SHARE) is decoded at
the same time by CPU worker processes at a reduced DCT scale and resized there
(decode_pool.py), which adds the host's cores to the GPU's decoder.
Files whose name is not a JPEG's (the capture keeps PNG viewport screenshots) go to those
processes too: decoding PNGs is CPU work, and a batch of them in the calling thread would
stall the GPU. Files are read by a few threads a batch ahead, one chunk of files per thread, straight into
the tensors nvJPEG takes, so the thread that decodes only collects them and calls the
decoder (bulk.py drives decoding and the model from one thread: see _embed_on_gpu).
Decoded images are cropped and resized together, one batched antialiased interpolation per
image size, on the decoder's own CUDA stream. Other formats go to the CPU path.
"""
from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Sequence

import numpy as np
import torch
import torchvision  # noqa: F401 - ImportError here makes bulk.py fall back to CPU decoding
from torchvision.io import ImageReadMode, decode_jpeg

from . import config, decode_pool
from .bulk import crop_resize_batch, read_array
from .config import IMAGE_SIZE, Limits
from .errors import InvalidImage
from .preprocess_image import prepare_image

log = logging.getLogger(__name__)
JPEG_MAGIC = b"\xff\xd8\xff"
DEFAULT_CPU_SHARE = config.DEFAULT_BULK_CPU_SHARE  # measured: see inference/config.py
JPEG_SUFFIXES = (".jpg", ".jpeg")


def read_chunk(paths: Sequence[Any], rows: Sequence[int], max_bytes: int) -> list[tuple[int, Any, str | None]]:
    """(row, uint8 tensor of the file's bytes or None, error) for each row: one thread's reads."""
    out = []
    for i in rows:
        try:
            out.append((i, torch.from_numpy(read_array(paths[i], max_bytes)), None))
        except (OSError, InvalidImage) as exc:
            out.append((i, None, str(exc)))
    return out


def named_other_format(source: Any) -> bool:
    """A file whose name says it is not a JPEG (the viewport screenshots are PNGs): nvJPEG cannot
    take it, so the CPU processes decode it, a batch ahead like the reads."""
    return not isinstance(source, (bytes, bytearray, memoryview)) and not str(source).lower().endswith(JPEG_SUFFIXES)


class GpuDecoder:
    READ_THREADS = 2  # file reads of a batch: one chunk per thread (bulk.py starts the threads)

    def __init__(self, limits: Limits, cpu_share: float | None = None):
        self.limits = limits
        self.stream = torch.cuda.Stream()
        share = cpu_share if cpu_share is not None else config.bulk_cpu_share()
        self.cpu_share = min(1.0, max(0.0, share))
        if self.cpu_share:
            decode_pool.warm_up()

    def submit_reads(self, paths: Sequence[Any], rows: range, pool: ThreadPoolExecutor
                     ) -> tuple[list[Future], decode_pool.Submitted]:
        """Start a batch (returns at once): (file reads for nvJPEG in the thread pool, what the
        worker processes decode: files of other formats and the CPU share of the JPEGs). Each
        future gives a list of (row, data, error)."""
        other, jpegs = [], []
        for i in rows:
            (other if named_other_format(paths[i]) else jpegs).append(i)
        n_cpu = round(len(jpegs) * self.cpu_share)
        on_cpu = jpegs[:n_cpu] + other
        decoded = decode_pool.submit(paths, on_cpu, self.limits) if on_cpu else []
        rest = jpegs[n_cpu:]
        size = max(1, -(-len(rest) // self.READ_THREADS))
        chunks = (rest[k:k + size] for k in range(0, len(rest), size))
        return [pool.submit(read_chunk, paths, part, self.limits.max_image_bytes) for part in chunks], decoded

    def decode(self, paths: Sequence[Any], rows: range, submitted: tuple[list[Future], decode_pool.Submitted]
               ) -> tuple[list[int], Any, dict]:
        """A submitted batch -> (good rows, uint8 N x 224 x 224 x 3 CUDA tensor ready to use, failures).

        nvJPEG's part is decoded first, while the worker processes finish the CPU part."""
        reads, decoded = submitted
        failed: dict[int, str] = {}
        images: dict[int, Any] = {}
        jpeg_rows, jpeg_data, other_rows = [], [], []
        for i, data, err in (item for fut in reads for item in fut.result()):
            if err is not None:
                failed[i] = err
            elif data[:3].numpy().tobytes() == JPEG_MAGIC:
                jpeg_rows.append(i)
                jpeg_data.append(data)
            else:
                other_rows.append(i)
        with torch.cuda.stream(self.stream):
            if jpeg_data:
                self._decode_jpegs(jpeg_rows, jpeg_data, images, failed)
            ready_rows, ready = [], []
            for i, pixels, err in decode_pool.collect(decoded, self.limits):
                if err is not None:
                    failed[i] = err
                else:
                    ready_rows.append(i)
                    ready.append(pixels)
            if ready:
                uploaded = torch.from_numpy(np.stack(ready)).pin_memory().cuda(non_blocking=True)
                images.update(zip(ready_rows, uploaded))
            for i in other_rows:
                try:
                    images[i] = torch.from_numpy(prepare_image(paths[i], self.limits)).cuda(non_blocking=True)
                except InvalidImage as exc:
                    failed[i] = str(exc)
            ok = [i for i in rows if i in images]
            pixels = torch.stack([images[i] for i in ok]) if ok else \
                torch.zeros((0, IMAGE_SIZE, IMAGE_SIZE, 3), dtype=torch.uint8, device="cuda")
        self.stream.synchronize()  # the batch is complete before another stream reads it
        return ok, pixels, failed

    def prepare(self, paths: Sequence[Any], rows: range, pool: ThreadPoolExecutor) -> tuple[list[int], Any, dict]:
        """Read and decode one batch (no read-ahead)."""
        return self.decode(paths, rows, self.submit_reads(paths, rows, pool))

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
        groups: dict[tuple[int, ...], list[tuple[int, Any]]] = {}
        for i, img in zip(rows, decoded):
            if img is None:
                continue
            if img.shape[1] * img.shape[2] > self.limits.max_pixels:
                failed[i] = f"image too large: {img.shape[2]}x{img.shape[1]}"
                continue
            groups.setdefault(tuple(img.shape), []).append((i, img))
        for members in groups.values():  # screenshots mostly share one size: one resize per size
            resized = crop_resize_batch([img for _, img in members])
            for (i, _), pixels in zip(members, resized):
                images[i] = pixels
