"""Capture bookkeeping with the real engine (Chromium) against a loopback site: claim, store, fail, retry."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.test import override_settings
from django.utils import timezone

from snapshots.capture import Capturer
from snapshots.capture_jobs import queue, schedule
from snapshots.capture_jobs.runner import run_capture
from snapshots.models import Link, Snapshot
from tests.support.capture_jobs_site import article, capture_config
from tests.support.pageserver import LoopbackServer, page

pytestmark = [pytest.mark.chromium, pytest.mark.django_db]
S = Snapshot.Status


def new_snapshot(user, url: str, **link_fields) -> Snapshot:
    link = Link.objects.create(user=user, url=url, **link_fields)
    return Snapshot.objects.create(link=link)


def test_capture_stores_assets_and_fills_the_links_empty_fields(alice, site, capturer):
    snapshot = new_snapshot(alice, site.server.url("/article"))

    outcome = run_capture(snapshot.pk, capturer)

    snapshot.refresh_from_db()
    assert outcome.status == "done", snapshot.error
    assert (snapshot.status, snapshot.attempts, snapshot.error) == (S.DONE, 1, "")
    assert snapshot.http_status == 200 and snapshot.title == "Captured Article"
    for name, magic in [("screenshot", b"\x89PNG"), ("html", b"<"), ("thumbnail", b""), ("model_view", b"\x89PNG")]:
        field = getattr(snapshot, name)
        assert field.name.startswith(f"snapshots/{alice.pk}/{snapshot.link_id}/{snapshot.pk}/{name}")
        with default_storage.open(field.name) as handle:
            assert handle.read().lstrip().startswith(magic)
    assert snapshot.sizes["screenshot"] == default_storage.size(snapshot.screenshot.name)
    assert snapshot.started_at <= snapshot.finished_at and snapshot.timings["capture_total"] > 0
    link = snapshot.link
    link.refresh_from_db()
    assert link.title == "Captured Article"
    assert link.description == "An article about capture jobs."
    assert "enough words for the readable-text extractor" in link.page_text


def test_capture_keeps_what_the_person_typed(alice, site, capturer):
    snapshot = new_snapshot(alice, site.server.url("/article"), title="My title", description="Mine")

    assert run_capture(snapshot.pk, capturer).status == "done"

    link = Link.objects.get(pk=snapshot.link_id)
    assert (link.title, link.description) == ("My title", "Mine")
    assert Snapshot.objects.get(pk=snapshot.pk).title == "Captured Article"


def test_link_page_text_comes_from_the_newest_done_snapshot(alice, site, capturer):
    site.server.routes["/changing"] = page(article(text="Newer wording of the changing page. " * 20))
    older = new_snapshot(alice, site.server.url("/changing"))
    newer = Snapshot.objects.create(link=older.link)
    assert run_capture(newer.pk, capturer).status == "done"

    site.server.routes["/changing"] = page(article(text="Older wording, finished last. " * 20))
    assert run_capture(older.pk, capturer).status == "done"

    link = Link.objects.get(pk=older.link_id)
    assert "Newer wording" in link.page_text and "Older wording" not in link.page_text


@pytest.mark.parametrize("status", [S.DONE, S.FAILED, S.RUNNING])
def test_redelivered_message_does_not_capture_again(alice, site, capturer, status):
    snapshot = new_snapshot(alice, site.server.url("/article?redelivered"))
    Snapshot.objects.filter(pk=snapshot.pk).update(status=status, attempts=1, started_at=timezone.now())
    before = site.hits("/article")

    assert run_capture(snapshot.pk, capturer).status == "skipped"

    assert site.hits("/article") == before
    snapshot.refresh_from_db()
    assert (snapshot.status, snapshot.attempts) == (status, 1)


def test_message_for_a_deleted_snapshot_is_dropped_quietly(alice, site, capturer):
    snapshot = new_snapshot(alice, site.server.url("/article"))
    snapshot.link.delete()
    assert run_capture(snapshot.pk, capturer).status == "skipped"


def test_refused_url_fails_at_once_with_a_clear_message(alice, site, capturer):
    snapshot = new_snapshot(alice, site.canary.url("/secret"))

    outcome = run_capture(snapshot.pk, capturer)

    snapshot.refresh_from_db()
    assert outcome.status == "failed" and outcome.retry_in is None
    assert (snapshot.status, snapshot.attempts) == (S.FAILED, 1)
    assert snapshot.error.startswith("Refused:") and "loopback" in snapshot.error
    assert site.canary.requests == []


def test_client_error_fails_without_retry(alice, site, capturer):
    snapshot = new_snapshot(alice, site.server.url("/missing"))

    outcome = run_capture(snapshot.pk, capturer)

    snapshot.refresh_from_db()
    assert outcome.status == "failed" and snapshot.status == S.FAILED
    assert "404" in snapshot.error and snapshot.attempts == 1
    # The error page is kept as the site showed it, with its status.
    assert snapshot.http_status == 404 and snapshot.screenshot.name
    with default_storage.open(snapshot.screenshot.name) as handle:
        assert handle.read(4) == b"\x89PNG"
    link = Link.objects.get(pk=snapshot.link_id)
    assert link.title == "" and link.page_text == ""  # the error page's words are not the link's


def test_refused_connection_fails_at_once_without_retries(alice, site):
    closed = LoopbackServer()
    closed.close()  # the port is now closed: nothing listens there
    engine = Capturer(capture_config(site, allowed_private=[f"127.0.0.1:{closed.port}"]))
    try:
        snapshot = new_snapshot(alice, closed.url("/"))
        outcome = run_capture(snapshot.pk, engine)
    finally:
        engine.close()
    snapshot.refresh_from_db()
    assert outcome.status == "failed" and snapshot.attempts == 1
    assert "connection refused" in snapshot.error


@override_settings(LINKSHOT_CAPTURE_MAX_ATTEMPTS=3, LINKSHOT_CAPTURE_RETRY_BASE_SECONDS=10)
def test_server_error_is_retried_with_backoff_then_fails(alice, site, capturer):
    snapshot = new_snapshot(alice, site.server.url("/server-error"))
    delays = []
    for attempt in (1, 2):
        outcome = run_capture(snapshot.pk, capturer)
        snapshot.refresh_from_db()
        assert outcome.status == "retry" and snapshot.status == S.PENDING
        assert snapshot.attempts == attempt and f"Attempt {attempt} of 3 failed" in snapshot.error
        delays.append(outcome.retry_in)

    outcome = run_capture(snapshot.pk, capturer)

    snapshot.refresh_from_db()
    assert outcome.status == "failed" and snapshot.status == S.FAILED
    assert snapshot.attempts == 3 and "503" in snapshot.error and "gave up after 3 attempts" in snapshot.error
    assert site.hits("/server-error") == 3
    assert 5 <= delays[0] <= 10 and 10 <= delays[1] <= 20  # exponential, jittered


def test_retry_that_succeeds_keeps_the_earlier_error_as_a_note(alice, site, capturer):
    snapshot = new_snapshot(alice, site.server.url("/flaky"))
    site.server.routes["/flaky"] = page("<h1>down</h1>", status=502)
    assert run_capture(snapshot.pk, capturer).status == "retry"

    site.server.routes["/flaky"] = page(article(title="Back up"))
    assert run_capture(snapshot.pk, capturer).status == "done"

    snapshot.refresh_from_db()
    assert (snapshot.status, snapshot.attempts, snapshot.error) == (S.DONE, 2, "")
    assert any(note.startswith("Earlier attempt: Attempt 1 of") for note in snapshot.notes)


@override_settings(LINKSHOT_ASSET_MAX_BYTES=20_000)
def test_asset_over_the_size_cap_is_skipped_with_a_note(alice, site, capturer):
    snapshot = new_snapshot(alice, site.server.url("/article"))

    assert run_capture(snapshot.pk, capturer).status == "done"

    snapshot.refresh_from_db()
    assert not snapshot.screenshot and snapshot.html  # a 1280x800 PNG is well over 20 kB
    assert any(note.startswith("screenshot skipped") for note in snapshot.notes)


def test_stale_running_snapshot_can_be_claimed_by_a_redelivered_message(alice, site, capturer, settings):
    snapshot = new_snapshot(alice, site.server.url("/article"))
    long_ago = timezone.now() - timedelta(seconds=settings.LINKSHOT_CAPTURE_TIME_LIMIT + 60)
    Snapshot.objects.filter(pk=snapshot.pk).update(status=S.RUNNING, attempts=1, started_at=long_ago)

    assert run_capture(snapshot.pk, capturer).status == "done"
    assert Snapshot.objects.get(pk=snapshot.pk).attempts == 2


def test_stuck_running_snapshots_are_requeued_or_given_up(alice, settings):
    long_ago = timezone.now() - timedelta(seconds=settings.LINKSHOT_CAPTURE_TIME_LIMIT + 60)
    link = Link.objects.create(user=alice, url="https://example.org/")
    stuck = Snapshot.objects.create(link=link, status=S.RUNNING, attempts=1, started_at=long_ago)
    fresh = Snapshot.objects.create(link=link, status=S.RUNNING, attempts=1, started_at=timezone.now())
    exhausted = Snapshot.objects.create(link=link, status=S.RUNNING, started_at=long_ago,
                                        attempts=settings.LINKSHOT_CAPTURE_MAX_ATTEMPTS)

    assert schedule.reset_stuck_snapshots() == [stuck.pk]

    statuses = dict(Snapshot.objects.values_list("pk", "status"))
    assert statuses == {stuck.pk: S.PENDING, fresh.pk: S.RUNNING, exhausted.pk: S.FAILED}
    assert "stopped during attempt 1" in Snapshot.objects.get(pk=stuck.pk).error
    assert "Gave up" in Snapshot.objects.get(pk=exhausted.pk).error


def test_scheduled_recapture_adds_snapshots_only_for_due_links(alice, bob):
    queue.set_recapture_interval(alice, 7)
    old, recent, never, busy = (Link.objects.create(user=alice, url=f"https://example.org/{n}") for n in range(4))
    for link, age_days in [(old, 8), (recent, 1), (busy, 30)]:
        Snapshot.objects.filter(pk=Snapshot.objects.create(link=link, status=S.DONE).pk).update(
            created_at=timezone.now() - timedelta(days=age_days))
    Snapshot.objects.create(link=busy)  # a capture already waiting
    bobs = Link.objects.create(user=bob, url="https://example.org/bob")  # bob has no interval

    created = schedule.create_due_snapshots()

    new = Snapshot.objects.filter(pk__in=created)
    assert sorted(new.values_list("link_id", flat=True)) == sorted([old.pk, never.pk])
    assert all(s.status == S.PENDING for s in new)
    assert old.snapshots.count() == 2  # the older snapshot is kept as history
    assert not bobs.snapshots.exists()
    assert schedule.create_due_snapshots() == []  # nothing due twice


def test_recapture_interval_validation(alice):
    assert queue.recapture_interval_days(alice) is None
    queue.set_recapture_interval(alice, 30)
    assert queue.recapture_interval_days(alice) == 30
    queue.set_recapture_interval(alice, None)
    assert queue.recapture_interval_days(alice) is None
    with pytest.raises(ValueError, match="at least one day"):
        queue.set_recapture_interval(alice, 0)
