"""Bookkeeping around one capture: claim the snapshot row, run the engine, store what it kept.

The engine (snapshots.capture) knows nothing of the database; this module owns the Snapshot's job
state. A row is claimed atomically, so a redelivered message for a snapshot that is done, failed
or being captured right now does nothing. The attempt number taken by the claim also fences the
final write: a worker that lost its claim (it ran past the hard limit and the row was re-queued)
cannot overwrite the newer attempt's outcome.
"""
from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from snapshots.capture.errors import CaptureError, CapturePermanentError, CaptureRefused, CaptureTransientError
from snapshots.capture.result import CaptureResult
from snapshots.capture_jobs import claimants
from snapshots.models import Link, Snapshot
from snapshots.replay.asset_types import FILE_ASSETS, asset_extension
from snapshots.signals import snapshot_captured, snapshot_failed

log = logging.getLogger(__name__)

# A claim older than the hard time limit plus this margin (clock skew between hosts) belongs to a
# worker that is gone.
STALE_MARGIN_SECONDS = 10
LINK_TITLE_MAX = Link._meta.get_field("title").max_length
S = Snapshot.Status


@dataclass(frozen=True)
class Outcome:
    status: str  # "done", "failed", "retry" or "skipped"
    retry_in: float | None = None


def stale_before() -> datetime:
    """Claims that started before this moment have outlived any worker that could hold them."""
    return timezone.now() - timedelta(seconds=settings.LINKSHOT_CAPTURE_TIME_LIMIT + STALE_MARGIN_SECONDS)


def claim(snapshot_id: int) -> Snapshot | None:
    """Mark the snapshot running and count the attempt; None when it is not ours to capture."""
    claimable = Q(status=S.PENDING) | Q(status=S.RUNNING, started_at__lt=stale_before())
    gone = _gone_claimant(snapshot_id)
    if gone:
        log.warning("snapshot %s: its capture process %s is gone; taking it over", snapshot_id, gone)
        claimable |= Q(status=S.RUNNING, claimed_by=gone)
    claimed = (Snapshot.objects.filter(claimable, pk=snapshot_id)
               .update(status=S.RUNNING, attempts=F("attempts") + 1, started_at=timezone.now(), finished_at=None,
                       claimed_by=claimants.current()))
    if claimed != 1:
        return None
    return Snapshot.objects.select_related("link").filter(pk=snapshot_id).first()


def _gone_claimant(snapshot_id: int) -> str | None:
    """The running row's claimant when that process is known to be dead (a killed worker child)."""
    running = Snapshot.objects.filter(pk=snapshot_id, status=S.RUNNING).exclude(claimed_by="")
    claimant = running.values_list("claimed_by", flat=True).first()
    return claimant if claimant and claimants.is_gone(claimant) else None


def run_capture(snapshot_id: int, capturer) -> Outcome:
    """Capture one snapshot with ``capturer`` (anything with ``capture(url) -> CaptureResult``)."""
    snapshot = claim(snapshot_id)
    if snapshot is None:
        log.info("snapshot %s is gone or not pending; nothing to do", snapshot_id)
        return Outcome("skipped")
    given_up = give_up_if_exhausted(snapshot)
    if given_up is not None:
        return given_up
    log.info("capturing snapshot %s (attempt %s): %s", snapshot.pk, snapshot.attempts, snapshot.link.url)
    return settle(snapshot, time.monotonic(), lambda: capturer.capture(snapshot.link.url))


def give_up_if_exhausted(snapshot: Snapshot) -> Outcome | None:
    """A claim past the last attempt (the worker stopped each time) fails instead of capturing again."""
    if snapshot.attempts > settings.LINKSHOT_CAPTURE_MAX_ATTEMPTS:
        return _fail(snapshot, f"Gave up after {snapshot.attempts - 1} attempts: the capture worker "
                               "stopped each time (crash, memory or time limit).")
    return None


def settle(snapshot: Snapshot, started: float, get_result: Callable[[], CaptureResult]) -> Outcome:
    """Store what ``get_result`` returns, or record the failure it raises (retry, fail or refuse)."""
    try:
        return _finish(snapshot, get_result(), started)
    except CaptureRefused as exc:
        return _fail(snapshot, f"Refused: {exc}")
    except CapturePermanentError as exc:
        return _fail(snapshot, str(exc), exc.kept)
    except CaptureTransientError as exc:
        return _retry_or_fail(snapshot, str(exc), exc.kept)
    except SoftTimeLimitExceeded:
        return time_is_up(snapshot)
    except OSError as exc:  # storage trouble (disk full, S3 hiccup) may pass
        log.exception("storing snapshot %s failed", snapshot.pk)
        return _retry_or_fail(snapshot, f"Could not store the captured files: {exc}")
    except CaptureError as exc:
        return _fail(snapshot, str(exc))
    except Exception as exc:  # a bug must end in a visible failure, not a row stuck in "running"
        log.exception("capture of snapshot %s failed unexpectedly", snapshot.pk)
        return _fail(snapshot, f"The capture failed unexpectedly ({type(exc).__name__}: {exc}).")


def time_is_up(snapshot: Snapshot) -> Outcome:
    """The task's soft time limit came while this snapshot was still being captured."""
    return _retry_or_fail(snapshot, f"The capture took longer than {settings.LINKSHOT_CAPTURE_SOFT_TIME_LIMIT} s.")


def claim_next(limit: int) -> list[Snapshot]:
    """Claim up to ``limit`` more snapshots for pages to capture beside the one in hand.

    First rows whose claimant on this host is gone (a killed worker child's pages, whose messages
    may have been handled already), then pending snapshots whose message is queued: hand-saved
    before imported (``bulk``), oldest queued first. Only first attempts are taken this way; a
    retried snapshot waits for its own message so its backoff holds. Each row is claimed with the
    same atomic update as ``claim``, so a row another worker takes first is skipped, and the
    message of a row taken here later finds it claimed or done and does nothing.
    """
    if limit <= 0:
        return []
    claimed: list[Snapshot] = []
    for candidate in [*_orphaned_here(), *_queued_first_attempts(limit * 2)]:
        if len(claimed) >= limit:
            break
        snapshot = claim(candidate)
        if snapshot is not None:
            claimed.append(snapshot)
    return claimed


def _orphaned_here() -> list[int]:
    """Running rows whose claimant ran on this host and is gone."""
    here = claimants.current().rsplit(":", 2)[0]
    running = (Snapshot.objects.filter(status=S.RUNNING, claimed_by__startswith=f"{here}:")
               .values_list("pk", "claimed_by"))
    return [pk for pk, claimant in running if claimants.is_gone(claimant)]


def _queued_first_attempts(count: int) -> list[int]:
    waiting = Snapshot.objects.filter(status=S.PENDING, attempts=0, queued_at__isnull=False)
    return list(waiting.order_by("bulk", "queued_at", "pk").values_list("pk", flat=True)[:count])


def retry_delay(attempt: int) -> float:
    """Exponential backoff with jitter, so many failed captures of one site do not return in step."""
    base = settings.LINKSHOT_CAPTURE_RETRY_BASE_SECONDS * 2 ** max(attempt - 1, 0)
    capped = min(base, settings.LINKSHOT_CAPTURE_RETRY_MAX_SECONDS)
    return random.uniform(capped / 2, capped)


def _retry_or_fail(snapshot: Snapshot, reason: str, kept: CaptureResult | None = None) -> Outcome:
    limit = settings.LINKSHOT_CAPTURE_MAX_ATTEMPTS
    if snapshot.attempts >= limit:
        return _fail(snapshot, f"{reason} (gave up after {snapshot.attempts} attempts)", kept)
    delay = retry_delay(snapshot.attempts)
    error = f"Attempt {snapshot.attempts} of {limit} failed: {reason} Trying again in about {delay:.0f} s."
    if not _owned(snapshot).update(status=S.PENDING, error=error):
        return Outcome("skipped")
    log.warning("snapshot %s: %s", snapshot.pk, error)
    return Outcome("retry", retry_in=delay)


def _fail(snapshot: Snapshot, error: str, kept: CaptureResult | None = None) -> Outcome:
    """Mark the snapshot failed; ``kept`` (an error page as captured) is stored with it."""
    log.warning("snapshot %s failed: %s", snapshot.pk, error)
    fields = {}
    if kept is not None:
        stored, notes = _store_assets(snapshot, kept)
        fields = _result_fields(snapshot, kept, stored, notes)
    written = _owned(snapshot).update(**{**fields, "status": S.FAILED, "error": error,
                                         "finished_at": timezone.now()})
    if written:
        transaction.on_commit(lambda: _announce(snapshot.pk, snapshot_failed))
    return Outcome("failed" if written else "skipped")


def _owned(snapshot: Snapshot):
    """The row, only while this worker's claim on it still stands (same attempt, still running)."""
    return Snapshot.objects.filter(pk=snapshot.pk, status=S.RUNNING, attempts=snapshot.attempts)


def _finish(snapshot: Snapshot, result: CaptureResult, started: float) -> Outcome:
    capture_seconds = time.monotonic() - started
    stored, notes = _store_assets(snapshot, result)
    fields = _result_fields(snapshot, result, stored, notes)
    fields["timings"] = {**result.timings, "capture_total": round(capture_seconds, 3),
                         "store": round(time.monotonic() - started - capture_seconds, 3)}
    with transaction.atomic():
        if not _owned(snapshot).update(**fields):
            log.warning("snapshot %s was deleted or re-queued during capture; dropping this result", snapshot.pk)
            transaction.on_commit(lambda: _delete_files(snapshot, stored))
            return Outcome("skipped")
        _update_link(snapshot, result)
        transaction.on_commit(lambda: _announce(snapshot.pk))
    log.info("snapshot %s done in %.1f s", snapshot.pk, capture_seconds)
    return Outcome("done")


def _store_assets(snapshot: Snapshot, result: CaptureResult) -> tuple[dict[str, str], list[str]]:
    """Save each asset through the storage API; one over the size cap is skipped with a note."""
    cap = settings.LINKSHOT_ASSET_MAX_BYTES
    stored: dict[str, str] = {}
    notes: list[str] = []
    for name in FILE_ASSETS:
        data = result.assets.get(name)
        if not data:
            continue
        if len(data) > cap:
            notes.append(f"{name} skipped: {len(data)} bytes is over the {cap} byte cap")
            continue
        field = getattr(snapshot, name)
        field.save(f"{name}{asset_extension(name, data)}", ContentFile(data), save=False)
        stored[name] = field.name
    return stored, notes


def _result_fields(snapshot: Snapshot, result: CaptureResult, stored: dict[str, str], notes: list[str]) -> dict:
    earlier = [f"Earlier attempt: {snapshot.error}"] if snapshot.error else []
    sizes = {**result.sizes, **{name: len(result.assets[name]) for name in stored}}
    return {
        **stored,
        "status": S.DONE, "error": "", "finished_at": timezone.now(),
        "final_url": _clip(result.final_url, "final_url"), "http_status": result.http_status,
        "content_type": _clip(result.content_type, "content_type"), "title": _clip(result.title, "title"),
        "description": result.description, "language": _clip(result.language, "language"),
        "og_image_url": _clip(result.og_image_url, "og_image_url"),
        "favicon_url": _clip(result.favicon_url, "favicon_url"),
        "text": result.text, "sizes": sizes, "notes": [*earlier, *result.notes, *notes],
    }


def _clip(value: str, field: str) -> str:
    return (value or "")[: Snapshot._meta.get_field(field).max_length]


def _update_link(snapshot: Snapshot, result: CaptureResult) -> None:
    """Fill the title/description the person left empty; keep page text from the newest done capture."""
    link = Link.objects.select_for_update().filter(pk=snapshot.link_id).first()
    if link is None:
        return
    changed = []
    if not link.title and result.title:
        link.title, changed = result.title.strip()[:LINK_TITLE_MAX], [*changed, "title"]
    if not link.description and result.description:
        link.description, changed = result.description.strip(), [*changed, "description"]
    newer_done = Snapshot.objects.filter(link_id=link.pk, status=S.DONE, pk__gt=snapshot.pk).exists()
    if not newer_done and link.page_text != result.text:
        link.page_text, changed = result.text, [*changed, "page_text"]
    if changed:
        link.save(update_fields=changed)


def _announce(snapshot_id: int, signal=snapshot_captured) -> None:
    snapshot = Snapshot.objects.select_related("link").filter(pk=snapshot_id).first()
    if snapshot is not None:
        signal.send(sender=Snapshot, snapshot=snapshot)


def _delete_files(snapshot: Snapshot, stored: dict[str, str]) -> None:
    for name in stored.values():
        snapshot.screenshot.storage.delete(name)
