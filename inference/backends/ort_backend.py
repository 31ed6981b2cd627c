"""ONNX Runtime backend: the embedded default (CPU; CUDA provider when installed).

On the CPU (no CUDA provider) two things keep a worker's memory flat (bench/RESULTS.md, "Worker
memory with the models loaded"): a batch runs CPU_MAX_BATCH rows at a time (the callers' batches
are unchanged), and the memory arena gives back what a run took when the run ends. Without them
one 64-link batch left the arena holding 2.4 GB (the text model's attention and the image model's
feature maps for the whole batch, kept for the next run); with them a process running both models
at once peaks near 0.45 GB and drops back to about 0.25 GB. Every row is computed on its own, so the
outputs do not change (tests/inference/test_ort_memory.py compares them with a default session's);
speed was the same within the noise of the shared machine. Sessions on the CUDA provider keep
their defaults.
"""
from __future__ import annotations

import logging

import numpy as np

from .. import config
from ..errors import BackendError, BackendUnavailable
from .base import Backend

log = logging.getLogger(__name__)

# Rows per model run on the CPU: 8 texts of 256 tokens or 8 screenshots. Throughput on the CPU
# did not grow with the batch (measured 8-64), only the activation memory did: with both models
# running at once (tagging/analysis/run.py) a process peaked 180 MB higher at 16 than at 8.
CPU_MAX_BATCH = 8
# Run option: free the arena's unused chunks at the end of each run (device "cpu:0").
ARENA_SHRINKAGE = "memory.enable_memory_arena_shrinkage"


def cpu_only(providers: list[str]) -> bool:
    return "CUDAExecutionProvider" not in providers


def session_options(ort):
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = config.ort_threads()  # 0 = one per core
    opts.inter_op_num_threads = 1
    return opts


def run_options(ort, on_cpu: bool):
    options = ort.RunOptions()
    if on_cpu:
        options.add_run_config_entry(ARENA_SHRINKAGE, "cpu:0")
    return options


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

        opts = session_options(ort)  # a bad LINKSHOT_ORT_THREADS is a ConfigError, not a load failure
        providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in ort.get_available_providers()]
        try:
            self.session = ort.InferenceSession(str(self.onnx_path), opts, providers=providers)
        except Exception as exc:
            raise BackendError(f"onnxruntime could not load {self.onnx_path}: {exc}") from exc
        self.on_cpu = cpu_only(self.session.get_providers())
        self.run_options = run_options(ort, self.on_cpu)
        log.info("onnxruntime %s session for %s on %s", ort.__version__, self.spec.name, self.session.get_providers())

    def _run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rows = len(next(iter(inputs.values())))
        step = CPU_MAX_BATCH if self.on_cpu else rows
        parts = [self._run_once({k: v[i:i + step] for k, v in inputs.items()}) for i in range(0, rows, step)]
        if len(parts) == 1:
            return parts[0]
        return {name: np.concatenate([part[name] for part in parts]) for name in self.spec.output_names}

    def _run_once(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        try:
            outputs = self.session.run(self.spec.output_names, inputs, self.run_options)
        except Exception as exc:
            raise BackendError(f"onnxruntime failed on {self.spec.name}: {exc}") from exc
        return dict(zip(self.spec.output_names, outputs))

    def close(self) -> None:
        self.session = None
