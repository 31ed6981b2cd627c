"""A capture message lost at commit time (broker down) is noticed and sent again."""
from datetime import timedelta

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError

from snapshots.capture_jobs import schedule, tasks
from snapshots.links.services import save_link
from snapshots.models import Link, Snapshot

pytestmark = pytest.mark.django_db


def broker_down(snapshot_id):
    raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


def test_saving_a_link_survives_a_broker_outage(alice, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(tasks.capture_snapshot, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        result = save_link(alice, "https://outage.example/", tag_names=["kept"])
    snapshot = result.link.snapshots.get()
    assert snapshot.status == Snapshot.Status.PENDING
    assert Link.objects.filter(url="https://outage.example/").exists()


def test_pending_snapshot_with_a_lost_message_is_resent(alice, settings):
    link = save_link(alice, "https://lost.example/").link
    lost = link.snapshots.get()
    fresh = save_link(alice, "https://fresh.example/").link.snapshots.get()
    long_ago = timezone.now() - timedelta(seconds=settings.LINKSHOT_PENDING_RESEND_AFTER_S + 60)
    Snapshot.objects.filter(pk=lost.pk).update(created_at=long_ago)
    assert schedule.pending_with_lost_message() == [lost.pk]
    assert fresh.pk not in schedule.pending_with_lost_message()


def test_a_recently_resent_snapshot_is_not_resent_again(alice, settings, monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.capture_snapshot, "delay", sent.append)
    snapshot = save_link(alice, "https://again.example/").link.snapshots.get()
    long_ago = timezone.now() - timedelta(seconds=settings.LINKSHOT_PENDING_RESEND_AFTER_S + 60)
    Snapshot.objects.filter(pk=snapshot.pk).update(created_at=long_ago, queued_at=long_ago)
    assert schedule.pending_with_lost_message() == [snapshot.pk]
    tasks.send_capture(snapshot.pk)
    assert sent == [snapshot.pk]
    assert schedule.pending_with_lost_message() == []
