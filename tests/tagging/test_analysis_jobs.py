"""Analysis job state: queued by capture outcomes, claimed once, re-sent after a dead worker."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from snapshots.capture.errors import CapturePermanentError
from snapshots.capture_jobs import runner as capture_runner
from snapshots.models import Link, Snapshot
from snapshots.signals import snapshot_captured
from tagging import tasks
from tagging.analysis import jobs as analysis_jobs
from tagging.models import Analysis
from tests.support.concurrent import at_once
from tests.tagging.helpers import captured_link

A = Analysis.Status


def test_a_finished_capture_queues_an_analysis_and_a_drain_after_commit(alice, django_capture_on_commit_callbacks,
                                                                          monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.analyze_pending, "delay", lambda: sent.append("drain"))
    link = captured_link(alice, "https://example.org/a", "A", "text", queue=False)
    with django_capture_on_commit_callbacks(execute=True):
        snapshot_captured.send(sender=Snapshot, snapshot=link.snapshots.get())
    analysis = Analysis.objects.get(link=link)
    assert (analysis.status, analysis.snapshot_id, analysis.user_id) == (A.PENDING, link.snapshots.get().pk, alice.pk)
    assert sent == ["drain"]


def test_a_failed_capture_still_queues_an_analysis(alice, django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr(tasks.analyze_pending, "delay", lambda: None)

    class Refusing:
        def capture(self, url):
            raise CapturePermanentError("The page answered 410 Gone.")

    link = Link.objects.create(user=alice, url="https://example.org/gone", title="Gone page")
    snapshot = Snapshot.objects.create(link=link)
    with django_capture_on_commit_callbacks(execute=True):
        assert capture_runner.run_capture(snapshot.pk, Refusing()).status == "failed"
    assert Analysis.objects.get(link=link).status == A.PENDING


def test_a_batch_is_claimed_once(alice):
    for n in range(3):
        captured_link(alice, f"https://example.org/{n}", "t", "x")
    token, first = analysis_jobs.claim_batch(2)
    _, second = analysis_jobs.claim_batch(10)
    _, third = analysis_jobs.claim_batch(10)
    assert (len(first), len(second), third) == (2, 1, [])
    assert {a.status for a in first + second} == {A.RUNNING}
    assert all(a.attempts == 1 for a in first + second)
    # A result written under a claim that was taken over is dropped.
    Analysis.objects.filter(pk=first[0].pk).update(claim="someone-else")
    assert not analysis_jobs.finish(first[0], token)
    assert analysis_jobs.finish(first[1], token)


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_never_share_a_row(alice):
    for n in range(40):
        captured_link(alice, f"https://example.org/{n}", "t", "x")
    got = at_once(lambda: [a.pk for a in analysis_jobs.claim_batch(25)[1]])
    assert len(got) == 2 and not set(got[0]) & set(got[1])
    running = Analysis.objects.filter(status=A.RUNNING)
    assert running.count() == len(got[0]) + len(got[1])
    assert set(running.values_list("attempts", flat=True)) == {1}  # no row was claimed twice


def test_a_claim_that_loses_the_race_for_its_rows_takes_the_next_ones(alice):
    """Another worker claims the rows this one read before its UPDATE: the queue is not over."""
    links = [captured_link(alice, f"https://example.org/{n}", "t", "x") for n in range(4)]
    raced, racing = [], []

    def other_worker_first(execute, sql, params, many, context):
        if sql.startswith("UPDATE") and not racing:
            racing.append(True)
            raced.append(analysis_jobs.claim_batch(2)[1])  # the two oldest, between this claim's read and update
        return execute(sql, params, many, context)

    with connection.execute_wrapper(other_worker_first):
        _, got = analysis_jobs.claim_batch(2)
    assert [a.link_id for a in raced[0]] == [links[0].pk, links[1].pk]
    assert [a.link_id for a in got] == [links[2].pk, links[3].pk]


def test_the_beat_job_requeues_analyses_of_a_dead_worker(alice, settings, monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.analyze_pending, "delay", lambda: sent.append("drain"))
    a, b = (captured_link(alice, f"https://example.org/{n}", "t", "x") for n in range(2))
    analysis_jobs.claim_batch(10)
    long_ago = timezone.now() - timedelta(seconds=settings.LINKSHOT_ANALYSIS_TIME_LIMIT + 60)
    Analysis.objects.update(started_at=long_ago)
    Analysis.objects.filter(link=b).update(attempts=settings.LINKSHOT_ANALYSIS_MAX_ATTEMPTS)
    assert tasks.requeue_stuck_analyses() == 1
    assert Analysis.objects.get(link=a).status == A.PENDING
    failed = Analysis.objects.get(link=b)
    assert failed.status == A.FAILED and "inference worker stopped" in failed.error
    assert sent == ["drain"]


def test_the_beat_job_resends_a_lost_drain_message(alice, settings, monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.analyze_pending, "delay", lambda: sent.append("drain"))
    captured_link(alice, "https://example.org/a", "t", "x")
    assert tasks.requeue_stuck_analyses() == 0 and sent == []
    Analysis.objects.update(queued_at=timezone.now() - timedelta(seconds=settings.LINKSHOT_PENDING_RESEND_AFTER_S + 1))
    tasks.requeue_stuck_analyses()
    assert sent == ["drain"]


def test_healthz_reports_the_backlog(alice, client):
    captured_link(alice, "https://example.org/a", "t", "x")
    Analysis.objects.update(queued_at=timezone.now() - timedelta(seconds=90))
    body = client.get("/healthz").json()
    assert body["analyses"]["pending"] == 1 and body["analyses"]["oldest_seconds"] >= 90
