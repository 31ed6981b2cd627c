"""Building TensorRT engines (either flavour), cached on disk; needs no GPU for TensorRT for RTX.

Parse (OnnxParser, every parser error reported) or build with the network API, configure
(precision per flavour, compute-capability targets, workspace, one optimisation profile),
serialise, write atomically under <models_dir>/engines/ with a key of flavour, version,
targets, precision, profile and ONNX hash (trt_logic.engine_cache_key).
"""
from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..errors import BackendError, BackendUnavailable
from ..weights import file_digest
from .trt_flavour import Flavour, rtx_targets
from .trt_logic import (ProfileShapes, collect_parser_errors, engine_cache_key, engine_path, format_parser_failure,
                        workspace_bytes)

log = logging.getLogger(__name__)
NetworkFn = Callable[[Any], tuple[Any, Any]]  # builder -> (network, objects to keep alive)


def make_logger(trt):
    """A TensorRT logger that forwards to `logging` and keeps errors for exception messages."""

    class _Logger(trt.ILogger):
        def __init__(self) -> None:
            trt.ILogger.__init__(self)
            self.errors: list[str] = []

        def log(self, severity, msg):  # noqa: A003 - TensorRT's callback name
            if severity in (trt.ILogger.Severity.INTERNAL_ERROR, trt.ILogger.Severity.ERROR):
                self.errors.append(msg)
                log.debug("TensorRT error: %s", msg)  # raised with the exception that follows
            elif severity == trt.ILogger.Severity.WARNING:
                log.debug("TensorRT: %s", msg)
            else:
                log.debug("TensorRT: %s", msg)

    return _Logger()


def parse_onnx(trt, logger, builder, onnx_path: Path):
    """ONNX file -> (network, parser); every parser error in the BackendError."""
    network = builder.create_network(0)  # explicit batch is the only mode since TensorRT 10
    parser = trt.OnnxParser(network, logger)
    try:
        ok = parser.parse_from_file(str(onnx_path))
    except Exception as exc:  # a file the protobuf reader cannot even open
        raise BackendError(f"TensorRT could not parse {onnx_path}: {exc}") from exc
    errors = collect_parser_errors(parser)
    if not ok or errors:
        raise BackendError(format_parser_failure(onnx_path, errors))
    return network, parser  # the parser owns weights the network refers to: keep it alive


def engine_targets(flavour: Flavour) -> tuple[tuple[tuple[int, int], ...], str]:
    """(compute capabilities, GPU name) an engine is built for: RTX builds for a list of
    GPUs ahead of time; TensorRT 10 for the GPU in this machine only."""
    if flavour.builds_without_gpu:
        return rtx_targets(), ""
    try:
        import torch
    except ImportError as exc:
        raise BackendUnavailable(f"{flavour.name} builds on the GPU it runs on; torch is missing: {exc}") from exc
    if not torch.cuda.is_available():
        raise BackendUnavailable(f"{flavour.name} {flavour.version} builds only on a GPU, and none is visible")
    index = torch.cuda.current_device()
    return (torch.cuda.get_device_capability(index),), torch.cuda.get_device_name(index)


def configure(flavour: Flavour, builder, shapes: dict[str, ProfileShapes], precision: str,
              targets: tuple[tuple[int, int], ...]):
    trt = flavour.trt
    config = builder.create_builder_config()
    if precision == "fp16" and not flavour.strongly_typed:
        config.set_flag(trt.BuilderFlag.FP16)
    if flavour.rtx:
        config.num_compute_capabilities = len(targets)
        for i, (major, minor) in enumerate(targets):
            name = f"SM{major}{minor}"
            if not hasattr(trt.ComputeCapability, name):
                raise BackendError(f"{flavour.name} {flavour.version} cannot build for compute capability "
                                   f"{major}.{minor}; it knows {sorted(trt.ComputeCapability.__members__)}")
            config.set_compute_capability(getattr(trt.ComputeCapability, name), i)
    total = _gpu_memory()
    if total:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_bytes(total))
    profile = builder.create_optimization_profile()
    for name, s in shapes.items():
        profile.set_shape(name, s.min, s.opt, s.max)
    if config.add_optimization_profile(profile) < 0:
        raise BackendError(f"TensorRT rejected the optimisation profile {shapes}")
    return config


def _gpu_memory() -> int:
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.get_device_properties(torch.cuda.current_device()).total_memory \
        if torch.cuda.is_available() else 0


def build_serialized(flavour: Flavour, logger, builder, network, shapes: dict[str, ProfileShapes], precision: str,
                     targets: tuple[tuple[int, int], ...]) -> bytes:
    """Network -> serialized engine bytes; BackendError carrying every builder error."""
    logger.errors.clear()
    config = configure(flavour, builder, shapes, precision, targets)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise BackendError(f"{flavour.name} {flavour.version} engine build failed: "
                           + ("; ".join(logger.errors) or "no details"))
    return bytes(serialized)


@dataclass
class BuiltEngine:
    path: Path
    size: int
    built: bool  # False: found in the cache
    seconds: float


def engine_location(flavour: Flavour, models_dir: Path, model: str, shapes: dict[str, ProfileShapes],
                    precision: str, onnx_path: Path | None) -> Path:
    targets, device = engine_targets(flavour)
    source = file_digest(str(onnx_path)) if onnx_path else "network-api-" + model
    key = engine_cache_key(flavour.name, flavour.version, targets, precision, shapes, source, device)
    return engine_path(models_dir, model, flavour.tag(), targets, precision, key, device)


def build_engine(flavour: Flavour, models_dir: Path, model: str, shapes: dict[str, ProfileShapes], precision: str,
                 onnx_path: Path | None = None, network_fn: NetworkFn | None = None, logger=None,
                 rebuild: bool = False) -> BuiltEngine:
    """The engine file for these inputs: from the cache, or built now and cached."""
    start = time.perf_counter()
    path = engine_location(flavour, models_dir, model, shapes, precision, onnx_path)
    if path.exists() and not rebuild:
        return BuiltEngine(path, path.stat().st_size, False, time.perf_counter() - start)
    trt = flavour.trt
    logger = logger or make_logger(trt)
    builder = trt.Builder(logger)
    network, keep = network_fn(builder) if network_fn else parse_onnx(trt, logger, builder, onnx_path)
    targets, device = engine_targets(flavour)
    log.info("building %s %s %s engine for %s (%s) for %s", flavour.name, flavour.version, precision, model,
             {k: (v.min, v.opt, v.max) for k, v in shapes.items()}, device or targets)
    data = build_serialized(flavour, logger, builder, network, shapes, precision, targets)
    del keep
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return BuiltEngine(path, len(data), True, time.perf_counter() - start)


def network_structure(network, shapes: dict[str, ProfileShapes]) -> dict[str, Any]:
    """What the builder sees: inputs and outputs (name, type, dims), and every tensor's shape
    at the profile's min / opt / max (an output's dynamic batch axis follows the inputs')."""
    def io(tensor) -> tuple[str, str, tuple[int, ...]]:
        return tensor.name, str(tensor.dtype).split(".")[-1], tuple(tensor.shape)

    inputs = [io(network.get_input(i)) for i in range(network.num_inputs)]
    outputs = [io(network.get_output(i)) for i in range(network.num_outputs)]
    at = {}
    for point in ("min", "opt", "max"):
        batch = getattr(next(iter(shapes.values())), point)[0]
        resolved = {name: getattr(shapes[name], point) for name, _, _ in inputs}
        resolved.update({name: tuple(batch if d == -1 and axis == 0 else d for axis, d in enumerate(dims))
                         for name, _, dims in outputs})
        at[point] = resolved
    return {"inputs": inputs, "outputs": outputs, "shapes": at}
