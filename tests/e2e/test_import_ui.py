"""Importing through the page in a real Chromium: upload, a progress bar that moves without reload, the report."""
import pytest
from playwright.sync_api import Page, expect

from imports import runner
from imports.models import ImportJob
from tests.imports.files import anchor, netscape

pytestmark = [pytest.mark.e2e, pytest.mark.chromium, pytest.mark.django_db(transaction=True)]


def test_upload_then_watch_progress_and_skipped_entries(alice_page: Page, alice, tmp_path, settings):
    settings.LINKSHOT_IMPORT_BATCH = 2
    upload = tmp_path / "bookmarks.html"
    upload.write_bytes(netscape(anchor("https://example.com/1", "One"), anchor("http://10.0.0.5/", "Inside"),
                                anchor("https://example.com/2", "Two")))
    page = alice_page
    page.goto("/import/")
    page.set_input_files("input[type=file]", str(upload))
    page.get_by_label("Use folder names as tags").check()
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-progress")).to_have_attribute("data-status", "pending")
    page.evaluate("window.__noReload = true")
    runner.run_import(ImportJob.objects.get(user=alice).pk)  # what the worker's task runs
    progress = page.locator("#import-progress")
    expect(progress).to_have_attribute("data-status", "done")
    expect(progress.locator("[data-done]")).to_have_text("3")
    expect(progress.locator("progress")).to_have_attribute("value", "3")
    expect(progress).to_contain_text("2 imported · 1 skipped")
    expect(progress.locator("table.issues")).to_contain_text("This address cannot be captured")
    assert page.evaluate("window.__noReload") is True
    assert progress.get_attribute("hx-trigger") is None  # polling stopped
