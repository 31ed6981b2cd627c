"""Celery tasks of imports: messages carry the job id only; the job row holds all state."""
from __future__ import annotations

from celery import shared_task
from django.db import transaction

from imports import runner
from imports.models import ImportJob


@shared_task(name="imports.run_import", queue="default", acks_late=True, reject_on_worker_lost=True)
def run_import(job_id: int) -> str:
    return runner.run_import(job_id)


@shared_task(name="imports.resume_stalled_imports", queue="default")
def resume_stalled_imports() -> int:
    """Beat job: imports whose worker died (or whose message was lost) are sent again."""
    stalled = list(ImportJob.objects.filter(runner.claimable(), created_at__lt=runner.stalled_before())
                   .values_list("pk", flat=True))
    for job_id in stalled:
        run_import.delay(job_id)
    return len(stalled)


def send_import_on_commit(job_id: int) -> None:
    transaction.on_commit(lambda: run_import.delay(job_id), robust=True)
