"""Starting capture jobs: the public side of the two-layer tasks (see tasks.py)."""
from __future__ import annotations

from snapshots.capture_jobs import tasks
from snapshots.models import CaptureSettings, Link, Snapshot


def request_snapshot(link: Link) -> Snapshot:
    """Record a pending snapshot and enqueue its capture once the surrounding transaction commits.

    Every call adds a new snapshot (a re-capture keeps the older ones as history).
    """
    snapshot = Snapshot.objects.create(link=link)
    enqueue_capture(snapshot.pk)
    return snapshot


def enqueue_capture(snapshot_id: int) -> None:
    """Send the capture message after commit, so the worker never looks for an uncommitted row."""
    tasks.send_capture_on_commit(snapshot_id)


def recapture_interval_days(user) -> int | None:
    """The person's scheduled re-capture interval in days, None when off."""
    prefs = CaptureSettings.objects.filter(user=user).first()
    return prefs.recapture_interval_days if prefs else None


def set_recapture_interval(user, days: int | None) -> CaptureSettings:
    """Re-capture every link of ``user`` once its newest snapshot is ``days`` old; None turns it off."""
    if days is not None and days < 1:
        raise ValueError("The re-capture interval must be at least one day (or empty to turn it off).")
    prefs, _ = CaptureSettings.objects.update_or_create(user=user, defaults={"recapture_interval_days": days})
    return prefs
