"""ONNX export with a parity check and a hash-keyed cache under the models directory.

File name: <model>-<key>.onnx, key = sha256 of (weights file bytes, source of the code that
defines and exports the graph, opset). Same weights + same code -> same file, reused;
any change -> a new file, old ones left for `clean`. Writes are atomic (tmp + rename), so
two workers exporting at once both end with a complete file.
"""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from . import config
from .errors import ExportError
from .specs import HEAD, IMAGE, SPECS, TEXT, ModelSpec, random_inputs
from .weights import file_digest, image_weights, text_model_dir

log = logging.getLogger(__name__)

OPSET = 17
PARITY_RTOL = 1e-4
_PACKAGE = Path(__file__).resolve().parent
# Code whose change must produce a new ONNX file.
_EXPORT_SOURCES = ("export.py", "specs.py", "pooling.py", "models/efficientnet.py", "models/minilm.py")


def weights_file(spec: ModelSpec) -> Path:
    return text_model_dir() / "model.safetensors" if spec is TEXT else image_weights()


def cache_key(spec: ModelSpec, weights_digest: str | None = None, code: bytes | None = None) -> str:
    """Hex key of an export: weights bytes + export code + opset."""
    if code is None:
        code = b"".join((_PACKAGE / name).read_bytes() for name in _EXPORT_SOURCES)
    h = hashlib.sha256()
    h.update(spec.name.encode())
    h.update((weights_digest or file_digest(str(weights_file(spec)))).encode())
    h.update(hashlib.sha256(code).digest())
    h.update(str(OPSET).encode())
    return h.hexdigest()[:20]


def onnx_path(spec: ModelSpec, models_dir: Path | None = None) -> Path:
    return config.models_dir(models_dir) / f"{spec.name}-{cache_key(spec)}.onnx"


def build_module(spec: ModelSpec):  # -> torch.nn.Module
    """The PyTorch reference of a spec, fp32, eval mode, CPU."""
    if spec is TEXT:
        from .models.minilm import load_text_encoder

        # Eager attention exports to plain MatMul/Softmax that every ONNX consumer handles.
        return load_text_encoder(text_model_dir(), attn="eager")
    from .models.efficientnet import load_image_encoder

    model = load_image_encoder(image_weights())
    return model.head if spec is HEAD else model


def ensure_onnx(spec: ModelSpec | str, models_dir: Path | None = None, check: bool = True) -> Path:
    """Path of the spec's ONNX file, exporting (and checking) it first if missing."""
    spec = SPECS[spec] if isinstance(spec, str) else spec
    path = onnx_path(spec, models_dir)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    module = build_module(spec)
    fd, tmp = tempfile.mkstemp(suffix=".onnx.tmp", dir=path.parent)
    os.close(fd)
    try:
        _export(module, spec, Path(tmp))
        if check:
            check_parity(module, spec, Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    log.info("exported %s to %s in %.1fs", spec.name, path, time.perf_counter() - start)
    return path


def _export(module, spec: ModelSpec, dest: Path) -> None:
    import torch

    example = {k: torch.from_numpy(v) for k, v in random_inputs(spec, 2, np.random.default_rng(0), seq=16).items()}
    dynamic = {t.name: {i: f"{t.name}_d{i}" for i, d in enumerate(t.shape) if d is None}
               for t in (*spec.inputs, *spec.outputs)}
    if spec is TEXT:  # batch and sequence axes are shared by both inputs
        dynamic = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                   "embeddings": {0: "batch"}}
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # The TorchScript exporter warns about every traced Python branch; they are known.
            warnings.simplefilter("ignore")
            torch.onnx.export(module, tuple(example[n] for n in spec.input_names), str(dest), dynamo=False,
                              opset_version=OPSET, input_names=spec.input_names, output_names=spec.output_names,
                              dynamic_axes=dynamic, do_constant_folding=True)
    except Exception as exc:  # the exporter raises many unrelated types
        raise ExportError(f"ONNX export of {spec.name} failed: {exc}") from exc


def check_parity(module, spec: ModelSpec, path: Path, batch: int = 3, rtol: float = PARITY_RTOL) -> dict[str, float]:
    """Run ONNX Runtime and PyTorch on fresh random inputs; raise ExportError if they differ."""
    import onnxruntime as ort
    import torch

    inputs = random_inputs(spec, batch, np.random.default_rng(), seq=40)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = dict(zip(spec.output_names, session.run(spec.output_names, inputs)))
    with torch.no_grad():
        ref = module(*(torch.from_numpy(inputs[n]) for n in spec.input_names))
    ref = ref if isinstance(ref, tuple) else (ref,)
    errors = {}
    for name, want in zip(spec.output_names, ref):
        want = want.numpy()
        errors[name] = float(np.linalg.norm(got[name] - want) / max(np.linalg.norm(want), 1e-30))
        if not np.isfinite(got[name]).all() or not errors[name] <= rtol:
            raise ExportError(f"{spec.name}: ONNX output {name!r} differs from PyTorch: relative error "
                              f"{errors[name]:.2e} > {rtol:.0e}")
    log.info("%s parity ok: %s", spec.name, {k: f"{v:.1e}" for k, v in errors.items()})
    return errors


def ensure_all(models_dir: Path | None = None) -> dict[str, Path]:
    return {spec.name: ensure_onnx(spec, models_dir) for spec in (IMAGE, TEXT, HEAD)}
