"""The synchronous face of the capture engine: one Capturer (one Chromium) per process."""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
from collections.abc import Callable, Iterable

from playwright.async_api import Error as PlaywrightError

from snapshots.capture.browser import BrowserHost
from snapshots.capture.config import CaptureConfig
from snapshots.capture.errors import CaptureError, CaptureTransientError
from snapshots.capture.navigation import first_line
from snapshots.capture.result import CaptureResult
from snapshots.capture.session import capture_in_browser

log = logging.getLogger(__name__)

# Room beyond the job's own limit for closing the context or restarting a wedged browser.
WAIT_MARGIN_S = 30.0


class Capturer:
    """Captures URLs with one reused Chromium and a fresh context per job; thread-safe."""

    def __init__(self, config: CaptureConfig) -> None:
        self.config = config
        self._host = BrowserHost(config)

    def capture(self, url: str) -> CaptureResult:
        """Capture one URL; raises a CaptureError subclass saying whether to retry."""
        try:
            return self._host.run(self._capture(url), self.config.job_timeout_s + WAIT_MARGIN_S)
        except concurrent.futures.TimeoutError:
            raise CaptureTransientError("the capture browser did not answer in time") from None

    def start(self, url: str) -> concurrent.futures.Future:
        """Start capturing url beside whatever else this browser is capturing; returns at once.

        The future ends with the CaptureResult or the CaptureError of this page alone: its own
        limit (job_timeout_s) closes its context and ends it as a transient failure, and the pages
        beside it go on. Cancelling the future stops the page (its context is closed too).
        """
        return self._host.submit(self._capture(url))

    @property
    def answer_within_s(self) -> float:
        """How long a started page may take before its browser counts as wedged (its limit plus room)."""
        return self.config.job_timeout_s + WAIT_MARGIN_S

    def capture_many(self, urls: Iterable[str], concurrency: int = 3) -> list[CaptureResult | CaptureError]:
        """Capture several URLs in parallel contexts of the same browser, in input order.

        Each item is a CaptureResult or the CaptureError that job ended with.
        """
        urls = list(urls)
        timeout = (self.config.job_timeout_s + WAIT_MARGIN_S) * max(1, -(-len(urls) // max(1, concurrency)))
        try:
            return self._host.run(self._capture_many(urls, max(1, concurrency)), timeout)
        except concurrent.futures.TimeoutError:
            raise CaptureTransientError("the capture browser did not answer in time") from None

    async def _capture_many(self, urls: list[str], concurrency: int) -> list[CaptureResult | CaptureError]:
        gate = asyncio.Semaphore(concurrency)

        async def one(url: str) -> CaptureResult | CaptureError:
            async with gate:
                try:
                    return await self._capture(url)
                except CaptureError as exc:
                    return exc

        return list(await asyncio.gather(*(one(url) for url in urls)))

    async def _capture(self, url: str) -> CaptureResult:
        browser = await self._host.browser()
        try:
            return await asyncio.wait_for(
                capture_in_browser(browser, self.config, url, self._host.discard_browser, self._host.egress),
                self.config.job_timeout_s)
        except asyncio.TimeoutError:
            raise CaptureTransientError(f"the capture took longer than {self.config.job_timeout_s:g} s") from None
        except PlaywrightError as exc:
            if not browser.is_connected():
                raise CaptureTransientError("the capture browser crashed or disconnected") from exc
            raise CaptureTransientError(f"the browser failed: {first_line(exc.message or str(exc))}") from exc
        except CaptureTransientError as exc:
            if not browser.is_connected():  # a step saw its page go; the cause is the browser's end
                raise CaptureTransientError(f"the capture browser crashed or disconnected ({exc})") from exc
            raise
        except CaptureError:
            raise
        except Exception as exc:  # noqa: BLE001 - callers handle CaptureError only; keep the trace in logs
            log.exception("unexpected failure capturing %s", url)
            raise CaptureTransientError(f"unexpected capture failure: {exc!r}") from exc

    @property
    def browser_launches(self) -> int:
        return self._host.launches

    def close(self) -> None:
        self._host.close()


_capturers: dict[int, Capturer] = {}
_capturers_lock = threading.Lock()


def get_capturer(config_factory: Callable[[], CaptureConfig] = CaptureConfig) -> Capturer:
    """This process's Capturer, created on first use (so a forked worker child makes its own)."""
    pid = os.getpid()
    with _capturers_lock:
        capturer = _capturers.get(pid)
        if capturer is None:
            capturer = _capturers[pid] = Capturer(config_factory())
        return capturer


def close_capturer() -> None:
    """Close this process's Capturer, if any (worker shutdown, tests)."""
    with _capturers_lock:
        capturer = _capturers.pop(os.getpid(), None)
    if capturer is not None:
        capturer.close()
