"""A real Celery worker subprocess for end-to-end tests, sharing the test database, media and Redis.

pytest-django's database must be a real file (SQLite) or server (Postgres) for this: the test
settings give SQLite a file-based test database for that reason.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

import redis
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent.parent
T = TypeVar("T")


def database_url() -> str:
    """A DATABASE_URL naming the database this test process is connected to (the test database)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def wait_for(probe: Callable[[], T], timeout: float, what: str, interval: float = 0.2) -> T:
    """Poll ``probe`` until it returns something truthy; fail the test with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


_TASK_LINE = re.compile(r"Task \S+\[(?P<id>[0-9a-f-]+)\] (?P<what>received|succeeded|retry|raised|failed)")


class Worker:
    """``celery -A config worker -Q capture,default -c 1`` with the given extra environment."""

    def __init__(self, log_path: Path, env: dict[str, str], queues: str = "capture,default") -> None:
        self.log_path, self.queues = log_path, queues
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": database_url(),
            "DATABASE_CONN_MAX_AGE": "0",
            "REDIS_URL": settings.CELERY_BROKER_URL,
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "LINKSHOT_TEST_MEDIA_ROOT": str(settings.MEDIA_ROOT),
            **env,
        }
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60, flush: bool = True) -> None:
        if flush:  # no messages left from older runs
            redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", self.queues, "-c", "1",
                   "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
                   "-n", f"test-{uuid.uuid4().hex[:8]}@%h"]
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        wait_for(lambda: b" ready." in self.log_path.read_bytes() or self._died(), timeout, "the worker to start")
        if self._died():
            raise AssertionError(f"the worker exited early:\n{self.log_tail()}")

    def _died(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    def pool_children(self) -> list[int]:
        """Pids of the worker's pool processes (the ones that run tasks)."""
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def kill_pool_child(self) -> int:
        """kill -9 the process running the current task; the worker forks a new one."""
        child = wait_for(self.pool_children, 10, "a pool process")[0]
        os.kill(child, signal.SIGKILL)
        return child

    def queue_length(self, queue: str = "capture") -> int:
        return redis.Redis.from_url(settings.CELERY_BROKER_URL).llen(queue)

    def idle(self) -> bool:
        """Whether every task the worker received has ended since (succeeded, failed, raised or was
        sent back for a retry): its log has an ending after each task's last "received". A task whose
        child was killed ends when its redelivered message does."""
        state: dict[str, str] = {}
        for match in _TASK_LINE.finditer(self.log_path.read_text(errors="replace")):
            state[match["id"]] = match["what"]
        return all(what != "received" for what in state.values())

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)  # warm shutdown: children close their browsers
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
