"""The snapshot status updates in an open page when the capture finishes (no reload)."""
import pytest
from playwright.sync_api import Page, expect

from snapshots.models import Snapshot
from tests.e2e.captures import finish_capture
from tests.factories import make_link

pytestmark = [pytest.mark.e2e, pytest.mark.chromium, pytest.mark.django_db(transaction=True)]


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
    # The <img> is swapped in by htmx; its bytes arrive a moment later.
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())
    assert thumbnail.evaluate("img => img.naturalWidth") == 240
    assert page.evaluate("window.__noReload") is True
    assert slot.get_attribute("hx-trigger") is None  # polling stopped


def test_detail_shows_failure_then_retry_then_result(alice_page: Page, alice, tmp_path):
    link = make_link(alice, "https://example.com/live")
    first = link.snapshots.get()
    page = alice_page
    page.goto(f"/links/{link.pk}/")
    panel = page.locator("#snapshot-panel")
    expect(panel.locator(".badge").first).to_have_text("Queued")
    mark_page(page)
    Snapshot.objects.filter(pk=first.pk).update(status=Snapshot.Status.FAILED, error="Timed out loading the page")
    expect(panel.get_by_role("alert")).to_contain_text("Timed out loading the page")
    page.screenshot(path=str(tmp_path / "failed.png"))
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
