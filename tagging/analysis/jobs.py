"""Analysis job state: queue, claim in batches, finish, fail, and re-send after a worker died.

Like capture jobs (snapshots/capture_jobs/runner.py), the state lives in the database. A batch is
claimed atomically with a token: only rows still pending are switched to running under it, so
a redelivered message or a second worker never analyses a row twice. The final write is fenced
by the token too: a worker whose claim was taken over cannot overwrite the newer result.
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Case, F, Q, When
from django.utils import timezone

from snapshots import list_cache
from snapshots.links.shown import NEWEST_FIRST, pick_snapshots
from snapshots.models import Link, Snapshot
from tagging.models import Analysis

log = logging.getLogger(__name__)
A = Analysis.Status
STALE_MARGIN_SECONDS = 10


def queue_analysis(link: Link, snapshot: Snapshot | None) -> Analysis:
    """Set the link's analysis (back) to pending for this snapshot (tasks.py sends the message)."""
    analysis, _ = Analysis.objects.update_or_create(
        link=link, defaults={"user_id": link.user_id, "snapshot": snapshot, "status": A.PENDING,
                             "attempts": 0, "error": "", "claim": "", "started_at": None, "finished_at": None,
                             "queued_at": timezone.now()})
    return analysis


def stale_before() -> datetime:
    return timezone.now() - timedelta(seconds=settings.LINKSHOT_ANALYSIS_TIME_LIMIT + STALE_MARGIN_SECONDS)


def claim_batch(limit: int, user_id: int | None = None) -> tuple[str, list[Analysis]]:
    """Claim up to ``limit`` pending analyses (oldest first, of one person if given); returns the
    claim token and the rows."""
    token = uuid.uuid4().hex
    pending = Analysis.objects.filter(status=A.PENDING)
    if user_id is not None:
        pending = pending.filter(user_id=user_id)
    while True:
        ids = list(pending.order_by("queued_at", "pk").values_list("pk", flat=True)[:limit])
        if not ids:
            return token, []
        taken = Analysis.objects.filter(pk__in=ids, status=A.PENDING).update(
            status=A.RUNNING, claim=token, attempts=F("attempts") + 1, started_at=timezone.now())
        if taken:
            break
        # Another worker claimed these between the read and the update (reanalyze --jobs): the
        # next ones, rather than an empty batch that a drain would take for the end of the queue.
    claimed = list(Analysis.objects.filter(claim=token, status=A.RUNNING)
                   .select_related("link", "snapshot").defer(*RESULTS).order_by("pk"))
    return token, claimed


# What an analysis computes: the claim does not read the earlier values (kilobytes a row, written
# over when the batch finishes; still loaded on access). It reads the stored terms, which a
# re-analysis of the same snapshot takes instead of parsing its HTML again (inputs.stored_terms).
RESULTS = ("text_vector", "image_feature", "image_descriptor", "term_vector", "concepts", "inputs")


def owned(analysis: Analysis, token: str):
    """The row, while this batch's claim on it still stands."""
    return Analysis.objects.filter(pk=analysis.pk, claim=token, status=A.RUNNING)


def finish(analysis: Analysis, token: str, **fields) -> bool:
    written = owned(analysis, token).update(status=A.DONE, error="", finished_at=timezone.now(), **fields)
    return bool(written)


def finish_batch(analyses: list[Analysis], token: str, fields: list[str]) -> list[Analysis]:
    """Write the ``fields`` already set on ``analyses`` and mark them done; returns the rows written.

    One UPDATE statement, prepared once and executed for every row (``executemany``), fenced like
    :func:`finish`: it only touches a row still running under this batch's claim, so a row whose
    claim was taken over keeps the newer result. (Django's bulk_update would build a CASE per row
    and field: a few milliseconds a row in Python, more than the database takes.)
    """
    if not analyses:
        return []
    now = timezone.now()
    for analysis in analyses:
        analysis.status, analysis.error, analysis.finished_at = A.DONE, "", now
    columns = [Analysis._meta.get_field(name) for name in [*fields, "status", "error", "finished_at"]]
    db = connections[DEFAULT_DB_ALIAS]  # the connection itself: each use of the proxy is a thread-local lookup
    table, quote = Analysis._meta.db_table, db.ops.quote_name
    sql = (f"UPDATE {quote(table)} SET {', '.join(f'{quote(c.column)} = %s' for c in columns)} "
           f"WHERE {quote('id')} = %s AND {quote('claim')} = %s AND {quote('status')} = %s")
    rows = [[c.get_db_prep_save(getattr(a, c.attname), db) for c in columns] + [a.pk, token, A.RUNNING]
            for a in analyses]
    with transaction.atomic(), db.cursor() as cursor:
        cursor.executemany(sql, rows)
        # The rows this call wrote carry its finish time (a redelivered batch's earlier write has another).
        written = set(Analysis.objects.filter(pk__in=[a.pk for a in analyses], claim=token, status=A.DONE,
                                              finished_at=now).values_list("pk", flat=True))
        if written:  # raw SQL passes by ListCacheQuerySet: tell the list cache as its update() would
            list_cache.user_changed(*{a.user_id for a in analyses if a.pk in written})
    return [a for a in analyses if a.pk in written]


def fail(analysis: Analysis, token: str, error: str) -> bool:
    """Record a failure the person can read; it is retried while attempts remain."""
    retry = analysis.attempts < settings.LINKSHOT_ANALYSIS_MAX_ATTEMPTS
    status = A.PENDING if retry else A.FAILED
    message = f"{error} (attempt {analysis.attempts}; trying again)" if retry else error
    # A retried analysis keeps its finish time: vectors it had from an earlier run still stand (library.py).
    ended = {} if retry else {"finished_at": timezone.now()}
    written = owned(analysis, token).update(status=status, error=message, **ended)
    log.warning("analysis of link %s failed: %s", analysis.link_id, message)
    return bool(written)


def fail_batch(analyses: list[Analysis], token: str, error: str) -> int:
    """:func:`fail` for a whole batch (the models could not run at all), in one fenced UPDATE."""
    if not analyses:
        return 0
    now = timezone.now()
    for analysis in analyses:
        retry = analysis.attempts < settings.LINKSHOT_ANALYSIS_MAX_ATTEMPTS
        analysis.status = A.PENDING if retry else A.FAILED
        analysis.error = f"{error} (attempt {analysis.attempts}; trying again)" if retry else error
        if not retry:  # as fail(): a retried one keeps its finish time
            analysis.finished_at = now
    written = Analysis.objects.filter(claim=token, status=A.RUNNING).bulk_update(
        analyses, ["status", "error", "finished_at"])
    log.warning("analysis of %s link(s) failed: %s", len(analyses), error)
    return written


def reset_stuck() -> int:
    """Analyses left running by a dead worker go back to pending (or fail when out of attempts)."""
    stuck = Analysis.objects.filter(status=A.RUNNING, started_at__lt=stale_before())
    gave_up = stuck.filter(attempts__gte=settings.LINKSHOT_ANALYSIS_MAX_ATTEMPTS).update(
        status=A.FAILED, finished_at=timezone.now(),
        error="Gave up: the inference worker stopped during each attempt (crash, memory or time limit).")
    again = stuck.update(status=A.PENDING, claim="", queued_at=timezone.now(),
                         error="The inference worker stopped during the analysis; queued again.")
    if gave_up or again:
        log.warning("analyses whose worker stopped: %s queued again, %s failed", again, gave_up)
    return again


def queue_reanalysis(links, model_version: str, everything: bool) -> int:
    """Set analyses of ``links`` pending for a re-analysis; returns how many were set.

    Without ``everything`` only links never analysed, failed, or analysed by other models are
    taken, so running it again after an interruption continues where it stopped.
    """
    missing = links.filter(analysis__isnull=True)
    created = Analysis.objects.bulk_create(
        [Analysis(link_id=pk, user_id=user_id, snapshot_id=_shown_snapshot_id(pk), queued_at=timezone.now())
         for pk, user_id in missing.values_list("pk", "user_id")], batch_size=1000)
    existing = Analysis.objects.filter(link__in=links).exclude(status__in=[A.PENDING, A.RUNNING])
    if not everything:
        existing = existing.filter(Q(status=A.FAILED) | ~Q(model_version=model_version))
    # A link done by these models keeps its finish time, and so its place in the person's library
    # (library.py) while it is analysed again; other vectors no longer stand (SET reads the old status).
    stand = When(Q(status=A.DONE, model_version=model_version), then=F("finished_at"))
    updated = existing.update(status=A.PENDING, attempts=0, error="", claim="", queued_at=timezone.now(),
                              finished_at=Case(stand, default=None))
    return len(created) + updated


def _shown_snapshot_id(link_id: int) -> int | None:
    """The snapshot the link shows (the one rule in snapshots/links/shown.py)."""
    newest_first = Snapshot.objects.filter(link_id=link_id).only("pk", "status").order_by(*NEWEST_FIRST)
    chosen = pick_snapshots(newest_first).shown_or_latest
    return chosen.pk if chosen is not None else None


def has_pending() -> bool:
    return Analysis.objects.filter(status=A.PENDING).exists()


def pending_with_lost_message() -> bool:
    """True when some analysis has waited long enough that its message was probably lost.

    Re-sending a drain is harmless (it claims only what is pending), so a long backlog simply
    gets one extra message per beat run.
    """
    cutoff = timezone.now() - timedelta(seconds=settings.LINKSHOT_PENDING_RESEND_AFTER_S)
    return Analysis.objects.filter(status=A.PENDING).filter(Q(queued_at__lt=cutoff) | Q(queued_at__isnull=True)).exists()


def backlog() -> dict:
    """Pending analyses and the age of the oldest, for /healthz."""
    pending = Analysis.objects.filter(status__in=[A.PENDING, A.RUNNING])
    oldest = pending.order_by("queued_at").values_list("queued_at", flat=True).first()
    age = (timezone.now() - oldest).total_seconds() if oldest else 0.0
    return {"pending": pending.count(), "oldest_seconds": round(age, 1)}
