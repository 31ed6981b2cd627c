"""The SSRF guard inside the browser: every request a captured page makes is checked first.

Two layers, because each sees what the other does not:
- a Playwright route on the context checks every request the page issues (documents, frames,
  subresources, fetch/XHR, workers) before it leaves the browser;
- a CDP Fetch interception on each page pauses every request at the request stage (this also sees
  the browser's own requests, such as /favicon.ico, which routes never see) and every response at
  the response stage, so a 3xx whose Location points somewhere refused is failed before Chromium
  follows it. Playwright routes are only consulted for the first URL of a redirect chain, so
  without this layer a public page could redirect an <img>, <iframe> or the main document to a
  private address.
WebSockets pass neither layer, so they get their own Playwright WebSocket route: one to an allowed
host is connected through, any other is closed before the browser connects.
Network.requestWillBeSent was not chosen for redirects: it is an event, so by the time we hear
of the hop the request has already been sent.

These layers are defence in depth, not the boundary: they see only what Playwright and CDP show
them (a SharedWorker's fetch, a worker's WebSocket, a popup's redirect and a speculative prefetch
pass both). The boundary is the egress proxy every connection of the browser goes through
(snapshots.capture.egress_proxy). The guard asks the capture's Exit resolver, so it judges the
same one DNS answer per host that the proxy connects to.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from playwright.async_api import BrowserContext, Error as PlaywrightError, Page, Route, WebSocketRoute

from snapshots import ssrf
from snapshots.capture.egress import lookup_pool

log = logging.getLogger(__name__)

LOCAL_SCHEMES = {"data", "blob", "about"}   # never leave the browser
BROWSER_SCHEMES = {"chrome", "chrome-extension", "devtools"}  # the browser's own UI (PDF viewer)
WEB_SOCKET_SCHEMES = {"ws": "http", "wss": "https"}


@dataclass
class Refusal:
    url: str
    reason: str
    resource_type: str
    main_frame: bool = False


@dataclass
class RequestGuard:
    allowed_private: tuple = ()
    resolver: object = None
    refusals: list[Refusal] = field(default_factory=list)
    _verdicts: dict[str, str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.allowed_private = ssrf.parse_allow_list(self.allowed_private)

    async def reason_to_refuse(self, url: str) -> str | None:
        """Why url must not be fetched, or None; DNS answers are cached for the job."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme in LOCAL_SCHEMES:
            return None
        if scheme in WEB_SOCKET_SCHEMES:
            url = parts._replace(scheme=WEB_SOCKET_SCHEMES[scheme]).geturl()
        key = f"{scheme}://{parts.netloc.lower()}"
        if key not in self._verdicts:
            # On the lookup threads, never asyncio's default pool that the capture's CPU work uses.
            self._verdicts[key] = await asyncio.get_running_loop().run_in_executor(lookup_pool(), self._check, url)
        return self._verdicts[key]

    def _check(self, url: str) -> str | None:
        try:
            kwargs = {"resolver": self.resolver} if self.resolver else {}
            ssrf.check_url(url, self.allowed_private, **kwargs)
        except ssrf.UnsafeURL as exc:
            return str(exc)
        return None

    def refuse(self, url: str, reason: str, resource_type: str, main_frame: bool = False) -> None:
        if urlsplit(url).scheme.lower() in BROWSER_SCHEMES:
            return  # refused too, but not the page's doing and not worth a note
        log.info("refused %s request to %s: %s", resource_type, url, reason)
        self.refusals.append(Refusal(url, reason, resource_type, main_frame))

    def main_frame_refusal(self) -> Refusal | None:
        """The latest refused navigation of the page itself (not of an iframe), if any."""
        return next((r for r in reversed(self.refusals) if r.main_frame), None)

    async def install(self, context: BrowserContext) -> None:
        await context.route("**/*", self._on_route)
        await context.route_web_socket(lambda _url: True, self._on_web_socket)

    async def _on_web_socket(self, socket: WebSocketRoute) -> None:
        reason = await self.reason_to_refuse(socket.url)
        try:
            if reason:
                self.refuse(socket.url, reason, "websocket")
                await socket.close(code=1008, reason="refused")
            else:
                socket.connect_to_server()
        except PlaywrightError:
            pass

    async def _on_route(self, route: Route) -> None:
        request = route.request
        reason = await self.reason_to_refuse(request.url)
        try:
            if reason:
                self.refuse(request.url, reason, request.resource_type, _is_main_frame_navigation(request))
                await route.abort("accessdenied")
            else:
                await route.fallback()
        except PlaywrightError:
            pass  # the page went away while we were deciding; nothing left to guard

    async def attach(self, context: BrowserContext, page: Page) -> None:
        """Add the CDP layer to one page; must run before the page navigates."""
        session = await context.new_cdp_session(page)
        tree = await session.send("Page.getFrameTree")
        main_frame_id = tree["frameTree"]["frame"]["id"]
        session.on("Fetch.requestPaused",
                   lambda event: asyncio.ensure_future(self._on_paused(session, event, main_frame_id)))
        await session.send("Fetch.enable", {"patterns": [
            {"urlPattern": "*", "requestStage": "Request"},
            {"urlPattern": "*", "requestStage": "Response"},
        ]})

    async def _on_paused(self, session, event: dict, main_frame_id: str) -> None:
        url = event["request"]["url"]
        resource_type = event.get("resourceType", "Other")
        reason = await self.reason_to_refuse(url)
        location = _redirect_target(event, url)
        if not reason and location:
            reason = await self.reason_to_refuse(location)
            url = location if reason else url
        try:
            if reason:
                main_frame = resource_type == "Document" and event.get("frameId") == main_frame_id
                self.refuse(url, reason, resource_type, main_frame)
                await session.send("Fetch.failRequest", {"requestId": event["requestId"], "errorReason": "AccessDenied"})
            else:
                await session.send("Fetch.continueRequest", {"requestId": event["requestId"]})
        except PlaywrightError:
            pass


def _is_main_frame_navigation(request) -> bool:
    try:
        return request.is_navigation_request() and request.frame.parent_frame is None
    except PlaywrightError:
        return False  # service-worker requests have no frame


def _redirect_target(event: dict, url: str) -> str | None:
    status = event.get("responseStatusCode")
    if status is None or not 300 <= status < 400:
        return None
    for header in event.get("responseHeaders", []):
        if header["name"].lower() == "location":
            return urljoin(url, header["value"].strip())
    return None
