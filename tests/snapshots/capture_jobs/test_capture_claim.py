"""Two workers given the same capture message at once: exactly one of them claims the snapshot."""
from __future__ import annotations

import pytest

from snapshots.capture_jobs.runner import claim
from snapshots.models import Link, Snapshot
from tests.support.concurrent import at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROUNDS = 20


def claim_together(snapshot_id: int, workers: int = 2) -> list[Snapshot | None]:
    """Each worker thread (its own database connection) calls claim() at the same moment."""
    results = at_once(lambda: claim(snapshot_id), workers)
    assert len(results) == workers, "a worker thread failed"
    return results


def test_a_pending_snapshot_is_claimed_by_exactly_one_of_two_workers(alice):
    link = Link.objects.create(user=alice, url="https://example.com/raced")
    for _ in range(ROUNDS):  # a check-then-write claim loses this race within a few rounds
        snapshot = Snapshot.objects.create(link=link)
        winners = [result for result in claim_together(snapshot.pk) if result is not None]
        assert len(winners) == 1
        snapshot.refresh_from_db()
        assert (snapshot.status, snapshot.attempts) == (Snapshot.Status.RUNNING, 1)
