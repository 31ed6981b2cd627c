"""Opening the URL: bounded navigation and error classification."""
from __future__ import annotations

import asyncio
import logging

from playwright.async_api import Error as PlaywrightError, Page, Response
from playwright.async_api import TimeoutError as PlaywrightTimeout

from snapshots.capture.config import CaptureConfig
from snapshots.capture.download import size_in_words
from snapshots.capture.errors import CapturePermanentError, CaptureRefused, CaptureTransientError
from snapshots.capture.egress import Exit
from snapshots.capture.guard import RequestGuard
from snapshots.capture.quiet import RequestsInFlight, wait_loaded_and_quiet

log = logging.getLogger(__name__)

# Chromium net errors that will not go away by retrying.
PERMANENT_NET_ERRORS = {
    "ERR_NAME_NOT_RESOLVED": "the host name could not be found",
    "ERR_CERT_": "the site's TLS certificate is not valid",
    "ERR_SSL_": "a secure connection to the site could not be made",
    "ERR_INVALID_URL": "the URL is not valid",
    "ERR_UNSAFE_PORT": "the browser refuses to connect to that port",
    "ERR_INVALID_RESPONSE": "the site sent an invalid response",
    "ERR_TOO_MANY_REDIRECTS": "the site redirects in a loop",
    "ERR_BLOCKED_BY_RESPONSE": "the site refuses to be shown",
    # Nothing listens there: a retry minutes later finds the same closed port.
    "ERR_CONNECTION_REFUSED": "nothing answers at that address (connection refused)",
}
DOWNLOAD_MARKERS = ("Download is starting", "net::ERR_ABORTED")


class NavigationIsDownload(Exception):
    """The URL answers with a file the browser would download instead of showing."""


def raise_for_navigation_error(exc: PlaywrightError, guard: RequestGuard, url: str, timeout_s: float,
                               exit_: Exit | None = None) -> None:
    """Turn a failed page.goto into the right CaptureError (or NavigationIsDownload)."""
    refusal = guard.main_frame_refusal()
    if refusal is not None:
        raise CaptureRefused(f"refused to open {refusal.url}: {refusal.reason}") from exc
    if exit_ is not None and exit_.refusals and "ERR_TUNNEL_CONNECTION_FAILED" in (exc.message or ""):
        last = exit_.refusals[-1]
        raise CaptureRefused(f"refused to open {last.target}: {last.reason}") from exc
    if isinstance(exc, PlaywrightTimeout):
        raise CaptureTransientError(f"the site did not answer within {timeout_s:g} s") from exc
    message = exc.message or str(exc)
    if any(marker in message for marker in DOWNLOAD_MARKERS):
        raise NavigationIsDownload(url) from exc
    for code, reason in PERMANENT_NET_ERRORS.items():
        if code in message:
            raise CapturePermanentError(f"{reason} ({first_line(message)})") from exc
    raise CaptureTransientError(f"the page could not be opened: {first_line(message)}") from exc


def first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else "unknown error"


def raise_for_status(status: int | None, url: str, kept=None) -> None:
    """An HTTP error answer ends the capture; ``kept`` (what was captured of the error page) goes along."""
    if status is None or status < 400:
        return
    error_type = CaptureTransientError if status >= 500 else CapturePermanentError
    error = error_type(f"the site answered HTTP {status} for {url}")
    error.kept = kept
    raise error


async def open_page(page: Page, url: str, guard: RequestGuard, nav_timeout_s: float,
                    exit_: Exit | None = None) -> Response | None:
    """Navigate until the first response has been committed; the caller waits for more."""
    try:
        return await page.goto(url, wait_until="commit", timeout=nav_timeout_s * 1000)
    except PlaywrightError as exc:
        raise_for_navigation_error(exc, guard, url, nav_timeout_s, exit_)


def raise_for_egress_answer(response: Response, url: str, max_bytes: int) -> None:
    """The egress proxy answered for the site: it refused the address or the answer was too large."""
    verdict = response.headers.get("x-linkshot-egress")
    if verdict == "refused":
        raise CaptureRefused(f"refused to open {url}: the address is not allowed")
    if verdict == "too-large":
        raise CapturePermanentError(f"the page is larger than {size_in_words(max_bytes)}")
    if verdict == "unresolved":
        raise CapturePermanentError(f"the host name could not be found: {url}")
    if verdict == "connection-refused":  # a retry minutes later finds the same closed port
        raise CapturePermanentError(f"nothing answers at that address (connection refused): {url}")
    if verdict == "unreachable":
        raise CaptureTransientError(f"the site could not be reached: {url}")


async def wait_bounded(page: Page, requests: RequestsInFlight, config: CaptureConfig, notes: list[str]) -> None:
    """DOMContentLoaded (bounded), then the load event and a short network-quiet spell, capped."""
    try:
        await page.wait_for_load_state("domcontentloaded", timeout=config.dom_timeout_s * 1000)
    except PlaywrightTimeout:
        notes.append(f"the page did not finish loading within {config.dom_timeout_s:g} s; kept what had loaded")
        return
    except PlaywrightError:
        return  # the page went away; the steps after this will say so
    await load_lazy_images(page)
    if not await wait_loaded_and_quiet(page, requests, config.network_quiet_s, config.network_quiet_cap_s):
        log.debug("%d request(s) still open after %s s on %s", requests.open_count, config.network_quiet_cap_s,
                  page.url)


# Lazy images (loading="lazy", which WordPress and others put on every picture) start loading only
# near the viewport; the full-page shot and the archived page would show them blank. Made eager
# once the document is parsed, they load during the wait like the rest of the page.
EAGER_IMAGES_SCRIPT = """() => {
  for (const img of document.querySelectorAll('img[loading="lazy" i]')) img.loading = "eager";
}"""


async def load_lazy_images(page: Page) -> None:
    """Start the page's lazy images now (bounded: a page whose scripts never yield is left as it is)."""
    try:
        await asyncio.wait_for(page.evaluate(EAGER_IMAGES_SCRIPT), 1.0)
    except (asyncio.TimeoutError, PlaywrightError):
        log.debug("lazy images left lazy on %s", page.url)
