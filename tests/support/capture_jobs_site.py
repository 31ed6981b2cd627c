"""Pages and servers for the capture-job tests (fixtures: tests/snapshots/capture_jobs/conftest.py).

A loopback site the capture may visit (its port is the only one allowed), a canary on another port
that must never be reached, and handlers for the failure modes the job runner must sort out.
"""
from __future__ import annotations

import threading
import time

from snapshots.capture import CaptureConfig
from snapshots.capture_jobs.engine_config import chromium_path
from tests.support import offline_dns
from tests.support.capture_site import TEST_CHROMIUM_ARGS
from tests.support.pageserver import Handler, LoopbackServer, page, png_bytes, send

ARTICLE_TEXT = (
    "Snapshots keep what a page said on the day it was saved. " * 4
    + "This paragraph carries enough words for the readable-text extractor to keep it as the main "
    "content of the page, which is what search and tag suggestions work from later on."
)


def article(title: str = "Captured Article", description: str = "An article about capture jobs.",
            text: str = ARTICLE_TEXT) -> str:
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="description" content="{description}"></head>
<body><main><article><h1>{title}</h1><p>{text}</p><p>{text}</p></article></main></body></html>"""


def slow_first(delay_s: float, html: str, started: threading.Event | None = None) -> Handler:
    """The first request hangs for ``delay_s`` (a page that answers slowly); later ones answer at once."""
    calls = {"n": 0}
    lock = threading.Lock()

    def handle(handler) -> None:
        with lock:
            calls["n"] += 1
            first = calls["n"] == 1
        if first:
            if started is not None:
                started.set()
            threading.Event().wait(delay_s)
        send(handler, 200, html.encode("utf-8"))

    return handle


class Site:
    """The allowed site and an untouchable canary, with routes tests add as they need."""

    def __init__(self) -> None:
        self.server = LoopbackServer()
        self.canary = LoopbackServer()
        self.server.routes["/article"] = page(article())
        self.server.routes["/server-error"] = page("<h1>try later</h1>", status=503)
        self.server.routes["/missing"] = page("<h1>gone</h1>", status=404)

    @property
    def allowed_private(self) -> list[str]:
        return [f"127.0.0.1:{self.server.port}"]

    def hits(self, path: str) -> int:
        return sum(1 for requested in self.server.requests if requested.split("?", 1)[0] == path)

    def close(self) -> None:
        self.server.close()
        self.canary.close()


def capture_config(site: Site, **overrides) -> CaptureConfig:
    values = {
        "chromium_path": chromium_path(),
        "allowed_private": site.allowed_private, "extra_chromium_args": list(TEST_CHROMIUM_ARGS),
        "resolver": offline_dns.getaddrinfo,
        "job_timeout_s": 20.0, "nav_timeout_s": 10.0, "keep_pdf": True, "keep_mhtml": True,
    }
    return CaptureConfig(**{**values, **overrides})


class SlowAssets:
    """A slow image per page; records the most requests for them open at the same moment."""

    def __init__(self, wait_s: float, when_open: int | None = None, then=None) -> None:
        self.wait_s, self.when_open, self.then = wait_s, when_open, then
        self.open = self.most = 0
        self.lock = threading.Lock()
        self.image = png_bytes(32, 32)

    def __call__(self, handler) -> None:
        with self.lock:
            self.open += 1
            self.most = max(self.most, self.open)
            reached = self.when_open is not None and self.open == self.when_open
        if reached and self.then is not None:
            self.then()
        time.sleep(self.wait_s)
        with self.lock:
            self.open -= 1
        send(handler, 200, self.image, "image/png")


def article_waiting_on(asset: str, title: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>'
            f'<body><article><h1>{title}</h1><img src="{asset}" width="32"><p>{ARTICLE_TEXT}</p></article>'
            "</body></html>")


def pages_waiting_on(site: Site, count: int, slow: SlowAssets, prefix: str) -> list[str]:
    """``count`` pages of the site, each waiting on a slow image of its own; their URLs."""
    urls = []
    for n in range(count):
        path = f"/{prefix}/{n}"
        site.server.routes[path] = page(article_waiting_on(f"/{prefix}-asset/{n}.png", f"{prefix} page {n}"))
        site.server.routes[f"/{prefix}-asset/{n}.png"] = slow
        urls.append(site.server.url(path))
    return urls


def queued_pages(user, site: Site, count: int, slow: SlowAssets, prefix: str) -> list:
    """``count`` pending snapshots whose messages were sent, each page waiting on a slow image."""
    from django.utils import timezone

    from snapshots.models import Link, Snapshot
    return [Snapshot.objects.create(link=Link.objects.create(user=user, url=url), queued_at=timezone.now())
            for url in pages_waiting_on(site, count, slow, prefix)]
