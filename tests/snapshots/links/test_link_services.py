import os

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile

from snapshots.models import Link, Snapshot
from snapshots.links.services import (
    bulk_add_tags, bulk_delete, bulk_remove_tags, bulk_set_archived, save_link, update_link,
)
from tests.factories import make_link

pytestmark = pytest.mark.django_db


def tag_names(link):
    return sorted(link.tags.values_list("name", flat=True))


def test_save_link_creates_link_and_pending_snapshot(alice):
    result = save_link(alice, "https://Example.com/a?utm_source=x", title="A", tag_names=["x"])
    assert result.created
    assert result.link.url == "https://example.com/a"
    assert result.link.snapshots.get().status == Snapshot.Status.PENDING


def test_saving_again_merges_tags_and_keeps_fields(alice):
    first = save_link(alice, "https://example.com/a", title="Kept", tag_names=["one"]).link
    again = save_link(alice, "https://EXAMPLE.com/a#frag", title="Ignored", notes="new", tag_names=["two"])
    assert not again.created and again.link.pk == first.pk
    again.link.refresh_from_db()
    assert again.link.title == "Kept" and again.link.notes == "new"
    assert tag_names(again.link) == ["one", "two"]
    assert Link.objects.filter(user=alice).count() == 1
    assert Snapshot.objects.filter(link=first).count() == 1


def test_same_url_for_two_users_is_two_links(alice, bob):
    a = save_link(alice, "https://example.com/").link
    b = save_link(bob, "https://example.com/").link
    assert a.pk != b.pk


def test_invalid_url_saves_nothing(alice):
    with pytest.raises(ValidationError):
        save_link(alice, "javascript:alert(1)", tag_names=["x"])
    assert not Link.objects.exists()


def test_invalid_tag_saves_nothing(alice):
    with pytest.raises(ValidationError):
        save_link(alice, "https://example.com/", tag_names=["a,b"])
    assert not Link.objects.exists()


def test_update_link_refuses_url_of_another_link(alice):
    make_link(alice, "https://one.example/")
    two = make_link(alice, "https://two.example/", title="Two")
    with pytest.raises(ValidationError):
        update_link(two, url="https://ONE.example/", title="Changed")
    two.refresh_from_db()
    assert (two.url, two.title) == ("https://two.example/", "Two")


def test_update_link_replaces_tags(alice):
    link = make_link(alice, "https://one.example/", tags=["a", "b"])
    update_link(link, tag_names=["c"], title="T")
    assert tag_names(link) == ["c"]


def test_bulk_operations_touch_only_the_given_links(alice):
    a = make_link(alice, "https://a.example/", tags=["keep"])
    b = make_link(alice, "https://b.example/")
    c = make_link(alice, "https://c.example/")
    chosen = Link.objects.filter(pk__in=[a.pk, b.pk])
    assert bulk_add_tags(chosen, alice, ["new"]) == 2
    assert tag_names(a) == ["keep", "new"] and tag_names(c) == []
    bulk_remove_tags(chosen, alice, ["KEEP"])
    assert tag_names(a) == ["new"]
    bulk_set_archived(chosen, True)
    assert list(Link.objects.filter(archived=True).order_by("pk").values_list("pk", flat=True)) == [a.pk, b.pk]
    assert bulk_delete(Link.objects.filter(pk=c.pk)) == 1
    assert Link.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_deleting_a_link_removes_its_stored_files(alice):
    link = make_link(alice, "https://files.example/")
    snapshot = link.snapshots.get()
    snapshot.screenshot.save("screenshot.png", ContentFile(b"png"), save=True)
    stored = snapshot.screenshot.path
    bulk_delete(Link.objects.filter(pk=link.pk))
    assert not Snapshot.objects.filter(pk=snapshot.pk).exists()
    assert not os.path.exists(stored)
