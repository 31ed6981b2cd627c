"""Imported links' captures use the lower-priority queue; hand-saved links keep the interactive one."""
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from config.launcher import services as launcher_services
from snapshots.capture_jobs import schedule, tasks
from snapshots.models import Snapshot
from tests.factories import make_link

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    calls = []
    monkeypatch.setattr(tasks.capture_snapshot, "apply_async",
                        lambda args, queue=None, priority=None: calls.append((args[0], queue, priority)))
    monkeypatch.setattr(tasks.capture_snapshot, "delay", lambda pk: calls.append((pk, "capture", None)))
    return calls


def test_bulk_snapshots_are_sent_to_capture_bulk(alice, sent):
    link = make_link(alice, "https://example.com/")
    by_hand = link.snapshots.get()
    imported = Snapshot.objects.create(link=link, bulk=True)
    tasks.send_capture(by_hand.pk)
    tasks.send_capture(imported.pk)
    tasks.send_bulk_captures([imported.pk])
    assert sent == [(by_hand.pk, "capture", None), (imported.pk, "capture_bulk", 9), (imported.pk, "capture_bulk", 9)]
    assert Snapshot.objects.get(pk=imported.pk).queued_at is not None


def test_waiting_bulk_captures_are_not_resent_while_their_queue_is_busy(alice):
    link = make_link(alice, "https://example.com/")
    long_ago = timezone.now() - timedelta(seconds=settings.LINKSHOT_PENDING_RESEND_AFTER_S + 60)
    imported = Snapshot.objects.create(link=link, bulk=True)
    Snapshot.objects.filter(link=link).update(queued_at=long_ago)
    by_hand = link.snapshots.exclude(pk=imported.pk).get()
    assert schedule.pending_with_lost_message(include_bulk=False) == [by_hand.pk]
    assert sorted(schedule.pending_with_lost_message(include_bulk=True)) == sorted([by_hand.pk, imported.pk])


def test_the_embedded_worker_serves_the_bulk_queue(tmp_path):
    worker = launcher_services(8000, tmp_path)["worker"]
    assert {"capture", "capture_bulk", "default"} <= set(worker[worker.index("-Q") + 1].split(","))
