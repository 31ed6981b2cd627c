"""Running one import job: claim it, count the entries, write them batch by batch, finish.

Progress (``done``) moves in the same transaction as each batch, so a worker killed mid-file
leaves a job that resumes exactly after the last committed batch. The attempt number taken by the
claim fences every batch: a worker that lost its claim (it stalled and the job was resumed
elsewhere) stops instead of writing beside the new one.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from imports.batch import write_batch
from imports.entry_check import Checked, Skipped, check_entry
from imports.models import ImportJob
from imports.parsing import sniff
from imports.parsing.entries import BadFile, Entry
from snapshots.capture_jobs.tasks import send_bulk_captures_on_commit

log = logging.getLogger(__name__)
S = ImportJob.Status


class LostClaim(Exception):
    """Another worker resumed this job; this one must stop writing."""


def stalled_before() -> datetime:
    return timezone.now() - timedelta(seconds=settings.LINKSHOT_IMPORT_STALL_SECONDS)


def claimable() -> Q:
    return Q(status=S.PENDING) | Q(status=S.RUNNING, heartbeat_at__lt=stalled_before())


def claim(job_id: int) -> ImportJob | None:
    now = timezone.now()
    taken = ImportJob.objects.filter(claimable(), pk=job_id).update(
        status=S.RUNNING, attempts=F("attempts") + 1, heartbeat_at=now, started_at=Coalesce("started_at", now))
    return ImportJob.objects.select_related("user").get(pk=job_id) if taken == 1 else None


def run_import(job_id: int) -> str:
    job = claim(job_id)
    if job is None:
        return "skipped"
    try:
        if job.total is None:
            _count(job)
        stopped = _import_entries(job)
    except LostClaim:
        log.warning("import %s was resumed by another worker; this one stops", job_id)
        return "lost"
    _finish(job, stopped)
    return job.status


def _entries(job: ImportJob) -> Iterator[Entry]:
    with job.file.open("rb") as stream:
        yield from sniff.read_entries(stream, job.format)


def _count(job: ImportJob) -> None:
    """One quick streaming pass for the progress bar's total."""
    total = 0
    try:
        for _entry in _entries(job):
            total += 1
    except BadFile:
        pass  # reported by the import pass itself
    ImportJob.objects.filter(pk=job.pk).update(total=total)
    job.total = total


def _import_entries(job: ImportJob) -> str:
    """Write every entry after ``job.done``; the text of a BadFile that stopped the file, or ""."""
    try:
        for batch in _batches((e for e in _entries(job) if e.position > job.done), settings.LINKSHOT_IMPORT_BATCH):
            _commit(job, [check_entry(entry, job.folders_as_tags) for entry in batch])
    except BadFile as exc:
        return str(exc)
    except OSError as exc:
        return f"The uploaded file could not be read: {exc}"
    return ""


def _batches(entries: Iterable[Entry], size: int) -> Iterator[list[Entry]]:
    """Lists of ``size`` entries; the entries read before a BadFile are yielded before it is raised."""
    batch: list[Entry] = []
    try:
        for entry in entries:
            batch.append(entry)
            if len(batch) >= size:
                yield batch
                batch = []
    except BadFile:
        if batch:
            yield batch
        raise
    if batch:
        yield batch


def _commit(job: ImportJob, checked: list[Checked | Skipped]) -> None:
    with transaction.atomic():
        if not ImportJob.objects.select_for_update().filter(pk=job.pk, attempts=job.attempts).exists():
            raise LostClaim
        result = write_batch(job, checked)
        ImportJob.objects.filter(pk=job.pk).update(
            done=F("done") + len(checked), imported=F("imported") + result.imported,
            skipped=F("skipped") + result.skipped, heartbeat_at=timezone.now())
        send_bulk_captures_on_commit(result.snapshot_ids)
    job.done += len(checked)


def _finish(job: ImportJob, stopped: str) -> None:
    job.refresh_from_db()
    job.status = S.FAILED if stopped and job.done == 0 else S.DONE
    job.error = stopped
    job.finished_at = timezone.now()
    job.total = job.done if stopped else job.total
    job.file.delete(save=False)  # the links are in; the upload is not kept
    job.save(update_fields=["status", "error", "finished_at", "total", "file"])
