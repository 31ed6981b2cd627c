"""The inference worker's Predictor, configured from Django settings (inference/ never reads them)."""
from __future__ import annotations

import os
import time
from functools import lru_cache

from django.conf import settings

from inference import Predictor
from inference.export import cache_key
from inference.specs import IMAGE, TEXT


def backend_name() -> str | None:
    """The configured backend; 'auto' without an NVIDIA driver goes straight to onnxruntime.

    Probing the GPU backends imports torch (about 300 MB of memory) only to find no GPU; a
    4 GB self-hosted machine cannot spare that in every worker process.
    """
    name = settings.LINKSHOT_INFERENCE_BACKEND.strip().lower()
    if name in ("", "auto"):
        return None if os.path.exists("/proc/driver/nvidia") else "onnxruntime"
    return name


def predictor() -> Predictor:
    """This process's predictor (models load on first use, never before a fork)."""
    return Predictor.shared(backend=backend_name(), models_dir=str(settings.LINKSHOT_MODELS_DIR))


def load_models() -> tuple[str, float]:
    """Load both models now instead of at the first batch: (the backends' names, seconds taken)."""
    started = time.monotonic()
    model = predictor()
    model.backend(IMAGE), model.backend(TEXT)
    return ", ".join(sorted(set(model.backend_names().values()))), time.monotonic() - started


@lru_cache(maxsize=1)
def model_version() -> str:
    """The weights + export hash of both models, stored with every analysis."""
    return f"image-{cache_key(IMAGE)[:10]}+text-{cache_key(TEXT)[:10]}"
