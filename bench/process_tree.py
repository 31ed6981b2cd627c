"""CPU time and memory of a process and everything it started, read from /proc (Linux)."""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Proc:
    ppid: int
    name: str
    rss: int  # bytes
    cpu_ticks: int  # user + system, its own and its reaped children's


def proc_table() -> dict[int, Proc]:
    table, page_size = {}, os.sysconf("SC_PAGE_SIZE")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            name = stat[stat.index("(") + 1:stat.rindex(")")]
            fields = stat.rsplit(")", 1)[1].split()
            table[int(proc.name)] = Proc(int(fields[1]), name, int(fields[21]) * page_size,
                                         sum(int(f) for f in fields[11:15]))
        except (OSError, ValueError, IndexError):
            continue
    return table


def descendants(parents: dict[int, int], root: int) -> list[int]:
    """The pids below ``root``, from each process's parent (pid -> ppid)."""
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    found, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def tree_cpu_seconds(root: int) -> float:
    """CPU time of root and its descendants, including reaped children (renderers of closed contexts)."""
    table = proc_table()
    ticks = sum(table[pid].cpu_ticks for pid in [root, *descendants(parents_of(table), root)] if pid in table)
    return ticks / os.sysconf("SC_CLK_TCK")


def parents_of(table: dict[int, Proc]) -> dict[int, int]:
    return {pid: proc.ppid for pid, proc in table.items()}


def smaps_rollup(pid: int) -> dict[str, int]:
    """/proc/PID/smaps_rollup as field -> kB (Rss, Pss, Anonymous, ...); OSError or ValueError
    when the process is gone or unreadable."""
    lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]
    return {key: int(value.split()[0]) for key, value in (line.split(":", 1) for line in lines)}


def _pss(pid: int) -> int:
    try:
        return smaps_rollup(pid).get("Pss", 0) * 1024
    except (OSError, ValueError, IndexError):
        return 0


def chromium_memory(root: int) -> tuple[int, int]:
    """Summed RSS and PSS of the Chromium processes under root."""
    table = proc_table()
    chromium = [pid for pid in descendants(parents_of(table), root) if "chrom" in table[pid].name]
    return sum(table[pid].rss for pid in chromium), sum(_pss(pid) for pid in chromium)


class MemorySampler(threading.Thread):
    """Peak summed RSS (and PSS, which counts shared pages once) of the Chromium processes."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = self.peak_pss = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.2):
            rss, pss = chromium_memory(os.getpid())
            self.peak, self.peak_pss = max(self.peak, rss), max(self.peak_pss, pss)
