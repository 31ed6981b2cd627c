"""Compiled PyTorch graphs cached on disk: AOTInductor packages (torch.export, compiled once).

torch.compile costs about half a minute per batch bucket at every worker start. Compiled
ahead of time instead, the generated kernels and their C++ launcher go into one `.pt2`
package under <models_dir>/aot/, keyed like the TensorRT engines: everything the compiled
code depends on (model, variant, input shapes, precision, weights, the source of the model
code, torch and CUDA versions, GPU model and compute capability, Inductor settings). A later
start loads the package (a shared library plus the weights) in about a second; a stale or
unreadable package is rebuilt. Writes are atomic (tmp + rename), so two workers compiling at
once both end with a complete file.

One package covers a range of batch sizes (and sequence lengths): the batch axis is exported
as a symbolic dimension, so all of the backend's batch buckets share one compile.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger(__name__)

_PACKAGE = Path(__file__).resolve().parents[1]
# Code whose change must produce a new package.
AOT_SOURCES = ("backends/aot_cache.py", "backends/torch_cuda.py", "models/efficientnet.py", "models/minilm_fast.py",
               "models/fast_image.py", "pooling.py")


@dataclass(frozen=True)
class AotSpec:
    """What one package is compiled for. `dynamic`: input name -> {axis: (min, max)}."""

    model: str
    variant: str
    example_shapes: dict[str, tuple[int, ...]]
    dtypes: dict[str, str]
    dynamic: dict[str, dict[int, tuple[int, int]]] = field(default_factory=dict)
    precision: str = "fp16"
    inductor: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {"model": self.model, "variant": self.variant, "shapes": self.example_shapes, "dtypes": self.dtypes,
                "dynamic": {k: {str(a): list(r) for a, r in v.items()} for k, v in self.dynamic.items()},
                "precision": self.precision, "inductor": self.inductor}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "cpu"


def code_digest(names: tuple[str, ...] = AOT_SOURCES) -> str:
    h = hashlib.sha256()
    for name in names:
        h.update(name.encode())
        h.update((_PACKAGE / name).read_bytes())
    return h.hexdigest()


def package_key(spec: AotSpec, weights_digest: str, code: str, torch_version: str, cuda_version: str,
                device_name: str, capability: tuple[int, int]) -> str:
    """Hex key of a package: any change to what the compiled code depends on changes it."""
    h = hashlib.sha256()
    parts = (json.dumps(spec.describe(), sort_keys=True, default=str), weights_digest, code, torch_version,
             cuda_version, device_name, f"{capability[0]}.{capability[1]}")
    for part in parts:
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:20]


def package_path(models_dir: Path, spec: AotSpec, key: str, device_name: str, capability: tuple[int, int],
                 torch_version: str) -> Path:
    cc = f"sm{capability[0]}{capability[1]}" if capability != (0, 0) else "cpu"
    torch_tag = torch_version.split("+")[0]
    return (Path(models_dir) / "aot" /
            f"{spec.model}-{spec.variant}-{_slug(device_name)}-{cc}-torch{torch_tag}-{spec.precision}-{key}.pt2")


def device_identity(device: str) -> tuple[str, tuple[int, int], str]:
    """(device name, compute capability, CUDA version) of the device the code will run on."""
    import torch

    if device.startswith("cuda"):
        index = torch.cuda.current_device()
        return torch.cuda.get_device_name(index), torch.cuda.get_device_capability(index), torch.version.cuda or "?"
    import platform

    return f"{platform.machine()}-cpu", (0, 0), "none"


def _dynamic_shapes(spec: AotSpec, arg_names: list[str]):
    from torch.export import Dim

    dims: dict[tuple[int, int], Any] = {}
    out = {}
    for name in arg_names:
        axes = {}
        for axis, (lo, hi) in spec.dynamic.get(name, {}).items():
            # Inputs that share a range on an axis share one symbol (ids and mask: batch and sequence).
            key = (axis, lo, hi)
            if key not in dims:
                dims[key] = Dim(f"{spec.variant.replace('-', '_')}_d{axis}", min=lo, max=hi)
            axes[axis] = dims[key]
        out[name] = axes or None
    return out


def compile_package(module: Any, spec: AotSpec, arg_names: list[str], device: str, dest: Path) -> Path:
    """torch.export the module on example inputs, compile with AOTInductor, write `dest` atomically."""
    import torch

    from ..errors import BackendError

    examples = tuple(_example(spec, name, device) for name in arg_names)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".pt2", dir=dest.parent)
    os.close(fd)
    start = time.perf_counter()
    try:
        with torch.inference_mode(False), torch.no_grad():
            exported = torch.export.export(module, examples, dynamic_shapes=_dynamic_shapes(spec, arg_names),
                                           strict=False)
            torch._inductor.aoti_compile_and_package(exported, package_path=tmp,
                                                     inductor_configs=dict(spec.inductor))
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except Exception as exc:  # export and Inductor raise many unrelated types
        raise BackendError(f"AOTInductor compile of {spec.model}/{spec.variant} failed: {exc}") from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    log.info("compiled %s/%s ahead of time into %s (%.1f MB) in %.1fs", spec.model, spec.variant, dest,
             dest.stat().st_size / 1e6, time.perf_counter() - start)
    return dest


def _example(spec: AotSpec, name: str, device: str):
    import torch

    shape = spec.example_shapes[name]
    dtype = getattr(torch, spec.dtypes[name])
    if dtype.is_floating_point:
        return torch.rand(shape, dtype=dtype, device=device)
    if name == "attention_mask":
        return torch.ones(shape, dtype=dtype, device=device)
    if dtype == torch.uint8:
        return torch.randint(0, 256, shape, dtype=dtype, device=device)
    return torch.randint(1000, 2000, shape, dtype=dtype, device=device)


@dataclass
class LoadedPackage:
    runner: Callable[..., Any]
    path: Path
    compiled: bool  # False: loaded from the cache
    seconds: float


def locate(spec: AotSpec, models_dir: Path, weights_digest: str, device: str = "cuda") -> Path:
    """Where the package for `spec` (compiled for this device and torch) lives in the cache."""
    import torch

    name, cc, cuda = device_identity(device)
    key = package_key(spec, weights_digest, code_digest(), torch.__version__, cuda, name, cc)
    return package_path(models_dir, spec, key, name, cc, torch.__version__)


def load_or_compile(module_fn: Callable[[], Any], spec: AotSpec, arg_names: list[str], models_dir: Path,
                    weights_digest: str, device: str = "cuda") -> LoadedPackage:
    """The package for `spec` from the cache, compiling it first (from `module_fn()`) if missing."""
    import torch

    start = time.perf_counter()
    path = locate(spec, models_dir, weights_digest, device)
    compiled = False
    if path.exists():
        try:
            runner = _load(path, device)
        except Exception as exc:  # truncated, or written by another build of torch: rebuild
            log.warning("compiled package %s unusable (%s); compiling again", path, exc)
            path.unlink(missing_ok=True)
    if not path.exists():
        with torch.inference_mode(False):  # export needs ordinary tensors, also when called from inference
            module = module_fn()
        compile_package(module, spec, arg_names, device, path)
        runner, compiled = _load(path, device), True
    seconds = time.perf_counter() - start
    log.info("%s %s/%s from %s in %.1fs", "compiled" if compiled else "loaded", spec.model, spec.variant,
             path.name, seconds)
    return LoadedPackage(runner, path, compiled, seconds)


def _load(path: Path, device: str):
    import torch

    index = torch.cuda.current_device() if device.startswith("cuda") else -1
    # Single-threaded runner: no container locks or events, so a call can be captured in a CUDA graph.
    return torch._inductor.aoti_load_package(str(path), run_single_threaded=True, device_index=index)


def cached_packages(models_dir: Path) -> list[Path]:
    folder = Path(models_dir) / "aot"
    return sorted(folder.glob("*.pt2")) if folder.is_dir() else []
