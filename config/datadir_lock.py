"""One running Linkshot per data directory: an advisory lock file that names its holder.

Two launchers on one data directory would share (and delete) each other's Redis socket, SQLite
file and beat schedule. The kernel drops a flock when its holder dies, so a crashed launcher never
leaves a stale lock behind.
"""
from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_NAME = "linkshot.lock"


class DataDirBusy(RuntimeError):
    """Another process holds the data directory."""

    def __init__(self, data_dir: Path, holder: str) -> None:
        self.data_dir, self.holder = data_dir, holder
        super().__init__(f"{data_dir} is in use by another Linkshot ({holder}); stop it first "
                         "or set LINKSHOT_DATA_DIR to another directory")


class DataDirLock:
    """Held from acquire() until release() or the end of the process."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> "DataDirLock":
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise DataDirBusy(self.path.parent, holder) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def __enter__(self) -> "DataDirLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    text = os.pread(fd, 200, 0).decode(errors="replace").strip()
    return text or "pid unknown"
