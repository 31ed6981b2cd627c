"""Knowing when a page has finished loading: the load event, then a short spell with no request open.

Playwright's "networkidle" wants 500 ms without any connection, which on a simple page is most of
the capture's wall time while the cores sit idle. Here the page's own requests are counted as
they start and end, so the capture goes on once none has been open for a shorter spell (a few
hundred ms), and a page that is still fetching (a slow image, a fetch() whose answer adds
content) keeps it waiting until that request is done, up to the caller's cap. Event streams and
WebSockets are not counted: they stay open by design (live updates, chat), and what they deliver
arrives while the rest loads.
"""
from __future__ import annotations

import asyncio

from playwright.async_api import Error as PlaywrightError, Page, Request
from playwright.async_api import TimeoutError as PlaywrightTimeout


# Requests that are streams by design and never finish (Playwright's resource types).
STREAMS = frozenset({"eventsource", "websocket"})


class RequestsInFlight:
    """Counts one page's open requests (every frame); attach before the page navigates."""

    def __init__(self, page: Page) -> None:
        self._open: set[Request] = set()
        self._loop = asyncio.get_running_loop()
        self._last_change = self._loop.time()
        self._changed = asyncio.Event()
        page.on("request", self._started)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)

    @property
    def open_count(self) -> int:
        return len(self._open)

    def _started(self, request: Request) -> None:
        if request.resource_type in STREAMS:
            return
        self._open.add(request)
        self._touch()

    def _ended(self, request: Request) -> None:
        self._open.discard(request)
        self._touch()

    def _touch(self) -> None:
        self._last_change = self._loop.time()
        self._changed.set()

    async def wait_quiet(self, quiet_s: float, deadline: float) -> bool:
        """Until no request has been open for quiet_s; False when the loop's clock passes deadline first."""
        while True:
            now = self._loop.time()
            if not self._open and now - self._last_change >= quiet_s:
                return True
            if now >= deadline:
                return False
            # Wake at the end of the quiet spell, at the deadline, or when a request starts or ends.
            until = deadline if self._open else min(deadline, self._last_change + quiet_s)
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), max(0.0, until - now))
            except asyncio.TimeoutError:
                pass


async def wait_loaded_and_quiet(page: Page, requests: RequestsInFlight, quiet_s: float, cap_s: float) -> bool:
    """The load event, then quiet_s without an open request, all within cap_s; False when capped."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + cap_s
    try:
        await page.wait_for_load_state("load", timeout=cap_s * 1000)
    except PlaywrightTimeout:
        return False
    except PlaywrightError:
        return False  # the page went away; the steps after this will say so
    return await requests.wait_quiet(quiet_s, deadline)
