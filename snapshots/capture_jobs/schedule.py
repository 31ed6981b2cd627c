"""Periodic capture housekeeping run by Celery beat: re-queue orphaned captures, scheduled re-captures.

These functions change rows and return the snapshot ids to capture; tasks.py sends the messages.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Max, Q, QuerySet
from django.utils import timezone

from snapshots.capture_jobs.runner import stale_before
from snapshots.models import CaptureSettings, Link, Snapshot

log = logging.getLogger(__name__)
S = Snapshot.Status


def reset_stuck_snapshots() -> list[int]:
    """Set captures whose worker died (still "running" past the hard limit) back to pending.

    Returns the ids to capture again; those out of attempts are marked failed instead.
    """
    cutoff = stale_before()
    requeued: list[int] = []
    stale = Snapshot.objects.filter(status=S.RUNNING, started_at__lt=cutoff)
    for pk, attempts in stale.values_list("pk", "attempts"):
        stuck = Snapshot.objects.filter(pk=pk, status=S.RUNNING, started_at__lt=cutoff)
        if attempts >= settings.LINKSHOT_CAPTURE_MAX_ATTEMPTS:
            stuck.update(status=S.FAILED, finished_at=timezone.now(),
                         error=f"Gave up after {attempts} attempts: the capture worker stopped each time "
                               "(crash, memory or time limit).")
        elif stuck.update(status=S.PENDING, error=f"The capture worker stopped during attempt {attempts}; "
                                                  "queued again."):
            requeued.append(pk)
    if requeued:
        log.warning("re-queuing %s snapshot(s) whose capture worker stopped", len(requeued))
    return requeued


def pending_with_lost_message(include_bulk: bool = True) -> list[int]:
    """Pending snapshots whose capture message was sent long ago (or never) and not picked up.

    A broker outage at commit time or a purged queue leaves such rows; re-sending is safe because
    the capture claims its row atomically and a duplicate message does nothing. Imported links'
    captures (``bulk``) can wait in their queue for hours; they count as lost only when
    ``include_bulk`` says that queue is empty.
    """
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.LINKSHOT_PENDING_RESEND_AFTER_S)
    # Never sent (the broker was down at save time): no need to wait as long as for a lost one.
    unsent_cutoff = now - timedelta(seconds=settings.LINKSHOT_UNSENT_RESEND_AFTER_S)
    lost = Snapshot.objects.filter(status=S.PENDING).filter(
        Q(queued_at__lt=cutoff) | Q(queued_at__isnull=True, created_at__lt=unsent_cutoff)
    )
    if not include_bulk:
        lost = lost.exclude(bulk=True)
    ids = list(lost.values_list("pk", flat=True)[: settings.LINKSHOT_RECAPTURE_BATCH])
    if ids:
        log.warning("re-sending %s pending capture(s) whose message was lost", len(ids))
    return ids


def links_due_for_recapture(user, interval_days: int) -> QuerySet[Link]:
    """The person's links whose newest snapshot is older than the interval and none is in progress."""
    cutoff = timezone.now() - timedelta(days=interval_days)
    busy = Snapshot.objects.filter(status__in=[S.PENDING, S.RUNNING]).values("link_id")
    return (Link.objects.filter(user=user).exclude(pk__in=busy)
            .annotate(last_capture=Max("snapshots__created_at"))
            .filter(Q(last_capture__lt=cutoff) | Q(last_capture__isnull=True))
            # Never-captured links first, then the oldest captures.
            .order_by(F("last_capture").asc(nulls_first=True), "pk"))


def create_due_snapshots() -> list[int]:
    """A new pending snapshot for every link due under its owner's re-capture interval (capped per run)."""
    created: list[int] = []
    prefs = CaptureSettings.objects.filter(recapture_interval_days__isnull=False).select_related("user")
    for pref in prefs:
        due = links_due_for_recapture(pref.user, pref.recapture_interval_days)[: settings.LINKSHOT_RECAPTURE_BATCH]
        created += [Snapshot.objects.create(link=link).pk for link in due]
    if created:
        log.info("scheduled %s re-capture(s)", len(created))
    return created
