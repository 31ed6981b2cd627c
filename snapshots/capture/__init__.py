"""Capture engine: opens a URL in headless Chromium and returns what to keep. No ORM here."""
from snapshots.capture.capturer import Capturer, close_capturer, get_capturer
from snapshots.capture.config import DEFAULT_CHROMIUM_ARGS, CaptureConfig
from snapshots.capture.errors import CaptureError, CapturePermanentError, CaptureRefused, CaptureTransientError
from snapshots.capture.result import CaptureResult

__all__ = [
    "DEFAULT_CHROMIUM_ARGS", "CaptureConfig", "CaptureError", "CapturePermanentError",
    "CaptureRefused", "CaptureResult", "CaptureTransientError", "Capturer", "close_capturer", "get_capturer",
]
