"""The pages render with their stylesheet and scripts; screenshots are kept for a look by eye."""
import pytest
from playwright.sync_api import Page, expect

from snapshots.models import Link
from tests.e2e.captures import finish_capture
from tests.factories import make_link

pytestmark = [pytest.mark.e2e, pytest.mark.chromium, pytest.mark.django_db(transaction=True)]

TEXT = "Wheels are built distributions.\n\nAn sdist holds the source; installers build a wheel from it."


def test_list_detail_and_form_layout(alice_page: Page, alice, tmp_path):
    done = make_link(alice, "https://example.com/a", tags=["python", "packaging"],
                     description="How wheels and sdists fit together.")
    finish_capture(done.snapshots.get(), text=TEXT, title="A page about Python packaging")
    unread = make_link(alice, "https://example.com/b", title="Unread article", tags=["reading"])
    Link.objects.filter(pk=unread.pk).update(unread=True)
    page = alice_page
    page.goto("/")
    thumb = page.locator(".thumb").first.bounding_box()
    assert (round(thumb["width"]), round(thumb["height"])) == (120, 75)
    expect(page.locator(".flag-unread")).to_have_text("unread")
    assert page.evaluate("typeof htmx") == "object"
    page.screenshot(path=str(tmp_path / "list.png"), full_page=True)

    page.get_by_role("link", name="A page about Python packaging").click()
    expect(page.locator(".readable")).to_contain_text("An sdist holds the source")
    screenshot = page.get_by_role("img", name="Screenshot of A page about Python packaging")
    # Wait for the image's bytes (the live server is slow under load), then check what arrived.
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=screenshot.element_handle())
    assert screenshot.evaluate("img => img.naturalWidth") == 1280
    page.screenshot(path=str(tmp_path / "detail.png"), full_page=True)

    page.goto("/add/")
    page.get_by_label("URL").fill("not a url")
    page.get_by_label("Tags").fill("p")
    expect(page.get_by_role("option", name="python 1")).to_be_visible()
    page.screenshot(path=str(tmp_path / "autocomplete.png"))
    page.get_by_role("button", name="Save link").click()
    expect(page.get_by_role("alert")).to_have_text(
        "“not a url” is not a web address: enter one such as https://example.com/page.")
    page.screenshot(path=str(tmp_path / "form-error.png"))

    page.goto("/tags/?view=cloud")
    expect(page.locator(".cloud-tag")).to_have_count(3)
    page.screenshot(path=str(tmp_path / "tags.png"), full_page=True)
