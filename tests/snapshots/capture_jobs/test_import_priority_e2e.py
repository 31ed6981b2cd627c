"""A link added by hand during a large import is captured promptly: the worker serves "capture" before
"capture_bulk" (the launcher's queue order and the broker's priority strategy), with real Redis,
a real Celery worker and real Chromium on a loopback site.
"""
from __future__ import annotations

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from config.launcher import services as launcher_services
from imports import runner, services as import_services
from snapshots.links.services import save_link
from snapshots.models import Snapshot
from tests.imports.files import anchor, netscape
from tests.support.celery_worker import Worker, wait_for

pytestmark = [pytest.mark.chromium, pytest.mark.django_db(transaction=True)]
S = Snapshot.Status
IMPORTED = 40


def launcher_queues(tmp_path) -> str:
    command = launcher_services(8000, tmp_path)["worker"]
    return command[command.index("-Q") + 1]


@pytest.fixture(scope="module")
def worker(site, tmp_path_factory, django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        celery = Worker(tmp_path_factory.mktemp("worker") / "worker.log", {
            "LINKSHOT_ALLOWED_PRIVATE_HOSTS": ",".join(site.allowed_private),
            "LINKSHOT_CHROMIUM_ARGS": "--proxy-server=http://127.0.0.1:9",  # safety net: loopback only
        }, queues=launcher_queues(tmp_path_factory.mktemp("launcher")))
        celery.start()
    yield celery
    celery.stop()


def test_a_hand_added_link_is_captured_within_10_s_during_an_import(worker, site, alice, settings):
    settings.LINKSHOT_ALLOWED_PRIVATE_HOSTS = site.allowed_private
    settings.LINKSHOT_IMPORT_BATCH = 10
    data = netscape(*(anchor(site.server.url(f"/article?imported={i}"), f"Imported {i}") for i in range(IMPORTED)))
    job = import_services.start_import(alice, SimpleUploadedFile("bookmarks.html", data))
    runner.run_import(job.pk)  # commits batch by batch; each batch's captures go to capture_bulk
    wait_for(lambda: Snapshot.objects.filter(bulk=True, status=S.DONE).exists(), 60, "the bulk captures to start")

    started = time.monotonic()
    with transaction.atomic():
        by_hand = save_link(alice, site.server.url("/article?by=hand")).link.snapshots.get()
    wait_for(lambda: Snapshot.objects.filter(pk=by_hand.pk, status=S.DONE).exists(), 10,
             f"the hand-added link's capture (worker log:\n{worker.log_tail(20)})")
    took = time.monotonic() - started
    still_waiting = Snapshot.objects.filter(bulk=True).exclude(status=S.DONE).count()
    assert still_waiting > IMPORTED // 2, f"the import's captures were nearly done ({still_waiting} left)"
    assert took < 10
