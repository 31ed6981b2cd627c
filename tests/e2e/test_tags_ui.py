"""Tags in the browser: rename and merge from the tag index."""
import pytest
from playwright.sync_api import Page, expect

from tagging.models import Tag
from tests.factories import make_link

pytestmark = [pytest.mark.e2e, pytest.mark.chromium, pytest.mark.django_db(transaction=True)]


def test_rename_then_merge_a_tag(alice_page: Page, alice, tmp_path):
    make_link(alice, "https://example.com/1", title="One", tags=["js"])
    make_link(alice, "https://example.com/2", title="Two", tags=["javascript"])
    page = alice_page
    page.goto("/")
    page.get_by_role("link", name="Tags", exact=True).click()
    page.get_by_role("row", name="js").get_by_role("link", name="Rename").click()
    name = page.get_by_label("New name")
    expect(name).to_be_focused()
    name.fill("ecmascript")
    page.get_by_role("button", name="Rename").click()
    expect(page.get_by_text("Renamed “js” to “ecmascript”.")).to_be_visible()
    page.screenshot(path=str(tmp_path / "tags.png"))
    page.get_by_role("row", name="ecmascript").get_by_role("link", name="Merge").click()
    page.get_by_label("Merge into").select_option(label="javascript")
    page.get_by_role("button", name="Merge").click()
    expect(page.get_by_text("Merged “ecmascript” into “javascript”")).to_be_visible()
    expect(page.locator(".link-row .link-title")).to_have_text(["Two", "One"])
    assert list(Tag.objects.filter(user=alice).values_list("name", flat=True)) == ["javascript"]
