"""One capture job: a fresh context, a guarded navigation, then each asset with its own timeout.

Each job has one Exit (one DNS answer per host, one allow-list) shared by the request guard, the
egress proxy listener its browser context is pointed at, and the file downloads it makes.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urljoin

from playwright.async_api import Browser, BrowserContext, Error as PlaywrightError, Page

from snapshots import ssrf
from snapshots.capture import download, extract
from snapshots.capture.config import CaptureConfig
from snapshots.capture.egress import Exit, lookup_pool
from snapshots.capture.egress_proxy import EgressProxyThread
from snapshots.capture.errors import CapturePermanentError, CaptureRefused, CaptureTransientError
from snapshots.capture.guard import RequestGuard
from snapshots.capture.navigation import (
    NavigationIsDownload, open_page, raise_for_egress_answer, raise_for_status, wait_bounded,
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


async def check_submitted_url(url: str, config: CaptureConfig, exit_: Exit) -> None:
    try:
        await asyncio.get_running_loop().run_in_executor(
            lookup_pool(), ssrf.check_url, url, exit_.allowed_private, exit_.resolver)
    except ssrf.HostNotFound as exc:
        raise CapturePermanentError(str(exc)) from exc
    except ssrf.UnsafeURL as exc:
        raise CaptureRefused(f"refused to open {url}: {exc}") from exc


@dataclass
class Job:
    """What one capture works with besides the page: its config, result, guard and exit."""
    config: CaptureConfig
    result: CaptureResult
    guard: RequestGuard
    exit: Exit
    context: BrowserContext | None = None
    user_agent: str = ""


async def capture_in_browser(browser: Browser, config: CaptureConfig, url: str,
                             on_wedged: Callable[[], Awaitable[None]], egress: EgressProxyThread | None = None,
                             ) -> CaptureResult:
    """Capture url in a fresh context of browser; on_wedged runs if the context will not close.

    With egress, the context sends everything through a listener of its own bound to this job's exit.
    """
    started = time.perf_counter()
    if config.egress_proxy and egress is None:  # never capture without the exit; the host relaunches
        raise CaptureTransientError("the capture egress proxy is not running")
    exit_ = Exit(config.allowed_private, resolver=config.resolver)
    job = Job(config, CaptureResult(url=url), RequestGuard(exit_.allowed_private, resolver=exit_.resolver), exit_)
    await check_submitted_url(url, config, exit_)
    listener = await egress.open(exit_, config.asset_max_bytes) if egress is not None else None
    try:
        await _capture_in_context(browser, job, on_wedged, listener.url if listener else None)
    finally:
        if listener is not None:
            await egress.close(listener)
    _note_refusals(job)
    job.result.timings["total"] = time.perf_counter() - started
    return job.result


async def _capture_in_context(browser: Browser, job: Job, on_wedged: Callable[[], Awaitable[None]],
                              proxy_url: str | None) -> None:
    tick = time.perf_counter()
    config = job.config
    job.context = context = await browser.new_context(
        viewport={"width": config.viewport[0], "height": config.viewport[1]},
        service_workers="block", accept_downloads=False, user_agent=config.user_agent,
        proxy={"server": proxy_url, "bypass": "<-loopback>"} if proxy_url else None,
    )
    job.user_agent = config.user_agent or browser_user_agent(browser)
    crashed = asyncio.Event()
    try:
        page, requests = await _prepare(context, job.guard)
        page.on("crash", lambda _page: crashed.set())
        # Attached before navigating: a page busy in a script would not answer an attach later.
        steps = PageSteps(page, await context.new_cdp_session(page), config, job.result)
        job.result.timings["context"] = time.perf_counter() - tick
        await _capture_page(job, page, requests, steps)
    finally:
        if not await _close_context(context):
            await on_wedged()
    if crashed.is_set():
        raise CaptureTransientError("the page crashed its browser tab")


def browser_user_agent(browser: Browser) -> str:
    """What the browser calls itself, for the downloads made beside it (headless marker left out)."""
    return (f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{browser.version} Safari/537.36")


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


async def _capture_page(job: Job, page: Page, requests: RequestsInFlight, steps: PageSteps) -> None:
    config, result, guard = job.config, job.result, job.guard
    tick = time.perf_counter()
    try:
        response = await open_page(page, result.url, guard, config.nav_timeout_s, job.exit)
    except NavigationIsDownload:
        await _capture_file(job)
        return
    result.timings["navigate"] = time.perf_counter() - tick
    if response is None:
        raise CaptureTransientError("the browser returned no response for the page")
    raise_for_egress_answer(response, result.url, config.asset_max_bytes)
    result.http_status = response.status
    result.content_type = response.headers.get("content-type", "")
    media = extract.media_type(result.content_type)
    if response.status >= 400 and media not in ("text/html", "application/xhtml+xml"):
        raise_for_status(response.status, result.url)
    if media == "application/pdf":
        # The browser shows PDFs in its viewer; the document itself comes from a checked download.
        await _capture_file(job)
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
    await _keep_favicon(job)


def _raise_if_navigated_to_refusal(page: Page, guard: RequestGuard) -> None:
    """A page that navigated itself (meta refresh, script) to a refused address is refused too."""
    refusal = guard.main_frame_refusal()
    if refusal is not None:
        raise CaptureRefused(f"the page tried to open {refusal.url}: {refusal.reason}")


async def _fetch(job: Job, url: str, max_bytes: int, timeout_s: float) -> download.Fetched:
    """A download beside the page, with the context's cookies, through the job's exit."""
    headers = {"user-agent": job.user_agent, "accept": "*/*"}
    try:
        cookies = await job.context.cookies(url)
    except PlaywrightError:
        cookies = []
    if cookies:
        headers["cookie"] = "; ".join(f"{c['name']}={c['value']}" for c in cookies)
    return await download.fetch(job.exit, url, max_bytes, timeout_s, headers)


async def _capture_file(job: Job) -> None:
    """A URL the browser downloads instead of showing: keep it when it is a PDF or an image."""
    config, result = job.config, job.result
    tick = time.perf_counter()
    fetched = await _fetch(job, result.url, config.asset_max_bytes, config.nav_timeout_s)
    result.timings["download"] = time.perf_counter() - tick
    result.final_url, result.http_status, result.content_type = fetched.url, fetched.status, fetched.content_type
    raise_for_status(fetched.status, fetched.url)
    media = extract.media_type(fetched.content_type)
    if fetched.body is None:
        what = "PDF" if media == "application/pdf" else "image" if media.startswith("image/") else "file"
        raise CapturePermanentError(f"the {what} is larger than {download.size_in_words(config.asset_max_bytes)}")
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
    result.keep_views(await asyncio.to_thread(extract.screenshot_views, png, config.thumbnail_width),
                      config.asset_max_bytes)


async def _keep_favicon(job: Job) -> None:
    config, result = job.config, job.result
    base = result.final_url or result.url
    if not base.startswith(("http://", "https://")):
        return
    url = result.favicon_url or urljoin(base, "/favicon.ico")
    tick = time.perf_counter()
    try:
        fetched = await _fetch(job, url, config.favicon_max_bytes, min(5.0, config.step_timeout_s))
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


def _note_refusals(job: Job) -> None:
    urls = {r.url for r in job.guard.refusals} | {r.target for r in job.exit.refusals}
    count = len(job.guard.refusals) + len(job.exit.refusals)
    if urls:
        shown = ", ".join(sorted(urls)[:5])
        job.result.notes.append(f"blocked {count} request(s) to addresses that are not allowed: {shown}")
    if job.exit.oversize:
        job.result.notes.append(f"{len(job.exit.oversize)} response(s) cut at the "
                                f"{download.size_in_words(job.config.asset_max_bytes)} cap")
