"""A link added by hand during a large import is captured promptly: imported links' captures are sent
to "capture_bulk" at Redis priority 9, so the worker (the launcher's queue list) takes a hand-saved
link's capture first; with real Redis, a real Celery worker and real Chromium on a loopback site.

Its wait is then the import captures already open (the worker child's pages in flight) plus its
own: the next page the child starts is the hand-saved one (runner.claim_next takes hand-saved
snapshots first). The test checks that order of claims, which does not depend on the load.
"""
from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from config.launcher import services as launcher_services
from imports import runner, services as import_services
from snapshots.links.services import save_link
from snapshots.models import Snapshot
from tests.imports.files import anchor, netscape
from tests.support.celery_worker import Worker, wait_for

pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]
S = Snapshot.Status
IMPORTED = 40
PAGES_IN_FLIGHT = 4


def launcher_queues(tmp_path) -> str:
    command = launcher_services(8000, tmp_path)["worker"]
    return command[command.index("-Q") + 1]


# For this test alone, and stopped when it ends: it leaves the worker with half the import still to
# capture, and a worker still writing rows would deadlock the flush of the test database after it.
@pytest.fixture
def worker(site, tmp_path_factory, django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        celery = Worker(tmp_path_factory.mktemp("worker") / "worker.log", {
            "LINKSHOT_ALLOWED_PRIVATE_HOSTS": ",".join(site.allowed_private),
            "LINKSHOT_CAPTURE_PAGES_IN_FLIGHT": str(PAGES_IN_FLIGHT),
        }, queues=launcher_queues(tmp_path_factory.mktemp("launcher")))
        celery.start()
    yield celery
    celery.stop()


def test_a_hand_added_link_overtakes_an_imports_captures(worker, site, alice, settings):
    settings.LINKSHOT_ALLOWED_PRIVATE_HOSTS = site.allowed_private
    settings.LINKSHOT_IMPORT_BATCH = 10
    data = netscape(*(anchor(site.server.url(f"/article?imported={i}"), f"Imported {i}") for i in range(IMPORTED)))
    job = import_services.start_import(alice, SimpleUploadedFile("bookmarks.html", data))
    runner.run_import(job.pk)  # commits batch by batch; each batch's captures go to capture_bulk
    wait_for(lambda: Snapshot.objects.filter(bulk=True, status=S.DONE).exists(), 60, "the bulk captures to start")

    with transaction.atomic():
        by_hand = save_link(alice, site.server.url("/article?by=hand")).link.snapshots.get()
    visible = timezone.now()  # committed: from here on the worker can claim it
    try:
        wait_for(lambda: Snapshot.objects.filter(pk=by_hand.pk, status=S.DONE).exists(), 30, "the hand-added capture")
    except AssertionError:
        raise AssertionError(f"not captured; worker log:\n{worker.log_tail(30)}") from None
    by_hand.refresh_from_db()
    # The load-independent property is the order of the claims, not of the finishes: pages run side by
    # side, so a loaded machine may finish an import page claimed after the hand-saved one first. Once
    # the saved link is visible to the worker (committed), the child claims it at its next free page,
    # before any imported link. Claims in between can only be a message's own snapshot (a task starts
    # with the one it was sent for) and rows of a candidate list read just before the commit, at most
    # the pages of one top-up; without the hand-saved-first order it would wait for most of the import.
    claimed_first = Snapshot.objects.filter(bulk=True, started_at__gt=visible,
                                            started_at__lt=by_hand.started_at).count()
    assert claimed_first <= PAGES_IN_FLIGHT, f"{claimed_first} import captures were claimed before it"
    assert Snapshot.objects.filter(bulk=True).exclude(status=S.DONE).count() > IMPORTED // 2
