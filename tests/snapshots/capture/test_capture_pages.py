"""Capture extraction and the in-browser SSRF guard, against loopback pages in real Chromium."""
import io
import time

import numpy as np
import pytest
from PIL import Image

from inference.preprocess_image import prepare_image
from snapshots.capture import CapturePermanentError, CaptureRefused, CaptureResult, CaptureTransientError
from tests.support.pageserver import pdf_with_text, png_bytes, wait_for_requests

pytestmark = [pytest.mark.chromium, pytest.mark.no_postgres]


@pytest.fixture
def canaries(servers):
    _site, far, near = servers
    far.requests.clear()
    near.requests.clear()
    yield far, near
    assert wait_for_requests(far) == [], "the canary on 127.0.0.2 was reached"
    assert wait_for_requests(near) == [], "the canary on a non-allowed loopback port was reached"


def image_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def test_article_facts_text_and_assets(capturer, site):
    result = capturer.capture(site.url("/article"))
    assert result.http_status == 200
    assert result.content_type.startswith("text/html")
    assert result.final_url == site.url("/article")
    assert result.title == "A Fine Article"
    assert result.description == "What this article is about."
    assert result.language == "en-GB"
    assert result.og_image_url == site.url("/og.png")
    assert "treats it as the main content" in result.text
    assert "footer links" not in result.text
    assert set(result.assets) == {"screenshot", "thumbnail", "model_view", "full_page", "html", "mhtml", "pdf",
                                  "favicon"}
    assert image_size(result.assets["screenshot"]) == (1280, 800)
    assert result.assets["thumbnail"][8:12] == b"WEBP" and image_size(result.assets["thumbnail"])[0] == 400
    # The model view holds exactly the pixels the image model reads of the screenshot.
    assert result.assets["model_view"].startswith(b"\x89PNG")
    assert np.array_equal(prepare_image(result.assets["model_view"]), prepare_image(result.assets["screenshot"]))
    assert b"<title>  A Fine Article  </title>" in result.assets["html"]
    assert b"Content-Type: multipart/related" in result.assets["mhtml"][:2000]
    assert result.assets["pdf"].startswith(b"%PDF-")
    assert result.sizes == {name: len(data) for name, data in result.assets.items()}
    assert result.timings["total"] > 0 and "screenshot" in result.timings


def test_favicon_comes_from_the_declared_link(capturer, site):
    result = capturer.capture(site.url("/article"))
    assert result.favicon_url == site.url("/static/icon.png")
    assert result.assets["favicon"] == png_bytes(16, 16, (200, 40, 40))


def test_favicon_falls_back_to_favicon_ico(capturer, site):
    result = capturer.capture(site.url("/plain"))
    assert result.favicon_url == site.url("/favicon.ico")
    assert result.assets["favicon"] == png_bytes(16, 16)


def test_redirects_are_followed_to_the_final_url(capturer, site):
    result = capturer.capture(site.url("/redirect"))
    assert result.final_url == site.url("/article")
    assert result.http_status == 200
    assert result.title == "A Fine Article"


def test_image_url_keeps_the_image_as_screenshot(capturer, site):
    result = capturer.capture(site.url("/photo.png"))
    assert result.content_type == "image/png"
    assert result.assets["screenshot"] == png_bytes(640, 480)
    assert image_size(result.assets["thumbnail"]) == (400, 300)
    assert "html" not in result.assets


def test_pdf_url_keeps_the_pdf_and_its_text(capturer, site):
    result = capturer.capture(site.url("/paper.pdf"))
    assert result.content_type == "application/pdf"
    assert result.assets["pdf"] == pdf_with_text("Hello from a PDF document", "A Paper")
    assert result.text == "Hello from a PDF document"
    assert result.title == "A Paper"


def test_client_errors_are_permanent_and_server_errors_transient(capturer, site):
    with pytest.raises(CapturePermanentError, match="HTTP 404"):
        capturer.capture(site.url("/missing"))
    with pytest.raises(CaptureTransientError, match="HTTP 503"):
        capturer.capture(site.url("/broken"))


def test_a_file_download_url_is_not_a_page(capturer, site):
    with pytest.raises(CapturePermanentError, match="file download"):
        capturer.capture(site.url("/file.bin"))


def test_several_urls_share_the_browser_in_parallel(capturer, site):
    results = capturer.capture_many([site.url("/plain"), site.url("/missing"), site.url("/article")], 3)
    assert [type(r) for r in results] == [CaptureResult, CapturePermanentError, CaptureResult]
    assert [results[0].title, results[2].title] == ["Plain", "A Fine Article"]


def test_asset_over_the_cap_is_skipped_with_a_note():
    result = CaptureResult(url="http://example.com/")
    result.keep("pdf", b"x" * (3 * 1024 * 1024), cap=2 * 1024 * 1024)
    result.keep("html", b"<p>small</p>", cap=2 * 1024 * 1024)
    assert "pdf" not in result.assets and result.assets["html"] == b"<p>small</p>"
    assert result.notes == ["pdf skipped: 3 MB over the 2 MB cap"]


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/", "http://127.0.0.2/",
                                 "http://0x7f000002/", "http://169.254.169.254/latest/meta-data/"])
def test_refused_submitted_urls(capturer, canaries, url):
    with pytest.raises(CaptureRefused):
        capturer.capture(url)


def test_non_allowed_loopback_port_is_refused(capturer, servers, canaries):
    _site, _far, near = servers
    with pytest.raises(CaptureRefused, match="127.0.0.1 is a loopback address"):
        capturer.capture(near.url("/direct"))


@pytest.mark.parametrize("path,target", [
    ("/main-to-far", "127.0.0.2"),      # HTTP redirect of the page itself
    ("/main-to-near", "127.0.0.1"),     # redirect to a loopback port that is not allowed
    ("/refresh-to-far", "127.0.0.2"),   # meta refresh
    ("/script-to-far", "127.0.0.2"),    # location.href from a script
])
def test_page_navigating_to_a_refused_address_is_refused(capturer, site, canaries, path, target):
    with pytest.raises(CaptureRefused, match=f"{target}.* is a loopback address"):
        capturer.capture(site.url(path))


def test_subresources_frames_fetches_and_redirect_hops_never_reach_the_canaries(capturer, site, canaries):
    result = capturer.capture(site.url("/sneaky"))
    assert result.title == "Sneaky"
    assert "screenshot" in result.assets
    assert any(note.startswith("blocked ") for note in result.notes)
    assert result.favicon_url == "" and "favicon" not in result.assets


def test_meta_refresh_to_file_stays_on_the_page(capturer, site):
    started = time.monotonic()
    result = capturer.capture(site.url("/refresh-to-file"))
    assert time.monotonic() - started < 15
    assert result.final_url == site.url("/refresh-to-file")
    assert result.text == "Stay here"
    assert b"root:" not in result.assets["html"]


def test_capture_contexts_start_no_hidden_browser_window_ui(capturer, site):
    """Each capture opens a window; its WebUI (omnibox popup, toolbar) would cost a renderer per job."""
    capturer.capture(site.url("/article"))

    async def targets_while_a_page_is_open():
        browser = await capturer._host.browser()
        context = await browser.new_context()
        try:
            await context.new_page()
            session = await browser.new_browser_cdp_session()
            try:
                return (await session.send("Target.getTargets"))["targetInfos"]
            finally:
                await session.detach()
        finally:
            await context.close()

    targets = capturer._host.run(targets_while_a_page_is_open(), 30)
    assert [t["type"] for t in targets if t["type"] == "page"] == ["page"]
    assert [t["url"] for t in targets if t["type"] not in ("page", "browser")] == []
