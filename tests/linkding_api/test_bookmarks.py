"""linkding's /api/bookmarks/ with requests and responses shaped as linkding's API documentation shows them."""
from datetime import datetime, timezone as tz

import pytest
from rest_framework.test import APIClient

from snapshots.models import Link
from tests.factories import make_link, make_suggestion

pytestmark = pytest.mark.django_db

# The keys of a bookmark in linkding's documented example response (plus the two it keeps as null).
BOOKMARK_KEYS = {"id", "url", "title", "description", "notes", "web_archive_snapshot_url", "favicon_url",
                 "preview_image_url", "is_archived", "unread", "shared", "tag_names", "date_added",
                 "date_modified", "website_title", "website_description"}
EXAMPLE_PAYLOAD = {  # linkding's documented create payload
    "url": "https://example.com",
    "title": "Example title",
    "description": "Example description",
    "notes": "Example notes",
    "is_archived": False,
    "unread": False,
    "shared": False,
    "tag_names": ["tag1", "tag2"],
}


def test_create_with_the_documented_payload(alice_api, alice):
    response = alice_api.post("/api/bookmarks/", EXAMPLE_PAYLOAD, format="json")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == BOOKMARK_KEYS
    assert {k: body[k] for k in EXAMPLE_PAYLOAD} == {**EXAMPLE_PAYLOAD, "url": "https://example.com/"}
    assert body["web_archive_snapshot_url"].startswith("https://web.archive.org/web/")
    assert body["favicon_url"] is None and body["preview_image_url"] is None
    link = Link.objects.get(user=alice)
    assert (link.title, link.notes) == ("Example title", "Example notes")
    assert link.snapshots.count() == 1  # Linkshot captures it as for any new link
    assert datetime.fromisoformat(body["date_added"].replace("Z", "+00:00")) == link.created_at


def test_create_archived_and_unread(alice_api):
    body = alice_api.post("/api/bookmarks/", {"url": "https://example.com/a", "is_archived": True, "unread": True},
                          format="json").json()
    assert (body["is_archived"], body["unread"]) == (True, True)


def test_creating_a_saved_url_updates_that_bookmark(alice_api, alice):
    first = make_link(alice, "https://example.com/", tags=["old"], title="Old", notes="old notes")
    response = alice_api.post("/api/bookmarks/", {**EXAMPLE_PAYLOAD, "unread": True}, format="json")
    assert response.status_code == 201 and response.json()["id"] == first.pk
    link = Link.objects.get(pk=first.pk)
    assert (link.title, link.description, link.notes, link.unread) == (
        "Example title", "Example description", "Example notes", True)
    assert sorted(t.name for t in link.tags.all()) == ["tag1", "tag2"]
    assert Link.objects.filter(user=alice).count() == 1


def test_list_shape_pagination_and_search(alice_api, alice):
    for i in range(5):
        make_link(alice, f"https://example.com/{i}", title=f"Page {i}" + (" zebra" if i % 2 else ""))
    make_link(alice, "https://example.com/archived", title="zebra archived").__class__.objects.filter(
        url="https://example.com/archived").update(archived=True)
    body = alice_api.get("/api/bookmarks/?limit=2&offset=1").json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 5 and [b["url"] for b in body["results"]] == ["https://example.com/3", "https://example.com/2"]
    assert body["next"] == "http://testserver/api/bookmarks/?limit=2&offset=3"
    assert body["previous"] == "http://testserver/api/bookmarks/?limit=2"
    assert set(body["results"][0]) == BOOKMARK_KEYS
    found = alice_api.get("/api/bookmarks/?q=zebra").json()
    assert [b["title"] for b in found["results"]] == ["Page 3 zebra", "Page 1 zebra"]
    archived = alice_api.get("/api/bookmarks/archived/?q=zebra").json()
    assert [b["url"] for b in archived["results"]] == ["https://example.com/archived"]


def test_default_limit_is_100(alice_api, alice):
    Link.objects.bulk_create([Link(user=alice, url=f"https://example.com/{i}") for i in range(105)])
    body = alice_api.get("/api/bookmarks/").json()
    assert body["count"] == 105 and len(body["results"]) == 100
    assert body["next"].endswith("?limit=100&offset=100")


def test_modified_since_and_added_since(alice_api, alice):
    old = make_link(alice, "https://example.com/old")
    new = make_link(alice, "https://example.com/new")
    Link.objects.filter(pk=old.pk).update(created_at=datetime(2024, 1, 1, tzinfo=tz.utc),
                                          updated_at=datetime(2024, 1, 1, tzinfo=tz.utc))
    Link.objects.filter(pk=new.pk).update(created_at=datetime(2024, 1, 1, tzinfo=tz.utc),
                                          updated_at=datetime(2025, 6, 1, tzinfo=tz.utc))
    modified = alice_api.get("/api/bookmarks/?modified_since=2025-01-01T00:00:00Z").json()
    assert [b["id"] for b in modified["results"]] == [new.pk]
    added = alice_api.get("/api/bookmarks/?added_since=2025-05-29T00:00:00Z").json()
    assert added["count"] == 0
    assert alice_api.get("/api/bookmarks/?added_since=2023-01-01T00:00:00%2B00:00").json()["count"] == 2
    bad = alice_api.get("/api/bookmarks/?modified_since=yesterday")
    assert bad.status_code == 400 and "modified_since" in bad.json()


def test_retrieve_put_patch_archive_unarchive_delete(alice_api, alice):
    link = make_link(alice, "https://example.com/", tags=["a"], title="T")
    assert alice_api.get(f"/api/bookmarks/{link.pk}/").json()["tag_names"] == ["a"]
    patched = alice_api.patch(f"/api/bookmarks/{link.pk}/", {"title": "New"}, format="json").json()
    assert (patched["title"], patched["tag_names"]) == ("New", ["a"])  # fields not given are kept
    put = alice_api.put(f"/api/bookmarks/{link.pk}/", {"url": "https://example.com/moved", "tag_names": ["b"]},
                        format="json").json()
    assert (put["url"], put["title"], put["tag_names"]) == ("https://example.com/moved", "New", ["b"])
    assert alice_api.put(f"/api/bookmarks/{link.pk}/", {"title": "no url"}, format="json").status_code == 400
    assert alice_api.post(f"/api/bookmarks/{link.pk}/archive/").status_code == 204
    assert Link.objects.get(pk=link.pk).archived is True
    assert alice_api.post(f"/api/bookmarks/{link.pk}/unarchive/").status_code == 204
    assert Link.objects.get(pk=link.pk).archived is False
    assert alice_api.delete(f"/api/bookmarks/{link.pk}/").status_code == 204
    assert not Link.objects.filter(pk=link.pk).exists()


def test_update_to_a_url_already_saved_is_an_error(alice_api, alice):
    make_link(alice, "https://example.com/one")
    two = make_link(alice, "https://example.com/two")
    response = alice_api.patch(f"/api/bookmarks/{two.pk}/", {"url": "https://example.com/one"}, format="json")
    assert response.status_code == 400 and response.json()["url"] == ["A bookmark with this URL already exists."]


def test_check(alice_api, alice):
    link = make_link(alice, "https://example.com/", title="Saved")
    link.snapshots.update(status="done", title="Scraped website title", description="Scraped website description")
    body = alice_api.get("/api/bookmarks/check/?url=https%3A%2F%2Fexample.com").json()
    assert set(body) == {"bookmark", "metadata", "auto_tags"}
    assert body["bookmark"]["id"] == link.pk and body["bookmark"]["title"] == "Saved"
    assert body["metadata"]["title"] == "Scraped website title"
    assert body["metadata"]["description"] == "Scraped website description"
    assert body["auto_tags"] == []
    make_suggestion(link, "web", 0.4)
    make_suggestion(link, "python", 0.9)
    assert alice_api.get("/api/bookmarks/check/?url=https%3A%2F%2Fexample.com").json()["auto_tags"] == ["python", "web"]
    unknown = alice_api.get("/api/bookmarks/check/?url=https%3A%2F%2Fnew.example%2F").json()
    assert unknown["bookmark"] is None and unknown["metadata"]["title"] is None


def test_bad_token_is_401_and_other_peoples_bookmarks_404(alice, bob_api):
    link = make_link(alice, "https://example.com/")
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")
    assert stranger.get("/api/bookmarks/").status_code == 401
    assert APIClient().get("/api/bookmarks/").status_code == 401
    for method in ("get", "put", "patch", "delete"):
        assert getattr(bob_api, method)(f"/api/bookmarks/{link.pk}/", {"url": "https://x.example/"},
                                        format="json").status_code == 404
    assert bob_api.post(f"/api/bookmarks/{link.pk}/archive/").status_code == 404
    assert bob_api.get("/api/bookmarks/check/?url=https://example.com/").json()["bookmark"] is None
    assert bob_api.get("/api/bookmarks/").json()["count"] == 0
    assert Link.objects.get(pk=link.pk).archived is False


def test_private_addresses_are_refused_as_everywhere(alice_api):
    response = alice_api.post("/api/bookmarks/", {"url": "http://127.0.0.1:8000/"}, format="json")
    assert response.status_code == 400 and "cannot be captured" in response.json()["url"][0]


def test_a_page_of_bookmarks_takes_a_fixed_number_of_queries(alice_api, alice, django_assert_max_num_queries):
    for i in range(30):
        make_link(alice, f"https://example.com/{i}", tags=[f"t{i}"])
    with django_assert_max_num_queries(10):
        body = alice_api.get("/api/bookmarks/?limit=30").json()
    assert len(body["results"]) == 30 and body["results"][0]["tag_names"] == ["t29"]
