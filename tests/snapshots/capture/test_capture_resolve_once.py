"""Each host is resolved once per capture, whoever asks (submission check, in-browser guard, egress
proxy, favicon download), and pages in flight beside each other keep answers of their own."""
from __future__ import annotations

import threading
from collections import Counter

import pytest

from snapshots.capture import Capturer
from tests.support import offline_dns
from tests.support.capture_jobs_site import capture_config
from tests.support.pageserver import LoopbackServer, blob, page, png_bytes

pytestmark = pytest.mark.chromium


class CountingResolver:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        with self.lock:
            self.calls[str(host).lower()] += 1
        return offline_dns.getaddrinfo_with_loopback_names(host, port, family, type, proto, flags)


@pytest.fixture(scope="module")
def named_site():
    server = LoopbackServer()
    image = png_bytes(16, 16)
    base = f"http://site{offline_dns.LOOPBACK_SUFFIX}:{server.port}"
    local = "".join(f'<img src="{base}/img/{k}.png">' for k in range(8))
    gone = "".join(f'<img src="https://cdn-{k % 3}.nowhere.example/{k}.png">' for k in range(9))
    server.routes["/page"] = page(f'<!doctype html><title>Named</title><link rel="icon" href="{base}/icon.png">'
                                  f"<h1>Named host</h1>{local}{gone}<p>text</p>")
    server.routes["/icon.png"] = blob(image, "image/png")
    for k in range(8):
        server.routes[f"/img/{k}.png"] = blob(image, "image/png")
    yield server, f"{base}/page"
    server.close()


class Site:  # what capture_config needs
    def __init__(self, server) -> None:
        self.allowed_private = [f"127.0.0.1:{server.port}"]


def test_every_host_of_a_capture_is_resolved_once(named_site):
    server, url = named_site
    resolver = CountingResolver()
    engine = Capturer(capture_config(Site(server), resolver=resolver))
    try:
        result = engine.capture(url)
    finally:
        engine.close()

    assert result.title == "Named" and result.favicon_url.endswith("/icon.png")
    assert sum(1 for path in server.requests if path.startswith("/img/")) == 8
    page_hosts = [f"site{offline_dns.LOOPBACK_SUFFIX}", "cdn-0.nowhere.example", "cdn-1.nowhere.example",
                  "cdn-2.nowhere.example"]
    # (The browser's own background calls, outside any capture, go through its browser-wide exit.)
    assert {host: resolver.calls[host] for host in page_hosts} == dict.fromkeys(page_hosts, 1)


def test_pages_in_flight_side_by_side_each_resolve_for_themselves(named_site):
    server, url = named_site
    resolver = CountingResolver()
    engine = Capturer(capture_config(Site(server), resolver=resolver))
    try:
        futures = [engine.start(url) for _ in range(3)]
        results = [future.result(60) for future in futures]
    finally:
        engine.close()

    assert [r.title for r in results] == ["Named"] * 3
    # One answer per capture: a later capture never reuses an earlier one's (nor waits on its lookups).
    assert resolver.calls[f"site{offline_dns.LOOPBACK_SUFFIX}"] == 3
    assert resolver.calls["cdn-0.nowhere.example"] == 3
