"""Several pages in flight in one worker child, with the real engine (Chromium) on a loopback site.

Each page of these tests waits on a slow image of its own; the site counts how many of those
requests are open at once, so overlap in time is measured at the server, not inferred.
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from snapshots.capture import Capturer
from snapshots.capture_jobs.inflight import run_captures
from snapshots.models import Snapshot
from tests.support.capture_jobs_site import SlowAssets, capture_config, queued_pages
from tests.support.pageserver import send

pytestmark = [pytest.mark.chromium, pytest.mark.django_db]
S = Snapshot.Status
SLOW_ASSET_S = 2.5
BUDGET_S = 100.0


def statuses(snapshots: list[Snapshot]) -> list[tuple[str, int]]:
    rows = dict(Snapshot.objects.filter(pk__in=[s.pk for s in snapshots]).values_list("pk", "status"))
    attempts = dict(Snapshot.objects.filter(pk__in=[s.pk for s in snapshots]).values_list("pk", "attempts"))
    return [(rows[s.pk], attempts[s.pk]) for s in snapshots]


def test_pages_of_one_task_overlap_in_one_browser(alice, site, capturer):
    slow = SlowAssets(SLOW_ASSET_S)
    snapshots = queued_pages(alice, site, 4, slow, "overlap")
    retries = []
    capturer.capture(site.server.url("/article"))  # the browser is up before the clock starts

    started = time.monotonic()
    outcome = run_captures(snapshots[0].pk, capturer, lambda pk, delay: retries.append(pk),
                           pages_in_flight=4, budget_s=BUDGET_S)
    elapsed = time.monotonic() - started

    assert outcome.status == "done"
    assert statuses(snapshots) == [(S.DONE, 1)] * 4
    assert slow.most == 4  # all four pages waited on their image at the same moment
    # One after another, the four waits alone would take 4 x 2.5 s.
    assert elapsed < 4 * SLOW_ASSET_S, f"{elapsed:.1f} s: the waits ran one after another"
    assert all(site.hits(f"/overlap/{n}") == 1 for n in range(4)) and retries == []
    for snapshot in Snapshot.objects.filter(pk__in=[s.pk for s in snapshots]):
        assert snapshot.screenshot and snapshot.title.startswith("overlap page")


def test_one_page_in_flight_captures_only_the_messages_snapshot(alice, site, capturer):
    slow = SlowAssets(0.2)
    snapshots = queued_pages(alice, site, 3, slow, "single")

    assert run_captures(snapshots[0].pk, capturer, lambda *_: None, pages_in_flight=1).status == "done"

    assert statuses(snapshots) == [(S.DONE, 1), (S.PENDING, 0), (S.PENDING, 0)]


def test_the_messages_of_snapshots_taken_beside_it_do_nothing(alice, site, capturer):
    slow = SlowAssets(0.5)
    snapshots = queued_pages(alice, site, 3, slow, "redelivered")
    assert run_captures(snapshots[0].pk, capturer, lambda *_: None, pages_in_flight=3).status == "done"
    assert statuses(snapshots) == [(S.DONE, 1)] * 3

    for snapshot in snapshots[1:]:  # their own messages arrive after the rows were captured
        assert run_captures(snapshot.pk, capturer, lambda *_: None, pages_in_flight=3).status == "skipped"

    assert statuses(snapshots) == [(S.DONE, 1)] * 3
    assert [site.hits(f"/redelivered/{n}") for n in range(3)] == [1, 1, 1]


def test_a_page_past_its_own_limit_retries_alone(alice, site):
    limit_s = 4.0
    engine = Capturer(capture_config(site, job_timeout_s=limit_s, nav_timeout_s=15.0))
    try:
        slow = SlowAssets(1.0)
        snapshots = queued_pages(alice, site, 3, slow, "beside-hung")
        # The second page's document answers long after the page's own limit.
        site.server.routes["/beside-hung/1"] = lambda handler: (time.sleep(12), send(handler, 200, b"<p>late</p>"))
        retries: list[tuple[int, float]] = []

        started = time.monotonic()
        outcome = run_captures(snapshots[0].pk, engine, lambda pk, delay: retries.append((pk, delay)),
                               pages_in_flight=3, budget_s=BUDGET_S)
        elapsed = time.monotonic() - started
    finally:
        engine.close()

    assert outcome.status == "done"
    assert statuses(snapshots) == [(S.DONE, 1), (S.PENDING, 1), (S.DONE, 1)]
    hung = Snapshot.objects.get(pk=snapshots[1].pk)
    assert f"took longer than {limit_s:g} s" in hung.error and "Attempt 1 of" in hung.error
    assert [pk for pk, _delay in retries] == [hung.pk] and retries[0][1] > 0  # its own message, with backoff
    assert elapsed < 12, f"{elapsed:.1f} s: the batch waited for the hung page's server"


def _browser_pids() -> list[int]:
    """This process's Chromium browser processes (not their renderers or helpers)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        # The browser process is the one Playwright talks to over its pipe.
        if b"--remote-debugging-pipe" in cmdline and _descends_from(int(proc.name), os.getpid(), stat):
            found.append(int(proc.name))
    return found


def _descends_from(pid: int, ancestor: int, stat: str) -> bool:
    for _ in range(10):
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == ancestor:
            return True
        if ppid <= 1:
            return False
        try:
            stat = Path(f"/proc/{ppid}/stat").read_text()
        except OSError:
            return False
    return False


def test_a_browser_crash_mid_batch_leaves_no_row_running(alice, site):
    engine = Capturer(capture_config(site))
    try:
        before = set(_browser_pids())
        engine.capture(site.server.url("/article"))  # the browser is up
        browsers = sorted(set(_browser_pids()) - before)
        assert len(browsers) == 1
        # Once all three pages wait on their image, the browser is killed under them.
        slow = SlowAssets(5.0, when_open=3, then=lambda: os.kill(browsers[0], signal.SIGKILL))
        snapshots = queued_pages(alice, site, 3, slow, "crashed")
        retries: list[int] = []

        outcome = run_captures(snapshots[0].pk, engine, lambda pk, delay: retries.append(pk),
                               pages_in_flight=3, budget_s=BUDGET_S)

        assert slow.most == 3
        assert outcome.status == "retry"
        assert statuses(snapshots) == [(S.PENDING, 1)] * 3
        assert sorted(retries) == sorted(s.pk for s in snapshots[1:])
        assert not Snapshot.objects.filter(status=S.RUNNING).exists()
        errors = list(Snapshot.objects.filter(pk__in=[s.pk for s in snapshots]).values_list("error", flat=True))
        assert all("Attempt 1 of" in error and "browser" in error for error in errors), errors
        # The next page gets a fresh browser.
        assert engine.capture(site.server.url("/article")).title == "Captured Article"
        assert engine.browser_launches == 2
    finally:
        engine.close()
