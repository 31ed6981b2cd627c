"""Predictor: the one object the rest of Linkshot talks to.

    from inference import Predictor
    p = Predictor.shared()                       # one per process, built lazily
    features, descriptors, logits = p.embed_images([path_or_bytes_or_PIL, ...])
    vectors = p.embed_texts(["page text", ...])
    p.concepts(logits, k=5)                      # [[("web site", 0.82), ...], ...]

Models load on first use, in the calling process (never at import: Celery forks its pool,
and a CUDA context does not survive a fork). `shared()` notices a fork and reloads.
"""
from __future__ import annotations

import logging
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from . import config
from .backends.base import Backend
from .backends.registry import create_backend
from .config import Limits, Settings
from .errors import InvalidImage, InvalidText
from .preprocess_image import ImageSource, prepare_batch
from .preprocess_text import load_tokenizer, pad_batch, pool_chunks, validate_text
from .specs import IMAGE, TEXT, ModelSpec

log = logging.getLogger(__name__)
_PACKAGE = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def class_names() -> list[str]:
    """The 1000 ImageNet class names, index = logit position."""
    return (_PACKAGE / "imagenet_classes.txt").read_text(encoding="utf-8").splitlines()


class Predictor:
    _shared: dict[tuple, "Predictor"] = {}
    _shared_pid = os.getpid()
    _lock = threading.Lock()

    def __init__(self, backend: str | None = None, models_dir: str | os.PathLike[str] | None = None,
                 limits: Limits | None = None, settings: Settings | None = None, **backend_options):
        base = settings or Settings()
        self.settings = Settings(models_dir=config.models_dir(models_dir) if models_dir else base.models_dir,
                                 limits=limits or base.limits, image_profile=base.image_profile,
                                 text_profile=base.text_profile)
        self.backend_name = backend
        self.backend_options = backend_options
        self._backends: dict[str, Backend] = {}
        self._load_lock = threading.Lock()

    @classmethod
    def shared(cls, backend: str | None = None, models_dir: str | None = None) -> "Predictor":
        """The process-wide predictor (rebuilt in a forked child, never shared across a fork)."""
        with cls._lock:
            if cls._shared_pid != os.getpid():
                cls._shared, cls._shared_pid = {}, os.getpid()
            key = (backend, models_dir)
            if key not in cls._shared:
                cls._shared[key] = cls(backend=backend, models_dir=models_dir)
            return cls._shared[key]

    def backend(self, spec: ModelSpec) -> Backend:
        """The loaded backend for a model, loading it on first use."""
        with self._load_lock:
            if spec.name not in self._backends:
                from .export_fp16 import ensure_onnx_variant

                profile = self.settings.text_profile if spec is TEXT else self.settings.image_profile
                self._backends[spec.name] = create_backend(
                    spec, self.backend_name,
                    lambda precision="fp32": ensure_onnx_variant(spec, precision, self.settings.models_dir),
                    profile, self.settings.models_dir, **self.backend_options)
            return self._backends[spec.name]

    def embed_images(self, images: Sequence[ImageSource]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Images (paths, bytes, file objects, PIL images or uint8 arrays) ->
        (features N x 1280, descriptors N x 1280, logits N x 1000), float32; features and
        descriptors are unit vectors. Raises InvalidImage naming the first bad image."""
        if isinstance(images, (str, bytes, os.PathLike)) or not hasattr(images, "__len__"):
            raise InvalidImage("embed_images takes a sequence of images, not a single image")
        if len(images) == 0:
            return (np.zeros((0, config.FEATURE_DIM), np.float32), np.zeros((0, config.FEATURE_DIM), np.float32),
                    np.zeros((0, config.NUM_CLASSES), np.float32))
        pixels = prepare_batch(list(images), self.settings.limits)
        out = self.run_pixels(pixels)
        return out["features"], out["descriptors"], out["logits"]

    def run_pixels(self, pixels: np.ndarray) -> dict[str, np.ndarray]:
        """Prepared uint8 N x 224 x 224 x 3 pixels -> model outputs, in backend-sized batches."""
        backend = self.backend(IMAGE)
        parts = [backend.infer({"pixels": pixels[i:i + backend.max_batch]})
                 for i in range(0, len(pixels), backend.max_batch)]
        return {k: np.concatenate([p[k] for p in parts]) for k in IMAGE.output_names}

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Texts -> N x 384 unit vectors (long texts chunked and pooled). Raises InvalidText."""
        if isinstance(texts, (str, bytes)) or not hasattr(texts, "__len__"):
            raise InvalidText("embed_texts takes a sequence of texts, not a single string")
        if len(texts) == 0:
            return np.zeros((0, config.TEXT_DIM), np.float32)
        limits = self.settings.limits
        clean = [validate_text(t, i, limits) for i, t in enumerate(texts)]
        from .weights import text_model_dir

        backend = self.backend(TEXT)  # first: a wrong backend setting is named before any file is looked for
        tokenizer = load_tokenizer(str(text_model_dir() / "tokenizer.json"))
        chunks = tokenizer.chunks(clean, limits.max_chunks)
        # Sorting by length keeps padding small: similar lengths share a batch.
        order = sorted(range(len(chunks)), key=lambda i: len(chunks[i].ids))
        vectors = np.empty((len(chunks), config.TEXT_DIM), np.float32)
        for start in range(0, len(order), backend.max_batch):
            rows = order[start:start + backend.max_batch]
            ids, mask = pad_batch([chunks[r] for r in rows], tokenizer.pad_id)
            vectors[rows] = backend.infer({"input_ids": ids, "attention_mask": mask})["embeddings"]
        return pool_chunks(chunks, vectors, len(clean))

    @staticmethod
    def concepts(logits: np.ndarray, k: int = 5) -> list[list[tuple[str, float]]]:
        """Top-k ImageNet classes with softmax probabilities, per image."""
        names = class_names()
        z = logits - logits.max(axis=1, keepdims=True)
        probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        top = np.argsort(-probs, axis=1)[:, :k]
        return [[(names[j], float(probs[i, j])) for j in row] for i, row in enumerate(top)]

    def backend_names(self) -> dict[str, str]:
        return {name: b.name for name, b in self._backends.items()}

    def close(self) -> None:
        for b in self._backends.values():
            b.close()
        self._backends.clear()
