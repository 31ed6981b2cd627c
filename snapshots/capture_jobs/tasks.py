"""Celery tasks of the capture side. Messages carry ids only; each task refetches its rows.

Capture reliability rests on: acks_late + reject_on_worker_lost (a message is settled only after
the job ran, and a killed worker's message comes back), the atomic claim in runner.py (a
redelivered message does not capture twice), Celery soft/hard limits (CELERY_TASK_ANNOTATIONS),
and the beat job below that re-queues captures whose worker died.
"""
from __future__ import annotations

import logging

from celery import current_app, shared_task
from celery.signals import worker_process_shutdown
from django.db import transaction
from django.utils import timezone

from snapshots import capture
from snapshots.capture_jobs import inflight, schedule
from snapshots.capture_jobs.engine_config import build_capture_config
from snapshots.models import Snapshot

log = logging.getLogger(__name__)


@shared_task(bind=True, name="snapshots.capture_snapshot", queue="capture",
             acks_late=True, reject_on_worker_lost=True, max_retries=None)
def capture_snapshot(self, snapshot_id: int) -> str:
    """Capture this snapshot, and more claimed beside it (inflight.py); transient failures come back
    later with backoff and jitter."""
    # The browser is started lazily in the worker child, never in the parent before the fork.
    outcome = inflight.run_captures(snapshot_id, capture.get_capturer(build_capture_config), send_capture)
    if outcome.status == "retry":
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(name="snapshots.requeue_stuck_snapshots", queue="default")
def requeue_stuck_snapshots() -> int:
    """Beat job: captures left "running" by a dead worker, or "pending" with a lost message, are sent again."""
    include_bulk = queue_is_empty(BULK_QUEUE)  # while imported links wait in line, their messages are not lost
    return _enqueue_after_commit(
        lambda: schedule.reset_stuck_snapshots() + schedule.pending_with_lost_message(include_bulk)
    )


def queue_is_empty(name: str) -> bool:
    """Whether the broker holds no message for queue ``name`` (False when it cannot be asked)."""
    try:
        with current_app.connection_for_write() as conn:
            return conn.default_channel.queue_declare(queue=name, passive=True).message_count == 0
    except Exception as exc:  # a missing queue or an unreachable broker: say not empty, resend nothing
        log.info("could not count queue %s: %s", name, exc)
        return False


@shared_task(name="snapshots.schedule_recaptures", queue="default")
def schedule_recaptures() -> int:
    """Beat job: new snapshots for links due under their owner's re-capture interval."""
    return _enqueue_after_commit(schedule.create_due_snapshots)


def _enqueue_after_commit(make_ids) -> int:
    with transaction.atomic():
        ids = make_ids()
        for snapshot_id in ids:
            send_capture_on_commit(snapshot_id)
    return len(ids)


BULK_QUEUE = "capture_bulk"
# Redis keeps a list per queue and priority step and a worker asks for every queue's priority-0 list
# before any lower step, so a hand-saved link's capture (priority 0) is always taken before the
# next imported one (9), whatever order the worker lists its queues in.
BULK_PRIORITY = 9


def send_capture(snapshot_id: int, countdown: float | None = None) -> None:
    """Send one capture message (after ``countdown`` s) and note when, so a lost one can be re-sent."""
    sent = Snapshot.objects.filter(pk=snapshot_id)
    sent.update(queued_at=timezone.now())
    try:
        later = {"countdown": countdown} if countdown else {}
        if sent.filter(bulk=True).exists():
            capture_snapshot.apply_async((snapshot_id,), queue=BULK_QUEUE, priority=BULK_PRIORITY, **later)
        elif later:
            capture_snapshot.apply_async((snapshot_id,), **later)
        else:
            capture_snapshot.delay(snapshot_id)
    except Exception as exc:  # broker down or hung: the save stands, the beat job sends it later
        sent.update(queued_at=None)
        log.warning("could not send the capture of snapshot %s (%s: %s); it stays pending and is "
                    "sent again once the broker answers", snapshot_id, type(exc).__name__, exc)


def send_bulk_captures(snapshot_ids: list[int]) -> None:
    """Send the captures of imported links to the lower-priority queue (one UPDATE for all)."""
    Snapshot.objects.filter(pk__in=snapshot_ids).update(queued_at=timezone.now())
    for snapshot_id in snapshot_ids:
        capture_snapshot.apply_async((snapshot_id,), queue=BULK_QUEUE, priority=BULK_PRIORITY)


def send_bulk_captures_on_commit(snapshot_ids: list[int]) -> None:
    transaction.on_commit(lambda: send_bulk_captures(snapshot_ids), robust=True)


def send_capture_on_commit(snapshot_id: int) -> None:
    # robust: a broker outage at commit time must not turn a saved link into an error page;
    # the snapshot stays pending and the beat job re-sends it.
    transaction.on_commit(lambda: send_capture(snapshot_id), robust=True)


@worker_process_shutdown.connect
def close_capture_browser(**kwargs) -> None:
    """Close this child's Chromium when Celery recycles it (max tasks / memory per child)."""
    capture.close_capturer_if_open()
