"""Linkshot inference: screenshot and text embeddings, image concepts.

Plain Python (never imports Django). Importing this package loads neither torch nor a GPU
runtime; models load on first use in the process that uses them. See predictor.py.
"""
from __future__ import annotations

from typing import Any

from .errors import (BackendError, BackendUnavailable, ConfigError, ExportError, InferenceError, InvalidImage,
                     InvalidInput, InvalidTensor, InvalidText)

__all__ = ["Predictor", "class_names", "InferenceError", "InvalidInput", "InvalidImage", "InvalidText",
           "InvalidTensor", "BackendUnavailable", "BackendError", "ExportError", "ConfigError"]


def __getattr__(name: str) -> Any:
    # Lazy so `import inference` stays cheap for the web process.
    if name in ("Predictor", "class_names"):
        from . import predictor

        return getattr(predictor, name)
    raise AttributeError(name)
