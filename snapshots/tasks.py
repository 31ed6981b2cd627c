"""Celery tasks of the capture side. Messages carry ids only; each task refetches its rows.

Capture reliability rests on: acks_late + reject_on_worker_lost (a message is settled only after
the job ran, and a killed worker's message comes back), the atomic claim in capture_runner (a
redelivered message does not capture twice), Celery soft/hard limits (CELERY_TASK_ANNOTATIONS),
and the beat job below that re-queues captures whose worker died.
"""
from __future__ import annotations

from functools import partial

from celery import shared_task
from celery.signals import worker_process_shutdown
from django.db import transaction

from snapshots import capture, capture_runner, capture_schedule
from snapshots.capture_settings import build_capture_config


@shared_task(bind=True, name="snapshots.capture_snapshot", queue="capture",
             acks_late=True, reject_on_worker_lost=True, max_retries=None)
def capture_snapshot(self, snapshot_id: int) -> str:
    """Capture one snapshot; transient failures come back later with backoff and jitter."""
    # The browser is started lazily in the worker child, never in the parent before the fork.
    outcome = capture_runner.run_capture(snapshot_id, capture.get_capturer(build_capture_config))
    if outcome.status == "retry":
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(name="snapshots.requeue_stuck_snapshots", queue="default")
def requeue_stuck_snapshots() -> int:
    """Beat job: captures left "running" by a dead worker go back to the queue."""
    return _enqueue_after_commit(capture_schedule.reset_stuck_snapshots)


@shared_task(name="snapshots.schedule_recaptures", queue="default")
def schedule_recaptures() -> int:
    """Beat job: new snapshots for links due under their owner's re-capture interval."""
    return _enqueue_after_commit(capture_schedule.create_due_snapshots)


def _enqueue_after_commit(make_ids) -> int:
    with transaction.atomic():
        ids = make_ids()
        for snapshot_id in ids:
            transaction.on_commit(partial(capture_snapshot.delay, snapshot_id))
    return len(ids)


@worker_process_shutdown.connect
def close_capture_browser(**kwargs) -> None:
    """Close this child's Chromium when Celery recycles it (max tasks / memory per child)."""
    capture.close_capturer()
