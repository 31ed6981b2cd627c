"""Celery tasks of tag suggestions. Messages carry no rows: the drain task claims what is pending.

Reliability follows the capture side: acks_late + reject_on_worker_lost, an atomic batch claim
(a redelivered message finds nothing left to claim), soft/hard time limits, and a beat job that
re-queues analyses whose worker died and re-sends a drain when messages were lost.
"""
from __future__ import annotations

import gc
import logging

from celery import shared_task
from django.core.cache import cache
from django.db import transaction

from tagging.analysis import heap
from tagging.analysis import jobs as analysis_jobs
from tagging.analysis import run as analyze
from tagging.analysis.predictor import load_models
from tagging.suggestions import service as suggestions

log = logging.getLogger(__name__)
RESCORE_DELAY_S = 3  # vocabulary edits often come in bursts (rename, then merge): score once


@shared_task(name="tagging.analyze_pending", queue="inference", acks_late=True, reject_on_worker_lost=True,
             bind=True)
def analyze_pending(self) -> int:
    """Analyse one batch of pending links; sends itself again while more are waiting."""
    if not (self.request.is_eager or self.request.called_directly):  # in a worker, not in a caller's process
        _models_loaded()
    claimed = analyze.run_batch()
    if claimed and analysis_jobs.has_pending():
        analyze_pending.delay()
    return claimed


def _models_loaded() -> None:
    """Before the worker's first batch: its models loaded, then what it holds kept out of the
    garbage collector's full collections for good (tagging/analysis/heap.py). Whatever stops the
    models from loading, the batch meets again and records on its links."""
    try:
        backends, seconds = load_models()
    except Exception:  # noqa: BLE001 - reported by the batch, with the links it concerns
        return
    if heap.keep_loaded_out_of_collections():
        log.info("models loaded (%s) in %.1f s; %s objects kept out of the garbage collector's full collections",
                 backends, seconds, f"{gc.get_freeze_count():,}")


@shared_task(name="tagging.rescore_user", queue="inference", acks_late=True, reject_on_worker_lost=True)
def rescore_user(user_id: int) -> int:
    cache.delete(_rescore_key(user_id))
    return suggestions.rescore_user(user_id)


@shared_task(name="tagging.requeue_stuck_analyses", queue="default")
def requeue_stuck_analyses() -> int:
    """Beat job: analyses whose worker died go back to pending; lost drain messages are re-sent."""
    again = analysis_jobs.reset_stuck()
    if again or analysis_jobs.pending_with_lost_message():
        analyze_pending.delay()
    return again


def send_drain_on_commit() -> None:
    # robust: a broker outage must not undo the caller's commit; the beat job re-sends.
    transaction.on_commit(lambda: analyze_pending.delay(), robust=True)


def send_rescore_on_commit(user_id: int) -> None:
    """Re-score the person's pending suggestions soon, once per burst of vocabulary changes."""
    def send() -> None:
        try:
            first = cache.add(_rescore_key(user_id), 1, RESCORE_DELAY_S * 10)
        except Exception:  # noqa: BLE001 - without the cache, send every time
            first = True
        if first:
            rescore_user.apply_async((user_id,), countdown=RESCORE_DELAY_S)

    transaction.on_commit(send, robust=True)


def _rescore_key(user_id: int) -> str:
    return f"tagging-rescore:{user_id}"
