"""The fp16 variant of an exported graph, for strongly typed TensorRT (TensorRT for RTX).

Strongly typed networks take their precision from the graph, so an fp16 engine needs an
fp16 ONNX file. It is made from the fp32 export by onnxconverter-common (weights and
activations to float16, inputs and outputs kept as they are: uint8 pixels, int64 tokens,
float32 vectors), then checked against the PyTorch fp32 reference through ONNX Runtime.

One fix-up after the converter: it leaves the graph's own Cast-to-float32 nodes (uint8
pixels -> float, the text mask -> float, the fp32 pooling) as they are while turning the
constants next to them into float16, and a strongly typed parser then refuses the mixed
Sub/Max ("must have same input types"). Those casts are made casts to float16.
File name: <model>-<key>-fp16-<variant key>.onnx beside the fp32 file.
"""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import warnings
from pathlib import Path

from .errors import ExportError
from .export import build_module, check_parity, ensure_onnx
from .specs import ModelSpec

log = logging.getLogger(__name__)

PRECISIONS = ("fp32", "fp16")
FP16_RTOL = 2e-2  # fp16 weights and activations: about 1e-3 to 6e-3 measured


def _converter():
    try:
        from onnxconverter_common import float16
    except ImportError as exc:
        raise ExportError("the fp16 graph needs PyPI package onnxconverter-common "
                          f"(pip install -r requirements-tensorrt.txt): {exc}") from exc
    return float16


def fp16_path(fp32_path: Path) -> Path:
    h = hashlib.sha256(fp32_path.name.encode())
    h.update(Path(__file__).read_bytes())
    h.update(getattr(_converter(), "__file__", "").encode())
    return fp32_path.with_name(f"{fp32_path.stem}-fp16-{h.hexdigest()[:8]}.onnx")


def convert_to_fp16(model):  # onnx.ModelProto -> onnx.ModelProto
    from onnx import TensorProto

    own_casts = {n.name for n in model.graph.node if n.op_type == "Cast"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one warning per weight rounded to fp16's range
        converted = _converter().convert_float_to_float16(model, keep_io_types=True)
    for node in converted.graph.node:
        if node.op_type == "Cast" and node.name in own_casts:
            for attr in node.attribute:
                if attr.name == "to" and attr.i == TensorProto.FLOAT:
                    attr.i = TensorProto.FLOAT16
    del converted.graph.value_info[:]  # stale after the fix-up; consumers infer it again
    return converted


def ensure_onnx_variant(spec: ModelSpec, precision: str = "fp32", models_dir: Path | None = None,
                        check: bool = True) -> Path:
    """Path of the spec's ONNX file in `precision`, exporting / converting (and checking) it if missing."""
    if precision not in PRECISIONS:
        raise ExportError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    source = ensure_onnx(spec, models_dir, check=check)
    if precision == "fp32":
        return source
    path = fp16_path(source)
    if path.exists():
        return path
    import onnx

    fd, tmp = tempfile.mkstemp(suffix=".onnx.tmp", dir=path.parent)
    os.close(fd)
    try:
        onnx.save(convert_to_fp16(onnx.load(str(source))), tmp)
        if check:
            check_parity(build_module(spec), spec, Path(tmp), rtol=FP16_RTOL)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except ExportError:
        raise
    except Exception as exc:  # onnx and the converter raise many unrelated types
        raise ExportError(f"fp16 conversion of {spec.name} failed: {exc}") from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    log.info("fp16 variant of %s: %s", spec.name, path)
    return path
