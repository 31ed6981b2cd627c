"""Every way out of the capture browser goes through the checked egress proxy.

One test per attack that once reached internal services past the in-browser guard. Each runs a
hostile page on the allowed loopback host and then asserts that no canary (127.0.0.2, 127.0.0.3,
[::1], another port of 127.0.0.1) saw a request or even a TCP connection. With
LINKSHOT_TEST_EGRESS_BYPASS=1 the browser runs without the proxy and the attack tests (workers,
popups, speculation rules, rebinding, dual stack, refused navigations) fail. The WebRTC, huge PDF
and slow DNS tests check what other parts decide (Chromium's WebRTC policy, the streamed download,
the lookup threads) and pass either way.
"""
import pytest

from snapshots.capture import CapturePermanentError, CaptureRefused
from tests.support.egress_site import CAP_BYTES

pytestmark = [pytest.mark.chromium, pytest.mark.no_postgres]


@pytest.fixture
def hostile(egress_site):
    egress_site.reset()
    yield egress_site
    assert egress_site.reached() == {}, "a canary was reached"


def test_shared_and_dedicated_worker_fetches_and_websockets(egress_capturer, hostile):
    result = egress_capturer.capture(hostile.url("/workers"))
    assert result.title == "Workers"
    assert "/shared.js" in hostile.site.requests  # the workers really started


def test_popups_that_redirect_inside(egress_capturer, hostile):
    result = egress_capturer.capture(hostile.url("/popups"))
    assert result.title == "Popups"
    assert any(path.startswith("/pop-") for path in hostile.site.requests)  # the popups really opened


def test_speculation_rules_prefetch_that_redirects_inside(egress_capturer, hostile):
    result = egress_capturer.capture(hostile.url("/speculation"))
    assert result.title == "Speculation"


def test_webrtc_sends_no_udp(egress_capturer, hostile):
    result = egress_capturer.capture(hostile.url("/webrtc"))
    assert result.title == "WebRTC"


def test_dns_rebinding_keeps_the_checked_address(egress_capturer, hostile):
    hostile.dns.set("rebind.test", "127.0.0.1", "127.0.0.3")
    url = f"http://rebind.test:{hostile.site.port}/rebind"
    result = egress_capturer.capture(url)
    assert result.title == "site answer"  # the page and its later fetch came from the checked address
    assert hostile.dns.queries.count("rebind.test") == 1  # one lookup for the whole capture


def test_localhost_goes_to_the_checked_address_not_the_other_stack(egress_capturer, hostile):
    result = egress_capturer.capture(f"http://localhost:{hostile.site.port}/dual")
    assert result.title == "Dual"
    assert "/dual" in hostile.site.requests


@pytest.mark.parametrize("path", ["/nav-iframe", "/nav-js", "/nav-meta", "/nav-header"])
def test_refused_navigations_open_no_connection(egress_capturer, hostile, path):
    try:
        result = egress_capturer.capture(hostile.url(path))
    except CaptureRefused as exc:
        assert hostile.near.url("") in str(exc) or "127.0.0.1" in str(exc)
    else:
        assert any("blocked" in note for note in result.notes), result.notes


def test_huge_pdf_stops_at_the_cap_with_a_sentence(egress_capturer, hostile):
    with pytest.raises(CapturePermanentError) as raised:
        egress_capturer.capture(hostile.url("/huge.pdf"))
    assert str(raised.value) == f"the PDF is larger than {CAP_BYTES // 1024**2} MB"
    assert hostile.pdf_sent and max(hostile.pdf_sent) < 20 * CAP_BYTES  # nowhere near the 2 GB on offer


def test_slow_dns_for_many_hosts_does_not_hold_up_the_thumbnail(egress_capturer, hostile):
    # Lookups that hang (a resolver timing out) once filled the threads the thumbnail is made on.
    hostile.dns.slow_suffix, hostile.dns.slow_s = ".slow.test", 4.0
    try:
        result = egress_capturer.capture(hostile.url("/many-hosts"))
    finally:
        hostile.dns.slow_suffix = ""
    assert result.title == "Many hosts"
    assert "thumbnail" in result.assets, result.notes
    assert result.timings["thumbnail"] < 1.0
