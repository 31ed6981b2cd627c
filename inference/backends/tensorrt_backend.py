"""TensorRT 10 backend: ONNX -> serialized engine (cached on disk) -> named-tensor execution.

Build: OnnxParser (every parser error reported), builder config with FP16 unless fp32 is
asked for, one optimisation profile over the batch (and sequence) axes, engine serialised
to <models_dir>/engines/ under a key of GPU name + compute capability + TensorRT version +
ONNX hash (+ precision and profile). Run: set_input_shape / set_tensor_address on torch
CUDA tensors and execute_async_v3 on a private CUDA stream. Only TensorRT 10's API is used
(no bindings, no execute_async_v2, no build_engine).
"""
from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BackendError, BackendUnavailable
from ..weights import file_digest
from .base import Backend
from .trt_logic import (TRT_TO_TORCH, ProfileShapes, collect_parser_errors, engine_cache_key, engine_path,
                        format_parser_failure, profile_shapes, workspace_bytes)

log = logging.getLogger(__name__)


def import_tensorrt():
    try:
        import tensorrt as trt
    except Exception as exc:
        raise BackendUnavailable(f"tensorrt requested but `import tensorrt` failed: {exc}") from exc
    if int(trt.__version__.split(".")[0]) < 10:
        raise BackendUnavailable(f"tensorrt requested but version {trt.__version__} < 10 is installed")
    return trt


def make_logger(trt):
    """A TensorRT logger that forwards to `logging` and keeps errors for exception messages."""

    class _Logger(trt.ILogger):
        def __init__(self) -> None:
            trt.ILogger.__init__(self)
            self.errors: list[str] = []

        def log(self, severity, msg):  # noqa: A003 - TensorRT's callback name
            if severity in (trt.ILogger.Severity.INTERNAL_ERROR, trt.ILogger.Severity.ERROR):
                self.errors.append(msg)
                log.error("TensorRT: %s", msg)
            elif severity == trt.ILogger.Severity.WARNING:
                log.warning("TensorRT: %s", msg)
            else:
                log.debug("TensorRT: %s", msg)

    return _Logger()


def build_serialized(trt, logger, network, builder, shapes: dict[str, ProfileShapes], fp16: bool) -> bytes:
    """Builder config (precision, workspace, profile) -> serialized engine bytes."""
    import torch

    config = builder.create_builder_config()
    total = torch.cuda.get_device_properties(torch.cuda.current_device()).total_memory
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_bytes(total))
    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    for name, s in shapes.items():
        profile.set_shape(name, s.min, s.opt, s.max)
    if config.add_optimization_profile(profile) < 0:
        raise BackendError(f"TensorRT rejected the optimisation profile {shapes}")
    logger.errors.clear()
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise BackendError("TensorRT engine build failed: " + ("; ".join(logger.errors) or "no details"))
    return bytes(serialized)


def parse_onnx(trt, logger, builder, onnx_path: Path):
    network = builder.create_network(0)  # explicit batch is the only mode in TensorRT 10
    parser = trt.OnnxParser(network, logger)
    ok = parser.parse_from_file(str(onnx_path))
    errors = collect_parser_errors(parser)
    if not ok or errors:
        raise BackendError(format_parser_failure(onnx_path, errors))
    return network, parser  # the parser owns weights the network refers to: keep it alive


class TrtEngine:
    """A deserialized engine with one execution context, run on a private stream."""

    def __init__(self, trt, logger, serialized: bytes):
        import torch

        self.trt, self.torch = trt, torch
        self.runtime = trt.Runtime(logger)
        self.engine = self.runtime.deserialize_cuda_engine(serialized)
        if self.engine is None:
            raise BackendError("TensorRT could not deserialize the engine: " + "; ".join(logger.errors))
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


def gpu_identity() -> tuple[str, tuple[int, int]]:
    import torch

    index = torch.cuda.current_device()
    return torch.cuda.get_device_name(index), torch.cuda.get_device_capability(index)


def load_or_build(trt, logger, models_dir: Path, model: str, shapes: dict[str, ProfileShapes], fp16: bool,
                  onnx_path: Path | None = None, network_fn=None) -> tuple[TrtEngine, Path]:
    """Reuse a cached engine whose key matches, else build one (from ONNX or network_fn)."""
    gpu, cc = gpu_identity()
    source = file_digest(str(onnx_path)) if onnx_path else "network-api-" + model
    key = engine_cache_key(gpu, cc, trt.__version__, source, fp16, shapes)
    path = engine_path(models_dir, model, gpu, cc, trt.__version__, key, fp16)
    if path.exists():
        try:
            return TrtEngine(trt, logger, path.read_bytes()), path
        except BackendError as exc:  # truncated or from another build: rebuild below
            log.warning("cached engine %s unusable (%s); rebuilding", path, exc)
    builder = trt.Builder(logger)
    network, keep = network_fn(builder) if network_fn else parse_onnx(trt, logger, builder, onnx_path)
    log.info("building TensorRT %s engine for %s (%s) on %s; this takes a while once",
             "fp16" if fp16 else "fp32", model, shapes, gpu)
    data = build_serialized(trt, logger, network, builder, shapes, fp16)
    del keep
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)
    return TrtEngine(trt, logger, data), path


class TensorRTBackend(Backend):
    name = "tensorrt"
    OPTIONS = ("fp16",)

    def __init__(self, *args: Any, fp16: bool | None = None):
        super().__init__(*args)
        self.fp16 = fp16 if fp16 is not None else os.environ.get("LINKSHOT_TRT_FP32", "") != "1"

    @classmethod
    def probe(cls) -> None:
        import_tensorrt()
        try:
            import torch
        except Exception as exc:
            raise BackendUnavailable(f"tensorrt backend needs torch for CUDA buffers: {exc}") from exc
        if not torch.cuda.is_available():
            raise BackendUnavailable("tensorrt requested but no CUDA device is visible")

    def load(self) -> None:
        import torch

        self.torch = torch
        self.trt = import_tensorrt()
        self.logger = make_logger(self.trt)
        shapes = profile_shapes(self.spec, self.profile)
        self.engine, self.engine_file = load_or_build(self.trt, self.logger, self.models_dir, self.spec.name,
                                                      shapes, self.fp16, onnx_path=self.onnx_path)
        log.info("TensorRT %s engine for %s: %s", self.trt.__version__, self.spec.name, self.engine_file)

    def infer_torch(self, inputs: dict[str, Any]) -> dict[str, Any]:
        out = self.engine.run(inputs)
        return {k: (v if v.dtype == self.torch.float32 else v.float()) for k, v in out.items()}

    def _run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        torch = self.torch
        tensors = {k: torch.from_numpy(np.ascontiguousarray(v)).pin_memory().to("cuda", non_blocking=True)
                   for k, v in inputs.items()}
        return {k: v.cpu().numpy() for k, v in self.infer_torch(tensors).items()}

    def close(self) -> None:
        self.engine = None
