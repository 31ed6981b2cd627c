"""The two TensorRT flavours behind one backend, and the few places where they differ.

* `tensorrt` — TensorRT 10/11 for data-centre and workstation GPUs. Weakly typed networks:
  fp16 is a builder flag on the fp32 graph. Building needs the GPU the engine will run on;
  the engine is valid for that GPU model and TensorRT build only.
* `tensorrt-rtx` — TensorRT for RTX (`tensorrt_rtx`, or `tensorrt_rtx_bindings` from the
  `tensorrt-rtx-cu13-bindings` wheel). Same builder, OnnxParser, profiles and named-tensor
  execution, but networks are strongly typed (precision comes from the graph: the fp16
  ONNX variant), engines are built ahead of time for a list of compute capabilities without
  any GPU (its CPU-only mode), kernels are specialised at run time into a runtime cache kept
  on disk, and it runs on consumer and workstation GPUs (8.0 / 8.6 / 8.9 / 12.x here), not
  on data-centre Hopper or Blackwell (9.0, 10.x).

`load_flavour` imports whichever is installed (LINKSHOT_TRT_FLAVOUR picks one) and says,
library by library, why the others did not load.
"""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from typing import Any

from ..errors import BackendUnavailable

ENV_FLAVOUR = "LINKSHOT_TRT_FLAVOUR"
ENV_RTX_TARGETS = "LINKSHOT_TRT_RTX_TARGETS"
# Import names tried per flavour, in order.
MODULES = {"tensorrt": ("tensorrt",), "tensorrt-rtx": ("tensorrt_rtx", "tensorrt_rtx_bindings")}
FLAVOUR_ORDER = ("tensorrt", "tensorrt-rtx")
# Compute capabilities TensorRT for RTX builds for ahead of time: A100 (8.0), RTX 30 (8.6),
# RTX 40 (8.9), RTX 50 (12.0). Not Turing (7.5, RTX 20): its builder refuses fp32 matrix
# products ("FP32 GEMM is not supported"), so the fp32 engines cannot target it.
RTX_DEFAULT_TARGETS = ((8, 0), (8, 6), (8, 9), (12, 0))


@dataclass(frozen=True)
class Flavour:
    name: str
    trt: Any = field(repr=False, compare=False)
    module_name: str
    version: str

    @property
    def rtx(self) -> bool:
        return self.name == "tensorrt-rtx"

    @property
    def strongly_typed(self) -> bool:
        """Precision comes from the graph (fp16 ONNX), not from a builder flag."""
        return self.rtx

    @property
    def builds_without_gpu(self) -> bool:
        return self.rtx

    def onnx_precision(self, precision: str) -> str:
        """Which ONNX variant to parse for an engine of `precision`."""
        return precision if self.strongly_typed else "fp32"

    def supports(self, capability: tuple[int, int]) -> bool:
        """Whether engines of this flavour run on a GPU of `capability` (RTX: the build targets)."""
        if not self.rtx:
            return capability >= (7, 5)
        return capability in rtx_targets()

    def tag(self) -> str:
        return ("trtrtx" if self.rtx else "trt") + self.version


def parse_targets(text: str) -> tuple[tuple[int, int], ...]:
    """'8.6,12.0' -> ((8, 6), (12, 0)); raises ValueError on anything else."""
    out = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        major, _, minor = part.partition(".")
        out.append((int(major), int(minor or 0)))
    if not out:
        raise ValueError(f"no compute capabilities in {text!r}")
    return tuple(sorted(set(out)))


def rtx_targets() -> tuple[tuple[int, int], ...]:
    env = os.environ.get(ENV_RTX_TARGETS, "").strip()
    return parse_targets(env) if env else RTX_DEFAULT_TARGETS


def _import(flavour: str) -> tuple[Flavour | None, list[str]]:
    errors = []
    for module_name in MODULES[flavour]:
        try:
            trt = importlib.import_module(module_name)
        except Exception as exc:  # ImportError, or OSError naming a missing shared library
            errors.append(f"`import {module_name}` failed: {exc}")
            continue
        version = str(getattr(trt, "__version__", "0"))
        if flavour == "tensorrt" and int(version.split(".")[0]) < 10:
            errors.append(f"{module_name} {version} is older than TensorRT 10 (the named-tensor API)")
            continue
        return Flavour(flavour, trt, module_name, version), errors
    return None, errors


def load_flavour(name: str | None = None) -> Flavour:
    """The first TensorRT flavour that imports (or the one named / in LINKSHOT_TRT_FLAVOUR)."""
    wanted = (name or os.environ.get(ENV_FLAVOUR, "")).strip().lower().replace("_", "-")
    if wanted in ("", "auto"):
        order = FLAVOUR_ORDER
    elif wanted in MODULES:
        order = (wanted,)
    else:
        raise BackendUnavailable(f"unknown TensorRT flavour {wanted!r}; choose tensorrt, tensorrt-rtx or auto")
    reasons = []
    for flavour in order:
        found, errors = _import(flavour)
        if found is not None:
            return found
        reasons.append(f"{flavour}: " + "; ".join(errors))
    raise BackendUnavailable("no TensorRT library loads: " + " | ".join(reasons))


def flavour_report() -> dict[str, str]:
    """flavour -> 'module version' or why it did not load (for `python -m inference info`)."""
    out = {}
    for flavour in FLAVOUR_ORDER:
        found, errors = _import(flavour)
        out[flavour] = f"{found.module_name} {found.version}" if found else "; ".join(errors)
    return out
