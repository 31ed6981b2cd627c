"""Capture engine: opens a URL in headless Chromium and returns what to keep. No ORM here.

The browser side (Playwright, its driver, the capturer) is imported on first use of a name that
needs it: every Django process imports this package's light modules (errors, config, result)
through the capture jobs, but only the capture worker's children ever open a page, and the web
server, the inference worker and management commands should not carry Playwright.
"""
from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

from snapshots.capture.config import DEFAULT_CHROMIUM_ARGS, CaptureConfig
from snapshots.capture.errors import CaptureError, CapturePermanentError, CaptureRefused, CaptureTransientError
from snapshots.capture.result import CaptureResult

if TYPE_CHECKING:
    from snapshots.capture.capturer import Capturer, close_capturer, get_capturer

__all__ = [
    "DEFAULT_CHROMIUM_ARGS", "CaptureConfig", "CaptureError", "CapturePermanentError",
    "CaptureRefused", "CaptureResult", "CaptureTransientError", "Capturer", "close_capturer", "get_capturer",
    "close_capturer_if_open",
]
_CAPTURER = f"{__name__}.capturer"
_BROWSER_NAMES = {"Capturer", "close_capturer", "get_capturer"}


def __getattr__(name: str) -> Any:
    if name in _BROWSER_NAMES:
        return getattr(importlib.import_module(_CAPTURER), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def close_capturer_if_open() -> None:
    """Close this process's browser if it started one; a process that never captured imports nothing."""
    capturer = sys.modules.get(_CAPTURER)
    if capturer is not None:
        capturer.close_capturer()
