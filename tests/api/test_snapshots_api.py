"""Snapshot requests and history over the API; the link JSON carries the shown snapshot."""
from django.core.files.base import ContentFile
from django.utils import timezone

from snapshots.models import Snapshot
from tests.factories import make_link
from tests.support.on_commit import capture_sends


def _done(link, title: str, **fields) -> Snapshot:
    return Snapshot.objects.create(link=link, status=Snapshot.Status.DONE, title=title,
                                   finished_at=timezone.now(), **fields)


def test_recapture_answers_202_with_a_new_pending_snapshot(alice_api, alice, django_capture_on_commit_callbacks):
    link = make_link(alice, "https://example.com/")
    first = link.snapshots.get()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        answer = alice_api.post(f"/api/links/{link.pk}/snapshot/")
    assert answer.status_code == 202
    body = answer.json()
    assert body["status"] == "pending" and body["attempts"] == 0 and body["id"] != first.pk
    assert len(capture_sends(callbacks)) == 1
    assert set(link.snapshots.values_list("pk", flat=True)) == {first.pk, body["id"]}


def test_history_lists_every_snapshot_newest_first(alice_api, alice):
    link = make_link(alice, "https://example.com/")
    alice_api.post(f"/api/links/{link.pk}/snapshot/")
    alice_api.post(f"/api/links/{link.pk}/snapshot/")
    answer = alice_api.get(f"/api/links/{link.pk}/snapshots/")
    assert answer.status_code == 200
    ids = [item["id"] for item in answer.json()["results"]]
    assert ids == list(link.snapshots.order_by("-created_at", "-id").values_list("pk", flat=True))
    assert len(ids) == 3


def test_link_json_shows_newest_complete_snapshot_over_a_newer_pending_one(alice_api, alice):
    link = make_link(alice, "https://example.com/")
    done = _done(link, "Captured", final_url="https://example.com/final", http_status=200,
                 content_type="text/html", language="en")
    alice_api.post(f"/api/links/{link.pk}/snapshot/")
    for body in (alice_api.get(f"/api/links/{link.pk}/").json(), alice_api.get("/api/links/").json()["results"][0]):
        snapshot = body["snapshot"]
        assert snapshot["id"] == done.pk
        assert (snapshot["status"], snapshot["title"], snapshot["final_url"], snapshot["http_status"],
                snapshot["content_type"], snapshot["language"]) == (
            "done", "Captured", "https://example.com/final", 200, "text/html", "en")


def test_failed_snapshot_shows_its_error(alice_api, alice):
    link = make_link(alice, "https://example.com/")
    link.snapshots.update(status=Snapshot.Status.FAILED, error="Refused: private address", attempts=1)
    snapshot = alice_api.get(f"/api/links/{link.pk}/").json()["snapshot"]
    assert (snapshot["status"], snapshot["error"], snapshot["attempts"]) == ("failed", "Refused: private address", 1)


def test_asset_urls_point_at_kept_assets_only(alice_api, alice):
    link = make_link(alice, "https://example.com/")
    snapshot = _done(link, "With assets", text="Readable text")
    snapshot.screenshot.save("screenshot.png", ContentFile(b"\x89PNG\r\n\x1a\n" + b"0" * 32), save=False)
    snapshot.save()
    urls = alice_api.get(f"/api/links/{link.pk}/").json()["snapshot"]["urls"]
    assert set(urls) == {"screenshot", "thumbnail", "full_page", "html", "mhtml", "pdf", "text", "favicon"}
    assert urls["screenshot"] == f"http://testserver/api/snapshots/{snapshot.pk}/screenshot/"
    assert urls["text"] == f"http://testserver/api/snapshots/{snapshot.pk}/text/"
    assert urls["pdf"] is None and urls["mhtml"] is None


def _snapshot_with_files(link) -> Snapshot:
    snapshot = _done(link, "Files", text="Readable text")
    snapshot.screenshot.save("shot.png", ContentFile(b"\x89PNG\r\n\x1a\n" + b"0" * 32), save=False)
    snapshot.html.save("page.html", ContentFile(b"<script>alert(1)</script>"), save=False)
    snapshot.pdf.save("page.pdf", ContentFile(b"%PDF-1.4 minimal"), save=False)
    snapshot.save()
    return snapshot


def test_asset_urls_work_with_the_api_token(alice_api, alice):
    link = make_link(alice, "https://example.com/")
    _snapshot_with_files(link)
    urls = alice_api.get(f"/api/links/{link.pk}/").json()["snapshot"]["urls"]
    shot = alice_api.get(urls["screenshot"])
    assert shot.status_code == 200 and shot["Content-Type"] == "image/png"
    assert b"".join(shot.streaming_content).startswith(b"\x89PNG")
    text = alice_api.get(urls["text"])
    assert text.content == b"Readable text"
    html = alice_api.get(urls["html"])
    assert html["Content-Security-Policy"].split(";")[0] == "sandbox"
    assert html["X-Content-Type-Options"] == "nosniff"
    assert alice_api.get(urls["pdf"])["Content-Disposition"].startswith("attachment")


def test_asset_download_is_owner_only(alice, bob_api):
    link = make_link(alice, "https://example.com/")
    snapshot = _snapshot_with_files(link)
    for asset in ("screenshot", "text", "html", "pdf"):
        answer = bob_api.get(f"/api/snapshots/{snapshot.pk}/{asset}/")
        assert answer.status_code == 404
        assert "detail" in answer.json()


def test_missing_or_unknown_assets_are_404(alice_api, alice):
    snapshot = _snapshot_with_files(make_link(alice, "https://example.com/"))
    assert alice_api.get(f"/api/snapshots/{snapshot.pk}/mhtml/").status_code == 404
    assert alice_api.get(f"/api/snapshots/{snapshot.pk}/secrets/").status_code == 404
    assert alice_api.get("/api/snapshots/999999/screenshot/").status_code == 404


def test_html_goes_to_the_snapshot_origin_when_configured(alice_api, alice, settings):
    settings.LINKSHOT_SNAPSHOT_ORIGIN = "https://snapshots.example.net"
    snapshot = _snapshot_with_files(make_link(alice, "https://example.com/"))
    answer = alice_api.get(f"/api/snapshots/{snapshot.pk}/html/")
    assert answer.status_code == 302
    assert answer["Location"].startswith("https://snapshots.example.net/snapshots/shared/")


def test_link_without_snapshots_has_null_snapshot(alice_api, alice):
    link = make_link(alice, "https://example.com/")
    link.snapshots.all().delete()
    assert alice_api.get(f"/api/links/{link.pk}/").json()["snapshot"] is None
    assert alice_api.get("/api/links/").json()["results"][0]["snapshot"] is None
