"""One Chromium per process, driven from a private asyncio loop in a background thread.

Callers stay synchronous (Celery tasks, scripts) while several captures can share the browser
concurrently, each in its own context. The browser is launched lazily and relaunched when it
crashes or disconnects. The egress proxy runs beside it on a loop of its own: started before the
browser, stopped with it, so a browser never runs without its exit.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Playwright, async_playwright, Error as PlaywrightError

from snapshots.capture.config import CaptureConfig
from snapshots.capture.egress import Exit
from snapshots.capture.egress_proxy import EgressProxyThread
from snapshots.capture.errors import CaptureTransientError

log = logging.getLogger(__name__)

LAUNCH_TIMEOUT_S = 30.0
CLOSE_TIMEOUT_S = 10.0
# Colour emoji in pages set in the default sans-serif font (see the file); a FONTCONFIG_FILE
# of the operator's own is kept.
FONTS_CONF = Path(__file__).with_name("fonts.conf")


def browser_env() -> dict[str, str]:
    return {"FONTCONFIG_FILE": str(FONTS_CONF), **os.environ}


class BrowserHost:
    def __init__(self, config: CaptureConfig) -> None:
        self.config = config
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="linkshot-capture-loop", daemon=True)
        self._thread.start()
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._lock: asyncio.Lock | None = None
        self.egress: EgressProxyThread | None = None
        self.launches = 0

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float) -> Any:
        """Run coro on the browser loop and wait for it from this (any) thread."""
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except BaseException:
            # A Celery soft time limit or our own timeout lands here: stop the job in the loop too.
            future.cancel()
            raise

    def submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future:
        """Start coro on the browser loop and return at once; the caller waits on (or cancels) the future."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    async def browser(self) -> Browser:
        """The running browser, launching (or relaunching after a crash) when needed."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._browser is None or not self._browser.is_connected():
                await self._launch()
            return self._browser

    async def _launch(self) -> None:
        if self._browser is not None:
            log.warning("capture browser disconnected; launching a new one")
            await self._close_browser()
        proxy_url = await self._start_egress()
        try:
            if self._playwright is None:
                self._playwright = await async_playwright().start()
            self._browser = await self._playwright.chromium.launch(
                executable_path=self.config.chromium_path,
                args=self.config.launch_args(proxy_url),
                env=browser_env(),
                timeout=LAUNCH_TIMEOUT_S * 1000,
                handle_sigint=False, handle_sigterm=False, handle_sighup=False,
            )
        except PlaywrightError as exc:
            await self._stop_playwright()
            await self._stop_egress()
            raise CaptureTransientError(f"the capture browser could not start: {exc.message}") from exc
        self.launches += 1
        log.info("capture browser %s started (launch %d)", self._browser.version, self.launches)

    async def _start_egress(self) -> str | None:
        """The browser-wide listener (the default context's exit); captures get listeners of their own."""
        if not self.config.egress_proxy:
            return None
        self.egress = EgressProxyThread(self.config.asset_max_bytes)
        listener = await self.egress.open(Exit(self.config.allowed_private, resolver=self.config.resolver))
        return listener.url

    async def _stop_egress(self) -> None:
        egress, self.egress = self.egress, None
        if egress is not None:
            await egress.stop()

    async def discard_browser(self) -> None:
        """Throw the browser away (it hung); the next job launches a fresh one."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            await self._close_browser()

    async def _close_browser(self) -> None:
        browser, self._browser = self._browser, None
        if browser is None:
            await self._stop_egress()
            return
        try:
            await asyncio.wait_for(browser.close(), CLOSE_TIMEOUT_S)
        except (PlaywrightError, asyncio.TimeoutError):
            log.warning("capture browser did not close cleanly; restarting the driver too")
            await self._stop_playwright()
        finally:
            await self._stop_egress()

    async def _stop_playwright(self) -> None:
        playwright, self._playwright = self._playwright, None
        if playwright is not None:
            try:
                await asyncio.wait_for(playwright.stop(), CLOSE_TIMEOUT_S)
            except (PlaywrightError, asyncio.TimeoutError):
                log.warning("playwright driver did not stop cleanly")

    def close(self) -> None:
        """Close the browser and stop the loop thread; safe to call twice."""
        if not self._loop.is_running():
            return
        try:
            self.run(self._shutdown(), CLOSE_TIMEOUT_S * 2 + 5)
        except Exception:  # noqa: BLE001 - closing must not raise on the way out
            log.warning("capture browser shutdown was not clean", exc_info=True)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _shutdown(self) -> None:
        await self._close_browser()
        await self._stop_playwright()
