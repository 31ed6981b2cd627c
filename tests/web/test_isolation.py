"""Every object URL answers 404 to anyone but the owner, and changes nothing."""
import pytest
from django.urls import reverse

from snapshots.models import Link, Snapshot
from tagging.models import Tag
from tests.factories import make_link

pytestmark = pytest.mark.django_db

LINK_PAGES = ["link-detail", "link-edit", "link-delete", "link-status"]
LINK_POSTS = ["link-edit", "link-delete", "link-recapture"]
TAG_PAGES = ["tag-rename", "tag-merge", "tag-delete"]


@pytest.fixture
def alices_link(alice):
    return make_link(alice, "https://example.com/private", title="Alice secret", tags=["hers"])


@pytest.mark.parametrize("name", LINK_PAGES)
def test_other_peoples_link_pages_are_404(bob_client, alices_link, name):
    assert bob_client.get(reverse(name, kwargs={"pk": alices_link.pk})).status_code == 404


@pytest.mark.parametrize("name", LINK_POSTS)
def test_other_peoples_link_posts_are_404_and_change_nothing(bob_client, alices_link, name):
    data = {"url": "https://evil.example/", "title": "pwned", "tags": "x"}
    assert bob_client.post(reverse(name, kwargs={"pk": alices_link.pk}), data).status_code == 404
    alices_link.refresh_from_db()
    assert (alices_link.url, alices_link.title) == ("https://example.com/private", "Alice secret")
    assert Snapshot.objects.filter(link=alices_link).count() == 1


@pytest.mark.parametrize("name", TAG_PAGES)
def test_other_peoples_tag_pages_are_404(bob_client, alices_link, name):
    tag = Tag.objects.get(name="hers")
    url = reverse(name, kwargs={"pk": tag.pk})
    assert bob_client.get(url).status_code == 404
    assert bob_client.post(url, {"name": "mine", "into": tag.pk}).status_code == 404
    tag.refresh_from_db()
    assert tag.name == "hers" and tag.links.count() == 1


def test_missing_objects_are_404_too(alice_client):
    assert alice_client.get(reverse("link-detail", kwargs={"pk": 999999})).status_code == 404
    assert alice_client.get(reverse("tag-rename", kwargs={"pk": 999999})).status_code == 404


def test_lists_show_only_own_objects(bob_client, alices_link, bob):
    make_link(bob, "https://example.com/bob", title="Bob own", tags=["his"])
    html = bob_client.get(reverse("link-list"), {"show": "all"}).content.decode()
    assert "Bob own" in html and "Alice secret" not in html
    html = bob_client.get(reverse("link-list"), {"tag": "hers"}).content.decode()
    assert "Alice secret" not in html
    html = bob_client.get(reverse("tag-list")).content.decode()
    assert "his" in html and "hers" not in html


def test_adding_same_url_as_someone_else_makes_own_link(bob_client, alices_link, bob):
    bob_client.post(reverse("link-add"), {"url": "https://example.com/private", "tags": "mine"})
    assert Link.objects.filter(url="https://example.com/private").count() == 2
    assert list(alices_link.tags.values_list("name", flat=True)) == ["hers"]
