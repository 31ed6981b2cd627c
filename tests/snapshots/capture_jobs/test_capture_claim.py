"""Two workers given the same capture message at once: exactly one of them claims the snapshot."""
from __future__ import annotations

import threading

import pytest
from django.db import connection

from snapshots.capture_jobs.runner import claim
from snapshots.models import Link, Snapshot

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROUNDS = 20


def claim_together(snapshot_id: int, workers: int = 2) -> list[Snapshot | None]:
    """Each worker thread (its own database connection) calls claim() at the same moment."""
    start = threading.Barrier(workers)
    results: list[Snapshot | None] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            start.wait()
            claimed = claim(snapshot_id)
            with lock:
                results.append(claimed)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
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
