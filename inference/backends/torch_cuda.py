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

Compilation (`compile`, env LINKSHOT_TORCH_COMPILE, for both models or per model as in
"image=aot,text=off"):
  * "aot": the forward is exported with torch.export and compiled once by
    AOTInductor into a package cached on disk (aot_cache.py, keyed like the TensorRT engines);
    later starts load it in about a second. One package per model variant covers every batch
    bucket (symbolic batch axis; text also a symbolic sequence axis). Inductor fuses the
    pointwise work (bias, ReLU6, padding, normalisation) into generated kernels; CUDA graphs
    are then captured around the compiled code as in the other modes.
  * "jit" (or "1", the default for the image): torch.compile in the process. The first compile of a batch bucket takes
    tens of seconds; Inductor's caches live under <models_dir>/compiled/ (compile_cache.py,
    keyed like the engines), so a later start, in any process, traces the model and loads
    the kernels instead (`python -m inference build` compiles every bucket ahead of time).
  * "off" (or "0", the default for text): the eager modules replayed as CUDA graphs.
Inductor's settings come from COMPILE_MODES (LINKSHOT_TORCH_COMPILE_MODE). Its full
max-autotune also times generated depthwise-convolution kernels, which lose to cuDNN's by
two to three orders of magnitude and take minutes per bucket to time on an H100;
the default "library-autotune" keeps cuDNN/cuBLAS for convolutions and matrix products and tunes
the generated pointwise kernels; "library-autotune-frozen" also turns the weights into constants
(1-3 % faster, but its AOTAutograd trace and freezing passes run at every start, about 3 s more
per bucket). With LINKSHOT_TORCH_DEPTHWISE=taps the image's depthwise
convolutions become shifted-tap sums that fuse with their bias, ReLU6 and padding
(models/fast_image.py; slower than cuDNN on an H100, so off by default).
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

import numpy as np

from .. import config
from ..errors import BackendError, BackendUnavailable
from ..specs import TEXT
from .base import Backend
from .cuda_wait import set_wait

log = logging.getLogger(__name__)
# One graph's first use at a time in the process. The first use times cuDNN's algorithms, which may
# empty the allocator's cache (cudaFree): illegal while another thread of the process captures a
# graph, even in thread_local mode ("operation not permitted when stream is capturing"). The image
# and text models do meet there: a batch's texts are embedded in a second thread beside its images.
_FIRST_USE = threading.Lock()

SEQ_BUCKETS = (32, 64, 128, 256)
# Inductor settings per compile mode (CUDA graphs are captured by this backend itself).
COMPILE_MODES: dict[str, dict[str, Any]] = {
    "default": {},
    "library-autotune": {"max_autotune": True, "coordinate_descent_tuning": True,
                         "max_autotune_conv_backends": "ATEN", "max_autotune_gemm_backends": "ATEN"},
    # No coordinate-descent tuning of the generated kernels: a shorter cold compile, and nothing to
    # tune again at a start from the cache (inductor_warm_start.py keeps the cached tuning for the
    # modes that have it). The speed depends more on the compile (bench/RESULTS.md).
    "library-autotune-no-descent": {"max_autotune": True, "max_autotune_conv_backends": "ATEN",
                                    "max_autotune_gemm_backends": "ATEN"},
    "max-autotune-no-cudagraphs": {"max_autotune": True, "coordinate_descent_tuning": True},
    # The weights become constants: folded, and stored in the layout the kernels want.
    "library-autotune-frozen": {"max_autotune": True, "coordinate_descent_tuning": True, "freezing": True,
                                "max_autotune_conv_backends": "ATEN", "max_autotune_gemm_backends": "ATEN"},
}
DEFAULT_COMPILE_MODE = config.DEFAULT_TORCH_COMPILE_MODE


# Measured on an H200 (bench/RESULTS.md, 2026-12-01): the image compiled by torch.compile runs at
# about 3x eager fp32 (uncompiled 1.46x, the AOT package 2.1-2.3x and slow to load), and its
# compiled graphs come back from the disk cache at later starts; text is as
# fast uncompiled (flash attention, CUDA graphs) and needs no compile per sequence bucket.
DEFAULT_COMPILE = {"image": "jit", "text": "off", "head": "off"}


def compile_choice(value: bool | str | None, model: str = "image") -> str:
    """'aot', 'jit' or 'off' from an option (True = jit, False = off), LINKSHOT_TORCH_COMPILE,
    or the model's default."""
    if value is None:
        return config.torch_compile(model) or DEFAULT_COMPILE.get(model, "off")
    if isinstance(value, bool):
        return "jit" if value else "off"
    try:
        choice = config.compile_kind(str(value), model)  # also per model: "image=aot,text=off"
    except ValueError as exc:
        raise BackendError(f"torch-cuda: {exc}") from None
    return choice or DEFAULT_COMPILE.get(model, "off")


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
    OPTIONS = ("compile", "graphs", "compile_mode", "depthwise", "cudnn_benchmark", "aot_shapes")

    def __init__(self, *args: Any, compile: bool | str | None = None, graphs: bool | None = None,
                 compile_mode: str | None = None, depthwise: str | None = None, cudnn_benchmark: bool | None = None,
                 aot_shapes: str | None = None):
        super().__init__(*args)
        self.compile_kind = compile_choice(compile, self.spec.name)
        # AOT packages: one per variant with a symbolic batch axis ("dynamic"), or one per batch
        # bucket ("static": more compiles, kernels specialised to each size).
        self.aot_shapes = aot_shapes or config.torch_aot_shapes()
        if self.aot_shapes not in ("dynamic", "static"):
            raise BackendError(f"torch-cuda: aot_shapes must be 'dynamic' or 'static', got {self.aot_shapes!r}")
        self.compile = self.compile_kind != "off"
        self.compile_mode = compile_mode or config.torch_compile_mode()
        self.depthwise = depthwise or config.torch_depthwise()
        if self.compile_mode not in COMPILE_MODES:
            raise BackendError(f"torch-cuda: compile mode must be one of {sorted(COMPILE_MODES)}, "
                               f"got {self.compile_mode!r}")
        if self.depthwise not in ("cudnn", "taps"):
            raise BackendError(f"torch-cuda: depthwise must be 'cudnn' or 'taps', got {self.depthwise!r}")
        self.cudnn_benchmark = config.cudnn_benchmark() if cudnn_benchmark is None else cudnn_benchmark
        self.cudnn_benchmark_limit = config.cudnn_benchmark_limit()
        self.cuda_wait = config.cuda_wait()
        self.graphs_enabled = config.cuda_graphs() if graphs is None else graphs
        self._graphs: dict[tuple, tuple[Any, dict, tuple]] = {}
        self.warmup_seconds: dict[tuple, float] = {}  # first-use cost per graph (compile + capture)
        self.first_forward_seconds: dict[tuple, float] = {}  # of which the first call (compile, cuDNN timing)
        self.packages: dict[str, Any] = {}  # AOT variant -> aot_cache.LoadedPackage
        self.compile_folder = None  # where torch.compile's caches are ("jit", once loaded)
        self.cudnn_setup_seconds = 0.0  # cuDNN's libraries and handle, set up at load (image)

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

        # Before the stream below creates the device's context, which takes the flags then.
        if (why := set_wait(self.cuda_wait)) is not None:
            log.warning("torch-cuda: waiting for the GPU as CUDA chooses, not %r: %s", self.cuda_wait, why)
        self.torch = torch
        self.device = torch.device("cuda")
        self.stream = torch.cuda.Stream()
        self.module = None
        if self.compile_kind == "aot":
            self.forward = self._aot_forward
            if self.aot_shapes == "dynamic":
                # Full-row text is what long page texts give: its package loads now, the masked one on first use.
                self._aot_runner(self.spec is not TEXT)
        else:
            from .torch_modules import fast_module

            module = fast_module(self.spec, self.depthwise if self.compile else "cudnn")
            self.module = module.to(self.device).eval()
            self.forward = self._eager_forward(self.module)
            if self.compile_kind == "jit":
                self.forward = self._jit(self.forward)
        if self.spec is not TEXT and self.cudnn_benchmark:
            self._set_up_cudnn()
        log.info("torch-cuda %s on %s (fp16, graphs=%s, compile=%s%s, depthwise=%s)", self.spec.name,
                 torch.cuda.get_device_name(), self.graphs_enabled, self.compile_kind,
                 f" {self.compile_mode}" if self.compile else "", self.depthwise)

    def _set_up_cudnn(self) -> None:
        """Load cuDNN's libraries and create its handle now, with one small depthwise and one
        pointwise convolution: a cost once per process (0.3-0.5 s on an H100) that would otherwise
        land on the first call of the first batch bucket."""
        torch = self.torch
        start = time.perf_counter()
        x = torch.randn(1, 32, 16, 16, device=self.device, dtype=torch.half).contiguous(
            memory_format=torch.channels_last)
        depthwise = torch.randn(32, 1, 3, 3, device=self.device, dtype=torch.half)
        pointwise = torch.randn(16, 32, 1, 1, device=self.device, dtype=torch.half)
        with torch.inference_mode(), self._cudnn():
            torch.nn.functional.conv2d(torch.nn.functional.conv2d(x, depthwise, groups=32), pointwise)
        torch.cuda.synchronize()
        self.cudnn_setup_seconds = time.perf_counter() - start

    def _inductor_options(self, aot: bool = False) -> dict[str, Any]:
        import torch._inductor.config as inductor

        options = dict(COMPILE_MODES[self.compile_mode])
        if aot and self.spec is not TEXT:
            # Inductor turns off its channels-last convolution layouts when the batch is symbolic
            # (a regression seen elsewhere); this model is built for them, so keep them on.
            options["force_layout_optimization"] = True
        return {k: v for k, v in options.items() if hasattr(inductor, k)}

    def _jit(self, forward):
        from .compile_cache import use_cache_folder
        from .inductor_warm_start import keep_coordinate_descent_marks

        self.compile_folder = use_cache_folder(self.models_dir, self._inductor_options())
        keep_coordinate_descent_marks()
        dynamo = self.torch._dynamo.config
        for knob in ("recompile_limit", "cache_size_limit"):  # one compiled graph per bucket
            if hasattr(dynamo, knob):
                setattr(dynamo, knob, max(getattr(dynamo, knob), 64))
        return self.torch.compile(forward, dynamic=False, options=self._inductor_options() or None)

    def _eager_forward(self, module):
        from .torch_modules import graph_module

        return module if self.spec is TEXT else graph_module(self.spec, module)

    def _aot_runner(self, masked: bool, shape: tuple[int, ...] | None = None):
        """The compiled package of one variant (and, static, one shape), from the disk cache or
        compiled now (once)."""
        from ..export import weights_file
        from ..weights import file_digest
        from .aot_cache import load_or_compile
        from .torch_modules import aot_arg_names, aot_spec, fast_module, graph_module, text_variant

        variant = text_variant(masked) if self.spec is TEXT else "full"
        static = self.aot_shapes == "static" and shape is not None
        key = variant + (f"-{'x'.join(map(str, shape))}" if static else "")
        if key not in self.packages:
            spec = aot_spec(self.spec, self.max_batch, variant, self._inductor_options(aot=True), self.depthwise,
                            static_shape=shape if static else None)

            def module_fn():
                return graph_module(self.spec, fast_module(self.spec, self.depthwise).to(self.device), masked)
            self.packages[key] = load_or_compile(module_fn, spec, aot_arg_names(self.spec, variant),
                                                 self.models_dir, file_digest(str(weights_file(self.spec))))
        return self.packages[key].runner

    def _aot_forward(self, *args):
        shape = tuple(args[0].shape)
        if self.spec is TEXT:
            masked = len(args) > 1 and args[1] is not None
            out = self._aot_runner(masked, shape)(*(args if masked else args[:1]))
        else:
            out = self._aot_runner(True, shape)(*args)
        return tuple(out) if isinstance(out, list) else out

    @contextlib.contextmanager
    def _cudnn(self):
        """cudnn.benchmark and its limit for this module's calls only (process-wide flags, restored after)."""
        cudnn = self.torch.backends.cudnn
        previous = cudnn.benchmark, cudnn.benchmark_limit
        cudnn.benchmark, cudnn.benchmark_limit = self.cudnn_benchmark, self.cudnn_benchmark_limit
        try:
            yield
        finally:
            cudnn.benchmark, cudnn.benchmark_limit = previous

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
        key = (*(s for t in args for s in t.shape), full)
        if key not in self._graphs:
            with _FIRST_USE:
                if key not in self._graphs:  # not captured by another thread meanwhile
                    self._capture(key, args)
        graph, static, outs = self._graphs[key]
        for dst, src in zip(static, args):
            dst.copy_(src)
        graph.replay()
        return outs

    def _capture(self, key: tuple, args: list[Any]) -> None:
        """The first use of a shape: compile or load, time cuDNN's algorithms, capture its graph."""
        torch = self.torch
        start = time.perf_counter()
        static = [a.clone() for a in args]
        self.forward(*static)  # compile (or load from the cache), cuDNN timing
        self.stream.synchronize()
        self.first_forward_seconds[key] = time.perf_counter() - start
        for _ in range(2):  # the allocator settles before the capture
            self.forward(*static)
        graph = torch.cuda.CUDAGraph()
        # thread_local: another thread's ordinary CUDA calls (the other model's replays, decoding) stay
        # legal meanwhile; its first uses wait for _FIRST_USE.
        with torch.cuda.graph(graph, stream=self.stream, capture_error_mode="thread_local"):
            outs = self.forward(*static)
        self._graphs[key] = (graph, static, outs if isinstance(outs, tuple) else (outs,))
        self.stream.synchronize()
        self.warmup_seconds[key] = time.perf_counter() - start
        log.debug("captured CUDA graph for %s %s in %.1fs", self.spec.name, key, self.warmup_seconds[key])

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
