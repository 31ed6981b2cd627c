"""The capture benchmark's pages, served on loopback: "simple" ones and "heavy" article-like ones.

Heavy pages stand in for news and encyclopedia articles: assets on hosts that do not resolve here,
hosts that take the connection and never answer, a request kept open, late and slow images, missing
ones, and a long text. Names are resolved by tests.support.offline_dns, so nothing leaves the machine.
"""
from __future__ import annotations

import time

from tests.support.offline_dns import LOOPBACK_SUFFIX
from tests.support.pageserver import Blackhole, LoopbackServer, blob, never_finishes, page, png_bytes, send


def simple_page(number: int) -> str:
    paragraphs = "".join(
        f"<p>Paragraph {k} of page {number}: a simple local page with a heading, some text and a logo, "
        f"standing in for a typical bookmark target.</p>" for k in range(12))
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Page {number}</title>'
            f'<meta name="description" content="Bench page {number}"><link rel="icon" href="/logo.png">'
            f"<style>body{{font-family:sans-serif;max-width:50em;margin:2em auto}}</style></head>"
            f'<body><h1>Page {number}</h1><img src="/logo.png" width="64">{paragraphs}</body></html>')


def heavy_page(number: int, hang_port: int = 0) -> str:
    """An article with what real ones carry: assets on a dozen other hosts, slow and missing ones,
    hosts that never answer a connection, a request a script keeps open and images added late."""
    hosts = [f"{name}.news-{number % 7}.example" for name in
             ("cdn", "static", "img", "fonts", "ads", "analytics", "tags", "video", "social", "comments")]
    remote = "".join(f'<link rel="stylesheet" href="https://{hosts[k % 10]}/css/{k}.css">' for k in range(6))
    remote += "".join(f'<script src="https://{hosts[(k + 3) % 10]}/js/{k}.js"></script>' for k in range(8))
    images = "".join(f'<img src="https://{hosts[k % 10]}/img/{number}-{k}.jpg" width="300" height="200">'
                     for k in range(24))
    if hang_port:  # trackers and ad servers that take the connection attempt and never complete it
        hanging = [f"{name}.hang-{number % 5}{LOOPBACK_SUFFIX}:{hang_port}" for name in ("ads", "pixel", "track")]
        remote += "".join(f'<script async src="https://{host}/tag.js"></script>' for host in hanging)
        images += "".join(f'<img src="https://{hanging[k % 3]}/px/{number}-{k}.gif" width="1" height="1">'
                          for k in range(4))
    local = "".join(f'<img src="/img/{kind}/{number}-{k}.png" width="120">'
                    for k, kind in enumerate(("fast", "fast", "fast", "slow", "slow", "missing")))
    paragraphs = "".join(f"<p>Paragraph {k} of article {number}. " + "Reporting on what happened, and why. " * 12
                         + "</p>" for k in range(30))
    # A live-update request the page keeps open, and images its script adds after the load event.
    late = (f"<script>fetch('/live/{number}').catch(() => {{}});"
            "addEventListener('load', () => setTimeout(() => { for (let k = 0; k < 3; k++) {"
            f" const img = new Image(); img.src = '/img/late/{number}-' + k + '.png';"
            " document.querySelector('article').append(img); } }, 400));</script>")
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Article {number}</title>'
            f'<meta name="description" content="Heavy bench page {number}">{remote}'
            f"<style>body{{font-family:serif;max-width:42em;margin:2em auto}} img{{display:block}}</style></head>"
            f"<body><header><nav>Home / World / Article</nav></header><main><article><h1>Article {number}</h1>"
            f"{local}{images}{paragraphs}</article></main><footer>footer</footer>{late}</body></html>")


def slow_image(image: bytes):
    """Answers after 0.2-1.0 s, different per image (a busy image server)."""
    def handle(handler) -> None:
        time.sleep(0.2 + (sum(handler.path.encode()) % 9) / 10)
        send(handler, 200, image, "image/png")
    return handle


class Site:
    """The bench's pages on one loopback server, and (heavy pages) a port that never answers."""

    def __init__(self, pages: int, kind: str = "simple") -> None:
        self.kind = kind
        self.blackhole = Blackhole() if kind == "heavy" else None
        self.server = LoopbackServer("127.0.0.1")
        server, image = self.server, png_bytes(64, 64)
        server.routes["/logo.png"] = blob(image, "image/png")
        for number in range(pages):
            html = simple_page(number) if kind == "simple" else heavy_page(number, self.blackhole.port)
            server.routes[f"/p/{number}"] = page(html)
            for k in range(3):
                server.routes[f"/img/fast/{number}-{k}.png"] = blob(image, "image/png")
                server.routes[f"/img/late/{number}-{k}.png"] = slow_image(image)
            for k in (3, 4):
                server.routes[f"/img/slow/{number}-{k}.png"] = slow_image(image)
            server.routes[f"/live/{number}"] = never_finishes(server, 30)

    @property
    def port(self) -> int:
        return self.server.port

    def url(self, path: str) -> str:
        return self.server.url(path)

    @property
    def allowed_private(self) -> list[str]:
        return [f"127.0.0.1:{self.server.port}"] + ([f"127.0.0.1:{self.blackhole.port}"] if self.blackhole else [])

    def close(self) -> None:
        self.server.close()
        if self.blackhole:
            self.blackhole.close()


def serve(pages: int, kind: str = "simple") -> Site:
    return Site(pages, kind)
