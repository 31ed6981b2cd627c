"""Which snapshots a capture task claims to capture beside its own (runner.claim_next)."""
from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from snapshots.capture_jobs import claimants
from snapshots.capture_jobs.runner import claim_next
from snapshots.models import Link, Snapshot
from tests.support.concurrent import at_once

S = Snapshot.Status


def _snapshot(user, minutes_ago: float | None, **fields) -> Snapshot:
    link = Link.objects.create(user=user, url=f"https://example.com/{Link.objects.count()}")
    queued = None if minutes_ago is None else timezone.now() - timedelta(minutes=minutes_ago)
    return Snapshot.objects.create(link=link, queued_at=queued, **fields)


def _dead_claimant() -> str:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return f"{claimants.current().split(':')[0]}:{proc.pid}:12345"


@pytest.mark.django_db
def test_hand_saved_snapshots_come_before_imported_ones_oldest_queued_first(alice):
    old_bulk = _snapshot(alice, 60, bulk=True)
    new_bulk = _snapshot(alice, 30, bulk=True)
    new_hand = _snapshot(alice, 1)
    old_hand = _snapshot(alice, 5)
    _snapshot(alice, None)  # its message was never sent: the beat job sends it
    _snapshot(alice, 90, attempts=1)  # a retry waits for its own message (its backoff)
    _snapshot(alice, 90, status=S.DONE, attempts=1)

    claimed = claim_next(3)

    assert [s.pk for s in claimed] == [old_hand.pk, new_hand.pk, old_bulk.pk]
    assert all((s.status, s.attempts, s.claimed_by) == (S.RUNNING, 1, claimants.current()) for s in claimed)
    assert [s.pk for s in claim_next(5)] == [new_bulk.pk]
    assert claim_next(5) == []


@pytest.mark.django_db
def test_rows_of_a_gone_claimant_on_this_host_are_taken_over_first(alice):
    queued = _snapshot(alice, 10)
    orphan = _snapshot(alice, 1, status=S.RUNNING, attempts=1, started_at=timezone.now(),
                       claimed_by=_dead_claimant())
    _snapshot(alice, 1, status=S.RUNNING, attempts=1, started_at=timezone.now(), claimed_by=claimants.current())
    _snapshot(alice, 1, status=S.RUNNING, attempts=1, started_at=timezone.now(), claimed_by="other-host:1:1")

    claimed = claim_next(2)

    assert [(s.pk, s.attempts) for s in claimed] == [(orphan.pk, 2), (queued.pk, 1)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_tasks_claiming_at_once_never_take_the_same_row(alice):
    rows = [_snapshot(alice, 10 - n / 10) for n in range(12)]
    taken = at_once(lambda: [s.pk for s in claim_next(4)] + [s.pk for s in claim_next(4)])

    assert len(taken) == 2
    assert not set(taken[0]) & set(taken[1])
    assert sorted(taken[0] + taken[1]) == sorted(s.pk for s in rows[:16])
    assert set(Snapshot.objects.values_list("attempts", flat=True)) == {1}
