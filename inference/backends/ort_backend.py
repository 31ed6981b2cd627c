"""ONNX Runtime backend: the embedded default (CPU; CUDA provider when installed)."""
from __future__ import annotations

import logging

import numpy as np

from .. import config
from ..errors import BackendError, BackendUnavailable
from .base import Backend

log = logging.getLogger(__name__)


class OnnxRuntimeBackend(Backend):
    name = "onnxruntime"

    @classmethod
    def probe(cls) -> None:
        try:
            import onnxruntime  # noqa: F401
        except Exception as exc:
            raise BackendUnavailable(f"onnxruntime requested but `import onnxruntime` failed: {exc}") from exc

    def load(self) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = config.ort_threads()  # 0 = one per core
        opts.inter_op_num_threads = 1
        providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in ort.get_available_providers()]
        try:
            self.session = ort.InferenceSession(str(self.onnx_path), opts, providers=providers)
        except Exception as exc:
            raise BackendError(f"onnxruntime could not load {self.onnx_path}: {exc}") from exc
        log.info("onnxruntime %s session for %s on %s", ort.__version__, self.spec.name, self.session.get_providers())

    def _run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        try:
            outputs = self.session.run(self.spec.output_names, inputs)
        except Exception as exc:
            raise BackendError(f"onnxruntime failed on {self.spec.name}: {exc}") from exc
        return dict(zip(self.spec.output_names, outputs))

    def close(self) -> None:
        self.session = None
