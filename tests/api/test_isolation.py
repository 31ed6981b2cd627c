"""Every object endpoint answers 404 for another user's objects and changes nothing of theirs."""
import pytest

from snapshots.models import Link, Snapshot
from tagging.models import Tag
from tests.factories import make_link


@pytest.fixture
def alices_link(alice):
    return make_link(alice, "https://example.com/alice", tags=["private"], title="Alice's")


def _unchanged(link: Link) -> None:
    stored = Link.objects.get(pk=link.pk)
    assert stored.title == "Alice's" and not stored.archived
    assert [tag.name for tag in stored.tags.all()] == ["private"]


@pytest.mark.parametrize("method,path,body", [
    ("get", "/api/links/{id}/", None),
    ("patch", "/api/links/{id}/", {"title": "Bob was here", "archived": True, "tags": ["bob"]}),
    ("delete", "/api/links/{id}/", None),
    ("post", "/api/links/{id}/snapshot/", None),
    ("get", "/api/links/{id}/snapshots/", None),
])
def test_link_endpoints_are_404_for_bob(bob_api, alices_link, method, path, body):
    snapshots_before = Snapshot.objects.count()
    answer = getattr(bob_api, method)(path.format(id=alices_link.pk), body, format="json")
    assert answer.status_code == 404
    assert "detail" in answer.json()
    _unchanged(alices_link)
    assert Snapshot.objects.count() == snapshots_before


def test_not_found_looks_the_same_as_missing(bob_api, alices_link):
    theirs = bob_api.get(f"/api/links/{alices_link.pk}/")
    missing = bob_api.get("/api/links/999999/")
    assert theirs.json() == missing.json()


def test_lists_show_only_own_objects(alice_api, bob_api, alices_link, bob):
    make_link(bob, "https://example.com/bob", tags=["bobs"])
    assert [link["url"] for link in bob_api.get("/api/links/").json()["results"]] == ["https://example.com/bob"]
    assert [tag["name"] for tag in bob_api.get("/api/tags/").json()["results"]] == ["bobs"]
    assert bob_api.get("/api/links/?q=alice").json()["count"] == 0
    assert bob_api.get("/api/links/?tag=private").json()["count"] == 0
    assert alice_api.get("/api/links/").json()["count"] == 1


def test_saving_the_same_url_makes_separate_links(bob_api, alices_link):
    answer = bob_api.post("/api/links/", {"url": "https://example.com/alice", "tags": ["private"]}, format="json")
    assert answer.status_code == 201
    assert answer.json()["id"] != alices_link.pk and answer.json()["title"] == ""
    _unchanged(alices_link)


@pytest.mark.parametrize("method,path,body", [
    ("patch", "/api/tags/{id}/", {"name": "renamed by bob"}),
    ("delete", "/api/tags/{id}/", None),
    ("post", "/api/tags/{id}/merge/", {"into": "{own}"}),
])
def test_tag_endpoints_are_404_for_bob(bob_api, bob, alices_link, method, path, body):
    own = Tag.objects.create(user=bob, name="bobs")
    tag = Tag.objects.get(name="private")
    if body and body.get("into"):
        body = {"into": own.pk}
    answer = getattr(bob_api, method)(path.format(id=tag.pk), body, format="json")
    assert answer.status_code == 404
    assert Tag.objects.get(pk=tag.pk).name == "private"
    _unchanged(alices_link)
    assert not own.links.exists()


def test_merging_into_someone_elses_tag_is_refused(bob_api, bob, alices_link):
    own = Tag.objects.create(user=bob, name="bobs")
    make_link(bob, "https://example.com/bob", tags=["bobs"])
    target = Tag.objects.get(name="private")
    answer = bob_api.post(f"/api/tags/{own.pk}/merge/", {"into": target.pk}, format="json")
    # The tag in the URL is bob's own, so this is bad input naming the field, worded exactly as for
    # an id nobody has: the answer tells bob nothing about alice's tags.
    assert answer.status_code == 400
    assert answer.json() == {"into": ["You have no tag with this id."]}
    missing = bob_api.post(f"/api/tags/{own.pk}/merge/", {"into": 10**9}, format="json")
    assert (missing.status_code, missing.json()) == (answer.status_code, answer.json())
    assert Tag.objects.filter(pk=own.pk).exists()
    assert own.links.count() == 1
    _unchanged(alices_link)


def test_patch_with_someone_elses_tag_name_makes_own_tag(alice_api, alice, bob):
    Tag.objects.create(user=bob, name="shared")
    link = make_link(alice, "https://example.com/x")
    alice_api.patch(f"/api/links/{link.pk}/", {"tags": ["shared"]}, format="json")
    assert Tag.objects.get(user=alice, name="shared").links.get() == link
    assert not Tag.objects.get(user=bob, name="shared").links.exists()
