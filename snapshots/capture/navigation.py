"""Opening the URL: bounded navigation, error classification, and a guarded plain fetch."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urljoin

from playwright.async_api import BrowserContext, Error as PlaywrightError, Page, Response
from playwright.async_api import TimeoutError as PlaywrightTimeout

from snapshots.capture.config import CaptureConfig
from snapshots.capture.errors import CapturePermanentError, CaptureRefused, CaptureTransientError
from snapshots.capture.guard import RequestGuard
from snapshots.capture.quiet import RequestsInFlight, wait_loaded_and_quiet

log = logging.getLogger(__name__)

MAX_REDIRECTS = 8

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


def raise_for_navigation_error(exc: PlaywrightError, guard: RequestGuard, url: str, timeout_s: float) -> None:
    """Turn a failed page.goto into the right CaptureError (or NavigationIsDownload)."""
    refusal = guard.main_frame_refusal()
    if refusal is not None:
        raise CaptureRefused(f"refused to open {refusal.url}: {refusal.reason}") from exc
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


async def open_page(page: Page, url: str, guard: RequestGuard, nav_timeout_s: float) -> Response | None:
    """Navigate until the first response has been committed; the caller waits for more."""
    try:
        return await page.goto(url, wait_until="commit", timeout=nav_timeout_s * 1000)
    except PlaywrightError as exc:
        raise_for_navigation_error(exc, guard, url, nav_timeout_s)


@dataclass
class Fetched:
    url: str
    status: int
    content_type: str
    body: bytes | None  # None when it was larger than the cap


async def guarded_fetch(context: BrowserContext, guard: RequestGuard, url: str, max_bytes: int,
                        timeout_s: float) -> Fetched:
    """GET url with the context's cookies, checking every redirect hop against the guard.

    Playwright's request API is not seen by routes, so redirects are followed here, one checked
    hop at a time.
    """
    for _hop in range(MAX_REDIRECTS + 1):
        reason = await guard.reason_to_refuse(url)
        if reason:
            guard.refuse(url, reason, "fetch")
            raise CaptureRefused(f"refused to open {url}: {reason}")
        try:
            response = await context.request.get(url, max_redirects=0, timeout=timeout_s * 1000,
                                                 fail_on_status_code=False)
        except PlaywrightError as exc:
            raise CaptureTransientError(f"could not fetch {url}: {first_line(exc.message)}") from exc
        location = response.headers.get("location")
        if 300 <= response.status < 400 and location:
            await response.dispose()
            url = urljoin(url, location)
            continue
        return await _read(response, url, max_bytes)
    raise CapturePermanentError(f"more than {MAX_REDIRECTS} redirects from {url}")


async def _read(response, url: str, max_bytes: int) -> Fetched:
    content_type = response.headers.get("content-type", "")
    declared = response.headers.get("content-length", "")
    body = None
    if not (declared.isdigit() and int(declared) > max_bytes):
        body = await response.body()
        body = body if len(body) <= max_bytes else None
    await response.dispose()
    return Fetched(url=url, status=response.status, content_type=content_type, body=body)


async def wait_bounded(page: Page, requests: RequestsInFlight, config: CaptureConfig, notes: list[str]) -> None:
    """DOMContentLoaded (bounded), then the load event and a short network-quiet spell, capped."""
    try:
        await page.wait_for_load_state("domcontentloaded", timeout=config.dom_timeout_s * 1000)
    except PlaywrightTimeout:
        notes.append(f"the page did not finish loading within {config.dom_timeout_s:g} s; kept what had loaded")
        return
    except PlaywrightError:
        return  # the page went away; the steps after this will say so
    if not await wait_loaded_and_quiet(page, requests, config.network_quiet_s, config.network_quiet_cap_s):
        log.debug("%d request(s) still open after %s s on %s", requests.open_count, config.network_quiet_cap_s,
                  page.url)
