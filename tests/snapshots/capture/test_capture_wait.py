"""The wait before capturing: content that arrives after the load event is kept, an endless request is cut off.

Real Chromium against a loopback server whose answers are held back on purpose.
"""
import io
import time

import pytest
from PIL import Image

from snapshots.capture import Capturer
from tests.support.capture_site import capture_config
from tests.support.pageserver import Blackhole, LoopbackServer, blob, never_finishes, page, png_bytes, send

pytestmark = [pytest.mark.chromium, pytest.mark.no_postgres]

CAP_S = 1.5

LATE_TEXT = """<!doctype html><html><head><title>Late text</title></head><body><h1>Late text</h1>
<p id="late">waiting</p><script>
addEventListener("load", () => fetch("/slow-text").then(r => r.text()).then(t => {
  document.getElementById("late").textContent = t; }));
</script></body></html>"""

# A fetch after load, then an image the answer asks for: two slow requests one after the other.
LATE_PICTURE = """<!doctype html><html><head><title>Late picture</title></head><body><h1>Late picture</h1>
<div id="box"></div><script>
addEventListener("load", () => fetch("/slow-text").then(r => r.text()).then(() => {
  const img = new Image(); img.width = 200;
  img.onload = () => document.getElementById("box").insertAdjacentHTML("beforeend", "<p>picture arrived</p>");
  img.src = "/slow.png"; document.getElementById("box").appendChild(img); }));
</script></body></html>"""

ENDLESS = """<!doctype html><html><head><title>Endless</title></head><body><h1>Endless</h1>
<p>This page keeps one request open forever.</p>
<script>addEventListener("load", () => fetch("/never").catch(() => {}));</script></body></html>"""


# A live blog: an event stream that stays open, whose first event adds a line to the page.
LIVE_STREAM = """<!doctype html><html><head><title>Live</title></head><body><h1>Live coverage</h1>
<ul id="updates"></ul><script>
new EventSource("/stream").onmessage = (e) => {
  document.getElementById("updates").insertAdjacentHTML("beforeend", "<li>" + e.data + "</li>"); };
</script></body></html>"""


def event_stream(server: LoopbackServer):
    """One event, then the stream stays open until the server stops."""
    def handler(request_handler) -> None:
        request_handler.send_response(200)
        request_handler.send_header("Content-Type", "text/event-stream")
        request_handler.send_header("Cache-Control", "no-cache")
        request_handler.end_headers()
        request_handler.wfile.write(b"data: first update of the day\n\n")
        request_handler.wfile.flush()
        server.stopping.wait(30)
    return handler


# A long article whose pictures load lazily (as WordPress marks every image): the last one sits far
# below the first screen, beyond the distance at which Chromium starts a lazy image.
LAZY_ARTICLE = """<!doctype html><html><head><title>Lazy</title><style>body{margin:0}</style></head><body>
<h1>Long article</h1><div style="height:6000px">text</div>
<img id="far" loading="lazy" src="/far.png" width="400" height="200" style="display:block"></body></html>"""


def held_back(seconds: float, body: bytes, content_type: str):
    def handler(request_handler) -> None:
        time.sleep(seconds)
        send(request_handler, 200, body, content_type)
    return handler


@pytest.fixture(scope="module")
def slow_site():
    server = LoopbackServer("127.0.0.1")
    server.routes.update({
        "/late-text": page(LATE_TEXT),
        "/late-picture": page(LATE_PICTURE),
        "/endless": page(ENDLESS),
        "/plain": page("<title>Plain</title><p>Nothing late here.</p>"),
        "/slow-text": held_back(0.6, b"the late answer arrived", "text/plain"),
        "/slow.png": held_back(0.5, png_bytes(200, 100, (250, 20, 20)), "image/png"),
        "/never": never_finishes(server, 30),
        "/live": page(LIVE_STREAM),
        "/lazy": page(LAZY_ARTICLE),
        "/far.png": blob(png_bytes(400, 200, (250, 20, 20)), "image/png"),
        "/stream": event_stream(server),
        "/favicon.ico": blob(png_bytes(16, 16), "image/x-icon"),
    })
    yield server
    server.close()


@pytest.fixture(scope="module")
def blackhole(slow_site):
    """A host that never answers a connection (a firewalled tracker), named by one page."""
    hole = Blackhole()
    slow_site.routes["/tracked"] = page(
        "<title>Tracked</title><h1>Tracked article</h1><p>Its tracker never answers.</p>"
        f'<img src="http://127.0.0.1:{hole.port}/pixel.gif" width="1" height="1">')
    yield hole
    hole.close()


@pytest.fixture(scope="module")
def engine(slow_site, blackhole):
    config = capture_config(slow_site, network_quiet_cap_s=CAP_S)
    config.allowed_private.append(f"127.0.0.1:{blackhole.port}")
    capturer = Capturer(config)
    yield capturer
    capturer.close()


def test_text_fetched_after_the_load_event_is_captured(engine, slow_site):
    result = engine.capture(slow_site.url("/late-text"))
    assert "the late answer arrived" in result.text
    assert b"the late answer arrived" in result.assets["html"]
    assert b"the late answer arrived" in result.assets["mhtml"]
    assert result.timings["wait"] >= 0.6


def test_image_asked_for_by_a_late_answer_is_loaded_before_the_capture(engine, slow_site):
    result = engine.capture(slow_site.url("/late-picture"))
    assert "picture arrived" in result.text
    assert b"/slow.png" in result.assets["html"]
    assert result.timings["wait"] >= 1.1  # both held-back answers, one after the other


def test_a_request_that_never_ends_stops_the_wait_at_the_cap(engine, slow_site):
    result = engine.capture(slow_site.url("/endless"))
    assert CAP_S - 0.05 <= result.timings["wait"] < CAP_S + 1.5
    assert result.title == "Endless"
    assert "screenshot" in result.assets and "keeps one request open" in result.text


def test_an_open_event_stream_does_not_hold_the_capture(engine, slow_site):
    result = engine.capture(slow_site.url("/live"))
    assert "first update of the day" in result.text  # what the stream sent is kept
    assert result.timings["wait"] < CAP_S - 0.3


def test_lazy_images_far_below_the_first_screen_are_in_the_full_page(engine, slow_site):
    result = engine.capture(slow_site.url("/lazy"))
    assert "/far.png" in slow_site.requests
    full = Image.open(io.BytesIO(result.assets["full_page"])).convert("RGB")
    top = round(full.height - 200 / 2)  # the middle of the picture, the page's last 200 px
    assert full.getpixel((200, top)) == (250, 20, 20)


def test_a_quiet_page_does_not_wait_for_the_cap(engine, slow_site):
    result = engine.capture(slow_site.url("/plain"))
    assert result.timings["wait"] < CAP_S - 0.3
    assert result.title == "Plain"


def test_printing_does_not_wait_for_a_host_that_never_answers(engine, slow_site):
    # The egress proxy waits 10 s for that connection; printing would wait about 2 s for it.
    result = engine.capture(slow_site.url("/tracked"))
    assert result.assets["pdf"].startswith(b"%PDF-")
    assert "Tracked article" in result.text
    assert result.timings["pdf"] < 1.0
