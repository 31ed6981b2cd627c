"""Exception types raised by the inference package.

Callers (Celery tasks) catch `InvalidInput` to mark one item as failed and carry on,
and `BackendUnavailable` / `BackendError` / `ConfigError` to fail the task with a readable reason.
All inherit from `InferenceError`, so one `except InferenceError` catches everything
the package raises on purpose.
"""
from __future__ import annotations


class InferenceError(Exception):
    """Base class of every error raised on purpose by `inference`."""


class InvalidInput(InferenceError, ValueError):
    """An input the models cannot (or must not) process."""


class InvalidImage(InvalidInput):
    """Corrupt, empty, unsupported or oversized image."""


class InvalidText(InvalidInput):
    """Empty, binary, non-string or oversized text."""


class InvalidTensor(InvalidInput):
    """Wrong name, dtype or shape at a backend boundary."""


class BackendUnavailable(InferenceError, RuntimeError):
    """A requested backend cannot load on this machine (missing library, no GPU...)."""


class BackendError(InferenceError, RuntimeError):
    """A backend loaded but failed while building or running a model."""


class ExportError(InferenceError, RuntimeError):
    """ONNX export failed or its output disagrees with the PyTorch reference."""


class ConfigError(InferenceError, ValueError):
    """An environment variable of the package (inference/config.py) has a value it cannot use."""
