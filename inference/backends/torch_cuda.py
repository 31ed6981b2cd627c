"""torch-cuda backend: the PyTorch modules in fp16, channels_last, replayed as CUDA graphs.

For NVIDIA machines without TensorRT. Batches are padded up to a power of two (and text to
a sequence bucket) so a handful of captured graphs cover every call; a graph replay costs
one launch instead of ~150 kernel launches, which dominates at small batches.
Optionally torch.compile (LINKSHOT_TORCH_COMPILE=1) fuses the pointwise tails of the
convolutions before capture; it costs minutes of compilation per shape, so it is opt-in.
"""
from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np

from ..errors import BackendError, BackendUnavailable
from ..specs import TEXT
from .base import Backend

log = logging.getLogger(__name__)

SEQ_BUCKETS = (32, 64, 128, 256)


def bucket(n: int, limit: int) -> int:
    """Smallest power of two >= n, capped at limit."""
    size = 1
    while size < n:
        size *= 2
    return min(size, limit) if n <= limit else n


def seq_bucket(n: int) -> int:
    return next((b for b in SEQ_BUCKETS if b >= n), n)


class TorchCudaBackend(Backend):
    name = "torch-cuda"
    OPTIONS = ("compile", "graphs")

    def __init__(self, *args: Any, compile: bool | None = None, graphs: bool = True):
        super().__init__(*args)
        self.compile = compile if compile is not None else os.environ.get("LINKSHOT_TORCH_COMPILE", "") == "1"
        self.graphs_enabled = graphs
        self._graphs: dict[tuple[int, ...], tuple[Any, dict, tuple]] = {}

    @property
    def needs_onnx(self) -> bool:
        return False

    @classmethod
    def probe(cls) -> None:
        try:
            import torch
        except Exception as exc:
            raise BackendUnavailable(f"torch-cuda requested but `import torch` failed: {exc}") from exc
        if not torch.cuda.is_available():
            raise BackendUnavailable(f"torch-cuda requested but torch {torch.__version__} sees no CUDA device")

    def load(self) -> None:
        import torch

        from ..export import build_module
        from ..models.efficientnet import fold_batchnorm

        self.torch = torch
        self.device = torch.device("cuda")
        self.stream = torch.cuda.Stream()
        if self.spec is TEXT:
            from ..models.minilm import load_text_encoder
            from ..weights import text_model_dir

            module = load_text_encoder(text_model_dir(), attn="sdpa").half()
        else:
            module = fold_batchnorm(build_module(self.spec))
            module = module.half().to(memory_format=torch.channels_last)
            if hasattr(module, "head"):
                module.head.float()  # the tiny head stays fp32: norms of 1280-d sums
        self.module = module.to(self.device).eval()
        self.forward = self._wrap_head(self.module)
        if self.compile:
            mode = os.environ.get("LINKSHOT_TORCH_COMPILE_MODE", "max-autotune-no-cudagraphs")
            self.forward = torch.compile(self.forward, mode=mode, dynamic=False)
        log.info("torch-cuda %s on %s (fp16, graphs=%s, compile=%s)", self.spec.name,
                 torch.cuda.get_device_name(), self.graphs_enabled, self.compile)

    def _wrap_head(self, module):
        torch = self.torch
        if self.spec is TEXT:
            return module
        if self.spec.name == "head":
            return lambda fmap: module(fmap.float())

        def image_forward(pixels):
            fmap = module.backbone(module.preprocess(pixels).contiguous(memory_format=torch.channels_last))
            return module.head(fmap.float())
        return image_forward

    def _pad(self, inputs: dict[str, Any]) -> tuple[dict[str, Any], int]:
        torch = self.torch
        n = next(iter(inputs.values())).shape[0]
        target = bucket(n, self.max_batch)
        out = {}
        for name, t in inputs.items():
            pad_rows = target - n
            if self.spec is TEXT:
                width = seq_bucket(t.shape[1])
                t = torch.nn.functional.pad(t, (0, width - t.shape[1], 0, pad_rows))
                if name == "attention_mask" and pad_rows:
                    t[n:, 0] = 1  # padded rows attend to one token: no all-masked softmax
            elif pad_rows:
                t = torch.cat([t, t.new_zeros((pad_rows, *t.shape[1:]))])
            out[name] = t
        return out, n

    def infer_torch(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """CUDA tensors in (already validated), fp32 CUDA tensors out, on the caller's stream."""
        torch = self.torch
        padded, n = self._pad(inputs)
        caller = torch.cuda.current_stream()
        self.stream.wait_stream(caller)
        with torch.cuda.stream(self.stream), torch.inference_mode():
            outs = self._graph_call(padded) if self.graphs_enabled else self.forward(*padded.values())
            outs = outs if isinstance(outs, tuple) else (outs,)
            result = {name: o[:n].clone() for name, o in zip(self.spec.output_names, outs)}
        caller.wait_stream(self.stream)
        for t in result.values():
            t.record_stream(caller)
        return result

    def _graph_call(self, inputs: dict[str, Any]):
        torch = self.torch
        key = tuple(s for t in inputs.values() for s in t.shape)
        if key not in self._graphs:
            static = {k: v.clone() for k, v in inputs.items()}
            for _ in range(3):  # warm up on this stream: cuDNN picks algorithms, allocator settles
                self.forward(*static.values())
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, stream=self.stream):
                outs = self.forward(*static.values())
            self._graphs[key] = (graph, static, outs if isinstance(outs, tuple) else (outs,))
            log.debug("captured CUDA graph for %s %s", self.spec.name, key)
        graph, static, outs = self._graphs[key]
        for k, v in inputs.items():
            static[k].copy_(v)
        graph.replay()
        return outs

    def _run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        torch = self.torch
        try:
            tensors = {k: torch.from_numpy(np.ascontiguousarray(v)).pin_memory().to(self.device, non_blocking=True)
                       for k, v in inputs.items()}
            out = self.infer_torch(tensors)
            return {k: v.cpu().numpy() for k, v in out.items()}
        except torch.cuda.OutOfMemoryError as exc:
            raise BackendError(f"torch-cuda ran out of GPU memory on {self.spec.name}: {exc}") from exc

    def close(self) -> None:
        self._graphs.clear()
        self.module = None
