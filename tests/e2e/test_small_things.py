"""Small layout things people noticed: the badge on a phone screen, chips on selected rows."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from snapshots.models import Snapshot
from tests.factories import make_link

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_no_snapshot_badge_stays_inside_its_thumbnail_on_a_390px_screen(alice_page: Page, alice):
    link = make_link(alice, "https://example.com/none")
    Snapshot.objects.filter(link=link).delete()
    alice_page.set_viewport_size({"width": 390, "height": 844})
    alice_page.goto("/")
    badge = alice_page.locator(f"#status-{link.pk} .badge")
    expect(badge).to_have_text("No snapshot")
    slot = alice_page.locator(f"#status-{link.pk}").bounding_box()
    box = badge.bounding_box()
    assert box["x"] >= slot["x"] and box["x"] + box["width"] <= slot["x"] + slot["width"] + 0.5


def test_tag_chips_keep_a_background_of_their_own_on_selected_rows(alice_page: Page, alice):
    link = make_link(alice, "https://example.com/tagged", tags=["python"])
    alice_page.goto("/")
    row = alice_page.locator(f'.link-row[data-link-id="{link.pk}"]')
    row.locator(".row-check").check()
    expect(row).to_have_class("link-row is-selected")
    row.locator(".row-check").evaluate("box => box.blur()")  # focus tints the row differently
    alice_page.mouse.move(0, 0)
    chip_bg = row.locator(".chip").evaluate("el => getComputedStyle(el).backgroundColor")
    row_bg = row.evaluate("el => getComputedStyle(el).backgroundColor")
    assert chip_bg != row_bg
