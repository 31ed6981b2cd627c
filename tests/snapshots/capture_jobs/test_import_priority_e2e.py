"""A link added by hand during a large import is captured promptly: imported links' captures are sent
to "capture_bulk" at Redis priority 9, so the worker (the launcher's queue list) takes a hand-saved
link's capture first; with real Redis, a real Celery worker and real Chromium on a loopback site.

Its wait is then at most the import captures already open (the worker child's pages in flight)
plus its own: the next page the child starts is the hand-saved one (runner.claim_next takes
hand-saved snapshots first). The test checks that ordering, which does not depend on the load.
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


@pytest.fixture(scope="module")
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
    # The load-independent property: only the import captures already open when the saved link became
    # visible to the worker (the child's pages in flight, and one message handed to the pool) finished
    # before it; the hand-saved snapshot is claimed at the next free page, before any imported one; the
    # rest waits. (Counted from the commit, not from the row's creation: until the commit the worker
    # cannot see the row, and a page freed in between rightly goes to the next imported link.)
    overtaken_by = Snapshot.objects.filter(bulk=True, finished_at__gt=visible,
                                           finished_at__lt=by_hand.finished_at).count()
    assert overtaken_by <= PAGES_IN_FLIGHT + 1, f"{overtaken_by} import captures went first"
    assert Snapshot.objects.filter(bulk=True).exclude(status=S.DONE).count() > IMPORTED // 2
