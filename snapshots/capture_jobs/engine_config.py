"""The capture engine's configuration, built from Django settings (the engine itself has no Django)."""
from __future__ import annotations

import shutil
from pathlib import Path

from django.conf import settings
from django.utils.module_loading import import_string

from snapshots.capture.config import CaptureConfig

DEBIAN_CHROMIUM = "/usr/bin/chromium"
# Leave this share of the Celery soft limit (at most 15 s) to store assets and record the outcome.
_STORE_SHARE = 0.25
_STORE_MARGIN_MAX_SECONDS = 15.0


def chromium_path() -> str:
    """LINKSHOT_CHROMIUM when set, else Debian's Chromium, else whatever `chromium` is on PATH."""
    if settings.LINKSHOT_CHROMIUM:
        return settings.LINKSHOT_CHROMIUM
    if Path(DEBIAN_CHROMIUM).exists():
        return DEBIAN_CHROMIUM
    return shutil.which("chromium") or shutil.which("chromium-browser") or DEBIAN_CHROMIUM


def build_capture_config(**overrides) -> CaptureConfig:
    """The worker's CaptureConfig, from Django settings only (config/settings/base.py reads the environment)."""
    config = CaptureConfig(**{
        **settings.LINKSHOT_CAPTURE_ENGINE,
        "chromium_path": chromium_path(),
        "allowed_private": list(settings.LINKSHOT_ALLOWED_PRIVATE_HOSTS),
        "asset_max_bytes": settings.LINKSHOT_ASSET_MAX_BYTES,
        # The capture's egress proxy resolves names with the same resolver the web side checks with.
        "resolver": import_string(settings.LINKSHOT_DNS_RESOLVER),
        **overrides,
    })
    config.job_timeout_s = min(config.job_timeout_s, capture_budget_s())
    return config


def capture_budget_s() -> float:
    """Seconds a capture task may spend capturing: its soft limit less the room kept for storing."""
    soft = settings.LINKSHOT_CAPTURE_SOFT_TIME_LIMIT
    return soft - min(soft * _STORE_SHARE, _STORE_MARGIN_MAX_SECONDS)
