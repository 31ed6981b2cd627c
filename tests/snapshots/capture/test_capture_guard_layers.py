"""Each layer of the in-browser SSRF guard holds on its own (see snapshots/capture/guard.py).

The capture tests run both layers together, where either can hide a hole in the other; here the
Playwright route layer runs alone in a real Chromium, and the CDP layer's response-stage redirect
check is fed the paused responses Chromium sends it.
"""
from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import async_playwright

from snapshots.capture.guard import RequestGuard
from snapshots.capture_jobs.engine_config import chromium_path
from tests.support.capture_site import TEST_CHROMIUM_ARGS
from tests.support.pageserver import page, wait_for_requests

pytestmark = [pytest.mark.no_postgres]


def guard_for(site) -> RequestGuard:
    return RequestGuard(allowed_private=[f"127.0.0.1:{site.port}"])


async def open_with_route_layer_only(site, guard: RequestGuard, path: str) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(), args=TEST_CHROMIUM_ARGS)
        try:
            context = await browser.new_context()
            await guard.install(context)
            tab = await context.new_page()
            await tab.goto(site.url(path), wait_until="load")
            await tab.wait_for_timeout(300)
        finally:
            await browser.close()


@pytest.mark.chromium
def test_route_layer_alone_refuses_the_pages_own_requests(servers):
    site, far, near = servers
    site.routes["/direct-to-far"] = page(
        f'<title>Direct</title><img src="{far.url("/direct.png")}">'
        f'<script>fetch("{near.url("/direct-fetch")}", {{mode: "no-cors"}}).catch(() => {{}});</script>')
    far.requests.clear()
    near.requests.clear()
    guard = guard_for(site)

    asyncio.run(open_with_route_layer_only(site, guard, "/direct-to-far"))

    assert wait_for_requests(far) == [] and wait_for_requests(near) == []
    refused = {(refusal.url, refusal.resource_type) for refusal in guard.refusals}
    assert (far.url("/direct.png"), "image") in refused
    assert (near.url("/direct-fetch"), "fetch") in refused


class RecordingSession:
    """The CDP session's side of a paused request: what the guard answered Chromium."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict]] = []

    async def send(self, method: str, params: dict) -> dict:
        self.sent.append((method, params))
        return {}


def paused_response(url: str, status: int, location: str | None = None) -> dict:
    """A Fetch.requestPaused event at the response stage, as Chromium sends it."""
    headers = [{"name": "Content-Type", "value": "text/html"}]
    if location is not None:
        headers.append({"name": "Location", "value": location})
    return {"requestId": "interception-1", "request": {"url": url, "method": "GET"}, "frameId": "main",
            "resourceType": "Image", "responseStatusCode": status, "responseHeaders": headers}


def answer_to(guard: RequestGuard, event: dict) -> str:
    session = RecordingSession()
    asyncio.run(guard._on_paused(session, event, "main"))
    [(method, params)] = session.sent
    assert params["requestId"] == "interception-1"
    return method


@pytest.mark.parametrize("location, answer", [
    ("http://127.0.0.2/metadata", "Fetch.failRequest"),           # a refused address
    ("http://127.0.0.1:{other}/admin", "Fetch.failRequest"),       # loopback, but not the allowed port
    ("/elsewhere-on-the-site", "Fetch.continueRequest"),           # relative: the allowed site itself
    (None, "Fetch.continueRequest"),                               # a 3xx without Location goes nowhere
])
def test_response_stage_fails_a_redirect_to_a_refused_address(site, location, answer):
    guard = guard_for(site)
    target = location.format(other=site.port + 1) if location else None
    assert answer_to(guard, paused_response(site.url("/hop"), 302, target)) == answer
    if answer == "Fetch.failRequest":
        assert [refusal.url for refusal in guard.refusals] == [target]


def test_response_stage_ignores_location_on_a_non_redirect(site):
    guard = guard_for(site)
    assert answer_to(guard, paused_response(site.url("/ok"), 200, "http://127.0.0.2/")) == "Fetch.continueRequest"
    assert guard.refusals == []
