"""Settings shared by the package: paths, input geometry, limits.

Everything comes from constructor arguments first, then environment variables, then these
defaults; nothing here touches Django settings (the package must stay importable alone).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ENV_MODELS_DIR = "LINKSHOT_MODELS_DIR"
ENV_BACKEND = "LINKSHOT_INFERENCE_BACKEND"
DEFAULT_MODELS_DIR = Path("data") / "models"

# Image model input: one 224x224 RGB frame (the resolution EfficientNet-Lite0 was trained at).
IMAGE_SIZE = 224
FEATURE_DIM = 1280
NUM_CLASSES = 1000
# Text model: MiniLM-L6 with at most 256 tokens per chunk (its training length).
TEXT_DIM = 384
MAX_SEQ_LEN = 256


def models_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Directory holding exported ONNX files and engines (created on demand)."""
    if explicit is not None:
        return Path(explicit)
    env = os.environ.get(ENV_MODELS_DIR, "").strip()
    return Path(env) if env else DEFAULT_MODELS_DIR


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
