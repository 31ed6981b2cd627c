"""Bulk embedding of stored screenshots: read, decode and resize in parallel, keep the model busy.

CPU path: a thread pool runs `prepare_image` (PIL decodes and resizes outside the GIL) one
batch ahead of the model. GPU path (a backend with `infer_torch`, torchvision present): two
threads read the next batch's files while nvJPEG decodes the current one (torchvision.io.decode_jpeg
on cuda, optionally with a share decoded by CPU processes), the images are cropped and resized
there with antialiased bilinear interpolation (the GPU twin of the PIL resize: same crop rule,
values within a few grey levels) and the model runs while the next batch decodes; see
bulk_gpu.py and _embed_on_gpu. Bad files are reported, never fatal.
"""
from __future__ import annotations

import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from .config import FEATURE_DIM, IMAGE_SIZE, NUM_CLASSES
from .errors import InvalidImage
from .preprocess_image import crop_box, prepare_image
from .specs import IMAGE

log = logging.getLogger(__name__)


@dataclass
class BulkResult:
    """Outputs for the files that worked (`indices` into the input list) and errors for the rest."""

    indices: list[int] = field(default_factory=list)
    features: np.ndarray = field(default_factory=lambda: np.zeros((0, FEATURE_DIM), np.float32))
    descriptors: np.ndarray = field(default_factory=lambda: np.zeros((0, FEATURE_DIM), np.float32))
    logits: np.ndarray = field(default_factory=lambda: np.zeros((0, NUM_CLASSES), np.float32))
    failures: dict[int, str] = field(default_factory=dict)


def _batches(n: int, size: int) -> Iterator[range]:
    for start in range(0, n, size):
        yield range(start, min(n, start + size))


def _prepare_cpu(paths: Sequence[Any], rows: range, pool: ThreadPoolExecutor, limits) -> tuple[list[int], np.ndarray, dict]:
    def one(i: int):
        try:
            return i, prepare_image(paths[i], limits), None
        except InvalidImage as exc:
            return i, None, str(exc)

    ok, arrays, failed = [], [], {}
    for i, arr, err in pool.map(one, rows):
        if err is None:
            ok.append(i)
            arrays.append(arr)
        else:
            failed[i] = err
    pixels = np.stack(arrays) if arrays else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)
    return ok, pixels, failed


def embed_stored_screenshots(paths: Sequence[str | os.PathLike[str]], predictor=None, batch_size: int = 256,
                             workers: int | None = None, gpu_decode: bool | None = None,
                             cpu_share: float | None = None) -> BulkResult:
    """Embed many screenshot files; returns outputs for the good ones and reasons for the rest.

    On the GPU path `cpu_share` of each batch is decoded by the CPU threads, the rest by nvJPEG
    (default LINKSHOT_BULK_CPU_SHARE or bulk_gpu.DEFAULT_CPU_SHARE)."""
    from .predictor import Predictor

    predictor = predictor or Predictor.shared()
    backend = predictor.backend(IMAGE)
    batch_size = min(batch_size, backend.max_batch)
    workers = workers or min(16, (os.cpu_count() or 2))
    use_gpu = hasattr(backend, "infer_torch") if gpu_decode is None else gpu_decode
    if use_gpu:
        try:
            from .bulk_gpu import GpuDecoder
            decoder = GpuDecoder(predictor.settings.limits, cpu_share)
        except ImportError as exc:
            log.info("GPU decoding unavailable (%s); decoding on the CPU", exc)
            use_gpu = False
    result = BulkResult()
    parts: dict[str, list[np.ndarray]] = {k: [] for k in IMAGE.output_names}
    batches = list(_batches(len(paths), batch_size))
    if use_gpu:
        _embed_on_gpu(paths, batches, backend, decoder, result, parts)
    else:
        _embed_on_cpu(paths, batches, backend, predictor.settings.limits, workers, result, parts)
    if result.indices:
        result.features, result.descriptors, result.logits = (np.concatenate(parts[n]) for n in IMAGE.output_names)
    for i, reason in sorted(result.failures.items()):
        log.warning("screenshot %s skipped: %s", paths[i], reason)
    return result


def _embed_on_cpu(paths, batches: list[range], backend, limits, workers: int, result: BulkResult,
                  parts: dict[str, list[np.ndarray]]) -> None:
    """PIL decodes and resizes in the thread pool (outside the GIL) one batch ahead of the model."""
    # Decode stage in its own thread; it fans out to `pool` (nesting in one pool could deadlock).
    with ThreadPoolExecutor(workers) as pool, ThreadPoolExecutor(1) as stager:
        def start(k: int) -> Future:
            return stager.submit(_prepare_cpu, paths, batches[k], pool, limits)
        ahead: Future | None = start(0) if batches else None
        for k in range(len(batches)):
            ok, pixels, failed = ahead.result()
            # Start decoding the next batch before running this one: decode and inference overlap.
            ahead = start(k + 1) if k + 1 < len(batches) else None
            result.failures.update(failed)
            if ok:
                out = backend.infer({"pixels": pixels})
                for name in IMAGE.output_names:
                    parts[name].append(out[name])
                result.indices.extend(ok)


def _embed_on_gpu(paths, batches: list[range], backend, decoder, result: BulkResult,
                  parts: dict[str, list[np.ndarray]]) -> None:
    """nvJPEG path: two threads read the files of the next batch while this thread decodes the
    current one, and a batch's outputs are copied to the host only after the next batch's
    decoding has started, so the model runs on the GPU meanwhile.

    Decoding and the model are driven from this one thread on purpose: measured on an H200, a
    decoding thread beside this one, fed by a pool of 16 reading threads, ran at 3,900-4,300
    1280x800 JPEGs/s, while this thread alone doing everything in turn ran at 5,000 (the extra
    threads competed for the GIL between the GIL-free calls)."""
    def collect(done: tuple[list[int], dict] | None) -> None:
        if done is not None:
            ok, out = done
            for name in IMAGE.output_names:
                parts[name].append(out[name].cpu().numpy())
            result.indices.extend(ok)

    with ThreadPoolExecutor(decoder.READ_THREADS) as readers:
        submitted = decoder.submit_reads(paths, batches[0], readers) if batches else None
        previous = None
        for k, rows in enumerate(batches):
            current = submitted
            if k + 1 < len(batches):  # the next batch's files are read while this one decodes
                submitted = decoder.submit_reads(paths, batches[k + 1], readers)
            ok, pixels, failed = decoder.decode(paths, rows, current)
            result.failures.update(failed)
            out = None
            if ok:
                out = backend.infer_torch({"pixels": pixels})
                pixels.record_stream(torch_current_stream())
            collect(previous)  # the previous batch's model finished while this batch decoded
            previous = (ok, out) if ok else None
        collect(previous)


def torch_current_stream() -> Any:
    import torch

    return torch.cuda.current_stream()


def gpu_crop_resize(image: Any, size: int = IMAGE_SIZE) -> Any:
    """uint8 CHW CUDA image -> uint8 size x size x 3 (same crop rule as the PIL path)."""
    return crop_resize_batch([image], size)[0]


def crop_resize_batch(images: Sequence[Any], size: int = IMAGE_SIZE, chunk: int = 64) -> Any:
    """uint8 CHW images of one shape (CUDA or CPU) -> uint8 N x size x size x 3.

    Same crop rule as the PIL path, antialiased bilinear resize; one interpolation per chunk
    of images instead of a handful of small kernels per image."""
    import torch
    from torch.nn import functional as F

    _, h, w = images[0].shape
    x0, y0, x1, y1 = crop_box(w, h)
    out = torch.empty((len(images), size, size, 3), dtype=torch.uint8, device=images[0].device)
    for start in range(0, len(images), chunk):
        part = images[start:start + chunk]
        region = torch.stack([im[:3, y0:y1, x0:x1] for im in part]).float()
        resized = F.interpolate(region, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out[start:start + len(part)] = resized.round_().clamp_(0, 255).permute(0, 2, 3, 1)
    return out


def read_array(source: str | os.PathLike[str] | bytes, max_bytes: int) -> np.ndarray:
    """A file's bytes (or bytes from remote storage) as a writable uint8 array (no copy on the
    way to a tensor)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        size, name = len(source), "image data"
    else:
        source = Path(source)
        size, name = source.stat().st_size, str(source)
    if size == 0 or size > max_bytes:
        raise InvalidImage(f"{name}: size {size} bytes outside 1..{max_bytes}")
    if isinstance(source, Path):
        return np.fromfile(source, dtype=np.uint8)
    return np.frombuffer(bytearray(source), dtype=np.uint8)
