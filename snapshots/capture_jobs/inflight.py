"""Several pages in flight in one worker child: while some pages wait on the network, others run.

The capture task claims the snapshot its message names, then keeps up to
LINKSHOT_CAPTURE_PAGES_IN_FLIGHT pages open at once in separate contexts of the child's one
Chromium, claiming more snapshots (runner.claim_next) as pages finish, for as long as a page
started now could still end inside the task's soft time limit. The Celery limits therefore bound
the whole task as before, with no scaling for the number of pages.

What each page keeps to itself:
- its time limit: the engine's asyncio timeout (job_timeout_s) closes that page's context and ends
  it as a transient failure, so one hung page never holds up the pages beside it;
- its attempt count and fencing: each row is claimed on its own and written only while that claim
  stands (runner._owned);
- its stored result and its signal (done or failed), written as soon as that page ends;
- its retry: the task's own snapshot retries through the task (Celery countdown), the others get
  a fresh message with their backoff as countdown (their original message finds the row claimed
  or done and does nothing).
A browser crash ends every page then open as a transient failure (retried, never left running);
a killed child's rows are taken over by the sibling that gets the redelivered message (runner.claim
and runner.claim_next both take rows whose claimant on this host is gone).
"""
from __future__ import annotations

import concurrent.futures
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from snapshots.capture.errors import CaptureTransientError
from snapshots.capture_jobs import runner
from snapshots.capture_jobs.engine_config import capture_budget_s
from snapshots.capture_jobs.runner import Outcome
from snapshots.models import Snapshot

log = logging.getLogger(__name__)
# While there is room for another page, how often the task looks for a newly queued snapshot.
TOP_UP_EVERY_S = 1.0
START_GRACE_S = 2.0


@dataclass
class Page:
    snapshot: Snapshot
    started: float
    future: concurrent.futures.Future


class PagesInFlight:
    """One task's pages: start, settle as each ends, top up while the task's time allows."""

    def __init__(self, capturer, first: Snapshot, pages_in_flight: int, budget_s: float,
                 send_retry: Callable[[int, float], None]) -> None:
        self.capturer, self.first = capturer, first
        self.pages_in_flight = max(1, pages_in_flight)
        self.send_retry = send_retry
        self.task_started = time.monotonic()
        # A page is started only while it could end (its own limit) within the task's budget; the
        # first START_GRACE_S are always open, for the pages claimed as the task begins (where the
        # page limit is the whole budget they may end that much into the room kept for storing).
        self.last_start = self.task_started + max(budget_s - capturer.config.job_timeout_s, START_GRACE_S)
        self.open: list[Page] = []
        self.outcomes: dict[int, Outcome] = {}

    def run(self) -> dict[int, Outcome]:
        try:
            self._start(self.first)
            self._top_up()
            while self.open:
                self._settle_ended(self._wait())
                self._top_up()
        except SoftTimeLimitExceeded:
            self._time_is_up()
        return self.outcomes

    def _start(self, snapshot: Snapshot) -> None:
        given_up = runner.give_up_if_exhausted(snapshot)
        if given_up is not None:
            self.outcomes[snapshot.pk] = given_up
            return
        log.info("capturing snapshot %s (attempt %s, %s page(s) open): %s", snapshot.pk, snapshot.attempts,
                 len(self.open) + 1, snapshot.link.url)
        self.open.append(Page(snapshot, time.monotonic(), self.capturer.start(snapshot.link.url)))

    def _top_up(self) -> None:
        room = self.pages_in_flight - len(self.open)
        # One page in flight is the task of old: its own snapshot only, the next one is the next message's.
        if self.pages_in_flight == 1 or room <= 0 or time.monotonic() > self.last_start:
            return
        for snapshot in runner.claim_next(room):
            self._start(snapshot)

    def _wait(self) -> list[Page]:
        """The pages that ended, or that outlived their limit plus room (a wedged browser loop).

        With room for more pages it looks again every TOP_UP_EVERY_S, so a snapshot queued while
        the open pages wait on the network starts then, not when one of them ends.
        """
        limit = self.capturer.answer_within_s
        nearest = min(page.started for page in self.open) + limit - time.monotonic()
        if self.pages_in_flight > len(self.open) > 0 and self.pages_in_flight > 1:
            nearest = min(nearest, TOP_UP_EVERY_S)
        concurrent.futures.wait([page.future for page in self.open], max(0.0, nearest),
                                return_when=concurrent.futures.FIRST_COMPLETED)
        now = time.monotonic()
        return [page for page in self.open if page.future.done() or now - page.started >= limit]

    def _settle_ended(self, ended: list[Page]) -> None:
        for page in ended:
            self.open.remove(page)
            if page.future.done():
                get_result = page.future.result
            else:
                page.future.cancel()
                get_result = _raise(CaptureTransientError("the capture browser did not answer in time"))
            self._record(page.snapshot, runner.settle(page.snapshot, page.started, get_result))

    def _time_is_up(self) -> None:
        """The soft limit came: stop every open page and end each as a retryable failure."""
        pages, self.open = self.open, []
        for page in pages:
            page.future.cancel()
        for page in pages:
            self._record(page.snapshot, runner.time_is_up(page.snapshot))

    def _record(self, snapshot: Snapshot, outcome: Outcome) -> None:
        self.outcomes[snapshot.pk] = outcome
        # The message's own snapshot retries through its task; the others need a message of their own.
        if outcome.status == "retry" and snapshot.pk != self.first.pk:
            self.send_retry(snapshot.pk, outcome.retry_in)


def _raise(exc: Exception) -> Callable[[], None]:
    def get_result() -> None:
        raise exc
    return get_result


def run_captures(snapshot_id: int, capturer, send_retry: Callable[[int, float], None],
                 pages_in_flight: int | None = None, budget_s: float | None = None) -> Outcome:
    """Capture the message's snapshot and, beside it, more claimed ones; the message's own outcome.

    ``send_retry(snapshot_id, countdown)`` re-sends the capture of a snapshot claimed here that
    should be tried again later.
    """
    first = runner.claim(snapshot_id)
    if first is None:
        log.info("snapshot %s is gone, done or being captured; nothing to do", snapshot_id)
        return Outcome("skipped")
    pages = PagesInFlight(capturer, first, pages_in_flight or settings.LINKSHOT_CAPTURE_PAGES_IN_FLIGHT,
                          capture_budget_s() if budget_s is None else budget_s, send_retry)
    outcomes = pages.run()
    if len(outcomes) > 1:
        counts: dict[str, int] = {}
        for outcome in outcomes.values():
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        log.info("capture task for snapshot %s ended %s page(s) in %.1f s: %s", first.pk, len(outcomes),
                 time.monotonic() - pages.task_started, counts)
    return outcomes[first.pk]

