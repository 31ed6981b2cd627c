"""The backend interface: load / infer(dict of arrays) -> dict of arrays / close.

Inputs are validated here, at the boundary, so a wrong dtype or shape becomes an
`InvalidTensor` with a readable message instead of a native crash inside ORT or TensorRT.
"""
from __future__ import annotations

import abc
import logging
from pathlib import Path
from typing import Any

import numpy as np

from ..config import BatchProfile
from ..errors import InvalidTensor
from ..specs import ModelSpec

log = logging.getLogger(__name__)


def validate_inputs(spec: ModelSpec, inputs: dict[str, Any], max_batch: int | None = None) -> None:
    """Check names, dtypes and static dims of a batch against the model's contract."""
    missing = set(spec.input_names) - set(inputs)
    extra = set(inputs) - set(spec.input_names)
    if missing or extra:
        raise InvalidTensor(f"{spec.name}: expected inputs {spec.input_names}, missing {sorted(missing)}, "
                            f"unexpected {sorted(extra)}")
    batch = None
    for t in spec.inputs:
        value = inputs[t.name]
        dtype = str(getattr(value, "dtype", type(value).__name__)).replace("torch.", "")
        if dtype != t.dtype:
            raise InvalidTensor(f"{spec.name}.{t.name}: dtype {dtype}, expected {t.dtype}")
        shape = tuple(getattr(value, "shape", ()))
        if len(shape) != len(t.shape) or any(w is not None and w != s for w, s in zip(t.shape, shape)):
            want = tuple("?" if d is None else d for d in t.shape)
            raise InvalidTensor(f"{spec.name}.{t.name}: shape {shape}, expected {want}")
        if shape[0] == 0 or (batch is not None and shape[0] != batch):
            raise InvalidTensor(f"{spec.name}.{t.name}: batch {shape[0]} (inputs must share one non-zero batch)")
        batch = shape[0]
    if max_batch is not None and batch is not None and batch > max_batch:
        raise InvalidTensor(f"{spec.name}: batch {batch} exceeds this backend's maximum {max_batch}")
    if spec.name == "text":
        _check_text(spec, inputs)


def _check_text(spec: ModelSpec, inputs: dict[str, Any]) -> None:
    ids, mask = inputs["input_ids"], inputs["attention_mask"]
    if ids.shape != mask.shape:
        raise InvalidTensor(f"text: input_ids {tuple(ids.shape)} and attention_mask {tuple(mask.shape)} differ")
    if ids.shape[1] < 1 or ids.shape[1] > 512:
        raise InvalidTensor(f"text: sequence length {ids.shape[1]} outside 1..512")
    if isinstance(ids, np.ndarray) and (ids.min() < 0 or ids.max() >= 30522):
        raise InvalidTensor("text: token ids outside the vocabulary (0..30521)")


class Backend(abc.ABC):
    """One loaded model on one execution engine. Use as a context manager or call close()."""

    name: str = "?"

    def __init__(self, spec: ModelSpec, onnx_path: Path | None, profile: BatchProfile, models_dir: Path):
        self.spec = spec
        self.onnx_path = onnx_path
        self.profile = profile
        self.models_dir = models_dir

    @classmethod
    @abc.abstractmethod
    def probe(cls) -> None:
        """Raise BackendUnavailable if this backend cannot run here (cheap: no model loading)."""

    @property
    def needs_onnx(self) -> bool:
        return True

    @property
    def max_batch(self) -> int:
        return self.profile.max

    @abc.abstractmethod
    def load(self) -> None: ...

    @abc.abstractmethod
    def _run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]: ...

    def infer(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        validate_inputs(self.spec, inputs, self.max_batch)
        return self._run(inputs)

    def close(self) -> None:
        """Release engines and device memory (idempotent)."""

    def __enter__(self) -> "Backend":
        self.load()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
