"""A redelivered capture whose claimant process is gone takes the row over at once."""
import subprocess
import sys

import pytest
from django.utils import timezone

from snapshots.capture_jobs import claimants
from snapshots.capture_jobs.runner import claim
from snapshots.models import Link, Snapshot

pytestmark = pytest.mark.django_db
S = Snapshot.Status


def _dead_claimant() -> str:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    here = claimants.current().split(":")[0]
    return f"{here}:{proc.pid}:12345"


def _running(user, claimed_by: str) -> Snapshot:
    link = Link.objects.create(user=user, url="https://example.com/a")
    return Snapshot.objects.create(link=link, status=S.RUNNING, attempts=1, started_at=timezone.now(),
                                   claimed_by=claimed_by)


def test_row_of_a_dead_claimant_is_taken_over_at_once(alice):
    snapshot = _running(alice, _dead_claimant())
    claimed = claim(snapshot.pk)
    assert claimed is not None
    assert (claimed.status, claimed.attempts) == (S.RUNNING, 2)
    assert claimed.claimed_by == claimants.current()


def test_row_of_a_live_claimant_is_left_alone(alice):
    snapshot = _running(alice, claimants.current())
    assert claim(snapshot.pk) is None
    assert Snapshot.objects.get(pk=snapshot.pk).attempts == 1


def test_claimant_on_another_host_is_left_to_the_stale_sweep(alice):
    snapshot = _running(alice, "some-other-host:1:1")
    assert claim(snapshot.pk) is None


def test_a_recycled_pid_is_not_the_claimant():
    pid, started = claimants.current().split(":")[1:]
    here = claimants.current().split(":")[0]
    assert claimants.is_gone(f"{here}:{pid}:{int(started) + 1}")
    assert not claimants.is_gone(claimants.current())
