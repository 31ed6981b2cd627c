"""End to end through a real Celery worker, the real Redis broker and real Chromium.

The worker runs as a subprocess against this test's database (a file for SQLite, the test database
for Postgres) and captures pages of a loopback site whose port is the only private one allowed.
"""
from __future__ import annotations

import threading

import pytest
from django.db import transaction

from snapshots.capture_jobs import queue, tasks
from snapshots.links.services import save_link
from snapshots.models import Link, Snapshot
from tests.support.capture_jobs_site import SlowAssets, article, pages_waiting_on, slow_first
from tests.support.celery_worker import Worker, wait_for

pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]
S = Snapshot.Status
TIME_LIMIT = 50
PAGES_IN_FLIGHT = 3
FINISHED = (S.DONE, S.FAILED)


@pytest.fixture(scope="module")
def worker(site, tmp_path_factory, django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        celery = Worker(tmp_path_factory.mktemp("worker") / "worker.log", {
            "LINKSHOT_ALLOWED_PRIVATE_HOSTS": ",".join(site.allowed_private),
            "LINKSHOT_CAPTURE_SOFT_TIME_LIMIT": str(TIME_LIMIT - 10),
            "LINKSHOT_CAPTURE_TIME_LIMIT": str(TIME_LIMIT),
            "LINKSHOT_BROKER_VISIBILITY_TIMEOUT": str(TIME_LIMIT + 10),
            "LINKSHOT_CAPTURE_MAX_ATTEMPTS": "3",
            "LINKSHOT_CAPTURE_RETRY_BASE_SECONDS": "1",
            "LINKSHOT_CAPTURE_RETRY_MAX_SECONDS": "2",
            "LINKSHOT_CAPTURE_PAGES_IN_FLIGHT": str(PAGES_IN_FLIGHT),
        })
        celery.start()
    yield celery
    celery.stop()


@pytest.fixture(autouse=True)
def worker_idle_at_teardown(worker):
    """Each test ends once the worker's tasks have: a task still writing (the link's title, the analysis
    queued after a capture) while the test database is flushed deadlocks the flush on Postgres."""
    yield
    wait_for(worker.idle, 30, "the worker to finish its tasks")


@pytest.fixture
def allow_site(site, settings):
    # The web side may check the link on submission too; it allows the same loopback port.
    settings.LINKSHOT_ALLOWED_PRIVATE_HOSTS = site.allowed_private
    settings.LINKSHOT_CAPTURE_TIME_LIMIT = TIME_LIMIT


def finished(snapshot_id: int, worker: Worker, timeout: float = 60) -> Snapshot:
    try:
        return wait_for(lambda: Snapshot.objects.filter(pk=snapshot_id, status__in=FINISHED).first(),
                        timeout, f"snapshot {snapshot_id} to finish")
    except AssertionError:
        raise AssertionError(f"snapshot {snapshot_id} did not finish; worker log:\n{worker.log_tail()}") from None


def test_saving_a_link_produces_a_done_snapshot(worker, site, alice, allow_site):
    with transaction.atomic():
        link = save_link(alice, site.server.url("/article")).link
        assert link.snapshots.get().status == S.PENDING

    snapshot = finished(link.snapshots.get().pk, worker)

    assert (snapshot.status, snapshot.attempts, snapshot.error) == (S.DONE, 1, "")
    assert snapshot.screenshot and snapshot.thumbnail and snapshot.html
    assert snapshot.screenshot.read().startswith(b"\x89PNG")
    assert "readable-text extractor" in snapshot.text
    link.refresh_from_db()
    assert link.title == "Captured Article" and "readable-text extractor" in link.page_text


def test_duplicate_messages_make_one_capture(worker, site, alice, allow_site):
    site.server.routes["/once"] = site.server.routes["/article"]
    link = Link.objects.create(user=alice, url=site.server.url("/once"))
    with transaction.atomic():
        snapshot = queue.request_snapshot(link)
    for _ in range(2):  # as if the broker delivered the message again
        tasks.capture_snapshot.delay(snapshot.pk)

    assert finished(snapshot.pk, worker).status == S.DONE
    wait_for(lambda: worker.queue_length() == 0, 20, "the duplicate messages to be consumed")
    wait_for(lambda: "succeeded" in worker.log_tail(3), 10, "the last message to be handled")

    assert Snapshot.objects.get(pk=snapshot.pk).attempts == 1
    assert site.hits("/once") == 1


def test_server_errors_are_retried_then_fail(worker, site, alice, allow_site):
    site.server.routes["/busy"] = site.server.routes["/server-error"]
    with transaction.atomic():
        snapshot = save_link(alice, site.server.url("/busy")).link.snapshots.get()

    snapshot = finished(snapshot.pk, worker)

    assert (snapshot.status, snapshot.attempts) == (S.FAILED, 3)
    assert "503" in snapshot.error and "gave up after 3 attempts" in snapshot.error
    assert site.hits("/busy") == 3


def test_refused_capture_fails_once_without_retry(worker, site, alice, allow_site):
    link = Link.objects.create(user=alice, url=site.canary.url("/private"))
    with transaction.atomic():
        snapshot = queue.request_snapshot(link)

    snapshot = finished(snapshot.pk, worker)

    assert (snapshot.status, snapshot.attempts) == (S.FAILED, 1)
    assert snapshot.error.startswith("Refused:")
    assert site.canary.requests == []


def test_killed_worker_mid_capture_still_ends_with_one_done_snapshot(worker, site, alice, allow_site):
    reached = threading.Event()
    site.server.routes["/slow"] = slow_first(40, article(title="Slow but sure"), reached)
    with transaction.atomic():
        link = save_link(alice, site.server.url("/slow")).link
    assert reached.wait(30), worker.log_tail()
    snapshot = link.snapshots.get()
    assert Snapshot.objects.get(pk=snapshot.pk).status == S.RUNNING
    worker.kill_pool_child()

    # The worker forks a new child; the message comes back (reject on worker lost), finds the
    # capture claimed by a process that is gone and takes it over at once, without the re-queue job.
    snapshot = finished(snapshot.pk, worker)
    assert (snapshot.status, snapshot.attempts) == (S.DONE, 2)
    assert snapshot.title == "Slow but sure"
    assert link.snapshots.count() == 1
    assert site.hits("/slow") == 2


def test_one_worker_child_keeps_several_pages_in_flight(worker, site, alice, allow_site):
    slow = SlowAssets(3.0)
    urls = pages_waiting_on(site, PAGES_IN_FLIGHT, slow, "e2e-inflight")
    with transaction.atomic():  # three links saved together: three messages for a worker with one child
        links = [save_link(alice, url).link for url in urls]

    snapshots = [finished(link.snapshots.get().pk, worker) for link in links]

    assert [(s.status, s.attempts) for s in snapshots] == [(S.DONE, 1)] * PAGES_IN_FLIGHT
    assert slow.most == PAGES_IN_FLIGHT, worker.log_tail()  # the one child had all three pages open at once
    # The messages of the snapshots its task took beside its own found them done and did nothing.
    wait_for(lambda: worker.queue_length() == 0, 20, "the other messages to be consumed")
    wait_for(lambda: worker.log_path.read_text().count("succeeded") >= PAGES_IN_FLIGHT, 20, "every message handled")
    assert [site.hits(f"/e2e-inflight/{n}") for n in range(PAGES_IN_FLIGHT)] == [1] * PAGES_IN_FLIGHT
    assert Snapshot.objects.filter(pk__in=[s.pk for s in snapshots], attempts=1).count() == PAGES_IN_FLIGHT


def test_a_child_killed_mid_batch_has_each_of_its_pages_taken_over(worker, site, alice, allow_site):
    reached = [threading.Event() for _ in range(PAGES_IN_FLIGHT)]
    for n, event in enumerate(reached):
        site.server.routes[f"/killed/{n}"] = slow_first(40, article(title=f"Taken over {n}"), event)
    with transaction.atomic():
        links = [save_link(alice, site.server.url(f"/killed/{n}")).link for n in range(PAGES_IN_FLIGHT)]
    for event in reached:  # the one child has every page open, each waiting on its document
        assert event.wait(30), worker.log_tail()
    ids = [link.snapshots.get().pk for link in links]
    assert Snapshot.objects.filter(pk__in=ids, status=S.RUNNING).count() == PAGES_IN_FLIGHT
    worker.kill_pool_child()

    # The task's own message comes back to the new child, which takes over every row the dead one
    # claimed (the redelivered message's row at once, the others as pages to capture beside it or
    # when their own messages arrive): none waits for the stale-claim sweep.
    snapshots = [finished(pk, worker) for pk in ids]
    assert [(s.status, s.attempts) for s in snapshots] == [(S.DONE, 2)] * PAGES_IN_FLIGHT
    assert sorted(s.title for s in snapshots) == [f"Taken over {n}" for n in range(PAGES_IN_FLIGHT)]
    assert [site.hits(f"/killed/{n}") for n in range(PAGES_IN_FLIGHT)] == [2] * PAGES_IN_FLIGHT
