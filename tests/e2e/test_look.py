"""The list page renders with its stylesheet and scripts: a quick look at layout, saved as PNG."""
import pytest
from playwright.sync_api import Page, expect

from snapshots.models import Link
from tests.factories import make_link

pytestmark = [pytest.mark.e2e, pytest.mark.chromium, pytest.mark.django_db(transaction=True)]


def test_list_page_layout(alice_page: Page, alice, tmp_path):
    make_link(alice, "https://example.com/a", title="A page about Python packaging", tags=["python", "packaging"],
              description="How wheels and sdists fit together.")
    unread = make_link(alice, "https://example.com/b", title="Unread article", tags=["reading"])
    Link.objects.filter(pk=unread.pk).update(unread=True)
    page = alice_page
    page.goto("/")
    thumb = page.locator(".thumb").first.bounding_box()
    assert (round(thumb["width"]), round(thumb["height"])) == (120, 75)
    expect(page.locator(".flag-unread")).to_have_text("unread")
    assert page.evaluate("typeof htmx") == "object"
    page.screenshot(path=str(tmp_path / "list.png"), full_page=True)
    page.goto("/tags/?view=cloud")
    expect(page.locator(".cloud-tag")).to_have_count(3)
    page.screenshot(path=str(tmp_path / "tags.png"), full_page=True)
