"""One capture job: a fresh context, a guarded navigation, then each asset with its own timeout."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urljoin

from playwright.async_api import Browser, BrowserContext, Error as PlaywrightError, Page

from snapshots import ssrf
from snapshots.capture import extract
from snapshots.capture.config import CaptureConfig
from snapshots.capture.errors import CapturePermanentError, CaptureRefused, CaptureTransientError
from snapshots.capture.guard import RequestGuard
from snapshots.capture.navigation import (
    NavigationIsDownload, guarded_fetch, open_page, raise_for_status, wait_bounded,
)
from snapshots.capture.quiet import RequestsInFlight
from snapshots.capture.result import CaptureResult
from snapshots.capture.steps import PageSteps

log = logging.getLogger(__name__)

CONTEXT_CLOSE_TIMEOUT_S = 10.0

# Dialogs would block the page forever; popups would escape the one page we watch.
QUIET_PAGE_SCRIPT = """
window.alert = () => {}; window.confirm = () => false; window.prompt = () => null;
window.print = () => {}; window.open = () => null;
"""


async def check_submitted_url(url: str, config: CaptureConfig) -> None:
    try:
        await asyncio.to_thread(ssrf.check_url, url, config.allowed_private)
    except ssrf.HostNotFound as exc:
        raise CapturePermanentError(str(exc)) from exc
    except ssrf.UnsafeURL as exc:
        raise CaptureRefused(f"refused to open {url}: {exc}") from exc


async def capture_in_browser(browser: Browser, config: CaptureConfig, url: str,
                             on_wedged: Callable[[], Awaitable[None]]) -> CaptureResult:
    """Capture url in a fresh context of browser; on_wedged runs if the context will not close."""
    started = time.perf_counter()
    result = CaptureResult(url=url)
    await check_submitted_url(url, config)
    guard = RequestGuard(config.allowed_private)
    tick = time.perf_counter()
    context = await browser.new_context(
        viewport={"width": config.viewport[0], "height": config.viewport[1]},
        service_workers="block", accept_downloads=False, user_agent=config.user_agent,
    )
    crashed = asyncio.Event()
    try:
        page, requests = await _prepare(context, guard)
        page.on("crash", lambda _page: crashed.set())
        # Attached before navigating: a page busy in a script would not answer an attach later.
        steps = PageSteps(page, await context.new_cdp_session(page), config, result)
        result.timings["context"] = time.perf_counter() - tick
        await _capture_page(context, page, requests, steps, guard, config, result)
    finally:
        if not await _close_context(context):
            await on_wedged()
    if crashed.is_set():
        raise CaptureTransientError("the page crashed its browser tab")
    _note_refusals(guard, result)
    result.timings["total"] = time.perf_counter() - started
    return result


async def _prepare(context: BrowserContext, guard: RequestGuard) -> tuple[Page, RequestsInFlight]:
    await guard.install(context)
    await context.add_init_script(QUIET_PAGE_SCRIPT)
    page = await context.new_page()
    context.on("page", lambda other: asyncio.ensure_future(_quiet_close(other)) if other is not page else None)
    page.on("dialog", lambda dialog: asyncio.ensure_future(_dismiss(dialog)))
    requests = RequestsInFlight(page)
    await guard.attach(context, page)
    return page, requests


async def _dismiss(dialog) -> None:
    try:
        await dialog.dismiss()
    except PlaywrightError:
        pass


async def _quiet_close(page: Page) -> None:
    try:
        await page.close()
    except PlaywrightError:
        pass


async def _close_context(context: BrowserContext) -> bool:
    """Close the context; False when it hung (a wedged renderer) and the browser should go."""
    try:
        await asyncio.wait_for(context.close(), CONTEXT_CLOSE_TIMEOUT_S)
    except asyncio.TimeoutError:
        log.warning("a capture context did not close within %s s", CONTEXT_CLOSE_TIMEOUT_S)
        return False
    except PlaywrightError:
        pass  # the browser is gone already; the host relaunches it
    return True


async def _capture_page(context: BrowserContext, page: Page, requests: RequestsInFlight, steps: PageSteps,
                        guard: RequestGuard, config: CaptureConfig, result: CaptureResult) -> None:
    tick = time.perf_counter()
    try:
        response = await open_page(page, result.url, guard, config.nav_timeout_s)
    except NavigationIsDownload:
        await _capture_file(context, guard, config, result)
        return
    result.timings["navigate"] = time.perf_counter() - tick
    if response is None:
        raise CaptureTransientError("the browser returned no response for the page")
    result.http_status = response.status
    result.content_type = response.headers.get("content-type", "")
    media = extract.media_type(result.content_type)
    if response.status >= 400 and media not in ("text/html", "application/xhtml+xml"):
        raise_for_status(response.status, result.url)
    if media == "application/pdf":
        # The browser shows PDFs in its viewer; the document itself comes from a guarded fetch.
        await _capture_file(context, guard, config, result)
        return
    if media.startswith("image/"):
        result.final_url = page.url
        await _keep_image(await steps.response_body(response), config, result, steps)
    else:
        tick = time.perf_counter()
        await wait_bounded(page, requests, config, result.notes)
        result.timings["wait"] = time.perf_counter() - tick
        _raise_if_navigated_to_refusal(page, guard)
        result.final_url = page.url
        await steps.capture_document()
        _raise_if_navigated_to_refusal(page, guard)  # it may have tried again while we captured
    # An error page (404, 500) is kept as captured: the person sees what the site showed.
    raise_for_status(response.status, result.url, kept=result)
    await _keep_favicon(context, guard, config, result)


def _raise_if_navigated_to_refusal(page: Page, guard: RequestGuard) -> None:
    """A page that navigated itself (meta refresh, script) to a refused address is refused too."""
    refusal = guard.main_frame_refusal()
    if refusal is not None:
        raise CaptureRefused(f"the page tried to open {refusal.url}: {refusal.reason}")


async def _capture_file(context: BrowserContext, guard: RequestGuard, config: CaptureConfig,
                        result: CaptureResult) -> None:
    """A URL the browser downloads instead of showing: keep it when it is a PDF or an image."""
    tick = time.perf_counter()
    fetched = await guarded_fetch(context, guard, result.url, config.asset_max_bytes, config.nav_timeout_s)
    result.timings["download"] = time.perf_counter() - tick
    result.final_url, result.http_status, result.content_type = fetched.url, fetched.status, fetched.content_type
    raise_for_status(fetched.status, fetched.url)
    media = extract.media_type(fetched.content_type)
    if fetched.body is None:
        raise CapturePermanentError(f"the file at {result.url} is larger than the {config.asset_max_bytes} byte cap")
    if media == "application/pdf" or fetched.body.startswith(b"%PDF-"):
        await _keep_pdf(fetched.body, config, result)
    elif media.startswith("image/"):
        await _keep_image(fetched.body, config, result, None)
    else:
        raise CapturePermanentError(f"the URL is a file download ({media or 'unknown type'}), not a page")


async def _keep_pdf(body: bytes | None, config: CaptureConfig, result: CaptureResult) -> None:
    if body is None:
        raise CapturePermanentError("the PDF could not be read from the browser")
    tick = time.perf_counter()
    result.keep("pdf", body, config.asset_max_bytes)
    text, title = await asyncio.to_thread(extract.pdf_text, body, config.max_text_chars)
    result.text, result.title = text, result.title or title
    result.timings["pdf_text"] = time.perf_counter() - tick


async def _keep_image(body: bytes | None, config: CaptureConfig, result: CaptureResult, steps) -> None:
    """The image itself becomes the screenshot; formats Pillow cannot read fall back to a shot."""
    png = await asyncio.to_thread(extract.image_as_png, body) if body else None
    if png is None and steps is not None:
        await steps.screenshot()
        return
    if png is None:
        raise CapturePermanentError("the image could not be read")
    result.keep("screenshot", png, config.asset_max_bytes)
    result.keep("thumbnail", await asyncio.to_thread(extract.thumbnail_webp, png, config.thumbnail_width),
                config.asset_max_bytes)


async def _keep_favicon(context: BrowserContext, guard: RequestGuard, config: CaptureConfig,
                        result: CaptureResult) -> None:
    base = result.final_url or result.url
    if not base.startswith(("http://", "https://")):
        return
    url = result.favicon_url or urljoin(base, "/favicon.ico")
    tick = time.perf_counter()
    try:
        fetched = await guarded_fetch(context, guard, url, config.favicon_max_bytes, min(5.0, config.step_timeout_s))
    except CaptureRefused as exc:
        result.notes.append(f"favicon not kept: {exc}")
        result.favicon_url = ""
        return
    except (CaptureTransientError, CapturePermanentError) as exc:
        result.notes.append(f"favicon not kept: {exc}")
        return
    finally:
        result.timings["favicon"] = time.perf_counter() - tick
    media = extract.media_type(fetched.content_type)
    if fetched.status == 200 and fetched.body and (media.startswith("image/") or media in ("", "application/octet-stream")):
        result.favicon_url = fetched.url
        result.favicon_content_type = media or "image/x-icon"
        result.keep("favicon", fetched.body, config.favicon_max_bytes)


def _note_refusals(guard: RequestGuard, result: CaptureResult) -> None:
    if guard.refusals:
        shown = ", ".join(sorted({r.url for r in guard.refusals})[:5])
        result.notes.append(f"blocked {len(guard.refusals)} request(s) to addresses that are not allowed: {shown}")
