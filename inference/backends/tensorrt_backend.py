"""TensorRT backend (TensorRT 10/11 or TensorRT for RTX): cached engine -> named-tensor execution.

Engines come from trt_build.py (built on first use, or ahead of time by `python -m inference
build`). Run: set_input_shape / set_tensor_address on torch CUDA tensors and
execute_async_v3 on a private CUDA stream; TensorRT for RTX also gets its runtime cache
(kernels specialised for this GPU) from <models_dir>/engines/*.rtcache and writes it back on
close. A batch above the profile's maximum is split into several calls; other shapes
outside the profile are refused with the ranges the engine accepts. Only TensorRT 10's API
is used (no bindings, no execute_async_v2, no build_engine).
"""
from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BackendError, BackendUnavailable
from .base import Backend, validate_inputs
from .trt_build import build_engine, make_logger
from .trt_flavour import Flavour, load_flavour
from .trt_logic import TRT_TO_TORCH, ProfileShapes, plan_batches, profile_shapes

log = logging.getLogger(__name__)


class TrtEngine:
    """A deserialized engine with one execution context, run on a private stream."""

    def __init__(self, flavour: Flavour, logger, engine_file: Path):
        import torch

        trt = flavour.trt
        self.trt, self.torch, self.flavour = trt, torch, flavour
        self.runtime = trt.Runtime(logger)
        self.engine = self.runtime.deserialize_cuda_engine(engine_file.read_bytes())
        if self.engine is None:
            raise BackendError(f"{flavour.name} could not deserialize {engine_file}: " + "; ".join(logger.errors))
        self.cache_file = engine_file.with_suffix(".rtcache")
        self.runtime_cache = None
        if flavour.rtx:
            config = self.engine.create_runtime_config()
            self.runtime_cache = config.create_runtime_cache()
            if self.cache_file.exists() and not self.runtime_cache.deserialize(self.cache_file.read_bytes()):
                log.info("runtime cache %s is for another GPU or build; starting a new one", self.cache_file)
            config.set_runtime_cache(self.runtime_cache)
            self.context = self.engine.create_execution_context(config)
        else:
            self.context = self.engine.create_execution_context()
        self.stream = torch.cuda.Stream()
        self.inputs, self.outputs = [], []
        for i in range(self.engine.num_io_tensors):
            name = self.engine.get_tensor_name(i)
            is_input = self.engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
            (self.inputs if is_input else self.outputs).append(name)
        self.dtypes = {n: getattr(torch, TRT_TO_TORCH[self.engine.get_tensor_dtype(n).name])
                       for n in self.inputs + self.outputs}

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """CUDA tensors in, CUDA tensors out; ordered after the caller's current stream."""
        torch = self.torch
        caller = torch.cuda.current_stream()
        self.stream.wait_stream(caller)
        with torch.cuda.stream(self.stream):
            for name in self.inputs:
                t = inputs[name]
                if t.dtype != self.dtypes[name] or not t.is_cuda:
                    raise BackendError(f"TensorRT input {name}: got {t.dtype} on {t.device}, "
                                       f"engine wants {self.dtypes[name]} on cuda")
                t = t.contiguous()
                t.record_stream(self.stream)
                if not self.context.set_input_shape(name, tuple(t.shape)):
                    raise BackendError(f"TensorRT rejected shape {tuple(t.shape)} for {name} (outside the profile?)")
                self.context.set_tensor_address(name, t.data_ptr())
            unresolved = self.context.infer_shapes()
            if unresolved:
                raise BackendError(f"TensorRT could not infer output shapes: {unresolved}")
            outputs = {}
            for name in self.outputs:
                shape = tuple(self.context.get_tensor_shape(name))
                outputs[name] = torch.empty(shape, dtype=self.dtypes[name], device="cuda")
                self.context.set_tensor_address(name, outputs[name].data_ptr())
            if not self.context.execute_async_v3(self.stream.cuda_stream):
                raise BackendError("TensorRT execute_async_v3 failed")
        caller.wait_stream(self.stream)
        for t in outputs.values():
            t.record_stream(caller)
        return outputs

    def save_runtime_cache(self) -> None:
        if self.runtime_cache is None:
            return
        data = bytes(self.runtime_cache.serialize())
        fd, tmp = tempfile.mkstemp(suffix=".tmp", dir=self.cache_file.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, self.cache_file)


def load_or_build(flavour: Flavour, logger, models_dir: Path, model: str, shapes: dict[str, ProfileShapes],
                  precision: str, onnx_path: Path | None = None, network_fn=None) -> tuple[TrtEngine, Path]:
    """Reuse a cached engine whose key matches, else build one (from ONNX or network_fn)."""
    built = build_engine(flavour, models_dir, model, shapes, precision, onnx_path, network_fn, logger)
    try:
        return TrtEngine(flavour, logger, built.path), built.path
    except BackendError as exc:
        if built.built:
            raise
        log.warning("cached engine %s unusable (%s); rebuilding", built.path, exc)
    built = build_engine(flavour, models_dir, model, shapes, precision, onnx_path, network_fn, logger, rebuild=True)
    return TrtEngine(flavour, logger, built.path), built.path


def gpu_capability() -> tuple[str, tuple[int, int]]:
    import torch

    index = torch.cuda.current_device()
    return torch.cuda.get_device_name(index), torch.cuda.get_device_capability(index)


class TensorRTBackend(Backend):
    name = "tensorrt"
    OPTIONS = ("fp16", "flavour")

    def __init__(self, *args: Any, fp16: bool | None = None, flavour: str | None = None):
        super().__init__(*args)
        fp16 = fp16 if fp16 is not None else os.environ.get("LINKSHOT_TRT_FP32", "") != "1"
        self.precision = "fp16" if fp16 else "fp32"
        self.flavour_name = flavour

    @property
    def fp16(self) -> bool:
        return self.precision == "fp16"

    @property
    def onnx_precision(self) -> str:
        """Which ONNX variant the registry must provide (fp16 for strongly typed RTX)."""
        return load_flavour(self.flavour_name).onnx_precision(self.precision)

    @classmethod
    def probe(cls) -> None:
        flavour = load_flavour()
        try:
            import torch
        except Exception as exc:
            raise BackendUnavailable(f"tensorrt backend needs torch for CUDA buffers: {exc}") from exc
        if not torch.cuda.is_available():
            raise BackendUnavailable(f"{flavour.name} {flavour.version} loads (engines can be built: python -m "
                                     "inference build) but no CUDA device is visible to run them")
        gpu, cc = gpu_capability()
        if not flavour.supports(cc):
            raise BackendUnavailable(f"{flavour.name} {flavour.version} does not run on {gpu} (compute capability "
                                     f"{cc[0]}.{cc[1]} is not supported)")

    def load(self) -> None:
        import torch

        self.torch = torch
        self.flavour = load_flavour(self.flavour_name)
        self.logger = make_logger(self.flavour.trt)
        self.shapes = profile_shapes(self.spec, self.profile)
        self.engine, self.engine_file = load_or_build(self.flavour, self.logger, self.models_dir, self.spec.name,
                                                      self.shapes, self.precision, onnx_path=self.onnx_path)
        log.info("%s %s engine for %s: %s", self.flavour.name, self.flavour.version, self.spec.name, self.engine_file)

    @property
    def max_batch(self) -> int:
        return 1 << 30  # larger batches are split into profile-sized calls (plan_batches)

    def infer(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        validate_inputs(self.spec, inputs)
        return self._run(inputs)

    def infer_torch(self, inputs: dict[str, Any]) -> dict[str, Any]:
        torch = self.torch
        parts = [self.engine.run({k: v[rows] for k, v in inputs.items()})
                 for rows in plan_batches(self.spec.name, self.shapes, {k: tuple(v.shape) for k, v in inputs.items()})]
        out = {k: torch.cat([p[k] for p in parts]) if len(parts) > 1 else parts[0][k] for k in self.engine.outputs}
        return {k: (v if v.dtype == torch.float32 else v.float()) for k, v in out.items()}

    def _run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        torch = self.torch
        tensors = {k: torch.from_numpy(np.ascontiguousarray(v)).pin_memory().to("cuda", non_blocking=True)
                   for k, v in inputs.items()}
        return {k: v.cpu().numpy() for k, v in self.infer_torch(tensors).items()}

    def close(self) -> None:
        engine, self.engine = getattr(self, "engine", None), None
        if engine is not None:
            engine.save_runtime_cache()
