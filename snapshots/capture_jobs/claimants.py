"""Who claimed a capture, and whether that process is gone.

A capture row records its claimant as host, pid and the process's start time (so a recycled pid
is not mistaken for the claimant). When the worker child dies mid-capture, Celery redelivers the
message (acks_late + reject_on_worker_lost) to a sibling on the same host: that sibling can see
the claimant is gone and take the row over at once instead of waiting for the stale-claim sweep.
A claimant on another host cannot be checked from here and is left to that sweep.
"""
from __future__ import annotations

import os
import socket
from pathlib import Path


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat); None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
    fields = stat.rsplit(")", 1)[1].split()
    return fields[19]


def current() -> str:
    """This process as a claimant."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_time(pid) or 0}"


def is_gone(claimant: str) -> bool:
    """True only when the claimant ran on this host and that process no longer exists."""
    try:
        host, pid, started = claimant.rsplit(":", 2)
        pid_number = int(pid)
    except ValueError:
        return False
    if host != socket.gethostname() or not Path("/proc/self/stat").exists():
        return False
    return _start_time(pid_number) != started
