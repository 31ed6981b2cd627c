"""Starting capture jobs: the public side of the two-layer tasks (see tasks.py)."""
from __future__ import annotations

from django.db import transaction

from snapshots import tasks
from snapshots.models import Link, Snapshot


def request_snapshot(link: Link) -> Snapshot:
    """Record a pending snapshot and enqueue its capture once the surrounding transaction commits."""
    snapshot = Snapshot.objects.create(link=link)
    transaction.on_commit(lambda: tasks.capture_snapshot.delay(snapshot.pk))
    return snapshot
