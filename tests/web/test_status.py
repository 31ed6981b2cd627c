"""The live snapshot status: the htmx partial and the polling attributes around it."""
import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from snapshots.models import Snapshot
from tests.factories import make_link

pytestmark = pytest.mark.django_db


def status_url(link):
    return reverse("link-status", kwargs={"pk": link.pk})


def test_pending_status_keeps_polling(alice_client, alice):
    link = make_link(alice, "https://example.com/a")
    html = alice_client.get(status_url(link)).content.decode()
    assert 'data-status="pending"' in html and "Queued" in html
    assert 'hx-trigger="every 2s"' in html and f'hx-get="{status_url(link)}"' in html


def test_running_status_keeps_polling(alice_client, alice):
    link = make_link(alice, "https://example.com/a")
    link.snapshots.update(status=Snapshot.Status.RUNNING)
    html = alice_client.get(status_url(link)).content.decode()
    assert "Capturing…" in html and 'hx-trigger="every 2s"' in html


def test_done_status_stops_polling_and_updates_title(alice_client, alice):
    link = make_link(alice, "https://example.com/a")
    link.snapshots.update(status=Snapshot.Status.DONE)
    link.title = "Title from the page"
    link.save()
    html = alice_client.get(status_url(link), HTTP_HX_REQUEST="true").content.decode()
    assert "Captured" in html and "hx-trigger" not in html.split("</div>")[0]
    assert 'hx-swap-oob="true"' in html and "Title from the page" in html


def test_failed_status_shows_error_on_hover(alice_client, alice):
    link = make_link(alice, "https://example.com/a")
    link.snapshots.update(status=Snapshot.Status.FAILED, error="Refused: private address")
    html = alice_client.get(status_url(link)).content.decode()
    assert "Failed" in html and 'title="Refused: private address"' in html and "every 2s" not in html


def test_link_without_snapshot(alice_client, alice):
    link = make_link(alice, "https://example.com/a")
    link.snapshots.all().delete()
    html = alice_client.get(status_url(link)).content.decode()
    assert "No snapshot" in html and "every 2s" not in html


def test_detail_variant_returns_the_snapshot_panel(alice_client, alice):
    link = make_link(alice, "https://example.com/a")
    link.snapshots.update(status=Snapshot.Status.DONE, text="Words of the page")
    html = alice_client.get(status_url(link) + "?variant=detail").content.decode()
    assert 'id="snapshot-panel"' in html and "Words of the page" in html and "every 2s" not in html


def test_list_rows_poll_only_while_capturing(alice_client, alice):
    busy = make_link(alice, "https://example.com/busy")
    done = make_link(alice, "https://example.com/done")
    done.snapshots.update(status=Snapshot.Status.DONE)
    html = alice_client.get(reverse("link-list")).content.decode()
    assert f'hx-get="{status_url(busy)}"' in html
    assert f'hx-get="{status_url(done)}"' not in html


def test_thumbnail_of_newest_complete_snapshot_is_shown(alice_client, alice):
    link = make_link(alice, "https://example.com/a")
    done = link.snapshots.get()
    done.status = Snapshot.Status.DONE
    done.thumbnail.save("thumb.jpg", ContentFile(b"\xff\xd8\xff"), save=True)
    Snapshot.objects.create(link=link)  # a re-capture under way keeps showing the old picture
    html = alice_client.get(status_url(link)).content.decode()
    expected = reverse("snapshot-asset", kwargs={"pk": done.pk, "asset": "thumbnail"})
    assert f'src="{expected}"' in html and "Queued" in html


def test_poll_for_a_deleted_link_stops_polling(alice_client, alice):
    link = make_link(alice, "https://example.com/a")
    url = status_url(link)
    link.delete()
    assert alice_client.get(url, HTTP_HX_REQUEST="true").status_code == 286
    assert alice_client.get(url).status_code == 404


def test_poll_from_someone_else_gets_nothing(bob_client, alice):
    link = make_link(alice, "https://example.com/a", title="Private title")
    response = bob_client.get(status_url(link), HTTP_HX_REQUEST="true")
    assert response.status_code == 286 and b"Private title" not in response.content


def test_poll_after_logout_reloads_the_page(client, alice):
    link = make_link(alice, "https://example.com/a")
    response = client.get(status_url(link), HTTP_HX_REQUEST="true")
    assert response.status_code == 204 and response["HX-Refresh"] == "true"
    assert client.get(status_url(link)).status_code == 302


def test_list_says_which_http_error_a_failed_capture_met(alice_client, alice):
    link = make_link(alice, "https://example.com/gone")
    Snapshot.objects.filter(link=link).update(status=Snapshot.Status.FAILED, http_status=404,
                                              error="the site answered HTTP 404")
    html = alice_client.get("/").content.decode()
    assert ">HTTP 404</span>" in html
