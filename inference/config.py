"""Settings of the package: its environment variables, paths, input geometry, limits.

Constructor arguments win; then the environment variables in VARIABLES below; then their
defaults. This module is the only place in `inference/` that reads the environment, one
reader per variable, each failing with a ConfigError that names the variable and the values
it accepts. A variable is read when its value is needed (a process that sets one before it
creates a Predictor or backend is honoured). Nothing here touches Django settings or imports
torch: the package must stay importable alone, and cheaply.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TypeVar

from .errors import ConfigError

T = TypeVar("T")


@dataclass(frozen=True)
class Variable:
    name: str
    default: str
    meaning: str


ENV_MODELS_DIR = "LINKSHOT_MODELS_DIR"
ENV_DATA_DIR = "LINKSHOT_DATA_DIR"
ENV_WEIGHTS_DIR = "LINKSHOT_WEIGHTS_DIR"
ENV_BACKEND = "LINKSHOT_INFERENCE_BACKEND"
ENV_TRT_FLAVOUR = "LINKSHOT_TRT_FLAVOUR"
ENV_TRT_RTX_TARGETS = "LINKSHOT_TRT_RTX_TARGETS"
ENV_TRT_FP32 = "LINKSHOT_TRT_FP32"
ENV_TORCH_COMPILE = "LINKSHOT_TORCH_COMPILE"
ENV_TORCH_COMPILE_MODE = "LINKSHOT_TORCH_COMPILE_MODE"
ENV_TORCH_AOT_SHAPES = "LINKSHOT_TORCH_AOT_SHAPES"
ENV_TORCH_DEPTHWISE = "LINKSHOT_TORCH_DEPTHWISE"
ENV_CUDNN_BENCHMARK = "LINKSHOT_CUDNN_BENCHMARK"
ENV_CUDNN_BENCHMARK_LIMIT = "LINKSHOT_CUDNN_BENCHMARK_LIMIT"
ENV_CUDA_WAIT = "LINKSHOT_CUDA_WAIT"
ENV_CUDA_GRAPHS = "LINKSHOT_CUDA_GRAPHS"
ENV_ORT_THREADS = "LINKSHOT_ORT_THREADS"
ENV_BULK_CPU_SHARE = "LINKSHOT_BULK_CPU_SHARE"
ENV_DECODE_WORKERS = "LINKSHOT_DECODE_WORKERS"

# The checkout's data directory: where the Django side keeps everything by default too.
DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data"
BACKEND_NAMES = ("tensorrt", "torch-cuda", "onnxruntime")  # also the order of automatic choice
BACKEND_ALIASES = {"trt": "tensorrt", "torch": "torch-cuda", "cuda": "torch-cuda", "ort": "onnxruntime",
                   "cpu": "onnxruntime"}
TRT_FLAVOURS = ("tensorrt", "tensorrt-rtx")  # also the order tried
# Compute capabilities TensorRT for RTX builds for ahead of time: A100 (8.0), RTX 30 (8.6),
# RTX 40 (8.9), RTX 50 (12.0). Not Turing (7.5, RTX 20): its builder refuses fp32 matrix
# products ("FP32 GEMM is not supported"), so the fp32 engines cannot target it.
RTX_DEFAULT_TARGETS = ((8, 0), (8, 6), (8, 9), (12, 0))
COMPILE_KINDS = {"": "aot", "aot": "aot", "jit": "jit", "1": "jit", "true": "jit", "off": "off", "0": "off",
                 "false": "off", "none": "off"}
COMPILE_MODELS = ("image", "text", "head")
TORCH_COMPILE_MODES = ("default", "library-autotune", "library-autotune-frozen", "library-autotune-no-descent",
                       "max-autotune-no-cudagraphs")  # torch_cuda.COMPILE_MODES
# Weights not frozen: a batch bucket starts from the cache in 3.8-5.0 s against 7.3 s frozen, at
# 3.19-3.25x eager fp32 against 3.28x (NVIDIA H100, bench/RESULTS.md, 2026-12-07): the frozen graph's
# AOTAutograd trace and freezing passes run again at every start.
DEFAULT_TORCH_COMPILE_MODE = "library-autotune"
# torch's own is 10. 3 started the compiled image model from its cache 5-7 s sooner at the same
# speed on an H100 (bench/RESULTS.md, "Start of the compiled image model from its cache").
DEFAULT_CUDNN_BENCHMARK_LIMIT = 3
# Measured on an H200 host (bench/RESULTS.md): nvJPEG alone up to 5,480 full-size screenshots/s; any
# CPU share of the JPEGs was slower (nvJPEG needs the host cores itself), so 0. PNGs always go to the CPU.
DEFAULT_BULK_CPU_SHARE = 0.0

VARIABLES: tuple[Variable, ...] = (
    Variable(ENV_MODELS_DIR, "$LINKSHOT_DATA_DIR/models", "exported ONNX files, TensorRT engines, AOT packages"),
    Variable(ENV_DATA_DIR, "<checkout>/data", "only as the parent of the default models directory"),
    Variable(ENV_WEIGHTS_DIR, "unset: the weight packages", "a folder written by `python -m inference pack`"),
    Variable(ENV_BACKEND, "auto", "tensorrt, torch-cuda or onnxruntime (trt, torch, cuda, ort, cpu); auto tries "
             "them in that order"),
    Variable(ENV_TRT_FLAVOUR, "auto", "tensorrt or tensorrt-rtx; auto takes the first that imports"),
    Variable(ENV_TRT_RTX_TARGETS, "8.0,8.6,8.9,12.0", "compute capabilities TensorRT for RTX builds for"),
    Variable(ENV_TRT_FP32, "false", "true: fp32 TensorRT engines instead of fp16"),
    Variable(ENV_TORCH_COMPILE, "image=jit", "torch-cuda compilation: off, aot or jit, or per model as "
             "image=aot,text=off"),
    Variable(ENV_TORCH_COMPILE_MODE, DEFAULT_TORCH_COMPILE_MODE, "Inductor settings: "
             + ", ".join(TORCH_COMPILE_MODES)),
    Variable(ENV_TORCH_AOT_SHAPES, "dynamic", "AOT packages: dynamic (one per variant) or static (one per batch "
             "bucket)"),
    Variable(ENV_TORCH_DEPTHWISE, "cudnn", "compiled image depthwise convolutions: cudnn or taps"),
    Variable(ENV_CUDNN_BENCHMARK, "true", "torch-cuda: time cuDNN's convolution algorithms at each shape's "
             "first use (false: take its heuristic choice)"),
    Variable(ENV_CUDNN_BENCHMARK_LIMIT, str(DEFAULT_CUDNN_BENCHMARK_LIMIT), "torch-cuda: how many of cuDNN's "
             "algorithms are timed per shape, its likeliest first (0: all)"),
    Variable(ENV_CUDA_WAIT, "auto", "torch-cuda: how a thread waits for the GPU, auto (CUDA's choice: spin), block, "
             "spin or yield"),
    Variable(ENV_CUDA_GRAPHS, "true", "torch-cuda: capture a CUDA graph of each batch shape at its first use "
             "and replay it (false: launch the kernels each call)"),
    Variable(ENV_ORT_THREADS, "0", "onnxruntime intra-op threads, an integer >= 0 (0: one per core)"),
    Variable(ENV_BULK_CPU_SHARE, "0", "share of each bulk batch decoded on the CPU on GPU hosts, 0 to 1"),
    Variable(ENV_DECODE_WORKERS, "0", "decoding processes of the bulk path on GPU hosts (0: all cores but two)"),
)
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})

# Image model input: one 224x224 RGB frame (the resolution EfficientNet-Lite0 was trained at).
IMAGE_SIZE = 224
FEATURE_DIM = 1280
NUM_CLASSES = 1000
# Text model: MiniLM-L6 with at most 256 tokens per chunk (its training length).
TEXT_DIM = 384
MAX_SEQ_LEN = 256


def _raw(name: str) -> str | None:
    """The variable's value without surrounding spaces; None when unset or empty."""
    value = os.environ.get(name, "").strip()
    return value or None


def settings_report() -> dict[str, str]:
    """Each variable as this environment sets it, or its default (what `python -m inference info` shows)."""
    return {v.name: _raw(v.name) or f"{v.default} (default)" for v in VARIABLES}


def _read(name: str, parse: Callable[[str], T], default: T, accepts: str) -> T:
    raw = _raw(name)
    if raw is None:
        return default
    try:
        return parse(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not valid: expected {accepts}") from None


def parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    raise ValueError("")


def _choice(choices: tuple[str, ...], aliases: dict[str, str] | None = None) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.lower()
        value = (aliases or {}).get(value, value)
        if value not in choices:
            raise ValueError("")
        return value
    return parse


def _number(kind: Callable[[str], T], low: float, high: float | None = None) -> Callable[[str], T]:
    def parse(text: str) -> T:
        try:
            value = kind(text)
        except ValueError:
            raise ValueError("") from None
        if not (low <= value and (high is None or value <= high)):  # written so that NaN fails too
            raise ValueError(f"{value} is out of range")
        return value
    return parse


def _path(text: str) -> Path:
    return Path(text).expanduser()


def canonical_backend(name: str) -> str | None:
    """'ort' -> 'onnxruntime'; None for automatic choice; ValueError for an unknown name."""
    name = name.strip().lower()
    if name in ("", "auto"):
        return None
    name = BACKEND_ALIASES.get(name, name)
    if name not in BACKEND_NAMES:
        raise ValueError(f"unknown backend {name!r}; choose from {', '.join(BACKEND_NAMES)} or auto")
    return name


def canonical_flavour(name: str) -> str | None:
    """A TensorRT flavour name ('tensorrt_rtx' -> 'tensorrt-rtx'); None for automatic choice."""
    name = name.strip().lower().replace("_", "-")
    if name in ("", "auto"):
        return None
    if name not in TRT_FLAVOURS:
        raise ValueError(f"unknown TensorRT flavour {name!r}; choose tensorrt, tensorrt-rtx or auto")
    return name


def parse_targets(text: str) -> tuple[tuple[int, int], ...]:
    """'8.6,12.0' -> ((8, 6), (12, 0)); raises ValueError on anything else."""
    out = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        major, _, minor = part.partition(".")
        out.append((int(major), int(minor or 0)))
    if not out:
        raise ValueError(f"no compute capabilities in {text!r}")
    return tuple(sorted(set(out)))


def compile_kind(value: str, model: str) -> str | None:
    """'aot', 'jit' or 'off' for `model` from 'jit' or 'image=aot,text=off' (None: model not named)."""
    value = value.replace(" ", "").lower()
    if "=" not in value:
        text = value
    else:
        per_model = {}
        for part in filter(None, value.split(",")):
            key, sep, text = part.partition("=")
            if not sep or key not in COMPILE_MODELS:
                raise ValueError(f"compile per model is model=kind with a model of {', '.join(COMPILE_MODELS)}, "
                                 f"got {part!r}")
            per_model[key] = compile_kind(text, key)
        return per_model.get(model)
    if text not in COMPILE_KINDS:
        raise ValueError(f"compile must be aot, jit or off, got {value!r}")
    return COMPILE_KINDS[text]


def models_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Directory holding exported ONNX files and engines (created on demand)."""
    if explicit is not None:
        return Path(explicit)
    data = _read(ENV_DATA_DIR, _path, DEFAULT_DATA_DIR, "a directory")
    return _read(ENV_MODELS_DIR, _path, data / "models", "a directory")


def weights_dir() -> Path | None:
    return _read(ENV_WEIGHTS_DIR, _path, None, "a directory")


def inference_backend() -> str | None:
    """The backend asked for by LINKSHOT_INFERENCE_BACKEND (canonical name; None: automatic)."""
    return _read(ENV_BACKEND, canonical_backend, None, f"{', '.join(BACKEND_NAMES)} or auto")


def trt_flavour() -> str | None:
    return _read(ENV_TRT_FLAVOUR, canonical_flavour, None, "tensorrt, tensorrt-rtx or auto")


def trt_rtx_targets() -> tuple[tuple[int, int], ...]:
    return _read(ENV_TRT_RTX_TARGETS, parse_targets, RTX_DEFAULT_TARGETS, "compute capabilities such as 8.6,12.0")


def trt_fp32() -> bool:
    return _read(ENV_TRT_FP32, parse_bool, False, "1/0, true/false, yes/no or on/off")


def torch_compile(model: str) -> str | None:
    """'aot', 'jit' or 'off' for `model` from LINKSHOT_TORCH_COMPILE; None when it does not say."""
    return _read(ENV_TORCH_COMPILE, lambda text: compile_kind(text, model), None,
                 f"off, aot, jit or per model as image=aot,text=off (models: {', '.join(COMPILE_MODELS)})")


def torch_compile_mode() -> str:
    return _read(ENV_TORCH_COMPILE_MODE, _choice(TORCH_COMPILE_MODES), DEFAULT_TORCH_COMPILE_MODE,
                 ", ".join(TORCH_COMPILE_MODES))


def torch_aot_shapes() -> str:
    return _read(ENV_TORCH_AOT_SHAPES, _choice(("dynamic", "static")), "dynamic", "dynamic or static")


def torch_depthwise() -> str:
    return _read(ENV_TORCH_DEPTHWISE, _choice(("cudnn", "taps")), "cudnn", "cudnn or taps")


def cudnn_benchmark() -> bool:
    return _read(ENV_CUDNN_BENCHMARK, parse_bool, True, "1/0, true/false, yes/no or on/off")


def cudnn_benchmark_limit() -> int:
    return _read(ENV_CUDNN_BENCHMARK_LIMIT, _number(int, 0), DEFAULT_CUDNN_BENCHMARK_LIMIT,
                 "an integer >= 0 (0: every algorithm)")


CUDA_WAITS = ("auto", "block", "spin", "yield")  # cuda_wait.FLAGS


def cuda_graphs() -> bool:
    return _read(ENV_CUDA_GRAPHS, parse_bool, True, "1/0, true/false, yes/no or on/off")


def cuda_wait() -> str:
    return _read(ENV_CUDA_WAIT, _choice(CUDA_WAITS), "auto", ", ".join(CUDA_WAITS))


# torch's own variable, not one of Linkshot's: where Inductor keeps its caches (compile_cache.py).
ENV_INDUCTOR_CACHE = "TORCHINDUCTOR_CACHE_DIR"


def inductor_cache_dir() -> str | None:
    return os.environ.get(ENV_INDUCTOR_CACHE) or None


def point_inductor_cache(folder: Path) -> None:
    """Inductor reads the variable at each lookup, and compile workers inherit it."""
    os.environ[ENV_INDUCTOR_CACHE] = str(folder)


def ort_threads() -> int:
    return _read(ENV_ORT_THREADS, _number(int, 0), 0, "an integer >= 0 (0: one thread per core)")


def decode_workers() -> int:
    return _read(ENV_DECODE_WORKERS, _number(int, 0), 0, "an integer >= 0 (0: all cores but two)")


def bulk_cpu_share() -> float:
    return _read(ENV_BULK_CPU_SHARE, _number(float, 0.0, 1.0), DEFAULT_BULK_CPU_SHARE, "a number from 0 to 1")


@dataclass(frozen=True)
class Limits:
    """Bounds that keep one bad input from taking a worker down.

    max_pixels: 20000x20000 images (400 MP) would need 1.2 GB decoded; full-page screenshots
    of very long pages (1280x40000 = 51 MP) still pass.
    max_text_chars: page text above this is refused rather than tokenised for minutes.
    max_chunks: long text is embedded from its first max_chunks chunks of 254 tokens.
    """

    max_pixels: int = 64_000_000
    max_side: int = 65_500
    max_image_bytes: int = 100 * 1024 * 1024
    max_text_chars: int = 2_000_000
    max_chunks: int = 32


@dataclass(frozen=True)
class BatchProfile:
    """Batch sizes an engine is optimised for (TensorRT profile min/opt/max)."""

    min: int = 1
    opt: int = 32
    max: int = 256

    def __post_init__(self) -> None:
        if not (1 <= self.min <= self.opt <= self.max):
            raise ValueError(f"batch profile needs 1 <= min <= opt <= max, got {self.min}/{self.opt}/{self.max}")


@dataclass(frozen=True)
class Settings:
    models_dir: Path = field(default_factory=models_dir)
    limits: Limits = field(default_factory=Limits)
    image_profile: BatchProfile = field(default_factory=BatchProfile)
    text_profile: BatchProfile = field(default_factory=lambda: BatchProfile(1, 64, 512))
