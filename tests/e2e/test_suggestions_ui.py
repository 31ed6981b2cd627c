"""Tag suggestions in a real browser: one click on the link page and in the list, keys on the review page."""
import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tagging.models import TagSuggestion
from tests.e2e.captures import finish_capture
from tests.factories import make_analysis, make_link, make_suggestion

pytestmark = [pytest.mark.e2e, pytest.mark.chromium, pytest.mark.django_db(transaction=True)]


def mark_page(page: Page) -> None:
    # A reload would lose this flag, so finding it afterwards proves the page updated in place.
    page.evaluate("window.__noReload = true")


def state(link, name: str) -> str:
    return TagSuggestion.objects.get(link=link, name=name).state


def test_link_page_shows_suggestions_as_they_come_and_accepts_in_one_click(alice_page: Page, alice, tmp_path):
    link = make_link(alice, "https://example.com/async", tags=["code"])
    finish_capture(link.snapshots.get(), text="Tasks and event loops.", title="Async in Python")
    analysis = make_analysis(link, "running", snapshot=link.snapshots.get())
    page = alice_page
    page.goto(f"/links/{link.pk}/")
    panel = page.locator("#suggestions-panel")
    expect(panel.locator(".badge")).to_have_text("Analysing…")
    mark_page(page)
    make_suggestion(link, "python", 0.91, ["3 similar links are tagged python"])
    make_suggestion(link, "asyncio", 0.47, ["title mentions 'asyncio'"], existing=False)
    analysis.status, analysis.finished_at = "done", timezone.now()
    analysis.save()
    expect(panel.locator(".badge")).to_have_text("Analysed")  # the panel polled and stopped
    expect(panel.locator(".suggestion")).to_have_count(2)
    expect(panel.locator(".suggestion").first).to_contain_text("91%")
    expect(panel.locator(".suggestion").first).to_contain_text("3 similar links are tagged python")
    page.screenshot(path=str(tmp_path / "link-suggestions.png"), full_page=True)

    panel.get_by_role("button", name="Accept python").click()
    expect(page.locator("#link-tags .chip")).to_have_text(["code", "python"])
    expect(panel.locator(".suggestion")).to_have_count(1)
    expect(panel.get_by_role("status")).to_have_text("Tagged with python.")
    panel.get_by_role("button", name="Reject asyncio").click()
    expect(panel.locator(".suggestion")).to_have_count(0)
    expect(page.locator("#link-tags .chip")).to_have_text(["code", "python"])
    assert page.evaluate("window.__noReload") is True
    assert panel.get_attribute("hx-trigger") is None
    assert (state(link, "python"), state(link, "asyncio")) == ("accepted", "rejected")


def test_list_row_accepts_a_suggested_tag_in_one_click(alice_page: Page, alice, tmp_path):
    link = make_link(alice, "https://example.com/row", title="Row link", tags=["code"])
    other = make_link(alice, "https://example.com/other", title="Other link")
    make_suggestion(link, "python", 0.91, ["3 similar links are tagged python"])
    make_suggestion(other, "django", 0.6)
    page = alice_page
    page.goto("/")
    row = page.locator(f'.link-row[data-link-id="{link.pk}"]')
    expect(row.locator(".chip-suggested")).to_have_text(["python? 91%"])
    page.screenshot(path=str(tmp_path / "list-suggestions.png"), full_page=True)
    mark_page(page)
    row.get_by_role("button", name="Accept suggested tag python").click()
    expect(row.locator("a.chip")).to_have_text(["code", "python"])
    expect(row.locator(".chip-suggested")).to_have_count(0)
    expect(page.locator(".chip-suggested")).to_have_text(["django? 60%"])  # other rows untouched
    assert page.evaluate("window.__noReload") is True
    assert state(link, "python") == "accepted"
    page.reload()  # the cached rows were dropped too
    expect(row.locator("a.chip")).to_have_text(["code", "python"])


def test_list_row_shows_suggestions_when_capture_and_analysis_finish(alice_page: Page, alice):
    link = make_link(alice, "https://example.com/live", title="Live link")
    page = alice_page
    page.goto("/")
    row = page.locator(f'.link-row[data-link-id="{link.pk}"]')
    expect(row.locator(".badge")).to_have_text("Queued")
    mark_page(page)
    finish_capture(link.snapshots.get())
    analysis = make_analysis(link, "pending", snapshot=link.snapshots.get())  # what the capture's commit hook queues
    expect(row.locator(".badge")).to_have_text("Captured")
    expect(row.locator(".chip-analysis")).to_have_text("suggestions queued")
    make_suggestion(link, "python", 0.8)
    analysis.status = "done"
    analysis.save()
    expect(row.locator(".chip-suggested")).to_have_text(["python? 80%"])
    expect(row.locator(".chip-analysis")).to_have_count(0)
    expect(row.locator(".tag-slot")).not_to_have_attribute("hx-trigger", "every 2s")
    assert page.evaluate("window.__noReload") is True


def test_review_page_walks_with_j_a_and_r(alice_page: Page, alice, tmp_path):
    one = make_link(alice, "https://example.com/1", title="First link")
    two = make_link(alice, "https://example.com/2", title="Second link")
    three = make_link(alice, "https://example.com/3", title="Third link")
    make_suggestion(one, "python", 0.95)
    make_suggestion(two, "django", 0.85, ["looks like 4 pages tagged django"])
    make_suggestion(three, "asyncio", 0.75, existing=False)
    page = alice_page
    page.goto("/")
    page.get_by_role("link", name="Suggestions", exact=True).click()
    items = page.locator("[data-review-item]")
    expect(items).to_have_count(3)
    expect(page.locator(".review-item.is-current")).to_contain_text("python")
    mark_page(page)
    page.keyboard.press("j")
    expect(page.locator(".review-item.is-current")).to_contain_text("django")
    page.keyboard.press("a")
    expect(items.nth(1)).to_have_attribute("data-state", "accepted")
    expect(page.locator(".review-item.is-current")).to_contain_text("asyncio")  # moved on by itself
    page.keyboard.press("r")
    expect(items.nth(2)).to_have_attribute("data-state", "rejected")
    expect(page.locator(".review-item.is-current")).to_contain_text("python")  # the one still pending
    page.keyboard.press("k")
    expect(page.locator(".review-item.is-current")).to_contain_text("python")
    page.screenshot(path=str(tmp_path / "review.png"), full_page=True)
    assert page.evaluate("window.__noReload") is True
    assert (state(one, "python"), state(two, "django"), state(three, "asyncio")) == ("pending", "accepted", "rejected")
    assert list(two.tags.values_list("name", flat=True)) == ["django"]

    page.get_by_label("Tag", exact=True).select_option(label="python (1)")  # filters on change
    expect(page).to_have_url("/tags/suggestions/?tag=python")
    expect(items).to_have_count(1)
