"""Keeps the launcher's processes running: a child that dies is started again with backoff.

Like supervisord or runit, one crashed process (the worker, the private Redis) must not take the
web server down with it. Only stop() (Ctrl-C or SIGTERM in the launcher) ends them all.
"""
from __future__ import annotations

import logging
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

log = logging.getLogger("linkshot")
Spawn = Callable[[], subprocess.Popen]

BACKOFF_START_S = 1.0
BACKOFF_MAX_S = 30.0
# A child that ran this long before dying crashed afresh: its next restart waits the shortest delay.
STABLE_AFTER_S = 60.0
POLL_S = 0.2
STOP_GRACE_S = 15.0


@dataclass
class Child:
    name: str
    spawn: Spawn
    proc: subprocess.Popen | None = None
    started: float = 0.0
    delay: float = BACKOFF_START_S
    restart_at: float | None = None
    restarts: int = 0

    def start(self) -> None:
        self.proc, self.started, self.restart_at = self.spawn(), time.monotonic(), None


@dataclass
class Supervisor:
    spawns: dict[str, Spawn]
    backoff_start: float = BACKOFF_START_S
    backoff_max: float = BACKOFF_MAX_S
    stable_after: float = STABLE_AFTER_S
    children: dict[str, Child] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start_all(self) -> None:
        for name, spawn in self.spawns.items():
            child = Child(name, spawn, delay=self.backoff_start)
            child.start()
            self.children[name] = child

    def adopt(self, name: str, proc: subprocess.Popen, spawn: Spawn) -> None:
        """Watch a process started before the supervisor (e.g. the broker the setup needed)."""
        self.children[name] = Child(name, spawn, proc=proc, started=time.monotonic(), delay=self.backoff_start)

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> int:
        """Supervise until stop(); then terminate every child. Returns 0."""
        while not self._stop.is_set():
            now = time.monotonic()
            for child in self.children.values():
                self._tend(child, now)
            self._stop.wait(POLL_S)
        self._terminate_all()
        return 0

    def _tend(self, child: Child, now: float) -> None:
        if child.restart_at is not None:
            if now >= child.restart_at:
                log.warning("restarting %s (restart %s)", child.name, child.restarts)
                self._restart(child)
            return
        if child.proc is None or child.proc.poll() is None:
            return
        if now - child.started >= self.stable_after:
            child.delay = self.backoff_start
        child.restarts += 1
        child.restart_at = now + child.delay
        log.error("%s exited with status %s; restarting it in %.0f s", child.name, child.proc.returncode,
                  child.delay)
        child.delay = min(child.delay * 2, self.backoff_max)

    def _restart(self, child: Child) -> None:
        try:
            child.start()
        except Exception as exc:  # e.g. the Redis socket never appeared: try again later
            log.error("could not restart %s: %s", child.name, exc)
            child.restart_at = time.monotonic() + child.delay
            child.delay = min(child.delay * 2, self.backoff_max)

    def _terminate_all(self) -> None:
        procs = [c.proc for c in self.children.values() if c.proc is not None]
        # The web server and workers first, the broker they talk to last.
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + STOP_GRACE_S
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
