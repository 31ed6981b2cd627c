"""Admin → Links → Add saves through the same services as the web form and the API."""
import pytest
from django.urls import reverse

from snapshots.models import Link, Snapshot
from tagging.models import Tag
from tests.factories import make_link, make_user
from tests.support.on_commit import capture_sends

pytestmark = pytest.mark.django_db
ADD = "admin:snapshots_link_add"


@pytest.fixture
def admin_client(client, db):
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    return client


def _form(user, url: str, **extra) -> dict:
    return {"user": user.pk, "url": url, "title": "", "description": "", "notes": "", "tags": [],
            "snapshots-TOTAL_FORMS": 0, "snapshots-INITIAL_FORMS": 0, **extra}


def test_added_link_is_normalised_and_its_capture_queued(admin_client, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        answer = admin_client.post(reverse(ADD), _form(alice, "HTTPS://Example.com/a?utm_source=x"))
    assert answer.status_code == 302
    link = Link.objects.get(user=alice)
    assert link.url == "https://example.com/a"
    assert link.snapshots.get().status == Snapshot.Status.PENDING
    assert len(capture_sends(callbacks)) == 1


def test_admin_refuses_what_the_form_and_api_refuse(admin_client, alice):
    answer = admin_client.post(reverse(ADD), _form(alice, "http://127.0.0.5/x"))
    assert answer.status_code == 200
    assert "This address cannot be captured" in answer.content.decode()
    assert not Link.objects.exists()


def test_duplicate_merges_into_the_saved_link(admin_client, alice):
    saved = make_link(alice, "https://example.com/dup", tags=["old"], title="Kept")
    new_tag = Tag.objects.create(user=alice, name="new")
    answer = admin_client.post(reverse(ADD), _form(alice, "https://EXAMPLE.com/dup#top", title="Other",
                                                   tags=[new_tag.pk]), follow=True)
    html = answer.content.decode()
    assert "violated" not in html and "already saved" in html
    assert answer.redirect_chain and answer.status_code == 200
    assert Link.objects.filter(user=alice).count() == 1
    saved.refresh_from_db()
    assert saved.title == "Kept"
    assert sorted(tag.name for tag in saved.tags.all()) == ["new", "old"]
    assert saved.snapshots.count() == 1


def test_change_into_another_links_url_names_the_field(admin_client, alice):
    make_link(alice, "https://example.com/one")
    two = make_link(alice, "https://example.com/two")
    answer = admin_client.post(reverse("admin:snapshots_link_change", args=[two.pk]),
                               _form(alice, "https://example.com/one"))
    assert answer.status_code == 200
    assert "already saved this URL as another link" in answer.content.decode()
    assert Link.objects.get(pk=two.pk).url == "https://example.com/two"
