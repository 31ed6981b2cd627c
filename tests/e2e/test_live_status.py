"""The snapshot status updates in an open page when the capture finishes (no reload)."""
import io

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image
from playwright.sync_api import Page, expect

from snapshots.models import Snapshot
from tests.factories import make_link

pytestmark = [pytest.mark.e2e, pytest.mark.chromium, pytest.mark.django_db(transaction=True)]


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (53, 89, 224)).save(buffer, format="PNG")
    return buffer.getvalue()


def finish_capture(snapshot: Snapshot, text: str = "") -> None:
    """What the capture worker does when it is done, written from the test thread."""
    snapshot.status = Snapshot.Status.DONE
    snapshot.text = text
    snapshot.started_at = snapshot.finished_at = timezone.now()
    snapshot.thumbnail.save("thumbnail.png", ContentFile(png(240, 150)), save=False)
    snapshot.screenshot.save("screenshot.png", ContentFile(png(1280, 800)), save=False)
    snapshot.save()
    link = snapshot.link
    link.title = "Title from the page"
    link.save(update_fields=["title"])


def mark_page(page: Page) -> None:
    # A reload would lose this flag, so finding it afterwards proves the page updated in place.
    page.evaluate("window.__noReload = true")


def test_list_row_turns_from_pending_to_done_without_reload(alice_page: Page, alice):
    link = make_link(alice, "https://example.com/live")
    page = alice_page
    page.goto("/")
    slot = page.locator(f"#status-{link.pk}")
    expect(slot.locator(".badge")).to_have_text("Queued")
    mark_page(page)
    finish_capture(link.snapshots.get())
    expect(slot.locator(".badge")).to_have_text("Captured")
    expect(page.locator(f"#link-title-{link.pk}")).to_have_text("Title from the page")
    thumbnail = slot.locator("img")
    expect(thumbnail).to_be_visible()
    assert thumbnail.evaluate("img => img.complete && img.naturalWidth") == 240
    assert page.evaluate("window.__noReload") is True
    assert slot.get_attribute("hx-trigger") is None  # polling stopped


def test_detail_shows_failure_then_retry_then_result(alice_page: Page, alice):
    link = make_link(alice, "https://example.com/live")
    first = link.snapshots.get()
    page = alice_page
    page.goto(f"/links/{link.pk}/")
    panel = page.locator("#snapshot-panel")
    expect(panel.locator(".badge").first).to_have_text("Queued")
    mark_page(page)
    Snapshot.objects.filter(pk=first.pk).update(status=Snapshot.Status.FAILED, error="Timed out loading the page")
    expect(panel.get_by_role("alert")).to_contain_text("Timed out loading the page")
    assert page.evaluate("window.__noReload") is True
    panel.get_by_role("button", name="Retry").click()
    expect(page.get_by_text("A new snapshot is being captured")).to_be_visible()
    retry = link.snapshots.exclude(pk=first.pk).get()
    mark_page(page)
    finish_capture(retry, text="Readable words of the captured page.")
    expect(panel.get_by_text("Readable words of the captured page.")).to_be_visible()
    expect(page.locator("#link-title-detail")).to_have_text("Title from the page")
    expect(panel.locator(".history tbody tr")).to_have_count(2)
    assert page.evaluate("window.__noReload") is True
