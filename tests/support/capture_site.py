"""The canned site the capture engine tests run against (their fixtures: tests/snapshots/capture/conftest.py).

The site lives on 127.0.0.1 (allowed for the capturer, that port only); two canaries must stay
untouched: one on 127.0.0.2 and one on another 127.0.0.1 port.
"""
from __future__ import annotations

from snapshots.capture import CaptureConfig
from snapshots.capture_jobs.engine_config import chromium_path
from tests.support.pageserver import (
    LoopbackServer, blob, never_finishes, page, pdf_with_text, png_bytes, redirect,
)

# A Chromium safety net for tests: host names resolve nowhere and non-loopback traffic goes to a
# dead proxy, so a guard bug cannot reach beyond this machine.
TEST_CHROMIUM_ARGS = [
    "--no-sandbox",
    # 127.0.0.2 is excluded too so the far canary is really reachable and its silence means something.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE 127.0.0.2",
    "--proxy-server=http://127.0.0.1:9",
]

ARTICLE_TEXT = (
    "Linkshot keeps a snapshot of every page you save. " * 3
    + "The readable text of this article should come back from the extractor intact, with enough words "
    "in it that the extractor treats it as the main content of the page rather than boilerplate."
)

ARTICLE = f"""<!doctype html><html lang="en-GB"><head><meta charset="utf-8">
<title>  A Fine Article  </title>
<meta name="description" content="What this article is about.">
<meta property="og:image" content="/og.png">
<link rel="icon" href="/static/icon.png">
</head><body><header><nav><a href="/">Home</a></nav></header>
<main><article><h1>A Fine Article</h1><p>{ARTICLE_TEXT}</p><p>{ARTICLE_TEXT}</p></article></main>
<footer>footer links</footer></body></html>"""


def sneaky_page(c2: LoopbackServer, c1: LoopbackServer, site: LoopbackServer) -> str:
    """Every way a page can make the browser send a request somewhere else."""
    far, near = c2.url, c1.url
    return f"""<!doctype html><html><head><title>Sneaky</title>
<link rel="stylesheet" href="{far('/style.css')}"><link rel="icon" href="{far('/icon.ico')}">
<link rel="prefetch" href="{far('/prefetch')}"><link rel="preload" as="image" href="{near('/preload')}">
<script src="{far('/script.js')}"></script></head>
<body><h1>Sneaky page</h1><img src="{far('/img.png')}"><img src="{site.url('/to-far')}">
<img src="{site.url('/to-near')}"><iframe src="{far('/frame')}"></iframe><iframe src="{site.url('/to-far-frame')}"></iframe>
<video src="{far('/video.mp4')}"></video><object data="{far('/object')}"></object>
<script>
fetch("{far('/fetch')}").catch(() => {{}});
fetch("{site.url('/to-far-fetch')}").catch(() => {{}});
fetch("{near('/fetch')}", {{mode: "no-cors"}}).catch(() => {{}});
const x = new XMLHttpRequest(); x.open("GET", "{far('/xhr')}"); x.send();
try {{ new WebSocket("ws://127.0.0.2:{c2.port}/ws"); }} catch (e) {{}}
navigator.sendBeacon("{far('/beacon')}", "x");
try {{ new Worker(URL.createObjectURL(new Blob(['fetch("{far('/worker')}")']))); }} catch (e) {{}}
window.open("{far('/popup')}");
document.body.insertAdjacentHTML("beforeend", '<img src="{far('/late.png')}">');
</script><p>{ARTICLE_TEXT}</p></body></html>"""


def build_site(site: LoopbackServer, far: LoopbackServer, near: LoopbackServer) -> None:
    icon = png_bytes(16, 16, (200, 40, 40))
    site.routes.update({
        "/article": page(ARTICLE),
        "/static/icon.png": blob(icon, "image/png"),
        "/favicon.ico": blob(png_bytes(16, 16), "image/x-icon"),
        "/plain": page("<html><head><title>Plain</title></head><body><p>Hello</p></body></html>"),
        "/redirect": redirect("/hop"),
        "/hop": redirect(site.url("/article"), 301),
        "/photo.png": blob(png_bytes(640, 480), "image/png"),
        "/paper.pdf": blob(pdf_with_text("Hello from a PDF document", "A Paper"), "application/pdf"),
        "/missing": page("<h1>gone</h1>", 404),
        "/broken": page("<h1>oops</h1>", 503),
        "/sneaky": page(sneaky_page(far, near, site)),
        "/to-far": redirect(far.url("/redirected.png")),
        "/to-near": redirect(near.url("/redirected.png")),
        "/to-far-frame": redirect(far.url("/redirected-frame")),
        "/to-far-fetch": redirect(far.url("/redirected-fetch")),
        "/main-to-far": redirect(far.url("/main")),
        "/main-to-near": redirect(near.url("/main")),
        "/refresh-to-far": page(f'<meta http-equiv="refresh" content="0;url={far.url("/refresh")}"><title>R</title>'),
        "/script-to-far": page(f'<title>J</title><script>location.href = "{far.url("/js")}";</script>'),
        "/refresh-to-file": page('<html><head><meta http-equiv="refresh" content="0;url=file:///etc/passwd">'
                                 "<title>File refresh</title></head><body><p>Stay here</p></body></html>"),
        "/alerts": page("<title>Nag</title><body><p>nag</p><script>alert('hi'); confirm('sure?');"
                        "function nag() { alert('again'); prompt('name?'); setTimeout(nag, 0); } nag();"
                        "onbeforeunload = () => 'stay';</script></body>"),
        "/never": never_finishes(site),
        "/hangs": page('<title>Hangs</title><body><p>waiting</p><img src="/never"><script src="/never?s"></script>'
                       "</body>"),
        "/tall": page('<title>Tall</title><body style="margin:0"><div style="height:50000px;'
                      'background:linear-gradient(red, blue)">tall</div></body>'),
        "/download": page('<title>Download</title><body><p>download</p><script>'
                          'const a = document.createElement("a"); a.href = "/file.bin"; a.download = "f.bin";'
                          'document.body.appendChild(a); a.click(); setTimeout(() => location.href = "/file.bin", 50);'
                          "</script></body>"),
        "/file.bin": blob(b"\0" * 4096, "application/octet-stream", **{"Content-Disposition": "attachment"}),
        "/busy": page("<title>Busy</title><body><h1>Busy page</h1><script>"
                      "setTimeout(() => { while (true) {} }, 50);</script></body>"),
        "/big": page("<title>Big</title><body>" + "<p>" + "x" * 200_000 + "</p></body>"),
    })


def capture_config(site: LoopbackServer, **overrides) -> CaptureConfig:
    values = dict(
        chromium_path=chromium_path(), allowed_private=[f"127.0.0.1:{site.port}"], extra_chromium_args=TEST_CHROMIUM_ARGS,
        nav_timeout_s=8, dom_timeout_s=4, network_quiet_cap_s=1.5, step_timeout_s=4, job_timeout_s=30,
    )
    values.update(overrides)
    return CaptureConfig(**values)
