"""Links in the browser: add with tag autocomplete, list, search, tag filter, bulk tag, delete."""
import re

import pytest
from playwright.sync_api import Page, expect

from snapshots.models import Link
from tests.factories import PASSWORD, make_link

pytestmark = [pytest.mark.e2e, pytest.mark.chromium, pytest.mark.django_db(transaction=True)]


def tag_names(link: Link) -> list[str]:
    return sorted(link.tags.values_list("name", flat=True))


def test_log_in_and_add_link_with_autocompleted_tag(page: Page, alice):
    make_link(alice, "https://example.com/existing", title="Existing", tags=["python"])
    page.goto("/")
    expect(page).to_have_url(re.compile("/accounts/login/"))
    page.get_by_label("User name").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    page.get_by_role("link", name="+ Add link").click()
    expect(page.get_by_label("URL")).to_be_focused()
    page.get_by_label("URL").fill("https://docs.example.org/guide?utm_source=feed")
    tags = page.get_by_label("Tags")
    tags.fill("reading, py")
    suggestion = page.get_by_role("option", name=re.compile("^python"))
    expect(suggestion).to_be_visible()
    tags.press("Enter")
    expect(tags).to_have_value("reading, python, ")
    page.get_by_label("Title").fill("The Guide")
    page.get_by_role("button", name="Save link").click()
    expect(page.get_by_text("Link saved.")).to_be_visible()
    row = page.locator(".link-row", has_text="The Guide")
    expect(row.locator(".chip")).to_have_text(["python", "reading"])
    link = Link.objects.get(user=alice, title="The Guide")
    assert link.url == "https://docs.example.org/guide"
    assert tag_names(link) == ["python", "reading"]


def test_adding_saved_url_again_shows_the_existing_link(alice_page: Page, alice):
    link = make_link(alice, "https://example.com/a", title="Already here", tags=["one"])
    page = alice_page
    page.goto("/add/")
    page.get_by_label("URL").fill("https://EXAMPLE.com/a")
    page.get_by_label("Tags").fill("two")
    page.get_by_label("Tags").press("Control+Enter")
    expect(page.get_by_text("already saved — tags merged")).to_be_visible()
    expect(page).to_have_url(re.compile(f"/links/{link.pk}/$"))
    assert tag_names(link) == ["one", "two"]


def test_invalid_url_shows_an_error_and_saves_nothing(alice_page: Page):
    page = alice_page
    page.goto("/add/")
    page.get_by_label("URL").fill("javascript:alert(1)")
    page.get_by_label("Tags").fill("kept")
    page.get_by_role("button", name="Save link").click()
    expect(page.get_by_role("alert")).to_contain_text("Only http and https links can be saved")
    expect(page.get_by_label("Tags")).to_have_value("kept")
    assert not Link.objects.exists()


def test_search_then_filter_by_tag(alice_page: Page, alice):
    make_link(alice, "https://example.com/1", title="Celery routing notes", tags=["python"])
    make_link(alice, "https://example.com/2", title="Celery soup recipe", tags=["food"])
    make_link(alice, "https://example.com/3", title="Django forms", tags=["python"])
    page = alice_page
    page.goto("/")
    page.keyboard.press("/")
    search = page.get_by_role("searchbox", name="Search links")
    expect(search).to_be_focused()
    search.fill("celery")
    search.press("Enter")
    titles = page.locator(".link-row .link-title")
    expect(titles).to_have_text(["Celery soup recipe", "Celery routing notes"])
    page.locator(".link-row", has_text="Celery routing notes").get_by_role("link", name="python").click()
    expect(titles).to_have_text(["Django forms", "Celery routing notes"])
    page.get_by_role("link", name="Remove tag filter python").click()
    expect(titles).to_have_count(3)


def test_bulk_add_tags_to_selected_links(alice_page: Page, alice):
    first = make_link(alice, "https://example.com/1", title="First")
    second = make_link(alice, "https://example.com/2", title="Second")
    untouched = make_link(alice, "https://example.com/3", title="Third")
    page = alice_page
    page.goto("/")
    page.keyboard.press("j")  # keyboard: move to the first row (Third, newest) and on
    page.keyboard.press("j")
    expect(page.get_by_role("link", name="Second", exact=True)).to_be_focused()
    page.keyboard.press("x")
    page.get_by_label("Select First").check()
    expect(page.get_by_text("2 selected")).to_be_visible()
    page.get_by_label("Bulk action", exact=True).select_option("add_tags")
    page.get_by_label("Tags for the bulk action").fill("to-read")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("Tagged 2 link(s) with to-read.")).to_be_visible()
    expect(page.locator(".link-row", has_text="First").locator(".chip")).to_have_text(["to-read"])
    assert tag_names(first) == tag_names(second) == ["to-read"] and tag_names(untouched) == []


def test_delete_link_and_bulk_delete_ask_first(alice_page: Page, alice):
    make_link(alice, "https://example.com/1", title="Delete me")
    make_link(alice, "https://example.com/2", title="Bulk one")
    make_link(alice, "https://example.com/3", title="Bulk two")
    page = alice_page
    page.goto("/")
    page.locator(".link-row", has_text="Delete me").get_by_role("link", name="Delete", exact=True).click()
    expect(page.get_by_role("heading", name="Delete this link?")).to_be_visible()
    assert Link.objects.count() == 3
    page.get_by_role("button", name="Delete link").click()
    expect(page.get_by_text("Deleted “Delete me”.")).to_be_visible()
    page.get_by_label("Select all links on this page").check()
    page.get_by_label("Bulk action", exact=True).select_option("delete")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("heading", name="Delete 2 links?")).to_be_visible()
    assert Link.objects.count() == 2
    page.get_by_role("button", name="Delete 2 links").click()
    expect(page.get_by_text("No links saved yet")).to_be_visible()
    assert not Link.objects.exists()
