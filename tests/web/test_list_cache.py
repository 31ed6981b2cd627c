"""The list page reuses its rendered rows only while nothing of the person's changes.

Every test renders a page once (so its rows are cached), changes something the rows show through
one of the ways the app changes data, and expects the next render to show the change.
"""
import re
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from snapshots import list_cache
from snapshots.capture.result import CaptureResult
from snapshots.capture_jobs import runner, schedule
from snapshots.links import services
from snapshots.models import Link, Snapshot
from tagging import services as tag_services
from tagging.models import Tag
from tagging.names import tag_key
from tests.factories import make_link
from tests.web.conftest import listed_link_ids

LIST = reverse("link-list")


def page(client, **params) -> str:
    """The list page's HTML, once its rows are shown to be cached: a repeat view reads no link.

    So a test that expects a change to show at once fails when the cache is off or unreachable,
    instead of passing because every view rendered afresh.
    """
    response = client.get(LIST, params)
    assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get(LIST, params).status_code == 200
    link_reads = [query["sql"] for query in queries if '"snapshots_link"' in query["sql"]]
    assert link_reads == [], "the repeat view read the links again: its rows were not cached"
    return response.content.decode()


def badge(html: str, link: Link) -> str:
    slot = html[html.index(f'id="status-{link.pk}"'):]
    return re.search(r'class="badge status-(\w+)"', slot).group(1)


class FixedCapturer:
    """The capture engine's interface, answering without a browser."""

    def __init__(self, title: str):
        self.title = title

    def capture(self, url: str) -> CaptureResult:
        return CaptureResult(url=url, final_url=url, http_status=200, content_type="text/html",
                             title=self.title, text="captured words")


def test_repeat_views_reuse_the_rows(alice_client, alice, django_assert_max_num_queries):
    for n in range(5):
        make_link(alice, f"https://example.com/{n}", tags=["t"])
    first = alice_client.get(LIST)
    # Session, user, version lookups only: no link, snapshot or tag query the second time.
    with django_assert_max_num_queries(2):
        again = alice_client.get(LIST)
    assert listed_link_ids(again) == listed_link_ids(first) and len(listed_link_ids(first)) == 5


def _retitle_behind_the_apps_back(link: Link, title: str) -> None:
    """Change a row with plain SQL: nothing in the app hears of it, so only a fresh render shows it."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE snapshots_link SET title = %s WHERE id = %s", [title, link.pk])


def test_cache_can_be_turned_off(alice_client, alice, settings):
    link = make_link(alice, "https://example.com/a", title="Before")
    assert "Before" in page(alice_client)
    _retitle_behind_the_apps_back(link, "After")
    assert "Before" in alice_client.get(LIST).content.decode()  # on: the cached rows are served
    settings.LINKSHOT_LIST_CACHE_SECONDS = 0
    assert "After" in alice_client.get(LIST).content.decode()  # off: every view renders afresh


def test_people_never_share_rows(alice_client, alice, bob, bob_client):
    make_link(alice, "https://example.com/a", title="Alice only")
    make_link(bob, "https://example.com/b", title="Bob only")
    for _ in range(2):
        alice_html, bob_html = page(alice_client), page(bob_client)
        assert "Alice only" in alice_html and "Bob only" not in alice_html
        assert "Bob only" in bob_html and "Alice only" not in bob_html


def test_adding_editing_and_deleting_show_at_once(alice_client, alice):
    page(alice_client)
    alice_client.post(reverse("link-add"), {"url": "https://example.com/new", "title": "Fresh one"})
    assert "Fresh one" in page(alice_client)
    link = Link.objects.get(user=alice)
    alice_client.post(reverse("link-edit", args=[link.pk]),
                      {"url": link.url, "title": "Renamed", "description": "", "notes": "", "tags": "x"})
    html = page(alice_client)
    assert "Renamed" in html and ">x</a>" in html
    alice_client.post(reverse("link-delete", args=[link.pk]))
    assert listed_link_ids(alice_client.get(LIST)) == []


@pytest.mark.parametrize("action, check", [
    ("archive", lambda html, link: f'data-link-id="{link.pk}"' not in html),
    ("mark_unread", lambda html, link: "flag-unread" in html),
    ("add_tags", lambda html, link: ">bulky</a>" in html),
    ("delete", lambda html, link: f'data-link-id="{link.pk}"' not in html),
])
def test_bulk_actions_show_at_once(alice_client, alice, action, check):
    link = make_link(alice, "https://example.com/bulk", title="Bulk target")
    assert 'flag-unread' not in page(alice_client)
    alice_client.post(reverse("link-bulk"), {"ids": [link.pk], "action": action, "tags": "bulky", "confirm": "1"})
    assert check(page(alice_client), link)


def test_bulk_untagging_shows_at_once(alice_client, alice):
    link = make_link(alice, "https://example.com/t", tags=["gone"])
    assert ">gone</a>" in page(alice_client)
    services.bulk_remove_tags(Link.objects.filter(pk=link.pk), alice, ["gone"])
    assert ">gone</a>" not in page(alice_client)


def test_tag_rename_merge_and_delete_show_at_once(alice_client, alice):
    make_link(alice, "https://example.com/1", tags=["old"])
    make_link(alice, "https://example.com/2", tags=["other"])
    assert ">old</a>" in page(alice_client)
    tag_services.rename_tag(Tag.objects.get(user=alice, name="old"), "renamed")
    assert ">renamed</a>" in page(alice_client) and ">old</a>" not in page(alice_client)
    tag_services.merge_tags(Tag.objects.get(user=alice, name="other"), Tag.objects.get(user=alice, name="renamed"))
    html = page(alice_client)
    assert html.count(">renamed</a>") == 2 and ">other</a>" not in html
    tag_services.delete_tag(Tag.objects.get(user=alice, name="renamed"))
    assert ">renamed</a>" not in page(alice_client)


def test_tag_and_search_pages_follow_changes_too(alice_client, alice):
    link = make_link(alice, "https://example.com/s", title="Alpha words", tags=["topic"])
    assert "Alpha words" in page(alice_client, q="alpha") and "Alpha words" in page(alice_client, tag="topic")
    services.update_link(link, title="Beta words", tag_names=[])
    assert "Alpha words" not in page(alice_client, q="alpha") and "Beta words" in page(alice_client, q="beta")
    assert "Beta words" not in page(alice_client, tag="topic")


def test_capture_progress_shows_at_once(alice_client, alice):
    link = make_link(alice, "https://example.com/c")
    snapshot = link.snapshots.get()
    assert badge(page(alice_client), link) == "pending"
    claimed = runner.claim(snapshot.pk)
    assert badge(page(alice_client), link) == "running"
    Snapshot.objects.filter(pk=snapshot.pk).update(status=Snapshot.Status.PENDING)  # let run_capture claim it again
    outcome = runner.run_capture(snapshot.pk, FixedCapturer("Title from the page"))
    assert claimed is not None and outcome.status == "done"
    html = page(alice_client)
    assert badge(html, link) == "done" and "Title from the page" in html


def test_failed_and_requeued_captures_show_at_once(alice_client, alice, settings):
    link = make_link(alice, "https://example.com/f")
    snapshot = link.snapshots.get()
    runner.claim(snapshot.pk)
    assert badge(page(alice_client), link) == "running"
    # Its worker died: past the hard limit the beat job puts it back in the queue.
    Snapshot.objects.filter(pk=snapshot.pk).update(started_at=timezone.now() - timedelta(days=1))
    assert schedule.reset_stuck_snapshots() == [snapshot.pk]
    assert badge(page(alice_client), link) == "pending"
    runner.claim(snapshot.pk)
    page(alice_client)
    settings.LINKSHOT_CAPTURE_MAX_ATTEMPTS = 1
    Snapshot.objects.filter(pk=snapshot.pk).update(started_at=timezone.now() - timedelta(days=1))
    schedule.reset_stuck_snapshots()
    assert badge(page(alice_client), link) == "failed"


def test_rows_read_before_a_commit_are_dropped_after_it(alice, django_capture_on_commit_callbacks):
    """A reader that fetched the new version before the writer committed may have stored old rows."""
    link = make_link(alice, "https://example.com/r", title="Old")
    stale = list_cache.ListRows(html="stale rows", count=1, has_next=False)
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            services.update_link(link, title="New")
            # Another request, not yet seeing the change, renders and stores rows under the new version.
            list_cache.rows_for(alice.pk, "page-1", lambda: stale)
            assert list_cache.rows_for(alice.pk, "page-1", lambda: None) == stale
    fresh = list_cache.ListRows(html="fresh rows", count=1, has_next=False)
    assert list_cache.rows_for(alice.pk, "page-1", lambda: fresh) == fresh


@override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                       "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens there
                                       "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}}})
def test_pages_render_without_the_cache_server(alice_client, alice):
    make_link(alice, "https://example.com/d", title="Still listed")
    assert "Still listed" in alice_client.get(LIST).content.decode()
    services.update_link(Link.objects.get(user=alice), title="Changed while the cache is down")
    assert "Changed while the cache is down" in alice_client.get(LIST).content.decode()


def _snapshot_failed(link: Link) -> None:
    Snapshot.objects.filter(link=link).update(status=Snapshot.Status.FAILED)


@pytest.mark.parametrize("change, shows", [
    (lambda link: Link.objects.filter(pk=link.pk).update(title="After"), "After"),
    (lambda link: Link.objects.bulk_update([Link(pk=link.pk, title="After")], ["title"]), "After"),
    (lambda link: Link.objects.bulk_create([Link(user=link.user, url="https://example.com/n", title="After")]),
     "After"),
    (lambda link: Tag.objects.filter(user=link.user).update(name="After", name_key=tag_key("After")), ">After</a>"),
    (lambda link: Tag.objects.bulk_create([Tag(user=link.user, name="After", name_key=tag_key("After"))])
     and link.tags.add(Tag.objects.get(name="After")), ">After</a>"),
    (_snapshot_failed, 'class="badge status-failed"'),
    (lambda link: Snapshot.objects.bulk_create([Snapshot(link=link, status=Snapshot.Status.RUNNING)]),
     'class="badge status-running"'),
])
def test_every_bulk_write_of_listed_models_drops_the_rows(alice_client, alice, change, shows):
    """Plain QuerySet writes, no service involved: the models' own QuerySet tells the cache."""
    link = make_link(alice, "https://example.com/w", title="Before", tags=["tag"])
    assert shows not in page(alice_client)
    change(link)
    assert shows in page(alice_client)


def test_other_peoples_writes_keep_my_rows(alice_client, alice, bob, django_assert_max_num_queries):
    make_link(alice, "https://example.com/mine", title="Mine")
    theirs = make_link(bob, "https://example.com/theirs", title="Theirs")
    page(alice_client)
    Link.objects.filter(pk=theirs.pk).update(title="Changed")
    with django_assert_max_num_queries(2):  # session and user: alice's rows still come from the cache
        alice_client.get(LIST)
