"""Capture steps on an opened page, each under its own timeout.

A page whose scripts never yield (a busy loop) blocks evaluate and screenshots; after the first
step that times out, running scripts are terminated through CDP so the later steps can still
render what is on screen.
"""
from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from playwright.async_api import CDPSession, Error as PlaywrightError, Page, Response

from snapshots.capture import extract
from snapshots.capture.config import CaptureConfig
from snapshots.capture.errors import CaptureTransientError
from snapshots.capture.language import detect_language
from snapshots.capture.result import CaptureResult

log = logging.getLogger(__name__)

PAGE_FACTS_SCRIPT = """() => {
  const abs = (u) => { try { return u ? new URL(u, document.baseURI).href : ""; } catch (e) { return ""; } };
  const meta = (sel) => { const el = document.querySelector(sel); return el ? (el.getAttribute("content") || "").trim() : ""; };
  const icon = document.querySelector('link[rel~="icon" i], link[rel="apple-touch-icon" i]');
  const root = document.documentElement, body = document.body;
  return {
    title: (document.title || "").trim(),
    description: meta('meta[name="description" i]') || meta('meta[property="og:description" i]'),
    og_image: abs(meta('meta[property="og:image" i]') || meta('meta[name="og:image" i]')),
    favicon: icon ? abs(icon.getAttribute("href")) : "",
    language: ((root && root.getAttribute("lang")) || "").trim(),
    height: Math.max(body ? body.scrollHeight : 0, root ? root.scrollHeight : 0),
  };
}"""


class PageSteps:
    def __init__(self, page: Page, session: CDPSession, config: CaptureConfig, result: CaptureResult) -> None:
        self.page, self.session, self.config, self.result = page, session, config, result
        self.terminated_scripts = False
        self.page_height = 0

    async def run(self, name: str, action: Callable[[], Awaitable[Any]], timeout_s: float | None = None) -> Any:
        """Run one step; on timeout or page error note it and return None."""
        timeout_s = timeout_s or self.config.step_timeout_s
        tick = time.perf_counter()
        try:
            return await asyncio.wait_for(action(), timeout_s)
        except asyncio.TimeoutError:
            self.result.notes.append(f"{name} skipped: the page did not respond within {timeout_s:g} s")
            await self._terminate_scripts()
        except PlaywrightError as exc:
            self.result.notes.append(f"{name} skipped: {exc.message.splitlines()[0] if exc.message else exc}")
        finally:
            self.result.timings[name] = time.perf_counter() - tick
        return None

    async def _terminate_scripts(self) -> None:
        if self.terminated_scripts:
            return
        self.terminated_scripts = True
        try:
            # Served off the renderer's main thread, so it gets through while a script spins.
            await asyncio.wait_for(self.session.send("Runtime.terminateExecution"), 5)
        except (asyncio.TimeoutError, PlaywrightError):
            log.info("could not stop scripts on %s", self.page.url)
            return
        self.result.notes.append("a script kept the page busy; it was stopped")
        try:
            await asyncio.wait_for(self.session.send("Emulation.setScriptExecutionDisabled", {"value": True}), 5)
        except (asyncio.TimeoutError, PlaywrightError):
            log.info("could not disable scripts on %s", self.page.url)

    async def response_body(self, response: Response) -> bytes | None:
        return await self.run("body", response.body, self.config.nav_timeout_s)

    async def capture_document(self) -> None:
        await self.facts()
        shot = await self.screenshot()
        if shot is None and not self.result.title:
            # Nothing rendered and nothing readable: a retry has a better chance than keeping this.
            raise CaptureTransientError("the page did not respond; nothing could be captured")
        await self.full_page(shot)
        html = await self.run("html", self.page.content)
        if html is not None:
            self.result.keep("html", html.encode("utf-8"), self.config.asset_max_bytes)
            await self.text(html)
        if self.config.keep_mhtml:
            await self.mhtml()
        if self.config.keep_pdf:
            await self.stop_loading()
            pdf = await self.run("pdf", lambda: self.page.pdf(print_background=True))
            self.result.keep("pdf", pdf, self.config.asset_max_bytes)

    async def stop_loading(self) -> None:
        """Cancel what the page is still loading. Printing waits up to about 2 s for loads in
        flight, and what is still loading by now (hosts that never answer, requests kept open) will
        not be in the snapshot anyway."""
        try:
            await asyncio.wait_for(self.session.send("Page.stopLoading"), 5)
        except (asyncio.TimeoutError, PlaywrightError):
            log.info("could not stop loading %s", self.page.url)

    async def facts(self) -> None:
        facts = await self.run("facts", lambda: self.page.evaluate(PAGE_FACTS_SCRIPT))
        if facts is None:
            facts = await self.run("facts_retry", lambda: self.page.evaluate(PAGE_FACTS_SCRIPT), 3)
        facts = facts or {}
        self.result.title = str(facts.get("title") or "")[:1000]
        self.result.description = str(facts.get("description") or "")[:4000]
        self.result.og_image_url = str(facts.get("og_image") or "")[:2048]
        self.result.favicon_url = str(facts.get("favicon") or "")[:2048]
        self.result.language = str(facts.get("language") or "")[:35]
        self.page_height = int(facts.get("height") or 0)

    async def screenshot(self) -> bytes | None:
        shot = await self.run("screenshot", self._capture_png)
        if shot is None:
            shot = await self.run("screenshot_retry", self._capture_png)
        if shot is None:
            return None
        self.result.keep("screenshot", shot, self.config.asset_max_bytes)
        views = await self.run("thumbnail", lambda: asyncio.to_thread(extract.screenshot_views, shot,
                                                                         self.config.thumbnail_width))
        self.result.keep_views(views, self.config.asset_max_bytes)
        return shot

    async def full_page(self, viewport_shot: bytes | None) -> None:
        """Whole page, clipped at full_page_max_height; a page no taller than the view reuses the shot."""
        if not self.config.keep_full_page:
            return
        width, view_height = self.config.viewport
        if self.page_height <= view_height:
            self.result.keep("full_page", viewport_shot, self.config.asset_max_bytes)
            return
        height = min(self.page_height, self.config.full_page_max_height)
        if self.page_height > height:
            self.result.notes.append(f"full page cut at {height} px of {self.page_height} px")
        clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
        shot = await self.run("full_page", lambda: self._capture_png(clip), self.config.step_timeout_s * 2)
        self.result.keep("full_page", shot, self.config.asset_max_bytes)

    async def _capture_png(self, clip: dict | None = None) -> bytes:
        """A PNG straight from the compositor: one CDP call, fast zlib settings, no page scripts.

        With a clip the shot reaches below the viewport without resizing it, so the layout (and any
        100vh section) stays what the viewport shot shows.
        """
        params: dict[str, Any] = {"format": "png", "optimizeForSpeed": True}
        if clip is not None:
            params.update(clip=clip, captureBeyondViewport=True)
        answer = await self.session.send("Page.captureScreenshot", params)
        return base64.b64decode(answer["data"])

    async def text(self, html: str) -> None:
        text = await self.run("text", lambda: asyncio.to_thread(
            extract.readable_text, html, self.result.final_url, self.config.max_text_chars))
        self.result.text = text or ""
        if not self.result.language and self.result.text:  # the page did not say (<html lang>)
            detected = await self.run("language", lambda: asyncio.to_thread(detect_language, self.result.text))
            self.result.language = detected or ""

    async def mhtml(self) -> None:
        snapshot = await self.run("mhtml", lambda: self.session.send("Page.captureSnapshot", {"format": "mhtml"}))
        if snapshot:
            self.result.keep("mhtml", snapshot["data"].encode("utf-8"), self.config.asset_max_bytes)
