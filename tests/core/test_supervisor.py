"""The launcher's supervisor restarts a crashed child with backoff; only stop() ends them all."""
import logging
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from config.supervisor import Supervisor

pytestmark = pytest.mark.no_postgres
SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def _sleeper() -> subprocess.Popen:
    return subprocess.Popen(SLEEPER)


def _wait(predicate, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def running():
    sup = Supervisor({"web": _sleeper, "worker": _sleeper}, backoff_start=0.2, backoff_max=0.4)
    sup.start_all()
    thread = threading.Thread(target=sup.run)
    thread.start()
    yield sup
    sup.stop()
    thread.join(timeout=30)


def test_killed_child_is_restarted_and_the_others_keep_running(running, caplog):
    caplog.set_level(logging.WARNING, logger="linkshot")
    web_before = running.children["web"].proc
    worker_before = running.children["worker"].proc
    os.kill(worker_before.pid, signal.SIGKILL)
    assert _wait(lambda: running.children["worker"].proc is not worker_before)
    assert running.children["worker"].proc.poll() is None
    assert running.children["web"].proc is web_before and web_before.poll() is None
    assert "worker exited with status -9; restarting it" in caplog.text


def test_backoff_grows_between_quick_crashes(running):
    delays = []
    for _ in range(3):
        before = running.children["worker"].proc
        delays.append(running.children["worker"].delay)
        os.kill(before.pid, signal.SIGKILL)
        assert _wait(lambda: running.children["worker"].proc is not before)
    assert delays == [0.2, 0.4, 0.4]


def test_stop_ends_every_child(running):
    procs = [child.proc for child in running.children.values()]
    running.stop()
    assert _wait(lambda: all(proc.poll() is not None for proc in procs), 20)
