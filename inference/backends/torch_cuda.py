"""torch-cuda backend: the PyTorch modules in fp16, channels_last, replayed as CUDA graphs.

For NVIDIA machines without TensorRT. Batches are padded up to a power of two (and text to
a sequence bucket) so a handful of captured graphs cover every call; a graph replay costs
one launch instead of ~150 kernel launches, which dominates at small batches.

Image: EfficientNet-Lite0 with BatchNorm folded into the convolutions, fp16 channels_last,
uint8 NHWC pixels in (normalised inside the graph), the pooling head in fp32. cuDNN picks
its convolution algorithms by timing them (cudnn.benchmark) for this module only.
Text: the MiniLM encoder in its fused form (models/minilm_fast.py): one QKV product per
layer, SDPA attention; a batch whose sequences all fill the bucket width runs without a
mask (flash attention, plain mean pooling). Whether a batch is full is read from the mask
on the host for numpy inputs, or with one small device reduction for CUDA inputs.

Optionally torch.compile (LINKSHOT_TORCH_COMPILE=1, mode LINKSHOT_TORCH_COMPILE_MODE, see
COMPILE_MODES) fuses the pointwise work into generated kernels before capture. It costs
tens of seconds per batch bucket on first use, so it is opt-in. Inductor's full
max-autotune also times generated depthwise-convolution kernels, which lose to cuDNN's by
two to three orders of magnitude and take minutes per bucket to time on an H100; the default
"library-autotune" keeps cuDNN/cuBLAS for convolutions and matrix products and tunes the
generated pointwise kernels. With LINKSHOT_TORCH_DEPTHWISE=taps the image's depthwise
convolutions become shifted-tap sums that fuse with their bias, ReLU6 and padding
(models/fast_image.py; slower than cuDNN on an H100, so off by default).
"""
from __future__ import annotations

import contextlib
import logging
import os
import time
from typing import Any

import numpy as np

from ..errors import BackendError, BackendUnavailable
from ..specs import TEXT
from .base import Backend

log = logging.getLogger(__name__)

SEQ_BUCKETS = (32, 64, 128, 256)
# Inductor settings per compile mode (CUDA graphs are captured by this backend itself).
COMPILE_MODES: dict[str, dict[str, Any]] = {
    "default": {},
    "library-autotune": {"max_autotune": True, "coordinate_descent_tuning": True,
                         "max_autotune_conv_backends": "ATEN", "max_autotune_gemm_backends": "ATEN"},
    "max-autotune-no-cudagraphs": {"max_autotune": True, "coordinate_descent_tuning": True},
}
DEFAULT_COMPILE_MODE = "library-autotune"


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
    OPTIONS = ("compile", "graphs", "compile_mode", "depthwise", "cudnn_benchmark")

    def __init__(self, *args: Any, compile: bool | None = None, graphs: bool = True, compile_mode: str | None = None,
                 depthwise: str | None = None, cudnn_benchmark: bool = True):
        super().__init__(*args)
        self.compile = compile if compile is not None else os.environ.get("LINKSHOT_TORCH_COMPILE", "") == "1"
        self.compile_mode = compile_mode or os.environ.get("LINKSHOT_TORCH_COMPILE_MODE", DEFAULT_COMPILE_MODE)
        self.depthwise = depthwise or os.environ.get("LINKSHOT_TORCH_DEPTHWISE", "cudnn")
        if self.compile_mode not in COMPILE_MODES:
            raise BackendError(f"torch-cuda: compile mode must be one of {sorted(COMPILE_MODES)}, "
                               f"got {self.compile_mode!r}")
        if self.depthwise not in ("cudnn", "taps"):
            raise BackendError(f"torch-cuda: depthwise must be 'cudnn' or 'taps', got {self.depthwise!r}")
        self.cudnn_benchmark = cudnn_benchmark
        self.graphs_enabled = graphs
        self._graphs: dict[tuple, tuple[Any, dict, tuple]] = {}
        self.warmup_seconds: dict[tuple, float] = {}  # first-use cost per graph (compile + capture)

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
            from ..models.minilm_fast import FusedTextEncoder
            from ..weights import text_model_dir

            module = FusedTextEncoder.from_encoder(load_text_encoder(text_model_dir(), attn="sdpa")).half()
        else:
            module = fold_batchnorm(build_module(self.spec))
            if self.depthwise == "taps" and self.compile and hasattr(module, "backbone"):
                from ..models.fast_image import use_tap_depthwise

                use_tap_depthwise(module)
            module = module.half().to(memory_format=torch.channels_last)
            if hasattr(module, "head"):
                module.head.float()  # the tiny head stays fp32: norms of 1280-d sums
        self.module = module.to(self.device).eval()
        self.forward = self._wrap_head(self.module)
        if self.compile:
            dynamo = torch._dynamo.config
            for knob in ("recompile_limit", "cache_size_limit"):  # one compiled graph per bucket
                if hasattr(dynamo, knob):
                    setattr(dynamo, knob, max(getattr(dynamo, knob), 64))
            import torch._inductor.config as inductor

            options = {k: v for k, v in COMPILE_MODES[self.compile_mode].items() if hasattr(inductor, k)}
            self.forward = torch.compile(self.forward, dynamic=False, options=options or None)
        log.info("torch-cuda %s on %s (fp16, graphs=%s, compile=%s%s, depthwise=%s)", self.spec.name,
                 torch.cuda.get_device_name(), self.graphs_enabled, self.compile,
                 f" {self.compile_mode}" if self.compile else "", self.depthwise)

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

    @contextlib.contextmanager
    def _cudnn(self):
        """cudnn.benchmark for this module's calls only (process-wide flag, restored after)."""
        cudnn = self.torch.backends.cudnn
        previous = cudnn.benchmark
        cudnn.benchmark = self.cudnn_benchmark
        try:
            yield
        finally:
            cudnn.benchmark = previous

    def _pad(self, inputs: dict[str, Any], full: bool) -> tuple[list[Any], int, bool]:
        """Inputs padded to the batch (and sequence) bucket, in forward's argument order."""
        torch = self.torch
        n = next(iter(inputs.values())).shape[0]
        target = bucket(n, self.max_batch)
        pad_rows = target - n
        if self.spec is not TEXT:
            args = [t if not pad_rows else torch.cat([t, t.new_zeros((pad_rows, *t.shape[1:]))])
                    for t in inputs.values()]
            return args, n, False
        ids, mask = inputs["input_ids"], inputs["attention_mask"]
        width = seq_bucket(ids.shape[1])
        full = full and width == ids.shape[1]
        ids = torch.nn.functional.pad(ids, (0, width - ids.shape[1], 0, pad_rows))
        if full:
            return [ids], n, True  # padded rows are whole sequences of [PAD]: computed, then dropped
        mask = torch.nn.functional.pad(mask, (0, width - mask.shape[1], 0, pad_rows))
        if pad_rows:
            mask[n:, 0] = 1  # padded rows attend to one token: no all-masked softmax
        return [ids, mask], n, False

    def infer_torch(self, inputs: dict[str, Any], full: bool | None = None) -> dict[str, Any]:
        """CUDA tensors in (already validated), fp32 CUDA tensors out, on the caller's stream.

        `full` (text only): every row's mask is all ones. None = find out on the device."""
        torch = self.torch
        if self.spec is TEXT and full is None:
            full = bool(inputs["attention_mask"].all())
        args, n, full = self._pad(inputs, bool(full))
        caller = torch.cuda.current_stream()
        self.stream.wait_stream(caller)
        with torch.cuda.stream(self.stream), torch.inference_mode(), self._cudnn():
            outs = self._graph_call(args, full) if self.graphs_enabled else self.forward(*args)
            outs = outs if isinstance(outs, tuple) else (outs,)
            result = {name: o[:n].clone() for name, o in zip(self.spec.output_names, outs)}
        caller.wait_stream(self.stream)
        for t in result.values():
            t.record_stream(caller)
        return result

    def _graph_call(self, args: list[Any], full: bool):
        torch = self.torch
        key = (*(s for t in args for s in t.shape), full)
        if key not in self._graphs:
            start = time.perf_counter()
            static = [a.clone() for a in args]
            for _ in range(3):  # warm up on this stream: compile, cuDNN timing, allocator settles
                self.forward(*static)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, stream=self.stream):
                outs = self.forward(*static)
            self._graphs[key] = (graph, static, outs if isinstance(outs, tuple) else (outs,))
            self.stream.synchronize()
            self.warmup_seconds[key] = time.perf_counter() - start
            log.debug("captured CUDA graph for %s %s in %.1fs", self.spec.name, key, self.warmup_seconds[key])
        graph, static, outs = self._graphs[key]
        for dst, src in zip(static, args):
            dst.copy_(src)
        graph.replay()
        return outs

    def _run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        torch = self.torch
        try:
            full = bool(inputs["attention_mask"].all()) if self.spec is TEXT else None
            tensors = {k: torch.from_numpy(np.ascontiguousarray(v)).pin_memory().to(self.device, non_blocking=True)
                       for k, v in inputs.items()}
            out = self.infer_torch(tensors, full=full)
            return {k: v.cpu().numpy() for k, v in out.items()}
        except torch.cuda.OutOfMemoryError as exc:
            raise BackendError(f"torch-cuda ran out of GPU memory on {self.spec.name}: {exc}") from exc

    def close(self) -> None:
        self._graphs.clear()
        self.module = None
