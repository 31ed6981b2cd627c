import pytest
from django.urls import reverse

from snapshots.models import Link
from tests.factories import make_link
from tests.web.conftest import page_messages

pytestmark = pytest.mark.django_db
BULK = reverse("link-bulk")


def tag_names(link):
    return sorted(link.tags.values_list("name", flat=True))


@pytest.fixture
def three_links(alice):
    return [make_link(alice, f"https://example.com/{n}", title=f"Link {n}", tags=["base"]) for n in range(3)]


def test_bulk_add_and_remove_tags(alice_client, three_links):
    first, second, third = three_links
    response = alice_client.post(BULK, {"ids": [first.pk, second.pk], "action": "add_tags", "tags": "Read, later"},
                                 follow=True)
    assert "Tagged 2 link(s)" in " ".join(page_messages(response))
    assert tag_names(first) == tag_names(second) == sorted(["base", "later", "Read"])
    assert tag_names(third) == ["base"]
    alice_client.post(BULK, {"ids": [first.pk], "action": "remove_tags", "tags": "read, base"})
    assert tag_names(first) == ["later"]
    assert tag_names(second) == sorted(["base", "later", "Read"])


def test_bulk_archive_unarchive_and_read_flags(alice_client, three_links):
    ids = [link.pk for link in three_links[:2]]
    alice_client.post(BULK, {"ids": ids, "action": "archive"})
    assert set(Link.objects.filter(archived=True).values_list("pk", flat=True)) == set(ids)
    alice_client.post(BULK, {"ids": ids[:1], "action": "unarchive"})
    assert list(Link.objects.filter(archived=True).values_list("pk", flat=True)) == ids[1:]
    alice_client.post(BULK, {"ids": ids, "action": "mark_unread"})
    assert set(Link.objects.filter(unread=True).values_list("pk", flat=True)) == set(ids)
    alice_client.post(BULK, {"ids": ids, "action": "mark_read"})
    assert not Link.objects.filter(unread=True).exists()


def test_bulk_delete_asks_for_confirmation(alice_client, three_links):
    ids = [link.pk for link in three_links[:2]]
    response = alice_client.post(BULK, {"ids": ids, "action": "delete", "next": "/?tag=base"})
    html = response.content.decode()
    assert response.status_code == 200 and "Delete 2 links?" in html
    assert Link.objects.count() == 3
    response = alice_client.post(BULK, {"ids": ids, "action": "delete", "confirm": "on", "next": "/?tag=base"})
    assert response["Location"] == "/?tag=base"
    assert list(Link.objects.values_list("pk", flat=True)) == [three_links[2].pk]


def test_bulk_cannot_touch_other_peoples_links(bob_client, alice, three_links):
    ids = [link.pk for link in three_links]
    for action in ("add_tags", "remove_tags", "archive", "mark_unread"):
        bob_client.post(BULK, {"ids": ids, "action": action, "tags": "base"})
    bob_client.post(BULK, {"ids": ids, "action": "delete", "confirm": "on"})
    assert Link.objects.filter(user=alice, archived=False, unread=False).count() == 3
    assert all(tag_names(link) == ["base"] for link in three_links)
    response = bob_client.post(BULK, {"ids": ids, "action": "delete"})
    assert "None of the selected links exist" in response.content.decode()


@pytest.mark.parametrize("data, message", [
    ({"action": "archive"}, "Select at least one link first."),
    ({"ids": ["x"], "action": "archive"}, "invalid link id"),
    ({"ids": ["9" * 40], "action": "archive"}, "invalid link id"),
    ({"ids": [str(n) for n in range(1, 600)], "action": "archive"}, "at most 500 links"),
    ({"ids": ["1"], "action": "explode"}, "Choose one of the listed bulk actions."),
    ({"ids": ["1"], "action": "add_tags", "tags": ""}, "Enter the tags to add or remove."),
    ({"ids": ["1"], "action": "add_tags", "tags": "x" * 65}, "longer than 64 characters"),
])
def test_bulk_bad_input_changes_nothing(alice_client, alice, data, message):
    link = make_link(alice, "https://example.com/", tags=["keep"])
    data = {k: ([str(link.pk)] if v == ["1"] else v) for k, v in data.items()}
    response = alice_client.post(BULK, data, follow=True)
    assert any(message in text for text in page_messages(response))
    link.refresh_from_db()
    assert not link.archived and tag_names(link) == ["keep"]


def test_bulk_ignores_foreign_next_url(alice_client, three_links):
    response = alice_client.post(BULK, {"ids": [three_links[0].pk], "action": "archive",
                                        "next": "https://evil.example/"})
    assert response["Location"] == reverse("link-list")


def test_bulk_needs_post(alice_client):
    assert alice_client.get(BULK).status_code == 405
