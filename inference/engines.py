"""Ahead-of-time artefacts: `python -m inference build` and what `info` lists.

build: export every ONNX graph (fp32, and fp16 for strongly typed TensorRT), then build the
TensorRT engines wherever a TensorRT builder loads (TensorRT for RTX needs no GPU), and
compile the torch-cuda packages where a CUDA device is present. Each artefact is reported
with its path and size; a backend that cannot build here is reported with the reason.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from . import config
from .config import BatchProfile, Settings
from .errors import BackendError, BackendUnavailable, ExportError
from .specs import HEAD, IMAGE, TEXT

log = logging.getLogger(__name__)


@dataclass
class Artefact:
    kind: str  # onnx | engine | aot | compiled | skipped
    name: str
    path: Path | None = None
    size: int = 0
    note: str = ""

    def line(self) -> str:
        if self.path is None:
            return f"{self.kind} {self.name}: {self.note}"
        return f"{self.kind} {self.name}: {self.path} ({self.size / 1e6:.1f} MB){' ' + self.note if self.note else ''}"


def _profile(spec, settings: Settings) -> BatchProfile:
    return settings.text_profile if spec is TEXT else settings.image_profile


def build_engines(models_dir: Path, precisions: tuple[str, ...] = ("fp16",), flavour_name: str | None = None,
                  settings: Settings | None = None) -> list[Artefact]:
    """Every model's TensorRT engine per precision, with the flavour that loads here."""
    from .backends.trt_build import build_engine
    from .backends.trt_flavour import load_flavour
    from .backends.trt_logic import profile_shapes
    from .export_fp16 import ensure_onnx_variant

    settings = settings or Settings(models_dir=models_dir)
    try:
        flavour = load_flavour(flavour_name)
    except BackendUnavailable as exc:
        return [Artefact("skipped", "tensorrt engines", note=str(exc))]
    out = []
    for spec in (IMAGE, TEXT, HEAD):
        for precision in precisions:
            label = f"{spec.name} {flavour.name} {flavour.version} {precision}"
            try:
                onnx_path = ensure_onnx_variant(spec, flavour.onnx_precision(precision), models_dir)
                built = build_engine(flavour, models_dir, spec.name, profile_shapes(spec, _profile(spec, settings)),
                                     precision, onnx_path=onnx_path)
            except (BackendError, BackendUnavailable, ExportError) as exc:
                out.append(Artefact("skipped", label, note=str(exc)))
                continue
            out.append(Artefact("engine", label, built.path, built.size,
                                f"built in {built.seconds:.1f}s" if built.built else "cached"))
    return out


def build_packages(models_dir: Path) -> list[Artefact]:
    """torch-cuda's compiled code, where a CUDA device is present: AOT packages, or every batch
    bucket compiled once by torch.compile into the on-disk caches."""
    from .backends.registry import backend_class
    from .backends.torch_cuda import compile_choice
    from .predictor import Predictor

    try:
        backend_class("torch-cuda").probe()
    except BackendUnavailable as exc:
        return [Artefact("skipped", "torch-cuda packages", note=str(exc))]
    predictor = Predictor(backend="torch-cuda", models_dir=models_dir)
    out = []
    for spec in (IMAGE, TEXT):
        kind = compile_choice(None, spec.name)
        if kind == "off":
            out.append(Artefact("skipped", f"torch-cuda {spec.name}",
                                note="not compiled (LINKSHOT_TORCH_COMPILE=image=jit or =aot to do so)"))
            continue
        backend = predictor.backend(spec)
        if kind == "jit":
            out += _compile_buckets(backend)
        for variant, pkg in getattr(backend, "packages", {}).items():
            out.append(Artefact("aot", f"{spec.name} {variant}", pkg.path, pkg.path.stat().st_size,
                                f"compiled in {pkg.seconds:.1f}s" if pkg.compiled else "cached"))
    predictor.close()
    return out


def _compile_buckets(backend) -> list[Artefact]:
    """Run every batch bucket once (full-width rows for text), so each is compiled and cached."""
    import time

    import numpy as np
    import torch

    from .backends.compile_cache import cache_hits
    from .backends.torch_cuda import SEQ_BUCKETS, bucket
    from .specs import random_inputs

    rng = np.random.default_rng(0)
    folder = backend.compile_folder  # chosen when the backend loaded
    out = []
    sizes = sorted({bucket(n, backend.max_batch) for n in range(1, backend.max_batch + 1)})
    for size in sizes:
        inputs = random_inputs(backend.spec, size, rng, seq=SEQ_BUCKETS[-1])
        if backend.spec is TEXT:
            inputs["attention_mask"][:] = 1
        before = cache_hits()
        start = time.perf_counter()
        backend.infer_torch({k: torch.from_numpy(v).cuda() for k, v in inputs.items()})
        torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        hit = cache_hits()["hit"] > before["hit"]
        out.append(Artefact("compiled", f"{backend.spec.name} batch {size}", folder, _folder_bytes(folder),
                            f"{'from the cache' if hit else 'compiled'} in {seconds:.1f}s"))
    return out


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def build_all(models_dir: str | Path | None = None, precisions: tuple[str, ...] = ("fp16",),
              flavour_name: str | None = None) -> list[Artefact]:
    from .export_fp16 import ensure_onnx_variant

    models = config.models_dir(models_dir)
    out = []
    for spec in (IMAGE, TEXT, HEAD):
        for precision in ("fp32", "fp16") if "fp16" in precisions and _strongly_typed(flavour_name) else ("fp32",):
            try:
                path = ensure_onnx_variant(spec, precision, models)
                out.append(Artefact("onnx", f"{spec.name} {precision}", path, path.stat().st_size))
            except ExportError as exc:
                out.append(Artefact("skipped", f"onnx {spec.name} {precision}", note=str(exc)))
    out += build_engines(models, precisions, flavour_name)
    out += build_packages(models)
    return out


def _strongly_typed(flavour_name: str | None) -> bool:
    """Whether the TensorRT that loads here needs fp16 graphs (TensorRT 10 takes a builder flag)."""
    from .backends.trt_flavour import load_flavour

    try:
        return load_flavour(flavour_name).strongly_typed
    except BackendUnavailable:
        return False


def cached(models_dir: str | Path | None = None) -> dict[str, list[dict]]:
    """Artefacts on disk, per kind, with sizes."""
    from .backends.compile_cache import cached_folders

    models = config.models_dir(models_dir)

    def listing(pattern: str) -> list[dict]:
        return [{"file": str(p.relative_to(models)), "bytes": p.stat().st_size}
                for p in sorted(models.glob(pattern))] if models.is_dir() else []
    return {"onnx": listing("*.onnx"), "engines": listing("engines/*.engine"),
            "runtime_caches": listing("engines/*.rtcache"), "aot": listing("aot/*.pt2"),
            "compiled": [{"folder": str(p.relative_to(models)), "bytes": _folder_bytes(p)}
                         for p in cached_folders(models)]}
