"""Lazy backend registry: nothing is imported until a backend is asked for.

Order for automatic choice: tensorrt, torch-cuda, onnxruntime. The first whose probe and
load both succeed wins; the choice is logged once per process and model. A backend asked
for by name that cannot load raises BackendUnavailable saying what is missing.
"""
from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path

from ..config import ENV_BACKEND, BatchProfile
from ..errors import BackendError, BackendUnavailable
from ..specs import ModelSpec
from .base import Backend

log = logging.getLogger(__name__)

BACKEND_ORDER = ("tensorrt", "torch-cuda", "onnxruntime")
_CLASSES = {
    "tensorrt": "inference.backends.tensorrt_backend:TensorRTBackend",
    "torch-cuda": "inference.backends.torch_cuda:TorchCudaBackend",
    "onnxruntime": "inference.backends.ort_backend:OnnxRuntimeBackend",
}
_ALIASES = {"trt": "tensorrt", "torch": "torch-cuda", "cuda": "torch-cuda", "ort": "onnxruntime", "cpu": "onnxruntime"}
_logged: set[tuple[str, str]] = set()


def normalise_name(name: str | None) -> str | None:
    """Canonical backend name, None for automatic choice."""
    name = (name if name is not None else os.environ.get(ENV_BACKEND, "")).strip().lower()
    if name in ("", "auto"):
        return None
    name = _ALIASES.get(name, name)
    if name not in _CLASSES:
        raise BackendUnavailable(f"unknown backend {name!r}; choose from {', '.join(BACKEND_ORDER)} or auto")
    return name


def backend_class(name: str) -> type[Backend]:
    module, _, cls = _CLASSES[name].partition(":")
    try:
        return getattr(importlib.import_module(module), cls)
    except ImportError as exc:  # our module imports only stdlib/numpy at top level
        raise BackendUnavailable(f"{name} requested but its module failed to import: {exc}") from exc


def available_backends() -> dict[str, str]:
    """name -> 'ok' or the reason it cannot load (probes only; builds nothing)."""
    out = {}
    for name in BACKEND_ORDER:
        try:
            backend_class(name).probe()
            out[name] = "ok"
        except BackendUnavailable as exc:
            out[name] = str(exc)
    return out


def create_backend(spec: ModelSpec, name: str | None, onnx_path_fn, profile: BatchProfile, models_dir: Path,
                   **options) -> Backend:
    """Instantiate and load a backend. `onnx_path_fn()` exports on demand (only if needed)."""
    requested = normalise_name(name)
    candidates = [requested] if requested else list(BACKEND_ORDER)
    failures = []
    for candidate in candidates:
        try:
            backend = _load(candidate, spec, onnx_path_fn, profile, models_dir, options)
        except (BackendUnavailable, BackendError) as exc:
            if requested:
                raise
            failures.append(f"{candidate}: {exc}")
            log.debug("backend %s skipped for %s: %s", candidate, spec.name, exc)
            continue
        if (spec.name, candidate) not in _logged:
            _logged.add((spec.name, candidate))
            skipped = f" (skipped: {'; '.join(failures)})" if failures else ""
            log.info("inference backend for %s: %s%s", spec.name, candidate, skipped)
        return backend
    raise BackendUnavailable(f"no backend could load {spec.name}: " + "; ".join(failures))


def _load(name: str, spec: ModelSpec, onnx_path_fn, profile: BatchProfile, models_dir: Path, options) -> Backend:
    cls = backend_class(name)
    cls.probe()
    accepted = {k: v for k, v in options.items() if k in getattr(cls, "OPTIONS", ())}
    backend = cls(spec, None, profile, models_dir, **accepted)
    if backend.needs_onnx:
        # Strongly typed TensorRT (for RTX) takes its fp16 precision from an fp16 graph.
        precision = getattr(backend, "onnx_precision", "fp32")
        backend.onnx_path = onnx_path_fn(precision) if precision != "fp32" else onnx_path_fn()
    backend.load()
    return backend
