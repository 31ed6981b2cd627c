"""Capture settings as plain values, so the engine needs no Django and tests can build one freely.

The engine reads no environment: the worker builds its CaptureConfig from Django settings
(snapshots/capture_jobs/engine_config.py), whose LINKSHOT_CAPTURE_ENGINE reads every
LINKSHOT_CAPTURE_* variable once.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Flags that keep a headless capture browser quiet and lean. Site isolation is off because each job
# gets its own throwaway context (no cookies worth protecting) and one renderer per page is cheaper
# and keeps every frame's requests under the page's own request guard.
# Headless Chromium still builds the browser window's WebUI pieces (omnibox popup, toolbar) for every
# new context, each in a renderer of its own that reacts to every navigation; nobody ever sees them,
# and turning them off cuts a simple page's capture from about 2 to under 1 CPU-second.
# The compositor (GPU process) and the network service run as threads of the browser process rather
# than processes of their own: the same CPU per page, about 160 MiB less summed RSS per browser, and
# a crash of either takes the browser down, which the host already survives by relaunching it.
# Unsandboxed helpers (the storage service) start without a zygote of their own: one process and
# about 70 MiB summed RSS fewer per browser, and they start once per browser, not per page.
BROWSER_UI_FEATURES = (
    "WebUIOmniboxPopup", "WebUIOmniboxFullPopup", "WebUIOmniboxAimPopup", "PreloadTopChromeWebUI",
    "WebUIReloadButton", "WebUIToolbar",
)
DEFAULT_CHROMIUM_ARGS = (
    "--disable-gpu",
    "--in-process-gpu",
    "--no-unsandboxed-zygote",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--mute-audio",
    "--disable-features=" + ",".join(("site-per-process", "IsolateOrigins", "Translate", "MediaRouter",
                                       *BROWSER_UI_FEATURES)),
    "--disable-site-isolation-trials",
    "--enable-features=NetworkServiceInProcess2",
)


@dataclass
class CaptureConfig:
    chromium_path: str = "/usr/bin/chromium"
    viewport: tuple[int, int] = (1280, 800)
    thumbnail_width: int = 400
    full_page_max_height: int = 15000
    asset_max_bytes: int = 50 * 1024 * 1024
    favicon_max_bytes: int = 1024 * 1024
    nav_timeout_s: float = 20.0           # until the first response arrives
    dom_timeout_s: float = 10.0           # then until DOMContentLoaded
    network_quiet_cap_s: float = 3.0      # then at most this long for the load event and network quiet
    network_quiet_s: float = 0.2          # quiet means no request open for this long
    step_timeout_s: float = 10.0          # each screenshot / evaluate / export step
    job_timeout_s: float = 60.0           # the whole capture, whatever happens
    allowed_private: list[str] = field(default_factory=list)
    extra_chromium_args: list[str] = field(default_factory=list)
    user_agent: str | None = None
    keep_full_page: bool = True
    keep_mhtml: bool = True
    keep_pdf: bool = True
    max_text_chars: int = 2_000_000

    @property
    def chromium_args(self) -> list[str]:
        return [*DEFAULT_CHROMIUM_ARGS, *self.extra_chromium_args]
