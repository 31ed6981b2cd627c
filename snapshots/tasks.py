"""Celery tasks of the capture queue. The task refetches its row and returns if it is gone."""
from __future__ import annotations

import logging

from celery import shared_task

log = logging.getLogger(__name__)


@shared_task(name="snapshots.capture_snapshot", queue="capture")
def capture_snapshot(snapshot_id: int) -> None:
    # The capture pipeline is wired in by snapshots.capture_runner.
    from snapshots.capture_runner import run_capture

    run_capture(snapshot_id)
