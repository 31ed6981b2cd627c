"""An import survives its worker being killed: a real Celery worker, kill -9 mid-file, beat's resume."""
from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from imports import services, tasks
from imports.models import ImportJob
from snapshots.models import Link
from tests.imports.files import many
from tests.support.celery_worker import Worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
ENTRIES = 4000
STALL_S = 3


@pytest.fixture
def worker(tmp_path, settings):
    settings.LINKSHOT_IMPORT_STALL_SECONDS = STALL_S
    celery = Worker(tmp_path / "worker.log", {"LINKSHOT_IMPORT_BATCH": "20",
                                              "LINKSHOT_IMPORT_STALL_SECONDS": str(STALL_S)})
    celery.start()
    yield celery
    celery.stop()


def test_a_killed_import_resumes_after_its_last_batch(worker, alice):
    with transaction.atomic():
        job = services.start_import(alice, SimpleUploadedFile("b.html", many(ENTRIES)))
    wait_for(lambda: ImportJob.objects.filter(pk=job.pk, done__gte=200).exists(), 60, "the import to get going")
    worker.kill_pool_child()
    job.refresh_from_db()
    assert job.status == "running" and job.done < ENTRIES, "the import finished before it could be killed"
    at_kill = job.done

    # The redelivered message finds the job's heartbeat fresh and leaves it; once it is stale,
    # beat's resume job (run here) sends it again and a worker carries on from ``done``.
    def resumed() -> bool:
        tasks.resume_stalled_imports()
        return ImportJob.objects.filter(pk=job.pk, status="done").exists()

    try:
        wait_for(resumed, 90, "the import to be resumed and finish", interval=1.0)
    except AssertionError:
        raise AssertionError(f"not resumed; worker log:\n{worker.log_tail(30)}") from None
    job.refresh_from_db()
    assert (job.done, job.imported, job.skipped) == (ENTRIES, ENTRIES, 0)
    assert job.attempts >= 2 and at_kill >= 200
    assert Link.objects.filter(user=alice).count() == ENTRIES
