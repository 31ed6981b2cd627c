"""manage.py model_views: snapshots kept before the capture made model views get one."""
from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.utils import timezone

from inference.preprocess_image import prepare_image
from snapshots.capture.extract import screenshot_views
from snapshots.models import Link, Snapshot
from tests.tagging.helpers import screenshot_png


def snapshot_of(user, n: int, screenshot: bytes | None, status=Snapshot.Status.DONE) -> Snapshot:
    link = Link.objects.create(user=user, url=f"https://example.org/{n}")
    snapshot = Snapshot.objects.create(link=link, status=status, finished_at=timezone.now(), sizes={"html": 10})
    if screenshot is not None:
        snapshot.screenshot.save("screenshot.png", ContentFile(screenshot), save=True)
    return snapshot


def model_views(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("model_views", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_older_snapshots_get_the_view_the_capture_would_have_kept(alice, bob):
    shot = screenshot_png(stripe=(10, 120, 60))
    old = snapshot_of(alice, 1, shot)
    broken = snapshot_of(alice, 2, b"\x89PNG\r\n\x1a\n truncated")
    without = snapshot_of(alice, 3, None)
    failed = snapshot_of(alice, 4, shot, status=Snapshot.Status.FAILED)
    theirs = snapshot_of(bob, 5, shot)
    out, err = model_views("--user", "alice", "--batch", "1")
    assert "Made 1 model views; 1 screenshots could not be read." in out
    assert f"Left without a model view, snapshot {broken.pk}:" in err
    old.refresh_from_db()
    with old.model_view.open("rb") as handle:
        view = handle.read()
    assert view == screenshot_views(shot, 400)[1]  # what a capture of it keeps now
    assert np.array_equal(prepare_image(view), prepare_image(shot))
    assert old.sizes == {"html": 10, "model_view": len(view)}
    for untouched in (broken, without, failed, theirs):
        untouched.refresh_from_db()
        assert not untouched.model_view
    assert "Made 0 model views; 1 screenshots could not be read." in model_views("--user", "alice")[0]
    assert "Made 1 model views" in model_views()[0]  # everyone's: bob's now


@pytest.mark.django_db
def test_an_unknown_person_is_a_clear_error():
    with pytest.raises(CommandError, match="There is no user named 'carol'"):
        model_views("--user", "carol")
